"""Cell values to canonical values (ducha.intake.values): pure functions, no workbook needed."""

from __future__ import annotations

import datetime as dt

import pytest

from ducha.contract import load_contract
from ducha.intake import values as V

C = load_contract()
VERIFIED = C.vocabularies["verified"]
STATUS = C.vocabularies["status"]


# --- blanks and text --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000", "\n\t", "\u00a0\u200b\ufeff", float("nan")])
def test_is_blank(value: object) -> None:
    assert V.is_blank(value)


@pytest.mark.parametrize("value", [0, 0.0, False, "0", "无", "-", " a "])
def test_is_not_blank(value: object) -> None:
    assert not V.is_blank(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("  某厂\n偷排  废水 ", "某厂 偷排 废水"), (3.0, "3"), (2.5, "2.5"), ("屬實", "屬實")],
)
def test_as_text_folds_whitespace_and_keeps_the_writing(value: object, expected: str) -> None:
    assert V.as_text(value) == expected


# --- case IDs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("D3HN202406020040", ("D3HN202406020040", None)),
        ("d3hn202406020040", ("D3HN202406020040", None)),
        ("31", ("31", None)),  # digits alone: no batch prefix without 批
        ("", ("", None)),
        ("  d3hn202406020040\n", ("D3HN202406020040", None)),
        ("Ｄ３ＨＮ２０２４０６０２００４０", ("D3HN202406020040", None)),
        ("D3HN 2024 0602 0040", ("D3HN202406020040", None)),
        ("第31批 D3GS202312200043", ("D3GS202312200043", 31)),
        ("第３１批　Ｄ３ＧＳ２０２３１２２０００４３", ("D3GS202312200043", 31)),
        ("第三十一批：D3GS202312200043", ("D3GS202312200043", 31)),
        ("第8批-X3HB202406020025", ("X3HB202406020025", 8)),
        ("第壹拾贰批 D3GS202312200043", ("D3GS202312200043", 12)),  # any numeral cn_to_int reads
        ("D3600797202309080106", ("D3600797202309080106", None)),
        (202406020040.0, ("202406020040", None)),
        (None, ("", None)),
    ],
)
def test_case_id_normalises_and_takes_the_batch_prefix(value: object, expected: tuple) -> None:
    assert V.case_id(value) == expected


def test_received_on_and_channel_come_from_a_well_formed_id() -> None:
    assert V.received_on("D3HN202406020040", C) == dt.date(2024, 6, 2)
    assert V.channel("D3HN202406020040", C) == "来电"
    assert V.channel("X3HB202406020025", C) == "来信"
    assert V.received_on("D3600797202309080106", C) is None  # not the pattern: no date read
    assert V.received_on("D3HN202413450040", C) is None  # month 13: no such day
    assert V.channel("", C) is None
    assert V.channel("Q3HN202406020040", C) is None


# --- regions, vocabularies, types, flags ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("嘉峪 关市", "嘉峪关市"),
        ("长沙市\n岳麓区", "长沙市岳麓区"),
        ("長沙市 嶽麓區", "长沙市岳麓区"),
        ("南京市江北新区", "南京市江北新区"),
        ("\u3000红谷滩区\u3000", "红谷滩区"),
    ],
)
def test_region_squashes_spaces_and_simplifies(value: str, expected: str) -> None:
    assert V.region(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("属实", "属实"),
        (" 基本 属实 ", "基本属实"),
        ("部分屬實", "部分属实"),
        ("是", "属实"),
        ("情况属实", "属实"),
        ("否", "不属实"),
        ("查无实据", "不属实"),
        ("待核实", "待核实"),  # unknown: kept for the quality suite to name
    ],
)
def test_enum_verified(value: str, expected: str) -> None:
    assert V.enum(value, VERIFIED) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("已办结", "已办结"),
        ("已辦結", "已办结"),
        ("办结", "已办结"),
        ("阶段办结", "阶段性办结"),
        ("阶段性 完成", "阶段性办结"),
        ("办理中", "正在办理"),
        ("未完成", "未办结"),
        ("已销号", "验收销号"),
        ("处理中啦", "处理中啦"),
    ],
)
def test_enum_status(value: str, expected: str) -> None:
    assert V.enum(value, STATUS) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("水", ["水"]),
        ("水, 生态", ["水", "生态"]),
        ("水，大气", ["水", "大气"]),
        ("水、大气、噪声", ["水", "大气", "噪声"]),
        ("水;大气；土壤", ["水", "大气", "土壤"]),
        ("水/大气／生态", ["水", "大气", "生态"]),
        ("水污染", ["水"]),
        ("水污染、水", ["水"]),
        ("大气污染，水污染，大气", ["大气", "水"]),
        ("噪声污染、噪音", ["噪声"]),
        ("生态破坏、其它", ["生态", "其他"]),
        ("固体废物", ["固废"]),
        ("噪聲", ["噪声"]),
        ("大 气", ["大气"]),
        ("水、、", ["水"]),
        ("扬尘", ["扬尘"]),  # unknown here is fine: the suite decides per inspection
        ("", []),
        (None, []),
    ],
)
def test_pollution_types_split_long_forms_and_dedup(value: object, expected: list[str]) -> None:
    assert V.pollution_types(value, C) == expected


@pytest.mark.parametrize("value", ["是", "*", "＊", "√", "✓", "★", "重点", "重点关注", "Y", 1, 1.0, True])
def test_flag_true(value: object) -> None:
    assert V.flag(value, C) is True


@pytest.mark.parametrize(
    "value",
    [None, "", "否", "无", "不是", "0", 0, 0.0, "N", "no", "False", False, "×", "一般", "非重点", "普通"],
)
def test_flag_false(value: object) -> None:
    assert V.flag(value, C) is False


@pytest.mark.parametrize("value", ["—", "-", "/", "／"])
def test_flag_dash_placeholders_are_false(value: str) -> None:
    assert V.flag(value, C) is False


def test_flag_double_em_dash_placeholder_is_false() -> None:
    assert V.flag("——", C) is False


@pytest.mark.parametrize("value", ["待定", "重点?", "关注一下", "2"])
def test_flag_other_words_read_as_no_with_a_warning(value: object) -> None:
    with pytest.raises(V.Tolerated) as read:
        V.flag(value, C)
    assert read.value.value is False


@pytest.mark.parametrize(
    ("value", "vocabulary", "canonical"),
    [
        ("属实。", "verified", "属实"),
        ("属实 。", "verified", "属实"),
        ("基本属实；", "verified", "基本属实"),
        ("阶段性办结（长期坚持）", "status", "阶段性办结"),
        ("阶段性办结(长期坚持)。", "status", "阶段性办结"),
        ("已办结【已销号】", "status", "已办结"),
        ("办结。", "status", "已办结"),  # a synonym, under its punctuation
    ],
)
def test_enum_reads_through_what_people_type_around_it(value: str, vocabulary: str, canonical: str) -> None:
    with pytest.raises(V.Tolerated) as read:
        V.enum(value, C.vocabularies[vocabulary])
    assert read.value.value == canonical


@pytest.mark.parametrize(
    ("value", "expected"), [("属实", "属实"), (" 属 实 ", "属实"), ("处理中啦", "处理中啦")]
)
def test_enum_plain_and_unknown_values_raise_nothing(value: str, expected: str) -> None:
    vocab = C.vocabularies["verified" if "属" in value else "status"]
    assert V.enum(value, vocab) == expected


# --- numbers and money ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (3.0, 3.0),
        ("3", 3.0),
        ("3家", 3.0),
        ("３家", 3.0),
        ("2 件", 2.0),
        ("5人", 5.0),
        ("1,234", 1234.0),
        ("1，234", 1234.0),
        ("0", 0.0),
        ("无", 0.0),
        ("/", 0.0),
        ("—", 0.0),
        ("-", 0.0),
        ("-2", -2.0),  # read as written; the quality suite refuses it
        (None, None),
        ("  ", None),
    ],
)
def test_number_counts(value: object, expected: float | None) -> None:
    assert V.number(value) == expected


@pytest.mark.parametrize(
    ("value", "header_unit", "in_yuan", "in_wan"),
    [
        ("1.5万元", None, 15000.0, 1.5),
        ("1.5万", None, 15000.0, 1.5),
        ("251542.71元", None, 251542.71, 25.154271),
        ("251,542.71元", None, 251542.71, 25.154271),
        (20000, None, 20000.0, 2.0),
        ("20000", None, 20000.0, 2.0),
        (2, "万元", 20000.0, 2.0),
        ("2", "万元", 20000.0, 2.0),
        ("3000元", "万元", 3000.0, 0.3),  # a unit in the cell beats the header's
        ("1.5万元", "元", 15000.0, 1.5),
        ("无", None, 0.0, 0.0),
    ],
)
def test_number_money_in_either_unit(
    value: object, header_unit: str | None, in_yuan: float, in_wan: float
) -> None:
    assert V.number(value, money_unit="元", header_unit=header_unit) == in_yuan
    assert V.number(value, money_unit="万元", header_unit=header_unit) == in_wan


@pytest.mark.parametrize("value", ["若干", "约5000元", "1.5千元", "3家2", "abc", "1e5", "3..5", True, False])
def test_number_refuses_what_it_cannot_read(value: object) -> None:
    with pytest.raises(ValueError):
        V.number(value)
    with pytest.raises(ValueError):
        V.number(value, money_unit="元")


def test_number_double_em_dash_placeholder_is_zero() -> None:
    assert V.number("——") == 0.0


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (45446, dt.date(2024, 6, 3)),  # Excel serial
        (45446.75, dt.date(2024, 6, 3)),  # serial with a time of day
        ("2024-06-03", dt.date(2024, 6, 3)),
        ("2024/6/3", dt.date(2024, 6, 3)),
        ("2024.6.3", dt.date(2024, 6, 3)),
        ("2024年6月3日", dt.date(2024, 6, 3)),
        ("2024 年 6 月 3 日", dt.date(2024, 6, 3)),
        ("２０２４年６月３日", dt.date(2024, 6, 3)),
        ("2024-06-03 08:30", dt.date(2024, 6, 3)),
        ("2024年6月3日8时", dt.date(2024, 6, 3)),
        ("20240603", dt.date(2024, 6, 3)),
        (dt.datetime(2024, 6, 3, 8, 30), dt.date(2024, 6, 3)),
        (dt.date(2024, 6, 3), dt.date(2024, 6, 3)),
        (None, None),
        ("", None),
    ],
)
def test_date_formats(value: object, expected: dt.date | None) -> None:
    assert V.date(value) == expected


def test_date_without_year_takes_the_hint() -> None:
    assert V.date("6月3日", year_hint=2024) == dt.date(2024, 6, 3)
    assert V.date("6月3", year_hint=2023) == dt.date(2023, 6, 3)
    with pytest.raises(ValueError):
        V.date("6月3日")  # no hint: the year is unknown


@pytest.mark.parametrize(
    "value",
    ["2024-02-30", "2024-13-01", "2024年6月31日", "20241340", "六月三日", "明天", "2024", 12, 99999, True],
)
def test_date_invalid_raises(value: object) -> None:
    with pytest.raises(ValueError):
        V.date(value, year_hint=2024)

"""Finding the header (title rows, merged two-row headers, variants) and the batch of a file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ducha.config import Inspection
from ducha.contract import load_contract
from ducha.intake import parse_file
from ducha.intake.batch import batch_number, landing_day, parse_title
from ducha.intake.header import find_header
from ducha.intake.reader import read_raw
from tests.unit.intake.conftest import (
    BATCH_DAY,
    HEADERS,
    TITLE,
    Sheet,
    case,
    case_id,
    closed_case,
    grid,
    standard_sheet,
    write_xlsx,
)

# --- where the header is ----------------------------------------------------------------------

TITLE_ROWS = {
    0: [],
    1: [[TITLE]],
    3: [
        ["附件2"],
        ["群众信访举报转办和边督边改公开情况一览表"],
        ["（第三批  2024年6月3日）", None, None, None, None, None, None, None, None, "单位：家、元"],
    ],
}


@pytest.mark.parametrize("n_titles", [0, 1, 3])
def test_header_found_under_title_rows(tmp_path: Path, hn: Inspection, n_titles: int) -> None:
    rows = [*TITLE_ROWS[n_titles], *grid([case(1), closed_case(2)], title=None)]
    path = write_xlsx(tmp_path / "t.xlsx", Sheet("第三批", rows))
    parsed = parse_file(path, hn, batch_override=3 if n_titles == 0 else None)
    assert not parsed.rejected, parsed.issues
    header_row = n_titles + 1  # Excel numbering
    assert [r.row for r in parsed.rows] == [header_row + 1, header_row + 2]
    assert [r.values["case_id"] for r in parsed.rows] == [case_id(1), case_id(2)]
    assert parsed.rows[1].values["verified"] == "属实"
    assert parsed.rows[1].values["fine_amount"] == 50000.0
    assert parsed.rows[0].written["case_id"] == "受理编号"
    if n_titles:
        assert parsed.batches == {3: BATCH_DAY}


def test_header_below_the_search_window_is_not_found(tmp_path: Path, hn: Inspection) -> None:
    rows = [[f"说明第{i}行"] for i in range(20)] + grid([case(1)], title=None)
    parsed = parse_file(write_xlsx(tmp_path / "deep.xlsx", Sheet("S", rows)), hn, batch_override=3)
    assert parsed.rejected
    assert {i.rule for i in parsed.issues} == {"SHEET_NO_HEADER", "NO_HEADER"}
    assert parsed.rows == []


def _two_row_header_sheet() -> Sheet:
    top = ["序号", "受理编号", "交办问题基本情况", "行政区域", "问题类型", "是否办结", "查处情况", None, None]
    sub = [None, None, None, None, None, None, "责令整改（家）", "立案处罚（家）", "罚款金额（万元）"]
    data = [
        [1, case_id(1), "某厂偷排废水", "长沙市岳麓区", "水", "正在办理", 1, "2家", 1.5],
        [2, case_id(2), "某厂废气扰民", "长沙市", "大气", "正在办理", None, None, "3000元"],
    ]
    merges = [(0, 0, 0, 8)] + [(1, c, 2, c) for c in range(6)] + [(1, 6, 1, 8)]
    return Sheet("第三批", [[TITLE], top, sub, *data], merges)


def test_header_split_over_two_merged_rows(tmp_path: Path, hn: Inspection) -> None:
    path = write_xlsx(tmp_path / "two.xlsx", _two_row_header_sheet())
    sheets, _ = read_raw(path)
    match = find_header(sheets[0].rows, sheets[0].merged, load_contract(), 15)
    assert match is not None
    assert (match.first_row, match.last_row) == (1, 2)
    assert sorted(match.fields.values()) == sorted(
        [
            "seq",
            "case_id",
            "summary",
            "region",
            "pollution_types",
            "status",
            "rectify_orders",
            "penalty_cases",
            "fine_amount",
        ]
    )

    parsed = parse_file(path, hn)
    assert not parsed.rejected, parsed.issues
    first, second = parsed.rows
    assert (first.row, second.row) == (4, 5)  # data starts under the lower header row
    assert first.written["case_id"] == "受理编号"  # vertically merged: read once
    assert first.written["fine_amount"] == "罚款金额（万元）"
    assert (first.values["rectify_orders"], first.values["penalty_cases"]) == (1.0, 2.0)
    assert first.values["fine_amount"] == 15000.0  # 1.5 under a 万元 header, stored in 元
    assert second.values["fine_amount"] == 3000.0  # the cell's own unit wins
    assert parsed.batches == {3: BATCH_DAY}


def test_header_cells_with_line_breaks_and_spaces(tmp_path: Path, hn: Inspection) -> None:
    headers = [
        "序\n号",
        "受理\n编号",
        "交办问题 基本情况",
        "行政\u3000区域",
        "问题 类型",
        "是否\r\n属实",
        "是否办结",
    ]
    row = {
        "序\n号": 1,
        "受理\n编号": case_id(1),
        "交办问题 基本情况": "某厂噪声扰民",
        "行政\u3000区域": "嘉峪 关市",
        "问题 类型": "噪声",
        "是否\r\n属实": "属实",
        "是否办结": "正在办理",
    }
    path = write_xlsx(tmp_path / "wrap.xlsx", standard_sheet([row], headers=headers))
    parsed = parse_file(path, hn)
    assert not parsed.rejected, parsed.issues
    (r,) = parsed.rows
    assert r.values["case_id"] == case_id(1)
    assert r.values["region"] == "嘉峪关市"
    assert r.values["verified"] == "属实"
    assert r.written["case_id"] == "受理 编号"  # as written, line break folded
    assert r.written["verified"] == "是否 属实"


def test_traditional_headers(tmp_path: Path, hn: Inspection) -> None:
    headers = ["序號", "受理\n編號", "交辦問題基本情況", "行政區域", "污染類型", "調查核實情況", "是否\n屬實"]
    headers += ["處理和整改情況", "辦結狀態", "責任人被處理情況", "罰款金額（萬元）"]
    values = [1, case_id(1), "某廠偷排廢水", "長沙市 嶽麓區", "水污染", "經核實屬實", "屬實", "已整改"]
    values += ["已辦結", "無", 2]
    path = write_xlsx(
        tmp_path / "trad.xlsx", standard_sheet([dict(zip(headers, values, strict=True))], headers=headers)
    )
    parsed = parse_file(path, hn)
    assert not parsed.rejected, parsed.issues
    (r,) = parsed.rows
    v = r.values
    assert v["region"] == "长沙市岳麓区"
    assert v["pollution_types"] == ["水"]
    assert (v["verified"], v["status"]) == ("属实", "已办结")
    assert v["summary"] == "某廠偷排廢水"  # free text is kept as written
    assert r.written["verified"] == "是否 屬實"
    assert r.raw["辦結狀態"] == "已辦結"


def test_traditional_wan_yuan_header_scales_fines(tmp_path: Path, hn: Inspection) -> None:
    headers = [*HEADERS[:-1], "罰款金額（萬元）"]
    path = write_xlsx(
        tmp_path / "wan.xlsx", standard_sheet([closed_case(1, **{"罰款金額（萬元）": 2})], headers=headers)
    )
    parsed = parse_file(path, hn)
    assert parsed.rows[0].values["fine_amount"] == 20000.0


def test_a_header_with_a_long_unit_is_found_and_long_texts_are_not_converted() -> None:
    # A name with a long unit beside it still names its column; a complaint's text (every
    # one new, a costly conversion) is passed over without being converted to Simplified.
    from ducha.intake.header import _keys
    from ducha.text import simplified

    unit = "罰款金額（單位：萬元，保留兩位小數，不含滯納金）"
    text = "群眾反映某某化工廠夜間偷排廢水，氣味刺鼻，周邊居民深受其擾，多次投訴未果"
    keys = _keys(["受理\n編號", unit, text, None, 3.0, "是否 屬實"], longest=10)
    assert keys == ["受理编号", "罚款金额(单位:万元,保留两位小数,不含滞纳金)", "", "", "3.0", "是否属实"]
    simplified.cache_clear()
    assert _keys([text], longest=10) == [""]
    assert simplified.cache_info().misses == 0  # never converted
    match = find_header(
        [["序号", "受理编号", "交办问题基本情况", unit], [1, case_id(1), text, 2]], [], load_contract(), 5
    )
    assert match is not None and match.fields[3] == "fine_amount" and match.written[3] == unit


def test_alias_headers(tmp_path: Path, hn: Inspection) -> None:
    headers = ["编号", "信访编号", "举报内容", "所属区域", "问题类型", "督察期间调查核实情况", "属实情况"]
    headers += ["处理整改情况", "办结状态", "问责情况", "重点件", "重复关联件编号", "处罚金额（万元）"]
    values = [7, case_id(7), "某厂夜间偷排", "长沙市", "水，生态", "经核实属实", "属实", "已整改"]
    values += ["已办结", "约谈1人", "*", "第二批 D3HN202406010009", "0.5"]
    path = write_xlsx(
        tmp_path / "alias.xlsx", standard_sheet([dict(zip(headers, values, strict=True))], headers=headers)
    )
    parsed = parse_file(path, hn)
    assert not parsed.rejected, parsed.issues
    v = parsed.rows[0].values
    assert v["seq"] == 7
    assert v["case_id"] == case_id(7)
    assert v["summary"] == "某厂夜间偷排"
    assert v["pollution_types"] == ["水", "生态"]
    assert v["findings"] == "经核实属实"
    assert v["status"] == "已办结"
    assert v["accountability"] == "约谈1人"
    assert v["key_case"] is True
    assert v["duplicate_of"] == "D3HN202406010009"
    assert v["fine_amount"] == 5000.0
    assert parsed.rows[0].written["findings"] == "督察期间调查核实情况"


def test_internal_columns_are_never_read(tmp_path: Path, hn: Inspection) -> None:
    headers = [*HEADERS[:4], "联系电话", "网格员手机号码", "联系人", *HEADERS[4:]]
    rows = [
        case(1, 联系电话="13812345678", 网格员手机号码="13987654321", 联系人="张三"),
        case(2, 联系电话="0731-88889999", 网格员手机号码="15011112222", 联系人="李四"),
    ]
    path = write_xlsx(tmp_path / "ledger.xlsx", standard_sheet(rows, headers=headers))
    parsed = parse_file(path, hn)
    assert not parsed.rejected, parsed.issues
    secrets = ("13812345678", "13987654321", "张三", "0731-88889999", "15011112222", "李四")
    for r in parsed.rows:
        assert not set(r.raw) & {"联系电话", "网格员手机号码", "联系人"}
        blob = repr(r.raw) + repr(r.values) + repr(r.written)
        assert not [s for s in secrets if s in blob]
    notes = [(i.rule, i.level, i.column) for i in parsed.issues]
    assert sorted(notes) == sorted(
        [("COLUMN_INTERNAL", "warning", c) for c in ("联系电话", "网格员手机号码", "联系人")]
    )


def test_duplicate_column_reads_the_first_only(tmp_path: Path, hn: Inspection) -> None:
    headers = [*HEADERS, "举报编号"]  # a second case-ID column
    path = write_xlsx(
        tmp_path / "dup.xlsx", standard_sheet([case(1, 举报编号="X9ZZ000000000000")], headers=headers)
    )
    parsed = parse_file(path, hn)
    assert parsed.rows[0].values["case_id"] == case_id(1)
    assert [(i.rule, i.column) for i in parsed.issues] == [("COLUMN_DUPLICATE", "举报编号")]


# --- batch and dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "batch", "day"),
    [
        ("群众信访举报转办和边督边改公开情况一览表（第八批 2024年3月21日）", 8, dt.date(2024, 3, 21)),
        ("一览表（第二十五批　2024年6月25日）", 25, dt.date(2024, 6, 25)),
        ("一览表（第一百零二批）", 102, None),
        ("一览表（第25批 2024-06-25）", 25, dt.date(2024, 6, 25)),
        ("一览表（第 12 批，2024/6/12）", 12, dt.date(2024, 6, 12)),
        ("一览表（第１２批）", 12, None),
        ("第三轮第二批中央生态环境保护督察信访件公开（第八批 2024年6月8日）", 8, dt.date(2024, 6, 8)),
    ],
)
def test_batch_from_title(
    tmp_path: Path, generic: Inspection, title: str, batch: int, day: dt.date | None
) -> None:
    path = write_xlsx(tmp_path / "b.xlsx", standard_sheet([case(1)], title=title))
    parsed = parse_file(path, generic)
    assert not parsed.rejected, parsed.issues
    assert parsed.rows[0].batch_no == batch
    assert parsed.batches == {batch: day}
    assert parsed.batch == (batch, day)
    assert parsed.as_of == day  # no landing folder: the title's date


def test_title_short_date_takes_the_year_of_the_inspection(tmp_path: Path, hn: Inspection) -> None:
    path = write_xlsx(tmp_path / "b.xlsx", standard_sheet([case(1)], title="一览表（第三批 6月3日）"))
    assert parse_file(path, hn).batches == {3: BATCH_DAY}


def test_title_short_date_takes_the_year_of_the_landing_folder(tmp_path: Path, generic: Inspection) -> None:
    path = tmp_path / "landing" / generic.id / "2023-06-05" / "b.xlsx"
    write_xlsx(path, standard_sheet([case(1)], title="一览表（第三批 6月3日）"))
    parsed = parse_file(path, generic)
    assert parsed.batches == {3: dt.date(2023, 6, 3)}
    assert parsed.as_of == dt.date(2023, 6, 5)


def test_batch_from_a_batch_column(tmp_path: Path, generic: Inspection) -> None:
    headers = ["批次", *HEADERS]
    rows = [case(1, 批次="第3批"), case(2, 批次="第五批"), case(3, 批次="第 五 批"), case(4, 批次="7")]
    title = "群众信访举报办理情况更新表（2024年6月14日）"  # an update: a date, no batch
    path = write_xlsx(tmp_path / "upd.xlsx", standard_sheet(rows, headers=headers, title=title))
    parsed = parse_file(path, generic)
    assert not parsed.rejected, parsed.issues
    assert [r.batch_no for r in parsed.rows] == [3, 5, 5, 7]
    assert parsed.batches == {3: None, 5: None, 7: None}  # the update's date is no batch's date
    assert parsed.as_of == dt.date(2024, 6, 14)


def test_batch_column_beats_the_title(tmp_path: Path, generic: Inspection) -> None:
    headers = ["批次", *HEADERS]
    path = write_xlsx(
        tmp_path / "mix.xlsx", standard_sheet([case(1, 批次="第2批"), case(2)], headers=headers)
    )
    parsed = parse_file(path, generic)
    assert [r.batch_no for r in parsed.rows] == [2, 3]


def test_batch_column_with_numeric_cells(tmp_path: Path, generic: Inspection) -> None:
    # A 批次 cell typed as the number 12 is stored by Excel as 12.0.
    headers = ["批次", *HEADERS]
    rows = [case(1, 批次=12), case(2, 批次=13.0)]
    path = write_xlsx(tmp_path / "num.xlsx", standard_sheet(rows, headers=headers, title=None))
    parsed = parse_file(path, generic)
    assert not parsed.rejected, parsed.issues
    assert [r.batch_no for r in parsed.rows] == [12, 13]


def test_batch_from_the_id_prefix(tmp_path: Path, generic: Inspection) -> None:
    rows = [
        case(1, 受理编号="第31批 D3GS202312200043"),
        case(2, 受理编号="第三十一批　D3GS202312200044"),
    ]
    path = write_xlsx(tmp_path / "p.xlsx", standard_sheet(rows, title=None, notes=None))
    parsed = parse_file(path, generic)
    assert not parsed.rejected, parsed.issues
    assert [r.batch_no for r in parsed.rows] == [31, 31]
    assert [r.values["case_id"] for r in parsed.rows] == ["D3GS202312200043", "D3GS202312200044"]
    assert parsed.rows[0].raw["受理编号"] == "第31批 D3GS202312200043"  # the quarantine record as written
    assert parsed.batches == {31: None}


def test_batch_from_the_sheet_tab_as_a_last_resort(tmp_path: Path, generic: Inspection) -> None:
    """A city's feedback file with one sheet per batch names each on its tab; a title,
    a folder or an ID prefix says more (a copied sheet keeps a stale tab)."""
    untitled = [standard_sheet([case(1)], name, title="办理情况反馈表") for name in ("第二批", "第5批")]
    parsed = parse_file(write_xlsx(tmp_path / "tabs.xlsx", *untitled), generic)
    assert not parsed.rejected, parsed.issues
    assert [r.batch_no for r in parsed.rows] == [2, 5]
    assert parsed.batches == {2: None, 5: None}  # a tab says nothing of the batch's date
    titled = standard_sheet([case(1)], "第二批", title="一览表（第七批 2024年6月7日）")
    assert [r.batch_no for r in parse_file(write_xlsx(tmp_path / "t.xlsx", titled), generic).rows] == [7]
    folder = write_xlsx(tmp_path / "第8批" / "f.xlsx", standard_sheet([case(1)], "第二批", title=None))
    assert [r.batch_no for r in parse_file(folder, generic).rows] == [8]


@pytest.mark.parametrize("folder", ["第8批", "第八批", "第8批交办件"])
def test_batch_from_a_folder_name(tmp_path: Path, generic: Inspection, folder: str) -> None:
    path = write_xlsx(tmp_path / folder / "x.xlsx", standard_sheet([case(1)], title=None))
    parsed = parse_file(path, generic)
    assert not parsed.rejected, parsed.issues
    assert parsed.rows[0].batch_no == 8


def test_batch_override_beats_everything(tmp_path: Path, generic: Inspection) -> None:
    headers = ["批次", *HEADERS]
    rows = [case(1, 批次="第5批", 受理编号="第31批 " + case_id(1))]
    path = write_xlsx(tmp_path / "第8批" / "x.xlsx", standard_sheet(rows, headers=headers))
    parsed = parse_file(path, generic, batch_override=12)
    assert parsed.rows[0].batch_no == 12
    assert 12 in parsed.batches


def test_no_batch_anywhere(tmp_path: Path, generic: Inspection) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", standard_sheet([case(1)], "Sheet1", title="一览表"))
    parsed = parse_file(path, generic)
    assert parsed.rejected
    assert [i.rule for i in parsed.issues] == ["NO_BATCH"]
    assert parsed.rows == []


def test_landing_folder_date_is_as_of(tmp_path: Path, hn: Inspection) -> None:
    path = tmp_path / "landing" / hn.id / "2024-06-05" / "第三批.xlsx"
    write_xlsx(path, standard_sheet([case(1)]))
    parsed = parse_file(path, hn)
    assert parsed.as_of == dt.date(2024, 6, 5)  # the landing day, not the title's
    assert parsed.batches == {3: BATCH_DAY}  # the title still dates the batch
    assert parse_file(path, hn, day_override=dt.date(2024, 6, 9)).as_of == dt.date(2024, 6, 9)


def test_folder_date_dates_a_batch_whose_title_has_none(tmp_path: Path, generic: Inspection) -> None:
    path = tmp_path / "landing" / generic.id / "2024-06-05" / "x.xlsx"
    write_xlsx(path, standard_sheet([case(1)], title="一览表（第四批）"))
    parsed = parse_file(path, generic)
    assert parsed.batches == {4: dt.date(2024, 6, 5)}


def test_each_sheet_has_its_own_title_batch(tmp_path: Path, hn: Inspection) -> None:
    path = write_xlsx(
        tmp_path / "two_sheets.xlsx",
        standard_sheet([case(1)], name="第三批"),
        standard_sheet(
            [case(9, 受理编号=case_id(9, "20240603"))], name="第四批", title="一览表（第四批 2024年6月4日）"
        ),
    )
    parsed = parse_file(path, hn)
    assert not parsed.rejected, parsed.issues
    assert [(r.sheet, r.batch_no) for r in parsed.rows] == [("第三批", 3), ("第四批", 4)]
    assert parsed.batches == {3: BATCH_DAY, 4: dt.date(2024, 6, 4)}
    assert parsed.batch == (4, dt.date(2024, 6, 4))  # the latest


# --- the helpers on their own -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第二十五批", 25),
        ("第25批", 25),
        ("25", 25),
        ("第 八 批", 8),
        ("二十", 20),
        (None, None),
        ("", None),
        ("无", None),
        ("第x批", None),
        (25, 25),
        (25.0, 25),
        (2.5, None),
        (0, None),
        (True, None),
    ],
)
def test_batch_number(text: object, expected: int | None) -> None:
    assert batch_number(text) == expected


def test_parse_title() -> None:
    info = parse_title("第二十批 (4月13日8时至20时)", year_hint=2024)
    assert (info.batch_no, info.day) == (20, dt.date(2024, 4, 13))
    assert parse_title("第二十批 (4月13日8时至20时)").day is None  # no year known
    assert parse_title("（第八批 2024年2月30日）").day is None  # no such day: not guessed
    assert parse_title("截至6月17日", year_hint=2024).batch_no is None


def test_landing_day() -> None:
    parts = Path("/data/landing/c3-hn-2024/2024-06-03/第三批.xlsx").parts
    assert landing_day(parts) == dt.date(2024, 6, 3)
    assert landing_day(Path("/data/2024-06-03.xlsx").parts) is None  # the file name is no folder
    assert landing_day(Path("/data/x/y.xlsx").parts) is None

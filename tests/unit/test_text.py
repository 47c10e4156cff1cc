"""ducha.text: whitespace, full-width forms, Traditional characters, Chinese numerals,
batch labels and dates as titles write them."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest

from ducha.text import (
    NUMERAL,
    batch_label,
    clean,
    cn_date,
    cn_month_day,
    cn_to_int,
    halfwidth,
    header_key,
    int_to_cn,
    simplified,
    squash,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("  受理编号  ", "受理编号"),
        ("交办问题\n基本情况", "交办问题 基本情况"),
        ("\u3000是否\r\n\t属实\u00a0", "是否 属实"),
        ("a\u200b\u200bb", "a b"),
        ("\ufeff受理编号", "受理编号"),
        (31, "31"),
    ],
)
def test_clean_folds_whitespace_runs_and_trims(raw: object, expected: str) -> None:
    assert clean(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("嘉峪 关市", "嘉峪关市"),
        ("受理\n编号", "受理编号"),
        ("\u3000D3HN 2024 0602 0001\u00a0", "D3HN202406020001"),
    ],
)
def test_squash_removes_every_whitespace_character(raw: object, expected: str) -> None:
    assert squash(raw) == expected


def test_halfwidth_converts_fullwidth_letters_digits_and_punctuation() -> None:
    assert halfwidth("Ｄ３ＨＮ２０２４（万元），；／") == "D3HN2024(万元),;/"


@pytest.mark.parametrize(
    ("traditional", "expected"),
    [("受理編號", "受理编号"), ("是否屬實", "是否属实"), ("污染類型", "污染类型"), ("長沙市", "长沙市")],
)
def test_simplified_converts_traditional(traditional: str, expected: str) -> None:
    assert simplified(traditional) == expected


def test_simplified_leaves_ascii_and_simplified_alone() -> None:
    assert simplified("D3HN202406020001") == "D3HN202406020001"
    assert simplified("交办问题基本情况") == "交办问题基本情况"
    assert simplified("") == ""


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("受理编号", "受理编号"),
        ("受理\n編號", "受理编号"),
        ("是否 屬實", "是否属实"),
        ("\u3000问题 类型 ", "问题类型"),
        ("罚款金额（万元）", "罚款金额(万元)"),
        ("责令整改（家）", "责令整改(家)"),
        ("交辦問題基本情況", "交办问题基本情况"),
        (None, ""),
    ],
)
def test_header_key_is_spaceless_halfwidth_simplified(header: object, expected: str) -> None:
    assert header_key(header) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("八", 8),
        ("十", 10),
        ("十一", 11),
        ("二十", 20),
        ("二十五", 25),
        ("一百零二", 102),
        ("一百一十", 110),
        ("两百", 200),
        ("九百九十九", 999),
        ("〇", 0),
        ("叁拾贰", 32),
        ("31", 31),
        ("３１", 31),
        (" 25 ", 25),
    ],
)
def test_cn_to_int(text: str, expected: int) -> None:
    assert cn_to_int(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "第八批", "八批", "abc", "1.5", "-3", "二十五件"])
def test_cn_to_int_returns_none_for_what_is_not_a_numeral(text: str) -> None:
    assert cn_to_int(text) is None


@pytest.mark.parametrize("text", ["፩", "𐩀"])
def test_cn_to_int_returns_none_for_digits_int_cannot_read(text: str) -> None:
    assert cn_to_int(text) is None


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "一"),
        (8, "八"),
        (10, "十"),
        (11, "十一"),
        (25, "二十五"),
        (100, "一百"),
        (101, "一百零一"),
        (110, "一百一十"),
        (999, "九百九十九"),
        (1000, "一千"),
        (1005, "一千零五"),
        (1010, "一千零一十"),
        (2300, "二千三百"),
        (9999, "九千九百九十九"),
    ],
)
def test_int_to_cn_as_written_in_batch_titles(n: int, expected: str) -> None:
    assert int_to_cn(n) == expected


def test_int_to_cn_and_cn_to_int_round_trip_1_to_9999() -> None:
    written = [int_to_cn(n) for n in range(1, 10000)]
    assert len(set(written)) == 9999  # no two numbers written alike
    assert [cn_to_int(w) for w in written] == list(range(1, 10000))


@pytest.mark.parametrize("n", [0, -1, 10000, 12345])
def test_int_to_cn_refuses_out_of_range(n: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        int_to_cn(n)


def test_numeral_pattern_matches_every_number_as_written() -> None:
    for n in range(1, 10000):
        assert re.fullmatch(NUMERAL, int_to_cn(n)), n
        assert re.fullmatch(NUMERAL, str(n)), n


@pytest.mark.parametrize(
    "text", ["两", "〇", "零", "十一", "两百", "一〇二", "壹", "贰拾", "叁佰", "一千零二", "007"]
)
def test_numeral_pattern_matches_other_forms_cn_to_int_reads(text: str) -> None:
    assert cn_to_int(text) is not None
    assert re.fullmatch(NUMERAL, text)


def test_numeral_pattern_accepts_exactly_what_cn_to_int_reads() -> None:
    # Random strings over the numeral characters, digits and near misses: the pattern
    # (used to find 第N批 in titles and IDs) and cn_to_int never disagree, so every
    # batch found converts.
    alphabet = "零〇一二两三四五六七八九壹贰叁十拾百佰千万亿0123456789第批件 .-a"
    rng = random.Random(14)
    for _ in range(5000):
        text = "".join(rng.choices(alphabet, k=rng.randint(1, 5)))
        if text != text.strip():
            continue  # cn_to_int trims; the patterns embedding NUMERAL take the spaces around it
        assert (cn_to_int(text) is not None) == bool(re.fullmatch(NUMERAL, text)), text


@pytest.mark.parametrize(("n", "expected"), [(1, "第一批"), (12, "第十二批"), (102, "第一百零二批")])
def test_batch_label(n: int, expected: str) -> None:
    assert batch_label(n) == expected


def test_dates_as_titles_and_sentences_write_them() -> None:
    assert cn_date(dt.date(2024, 6, 3)) == "2024年6月3日"
    assert cn_date(dt.date(2024, 12, 31)) == "2024年12月31日"
    assert cn_month_day(dt.date(2024, 6, 3)) == "6月3日"

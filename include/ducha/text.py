"""Small text helpers: whitespace, full-width forms, Traditional characters, Chinese
numerals, and how titles write a batch and a date."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import cache, lru_cache

_SPACES = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
_STRIP = " \t\r\n\v\f\u3000\u00a0\u200b\ufeff"
_DIGITS = "零一二三四五六七八九"
_CN_DIGIT = {c: i for i, c in enumerate(_DIGITS)} | {"〇": 0, "两": 2, "壹": 1, "贰": 2, "叁": 3}
_CN_UNIT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000}
# A numeral as cn_to_int reads it, after halfwidth(): Arabic digits, or Chinese numeral
# characters. A pattern to embed ("第(NUMERAL)批"), so a match always converts.
NUMERAL = "(?:[0-9]+|[" + "".join(_CN_DIGIT) + "".join(_CN_UNIT) + "]+)"


def clean(value: object) -> str:
    """Trim and fold runs of whitespace (line breaks, full-width spaces) to one space."""
    if value is None:
        return ""
    return _SPACES.sub(" ", str(value)).strip(_STRIP)


def squash(value: object) -> str:
    """Remove every whitespace character: for headers, IDs and region names, where a
    space is always a line-wrap artefact ("嘉峪 关市")."""
    return _SPACES.sub("", "" if value is None else str(value))


def halfwidth(value: str) -> str:
    """Full-width digits, letters and punctuation to their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", value)


@cache
def _t2s():
    import opencc  # opencc-python-reimplemented: pure Python, no native library

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def simplified(value: str) -> str:
    """Traditional -> Simplified. Only for headers, vocabularies and regions; free text
    is kept as written. Memoised: the same few hundred values repeat in every file."""
    if not value or value.isascii():
        return value
    return _t2s().convert(value)


@cache
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def traditional(value: str) -> str:
    """Simplified -> Traditional: how some clerks' systems type (the sample's use)."""
    return _s2t().convert(value)


def header_key(value: object) -> str:
    """The lookup form of a header cell: no spaces, half-width, Simplified."""
    return simplified(folded(value))


def folded(value: object) -> str:
    """No spaces, half-width: the form a cell is read in, before the (costly) conversion
    to Simplified where that is needed (a header, a region, a vocabulary value)."""
    return halfwidth(squash(value))


def cn_to_int(text: str) -> int | None:
    """Chinese or Arabic numerals to an int: "二十五" -> 25, "31" -> 31, "一百零二" -> 102."""
    text = halfwidth(text.strip())
    if text.isascii() and text.isdigit():  # not "፩": str.isdigit() accepts any script's digits
        return int(text)
    if not text or any(c not in _CN_DIGIT and c not in _CN_UNIT for c in text):
        return None
    total, current = 0, 0
    for c in text:
        if c in _CN_DIGIT:
            current = _CN_DIGIT[c]
        else:
            total += (current or 1) * _CN_UNIT[c]
            current = 0
    return total + current


def int_to_cn(n: int) -> str:
    """1..9999 as written in batch titles: 8 -> 八, 25 -> 二十五, 110 -> 一百一十, 1005 -> 一千零五."""
    if not 0 < n < 10000:
        raise ValueError(f"batch number out of range: {n}")
    out = ""
    gap = False  # zeros inside the number are read as one 零
    for digit, unit in zip(f"{n:04d}", ("千", "百", "十", ""), strict=True):
        d = int(digit)
        if d == 0:
            gap = bool(out)
            continue
        if gap:
            out, gap = out + "零", False
        out += ("" if d == 1 and unit == "十" and not out else _DIGITS[d]) + unit  # 十一, not 一十一
    return out


def batch_label(batch_no: int) -> str:
    """A batch as titles, sheets and file names call it: 3 -> 第三批."""
    return f"第{int_to_cn(batch_no)}批"


def cn_date(day: dt.date) -> str:
    """A date as titles write it: 2024年6月3日."""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_month_day(day: dt.date) -> str:
    """A date within the inspection's year, as sentences write it: 6月3日."""
    return f"{day.month}月{day.day}日"

"""Small text helpers: whitespace, full-width forms, Traditional characters, Chinese numerals."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

_SPACES = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
_STRIP = " \t\r\n\v\f\u3000\u00a0\u200b\ufeff"
_DIGITS = "零一二三四五六七八九"
_CN_DIGIT = {c: i for i, c in enumerate(_DIGITS)} | {"〇": 0, "两": 2, "壹": 1, "贰": 2, "叁": 3}
_CN_UNIT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000}


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
    return simplified(halfwidth(squash(value)))


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
    """1..999 as written in batch titles: 8 -> 八, 25 -> 二十五, 110 -> 一百一十."""
    if not 0 < n < 1000:
        raise ValueError(f"batch number out of range: {n}")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = ""
    if hundreds:
        out += _DIGITS[hundreds] + "百"
        if tens == 0 and ones:
            out += "零"
    if tens:
        out += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    if ones:
        out += _DIGITS[ones]
    return out

"""Cell values to canonical values. Pure functions; a value that cannot be read raises
ValueError with what was expected, and the caller turns it into a row error; a value
read with some tolerance (属实。, 阶段性办结（长期坚持）, a key-case mark that is no
configured word) raises Tolerated with the value to use, and becomes a warning."""

from __future__ import annotations

import datetime as dt
import math
import re

from ducha.contract import Contract, Vocabulary
from ducha.text import NUMERAL, clean, cn_to_int, folded, halfwidth, simplified, squash

_BATCH_PREFIX = re.compile(rf"^第?({NUMERAL})批[次]?[:：\-\s]*")
# Dates as written (after halfwidth): 2024-06-03, 2024/6/3, 2024.6.3, 2024年6月3日, and
# 6月3日 in the inspection's year. Patterns to embed: a cell is matched whole, a title searched.
FULL_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
MONTH_DAY = r"(\d{1,2})\s*月\s*(\d{1,2})\s*日?"
_NUMBER = re.compile(r"^([-+]?\d+(?:\.\d+)?)\s*(万元|万|元|家|件|人|个|起|户)?$")
_DASHES = re.compile(r"^[-—–－─~～]+$")  # "—", "——", "-": the clerk's way of writing "none"
_EXCEL_EPOCH = dt.date(1899, 12, 30)


class Tolerated(Exception):  # not an error: the row loads with ``value``
    """The cell is read as ``value``, with a warning showing what was written."""

    def __init__(self, value: object, expected: str) -> None:
        super().__init__(expected)
        self.value, self.expected = value, expected


_BLANK_CHARS = " \t\r\n\v\f\u3000\u00a0\u200b\ufeff"


def is_blank(value: object) -> bool:
    # Called for every cell of every row: no regex here.
    if value is None or value == "":
        return True
    if isinstance(value, str):
        return not value.strip(_BLANK_CHARS)
    return isinstance(value, float) and math.isnan(value)


def as_text(value: object) -> str:
    """Free text, whitespace folded, otherwise kept as written (Traditional too)."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean(value)


def case_id(value: object) -> tuple[str, int | None]:
    """(case_id, batch number from a "第31批 " prefix, if any)."""
    if value.__class__ is str and value.isascii() and value.isalnum():  # type: ignore[attr-defined]
        return value.upper(), None  # the usual ID ("D3HN202406010001"): nothing to fold
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = folded(as_text(value)).upper()
    batch = None
    m = _BATCH_PREFIX.match(text)
    if m:
        batch = cn_to_int(m.group(1))
        text = text[m.end() :]
    return text, batch


def region(value: object) -> str:
    # Spaces in region names are line-wrap artefacts ("嘉峪 关市").
    return simplified(folded(as_text(value)))


def enum(value: object, vocab: Vocabulary) -> str:
    """Canonical value, or the cleaned input when unknown (the quality suite names it).
    What people type around a value (属实。, 阶段性办结（长期坚持）, "已办结 ") is read as
    the value, with a warning (Tolerated)."""
    text = simplified(folded(as_text(value)))
    canonical = vocab.synonyms.get(text, text)
    if canonical in vocab.values:
        return canonical
    bare = _TRAILING.sub("", text)
    canonical = vocab.synonyms.get(bare, bare)
    if bare != text and canonical in vocab.values:
        raise Tolerated(canonical, f"「{canonical}」（括号内和标点已略去）")
    return text


# A bracketed remark and punctuation after a value: "阶段性办结（长期坚持）", "属实。".
_TRAILING = re.compile(r"(?:[(\[【][^()\[\]【】]*[)\]】]|[。.,;:!?、…~]+)+$")


def pollution_types(value: object, contract: Contract) -> list[str]:
    text = simplified(halfwidth(as_text(value)))
    if not text:
        return []
    seps = re.escape(halfwidth(contract.type_separators) + contract.type_separators)
    out: list[str] = []
    for part in re.split(f"[{seps}]", text):
        name = squash(part)
        name = contract.long_forms.get(name, name)
        if name and name not in out:
            out.append(name)
    return out


def flag(value: object, contract: Contract) -> bool:
    """The key-case mark: only the contract's yes-words count ("是", "√", "*" in
    Shandong, "重点" …); a blank or a dash is no; another word ("待定") reads as no,
    with a warning."""
    text = folded(as_text(value)).upper()
    if not text or text in contract.flag_no or _DASHES.match(text):
        return False
    if text in contract.flag_yes:
        return True
    raise Tolerated(False, "是 或 否（空白）；其他文字按「否」读取")


def number(value: object, *, money_unit: str | None = None, header_unit: str | None = None) -> float | None:
    """Counts like "3家" and amounts like "1.5万元" / "251542.71元".

    For money, the result is in ``money_unit`` (元 or 万元); a value without a unit
    takes the unit written in the header ("罚款金额（万元）"), else 元.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError("数字")
    if isinstance(value, int | float):
        amount, unit = float(value), None
    else:
        text = folded(as_text(value)).replace(",", "")
        if text in ("无", "/") or _DASHES.match(text):
            return 0.0
        m = _NUMBER.match(text)
        if not m:
            raise ValueError("数字，如 3、3家、1.5万元")
        amount, unit = float(m.group(1)), m.group(2)
    if money_unit is None:
        return amount
    unit = unit or header_unit or "元"
    yuan = amount * 10000 if unit in ("万元", "万") else amount
    return round(yuan / 10000, 6) if money_unit == "万元" else round(yuan, 2)


def date(value: object, *, year_hint: int | None = None) -> dt.date | None:
    """Excel serials, datetimes, 2024-06-03, 2024/6/3, 2024.6.3, 2024年6月3日, 6月3日."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 < value < 80000:  # an Excel serial (1954..2119)
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError("日期")
    text = folded(str(value))
    m = re.fullmatch(FULL_DATE + r"(?:\d{1,2}[:时].*)?", text)  # a time after the day is dropped
    if m:
        return _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if m:
        return _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.fullmatch(MONTH_DAY, text)
    if m and year_hint:
        return _make_date(year_hint, int(m.group(1)), int(m.group(2)))
    raise ValueError("日期，如 2024-06-03、2024年6月3日")


def _make_date(y: int, m: int, d: int) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise ValueError("有效日期") from None


def received_on(case_id_text: str, contract: Contract) -> dt.date | None:
    """The received day encoded in a well-formed ID (D3HN[20240602]0040)."""
    if not contract.case_id_pattern.match(case_id_text):
        return None
    try:
        return dt.date(int(case_id_text[4:8]), int(case_id_text[8:10]), int(case_id_text[10:12]))
    except ValueError:
        return None


def channel(case_id_text: str, contract: Contract) -> str | None:
    return contract.channels.get(case_id_text[:1]) if case_id_text else None

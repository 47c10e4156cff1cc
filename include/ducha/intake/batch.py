"""Batch number and date from titles, 批次 cells and landing folders."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ducha.intake.values import FULL_DATE, MONTH_DAY
from ducha.intake.values import date as parse_date
from ducha.text import NUMERAL, cn_to_int, halfwidth

_BATCH = re.compile(rf"第\s*({NUMERAL})\s*批")
_FULL_DATE = re.compile(FULL_DATE)
_SHORT_DATE = re.compile(rf"(?<!\d){MONTH_DAY}")
# The batch's own count in its title: "（第三批 2024年6月3日 共52件）", "第三批交办52件".
_COUNT = re.compile(r"(?:共|交办|转办|移交)\s*(\d+)\s*件")


@dataclass(frozen=True)
class TitleInfo:
    batch_no: int | None
    day: dt.date | None
    count: int | None = None  # cases the title says the batch transferred


def batch_number(text: object) -> int | None:
    """ "第二十五批", "第25批", "25", 25, 25.0 -> 25."""
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return int(text) if float(text).is_integer() and text > 0 else None
    s = halfwidth(str(text)).strip()
    m = _BATCH.search(s)
    if m:
        return cn_to_int(m.group(1))
    return cn_to_int(s) if s else None


def parse_title(text: str, year_hint: int | None = None) -> TitleInfo:
    """ "…一览表（第二十五批 2024年6月3日）" -> (25, 2024-06-03)."""
    s = halfwidth(text)
    batch_no = _title_batch(s)
    day = None
    d = _FULL_DATE.search(s)
    if d:
        try:
            day = parse_date(f"{d.group(1)}-{d.group(2)}-{d.group(3)}")
        except ValueError:
            day = None
    elif year_hint:
        d = _SHORT_DATE.search(s)
        if d:
            try:
                day = dt.date(year_hint, int(d.group(1)), int(d.group(2)))
            except ValueError:
                day = None
    counted = _COUNT.search(s)
    return TitleInfo(batch_no, day, int(counted.group(1)) if counted else None)


def _title_batch(title: str) -> int | None:
    """The batch of a title. An inspection's name can carry a 第N批 of its own
    ("第三轮第二批中央生态环境保护督察"), so the one with a date right after it wins
    ("（第八批 2024年6月8日）"), else the last one."""
    found = list(_BATCH.finditer(title))
    if not found:
        return None
    dated = [
        m
        for m in found
        if _FULL_DATE.match(title[m.end() :].lstrip(" ，,、（(　"))
        or _SHORT_DATE.match(title[m.end() :].lstrip(" ，,、（(　"))
    ]
    return cn_to_int((dated or found)[-1 if not dated else 0].group(1))


def iso_day(name: str) -> dt.date | None:
    """A folder named by its day (YYYY-MM-DD), else None."""
    try:
        return dt.date.fromisoformat(name) if len(name) == 10 else None
    except ValueError:
        return None


def landing_day(path_parts: tuple[str, ...]) -> dt.date | None:
    """The YYYY-MM-DD folder of landing/<inspection>/<YYYY-MM-DD>/file, if any."""
    for part in reversed(path_parts[:-1]):
        try:
            return dt.date.fromisoformat(part)
        except ValueError:
            continue
    return None

"""A published table's first rows, for the page's preview (every cell as text; the page
escapes it)."""

from __future__ import annotations

import csv
from itertools import islice
from pathlib import Path

from ducha.disclosure.layout import Sheet

PREVIEWABLE = (".xlsx", ".csv")


def table_rows(path: Path, limit: int) -> tuple[list[list[str]], bool]:
    """Up to ``limit`` rows of the file's first sheet, and whether there are more."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [row for _, row in zip(range(limit + 1), csv.reader(handle), strict=False)]
    elif path.suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = [[_text(v) for v in row] for row in islice(sheet.iter_rows(), limit + 1)]
    else:
        raise ValueError(f"no preview of {path.suffix}")
    return rows[:limit], len(rows) > limit


def sheet_rows(sheet: Sheet, limit: int) -> tuple[list[list[str]], bool]:
    """The same for a table made on request: its title, header and rows."""
    head = [[sheet.title]] if sheet.title else []
    rows = head + sheet.header_grid + [[_text(v) for v in row] for row in sheet.rows[: limit + 1]]
    return rows[:limit], len(rows) > limit


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)

"""Find the header row under title rows, possibly split over two merged rows."""

from __future__ import annotations

from dataclasses import dataclass

from ducha.contract import Contract, strip_unit
from ducha.intake.reader import Cell, Merge
from ducha.text import clean, folded, header_key, simplified

MIN_FIELDS = 3  # fewer matched columns than this is not a header, it is a title or data

MAX_HEADER_CHARS = 80  # the longest header of any layout is under 30 characters


@dataclass(frozen=True)
class HeaderMatch:
    first_row: int  # 0-based index of the first header row
    last_row: int  # 0-based index of the last header row; data starts after it
    fields: dict[int, str]  # column index -> contract field
    written: dict[int, str]  # column index -> the header as written in the file
    internal: dict[int, str]  # staff-contact columns found (never read)
    duplicates: dict[int, str]  # columns naming a field already matched


def _fill_merges(rows: list[list[Cell]], merges: list[Merge], upto: int) -> list[list[Cell]]:
    """The first ``upto`` rows, each merged header cell's value copied across its range."""
    grid = [list(r) for r in rows[:upto]]
    fill_merges(grid, merges, range(upto))
    return grid


def fill_merges(
    rows: list[list[Cell]], merges: list[Merge], within: range, *, down_only: bool = False
) -> None:
    """Copy each merged cell's value into the blank cells of its range, in place, for the
    ranges that start in rows ``within`` (calamine gives a merged value once, in the top
    left cell). ``down_only``: only ranges over several rows (行政区域 merged down a
    city's cases), not a title or a note merged across the columns of one row."""
    for (r0, c0), (r1, c1) in merges:
        if r0 not in within or r0 >= len(rows) or c0 >= len(rows[r0]) or (down_only and r1 == r0):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, within.stop - 1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                if rows[r][c] is None or str(rows[r][c]).strip() == "":
                    rows[r][c] = value


def _match_row(
    cells: list[Cell], keys: list[str], index: dict[str, str], internal: set[str]
) -> HeaderMatch | None:
    fields: dict[int, str] = {}
    written: dict[int, str] = {}
    found_internal: dict[int, str] = {}
    duplicates: dict[int, str] = {}
    for col, (cell, key) in enumerate(zip(cells, keys, strict=True)):
        if not key:
            continue
        base = strip_unit(key)
        if base in internal or key in internal:
            found_internal[col] = clean(cell)
            continue
        name = index.get(base) or index.get(key)
        if not name:
            continue
        if name in fields.values():
            duplicates[col] = clean(cell)
            continue
        fields[col] = name
        written[col] = clean(cell)
    if len(fields) < MIN_FIELDS:
        return None
    return HeaderMatch(0, 0, fields, written, found_internal, duplicates)


def _keys(cells: list[Cell], longest: int) -> list[str]:
    """Each cell's lookup form (header_key), or "" for a cell that cannot name a column:
    blank, or longer than any name (beside its unit) even at twice the longest. Such a
    cell, a complaint's text under the header, is not converted to Simplified: every
    one is new, and the conversion is the costly part of finding a header."""
    out = []
    for cell in cells:
        if not isinstance(cell, str):
            out.append(header_key(cell))
            continue
        if len(cell) > MAX_HEADER_CHARS:
            out.append("")  # not worth normalising (a 2 MB cell took 5 s)
            continue
        text = folded(cell)
        if len(text) > 2 * longest and len(strip_unit(text)) > 2 * longest:
            out.append("")
            continue
        out.append(simplified(text))
    return out


def find_header(
    rows: list[list[Cell]], merges: list[Merge], contract: Contract, search_rows: int
) -> HeaderMatch | None:
    index = contract.alias_index()
    internal = {strip_unit(header_key(c)) for c in contract.internal_columns}
    longest = max(map(len, (*index, *internal)))
    grid = _fill_merges(rows, merges, min(len(rows), search_rows + 1))
    keys = [_keys(row, longest) for row in grid]
    best: HeaderMatch | None = None
    for r in range(min(len(grid), search_rows)):
        single = _match_row(grid[r], keys[r], index, internal)
        candidates = []
        if single:
            candidates.append(HeaderMatch(r, r, *_parts(single)))
        if r + 1 < len(grid):
            # A two-row header: the lower cell names the column, else the (merged) upper one.
            width = max(len(grid[r]), len(grid[r + 1]))
            combined: list[Cell] = []
            combined_keys: list[str] = []
            for c in range(width):
                lower = grid[r + 1][c] if c < len(grid[r + 1]) else None
                upper = grid[r][c] if c < len(grid[r]) else None
                lower_key = keys[r + 1][c] if c < len(keys[r + 1]) else ""
                upper_key = keys[r][c] if c < len(keys[r]) else ""
                lower_known = lower_key and (
                    strip_unit(lower_key) in index or strip_unit(lower_key) in internal
                )
                if lower_known or upper in (None, ""):
                    combined.append(lower)
                    combined_keys.append(lower_key)
                else:
                    combined.append(upper)
                    combined_keys.append(upper_key)
            double = _match_row(combined, combined_keys, index, internal)
            if double and single and len(double.fields) > len(single.fields):
                candidates.append(HeaderMatch(r, r + 1, *_parts(double)))
        for cand in candidates:
            if best is None or len(cand.fields) > len(best.fields):
                best = cand
    return best


def _parts(m: HeaderMatch) -> tuple:
    return (m.fields, m.written, m.internal, m.duplicates)

"""One file in, normalised case rows out, with every issue found while reading."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

import numpy as np
import pandas as pd

from ducha.config import Inspection, limit
from ducha.contract import TYPE_SEPARATOR, Contract, load_contract, split_types
from ducha.intake import values as V
from ducha.intake.batch import batch_number, landing_day, parse_title
from ducha.intake.header import HeaderMatch, fill_merges, find_header
from ducha.intake.reader import EXCEL_ERRORS, Cell, RawSheet, read_raw
from ducha.issues import FileRejected, Issue, Level, issue
from ducha.paths import sha256_file
from ducha.text import clean, header_key

_SKIP_FIRST_CELLS = ("合计", "小计", "总计")


@dataclass
class CaseRow:
    """One row as the clerk's report and the tests see it: a view built from the file's
    frame on demand, never on the loading path."""

    sheet: str
    row: int  # Excel row number
    batch_no: int
    values: dict[str, object]
    cells: list[Cell]  # the row as read
    columns: dict[int, str]  # column index -> header as written in this sheet
    written: dict[str, str]  # field -> header as written in this sheet
    issues: list[Issue] = field(default_factory=list)
    # Fields with a non-blank cell in this row: a blank (or an absent column) reports
    # nothing, so it never erases what an earlier file said about the case.
    given: set[str] = field(default_factory=set)

    @property
    def raw(self) -> dict[str, str]:
        """Header as written -> cell text: the quarantine record and error messages."""
        return raw_text(self.cells, self.columns)


def raw_text(cells: list[Cell], columns: dict[int, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for col, text in columns.items():
        value = cells[col] if col < len(cells) else None
        out[text] = "" if V.is_blank(value) else V.as_text(value) if isinstance(value, float) else str(value)
    return out


@dataclass(frozen=True)
class SheetSource:
    """Where a sheet's rows came from: its cells and its header as written."""

    sheet: RawSheet
    columns: dict[int, str]  # column index -> header as written
    written: dict[str, str]  # field -> header as written


# Columns of the frame besides the contract's fields: where each row came from.
META = ("_source", "_sheet", "_row", "_line", "batch_no")


@dataclass
class ParsedFile:
    """A file read: one columnar frame of case rows (the contract's fields, normalised,
    and where each row came from), the fields each row gave, and the issues found."""

    path: Path
    sha256: str
    size: int
    inspection: Inspection
    as_of: dt.date | None = None
    batches: dict[int, dt.date | None] = field(default_factory=dict)
    batch_counts: dict[int, int] = field(default_factory=dict)  # the count a title states
    sheets: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)  # file and sheet level
    frame: pd.DataFrame = field(default_factory=lambda: _empty_frame())
    given: pd.DataFrame = field(default_factory=pd.DataFrame)  # field -> bool, row by row
    row_issues: dict[int, list[Issue]] = field(default_factory=dict)  # frame position -> issues
    sources: list[SheetSource] = field(default_factory=list)
    _views: list[CaseRow] | None = field(default=None, repr=False)

    @property
    def rejected(self) -> bool:
        return any(i.level == "error" for i in self.issues)

    @property
    def batch(self) -> tuple[int | None, dt.date | None]:
        """The file's batch: the only one, or the latest one when rows span several."""
        if not self.batches:
            return None, None
        no = max(self.batches)
        return no, self.batches[no]

    def __len__(self) -> int:
        return len(self.frame)

    def add_issue(self, pos: int, found: Issue, at: int | None = None) -> None:
        """``found`` after the row's others, or at place ``at`` among them."""
        issues = self.row_issues.setdefault(pos, [])
        if at is None:
            issues.append(found)
        else:
            issues.insert(at, found)

    def issue_count(self) -> int:
        """Every issue of the file, its own and its rows': issues are only ever added."""
        return len(self.issues) + sum(len(found) for found in self.row_issues.values())

    def rejected_positions(self) -> list[int]:
        """Frame positions of rows with an error: all of them when the file is refused."""
        if self.rejected:
            return list(range(len(self.frame)))
        return sorted(p for p, found in self.row_issues.items() if any(i.level == "error" for i in found))

    def raw(self, pos: int) -> dict[str, str]:
        """Header as written -> cell text of one row: the quarantine record."""
        source = self.sources[int(self.frame["_source"].iat[pos])]
        return raw_text(source.sheet.rows[int(self.frame["_line"].iat[pos])], source.columns)

    def where(self, pos: int) -> tuple[str, int]:
        """(sheet, Excel row) of one row: where a clerk finds it."""
        return str(self.frame["_sheet"].iat[pos]), int(self.frame["_row"].iat[pos])

    def written(self, pos: int, name: str) -> str | None:
        return self.sources[int(self.frame["_source"].iat[pos])].written.get(name)

    @property
    def rows(self) -> list[CaseRow]:
        """Every row as a CaseRow view (for reports on small files and for tests)."""
        if self._views is None or len(self._views) != len(self.frame):
            self._views = [self._view(pos) for pos in range(len(self.frame))]
        return self._views

    def _view(self, pos: int) -> CaseRow:
        rec = self.frame.iloc[pos]
        source = self.sources[int(rec["_source"])]
        values = {name: rec[name] for name in self.frame.columns if name not in META}
        values["pollution_types"] = split_types(str(values.get("pollution_types") or ""))
        given = {name for name in self.given.columns if bool(self.given[name].iat[pos])}
        return CaseRow(
            str(rec["_sheet"]),
            int(rec["_row"]),
            None if pd.isna(rec["batch_no"]) else int(rec["batch_no"]),  # type: ignore[arg-type]
            values,
            source.sheet.rows[int(rec["_line"])],
            source.columns,
            source.written,
            self.row_issues.setdefault(pos, []),
            given,
        )


def _empty_frame() -> pd.DataFrame:
    # Every ParsedFile starts with one: a copy of a made one costs a hundredth of building it.
    return _frame_of((*load_contract().fields, "channel", *META)).copy()


@cache
def _frame_of(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})


def parse_file(
    path: Path,
    inspection: Inspection,
    *,
    batch_override: int | None = None,
    day_override: dt.date | None = None,
    sha256: str | None = None,
) -> ParsedFile:
    """Never raises for bad input: file-level problems land in ``issues``. ``sha256``: the
    file's digest when the caller has it already."""
    path = Path(path)
    parsed = ParsedFile(path, sha256 or sha256_file(path), path.stat().st_size, inspection)
    try:
        sheets, notes = read_raw(path)
        parsed.issues.extend(notes)
        _parse_sheets(parsed, sheets, batch_override, day_override)
    except FileRejected as exc:
        parsed.issues.append(exc.issue)
        parsed.frame, parsed.given, parsed.row_issues = _empty_frame(), pd.DataFrame(), {}
        parsed.as_of = parsed.as_of or day_override or landing_day(path.parts)
    return parsed


def _parse_sheets(
    parsed: ParsedFile,
    sheets: list[RawSheet],
    batch_override: int | None,
    day_override: dt.date | None,
) -> None:
    contract = load_contract()
    insp = parsed.inspection
    folder_day = day_override or landing_day(parsed.path.parts)
    folder_batch = next(
        (b for p in reversed(parsed.path.parts[:-1]) if "批" in p and (b := batch_number(p))), None
    )
    # The landing day is known before any header is read: a file refused for its header
    # still records the day it arrived.
    parsed.as_of = folder_day
    found_header = False
    chunks: list[_Chunk] = []
    for sheet in sheets:
        match = find_header(sheet.rows, sheet.merged, contract, limit("header_search_rows"))
        if match is None:
            parsed.issues.append(issue("warning", "SHEET_NO_HEADER", sheet=sheet.name))
            continue
        found_header = True
        # A value merged down several case rows (a city's 行政区域) belongs to each of them.
        fill_merges(sheet.rows, sheet.merged, range(match.last_row + 1, len(sheet.rows)), down_only=True)
        missing = [f for f in contract.required if f not in match.fields.values()]
        if missing:
            labels = "、".join(contract.fields[f].label for f in missing)
            raise FileRejected(
                "MISSING_COLUMN", labels, sheet=sheet.name, row=match.last_row + 1, expected=labels
            )
        for text in match.internal.values():
            parsed.issues.append(issue("warning", "COLUMN_INTERNAL", sheet=sheet.name, column=text))
        for text in match.duplicates.values():
            parsed.issues.append(issue("warning", "COLUMN_DUPLICATE", sheet=sheet.name, column=text))
        title_text = " ".join(clean(c) for r in sheet.rows[: match.first_row] for c in r if not V.is_blank(c))
        title = parse_title(title_text, insp.year_hint() or (folder_day.year if folder_day else None))
        title_batch = batch_override or title.batch_no or folder_batch
        if title_batch is not None and title.count is not None:
            parsed.batch_counts.setdefault(title_batch, title.count)
        if title_batch is not None and title.batch_no is not None and title.day:
            parsed.batches.setdefault(title_batch, title.day)
        elif title_batch is not None:
            parsed.batches.setdefault(title_batch, None if title.day else folder_day)
        if parsed.as_of is None:  # no landing folder: the first title's date
            parsed.as_of = title.day
        parsed.sheets.append(sheet.name)
        # A workbook with one sheet per batch (a city's feedback file) names it on the tab:
        # the last resort, as a copied sheet keeps a stale tab name.
        tab_batch = batch_number(sheet.name) if "批" in sheet.name else None
        chunks.append(_parse_rows(parsed, sheet, match, contract, title_batch, batch_override, tab_batch))
    if not found_header:
        raise FileRejected("NO_HEADER", "前若干行中没有「受理编号」「交办问题基本情况」等列名")
    _assemble(parsed, chunks)
    if not len(parsed.frame):
        raise FileRejected("FILE_EMPTY")
    if parsed.frame["batch_no"].isna().any():
        raise FileRejected(
            "NO_BATCH", "标题、「批次」列、受理编号前缀和接收目录中均未写明批次；可用 --batch 指定"
        )
    if parsed.as_of is None:
        dated = [d for d in parsed.batches.values() if d]
        parsed.as_of = max(dated) if dated else None


_EMPTY_BY_KIND: dict[str, object] = {
    "flag": False,
    "types": "",
    "count": None,
    "money": None,
    "date": None,
    "int": None,
}


def _empty(kind: str) -> object:
    """The value of a blank cell (pollution types are held joined, "" for none)."""
    return _EMPTY_BY_KIND.get(kind, "")


@dataclass(frozen=True)
class _Plan:
    """How to read one sheet's rows, worked out once from its header."""

    absent: dict[str, str]  # field -> kind, for fields the sheet has no column for
    present: list[tuple[str, int, str, Callable[[Cell], object]]]  # field, column, kind, converter


def _plan(match: HeaderMatch, contract: Contract, insp: Inspection, year: int | None) -> _Plan:
    by_name = {name: col for col, name in match.fields.items()}
    present = []
    absent = {}
    for name, f in contract.fields.items():
        if name not in by_name or name == "batch":
            absent[name] = f.kind
            continue
        header = match.written[by_name[name]]
        convert = _converter(
            f.kind,
            contract=contract,
            vocabulary=f.vocabulary,
            fine_unit=insp.fine_unit,
            year=year,
            header=header,
        )
        present.append((name, by_name[name], f.kind, convert))
    return _Plan(absent, present)


@dataclass
class _Chunk:
    """One sheet's case rows, column by column."""

    source: SheetSource
    lines: list[int]  # 0-based row index in the sheet of each case row
    columns: dict[str, list[object]]
    given: dict[str, list[bool]]
    issues: list[tuple[int, Issue]]  # (position in the chunk, issue)
    batch_no: list[int | None]


def _parse_rows(
    parsed: ParsedFile,
    sheet: RawSheet,
    match: HeaderMatch,
    contract: Contract,
    title_batch: int | None,
    batch_override: int | None,
    tab_batch: int | None,
) -> _Chunk:
    """The sheet's case rows as columns: each column converted as a whole, each distinct
    cell value once (regions, types, statuses repeat thousands of times)."""
    insp = parsed.inspection
    written = {name: match.written[col] for col, name in match.fields.items()}
    id_col = next(col for col, name in match.fields.items() if name == "case_id")
    batch_col = next((col for col, name in match.fields.items() if name == "batch"), None)
    plan = _plan(match, contract, insp, insp.year_hint() or (parsed.as_of.year if parsed.as_of else None))
    lines = _case_lines(sheet.rows, match.last_row + 1, id_col, written["case_id"], contract)
    n = len(lines)
    chunk = _Chunk(SheetSource(sheet, match.written, written), lines, {}, {}, [], [])
    for name, kind in plan.absent.items():
        chunk.columns[name] = [_empty(kind)] * n
        chunk.given[name] = [False] * n
    grid = _columns(sheet.rows, lines, max(match.fields) + 1)
    for name, col, kind, convert in plan.present:
        values, given, failures = _convert_column(grid[col], kind, convert)
        chunk.columns[name], chunk.given[name] = values, given
        for pos, rule, value, expected, level in failures:
            detail = f"「{value}」"
            found = issue(
                level, rule, detail, sheet=sheet.name, row=lines[pos] + 1, column=written[name],
                value=value, expected=expected,
            )  # fmt: skip
            chunk.issues.append((pos, found))
    # The case ID as read (a "第31批 " prefix names the batch), and what it encodes.
    ids = [V.case_id(c) for c in grid[id_col]]
    case_ids = [i for i, _ in ids]
    chunk.columns["case_id"] = case_ids
    if "duplicate_of" not in plan.absent:
        chunk.columns["duplicate_of"] = [V.case_id(d)[0] if d else d for d in chunk.columns["duplicate_of"]]
    read_on = chunk.columns["received_on"]
    chunk.columns["received_on"] = [
        V.received_on(c, contract) or r for c, r in zip(case_ids, read_on, strict=True)
    ]
    chunk.columns["channel"] = [V.channel(c, contract) for c in case_ids]
    row_batches = (
        _memo_map(grid[batch_col], lambda c: None if V.is_blank(c) else batch_number(c))
        if batch_col is not None
        else [None] * n
    )
    chunk.batch_no = [
        batch_override or row_batch or title_batch or id_batch or tab_batch
        for row_batch, (_, id_batch) in zip(row_batches, ids, strict=True)
    ]
    for no in dict.fromkeys(b for b in chunk.batch_no if b is not None):
        parsed.batches.setdefault(no, None)
    return chunk


def _case_lines(
    rows: list[list[Cell]], start: int, id_col: int, id_header: str, contract: Contract
) -> list[int]:
    """Indexes of the rows under the header that hold a case: not blank rows, "注：…"
    notes under the table, subtotal rows, or the header repeated on every printed page."""
    notes = contract.notes_row_prefixes
    out = []
    for r in range(start, len(rows)):
        cells = rows[r]
        first = next((c for c in cells if not V.is_blank(c)), None)
        if first is None:
            continue
        if isinstance(first, str):
            text = clean(first)
            if text.startswith(_SKIP_FIRST_CELLS):
                continue
            if text.startswith(notes) and sum(not V.is_blank(c) for c in cells) <= 2:
                continue
        head = cells[id_col] if id_col < len(cells) else None
        # The header repeated: its first character first (no regex for a case's ID).
        if isinstance(head, str) and id_header[:1] in head and clean(head) == id_header:
            continue
        out.append(r)
    return out


def _columns(rows: list[list[Cell]], lines: list[int], width: int) -> list[Sequence[Cell]]:
    """The case rows' cells, column by column, at least ``width`` columns (one
    transpose; short rows padded)."""
    if not lines:
        return [() for _ in range(width)]
    body = [rows[r] for r in lines]
    width = max(width, *(len(r) for r in body))
    if any(len(r) != width for r in body):
        body = [[*r, *([None] * (width - len(r)))] for r in body]
    # One pass in C: zip(*body) took twice as long on 100k rows.
    return [column.tolist() for column in np.array(body, dtype=object).T]


def _distinct(cells: Sequence[Cell]) -> tuple[list[int], list[Cell]]:
    """(code of each cell, the distinct cells): each cell value is converted once.

    A column of text and blanks (nearly every column) is factorised by pandas' hash
    table in C; a column that mixes numbers, booleans and dates goes through a dict
    keyed by (type, value), so 1, 1.0 and True stay apart."""
    kinds = set(map(type, cells))
    if kinds <= {str, type(None)}:
        codes, uniques = pd.factorize(np.asarray(cells, dtype=object), use_na_sentinel=True)
        distinct: list[Cell] = [*uniques.tolist(), None]  # code -1 (a blank cell) reads the last
        return codes.tolist(), distinct
    if kinds <= {float, type(None)}:  # numbers and blanks (序号, counts): a float array
        codes, uniques = pd.factorize(np.asarray(cells, dtype=float), use_na_sentinel=False)
        distinct = uniques.tolist()
        if type(None) in kinds:  # a blank was NaN in the array: it gets a code of its own
            blank = np.fromiter((c is None for c in cells), dtype=bool, count=len(cells))
            codes = np.where(blank, len(distinct), codes)
            distinct.append(None)
        return codes.tolist(), distinct
    index: dict[object, int] = {}
    out_codes, out_distinct = [], []
    for cell in cells:
        key = cell if cell.__class__ is str else (cell.__class__, cell)
        code = index.get(key)
        if code is None:
            code = index[key] = len(out_distinct)
            out_distinct.append(cell)
        out_codes.append(code)
    return out_codes, out_distinct


def _memo_map(cells: Sequence[Cell], fn: Callable[[Cell], object]) -> list[object]:
    """``fn`` of each cell, computed once per distinct value."""
    codes, distinct = _distinct(cells)
    mapped = [fn(cell) for cell in distinct]
    return [mapped[c] for c in codes]


# position, rule, value as written, what was expected, level
_Failure = tuple[int, str, str, str, Level]


def _convert_column(
    cells: Sequence[Cell], kind: str, convert: Callable[[Cell], object]
) -> tuple[list[object], list[bool], list[_Failure]]:
    """Normalised values, which cells were given, and the cells that could not be read."""
    blank = _empty(kind)
    as_is = kind in ("text", "id")  # what as_text returns unchanged: ASCII letters and digits
    number = kind in ("int", "count")  # what number() returns as float(cell): a finite float

    def one(cell: Cell) -> tuple[object, bool, tuple[str, str, str, Level] | None]:
        # Case IDs and 序号 are distinct in every row: the two commonest cells go straight.
        if as_is and cell.__class__ is str and cell.isascii() and cell.isalnum():  # type: ignore[union-attr]
            return cell, True, None
        if number and cell.__class__ is float and math.isfinite(cell):  # type: ignore[arg-type]
            return (int(cell) if kind == "int" else cell), True, None  # type: ignore[arg-type]
        if V.is_blank(cell):
            return blank, False, None  # most cells of a new case are empty
        if isinstance(cell, str) and cell in EXCEL_ERRORS:
            return blank, True, ("CELL_ERROR", cell, "数值或文字；请修正公式或直接填写数值", "error")
        try:
            value = convert(cell)
        except V.Tolerated as read:
            return read.value, True, ("ENUM_TOLERATED", clean(cell), read.expected, "warning")
        except ValueError as exc:
            rule = "DATE_FORMAT" if kind == "date" else "NUMBER_FORMAT"
            return None, True, (rule, clean(cell), str(exc), "error")
        if kind == "types":
            value = TYPE_SEPARATOR.join(value)  # type: ignore[arg-type]
        return value, True, None

    codes, distinct = _distinct(cells)
    results = [one(cell) for cell in distinct]
    values_of = [r[0] for r in results]
    given_of = [r[1] for r in results]
    values = [values_of[c] for c in codes]
    given = [given_of[c] for c in codes]
    bad = {code: r[2] for code, r in enumerate(results) if r[2] is not None}
    failures: list[_Failure] = (
        [(pos, *bad[c]) for pos, c in enumerate(codes) if c in bad] if bad else []  # type: ignore[misc]
    )
    return values, given, failures


def _assemble(parsed: ParsedFile, chunks: list[_Chunk]) -> None:
    """The sheets' columns into the file's one frame."""
    names = [*load_contract().fields, "channel"]
    columns: dict[str, list[object]] = {name: [] for name in (*names, *META)}
    given: dict[str, list[bool]] = {name: [] for name in load_contract().fields}
    for index, chunk in enumerate(chunks):
        base = len(columns["_row"])
        parsed.sources.append(chunk.source)
        for name in names:
            columns[name].extend(chunk.columns[name])
        for name in given:
            given[name].extend(chunk.given[name])
        n = len(chunk.lines)
        columns["_source"].extend([index] * n)
        columns["_sheet"].extend([chunk.source.sheet.name] * n)
        columns["_row"].extend(line + 1 for line in chunk.lines)
        columns["_line"].extend(chunk.lines)
        columns["batch_no"].extend(chunk.batch_no)
        for pos, found in chunk.issues:
            parsed.add_issue(base + pos, found)
    parsed.frame = pd.DataFrame(columns, dtype=object)
    parsed.given = pd.DataFrame(given, dtype=bool)


def _converter(
    kind: str,
    *,
    contract: Contract,
    vocabulary: str | None,
    fine_unit: str,
    year: int | None,
    header: str,
) -> Callable[[Cell], object]:
    """The function that reads one cell of a column of this kind, its arguments bound once
    a sheet (it runs once per distinct cell value)."""
    if kind in ("text", "id"):
        return V.as_text
    if kind == "region":
        return V.region
    if kind == "enum":
        return partial(V.enum, vocab=contract.vocabularies[vocabulary or ""])
    if kind == "types":
        return partial(V.pollution_types, contract=contract)
    if kind == "flag":
        return partial(V.flag, contract=contract)
    if kind == "date":
        return partial(V.date, year_hint=year)
    if kind == "count":
        return V.number
    if kind == "money":
        key = header_key(header)  # "罰款金額（萬元）" names its unit in Traditional
        unit = "万元" if "万" in key else ("元" if "元" in key else None)
        return partial(V.number, money_unit=fine_unit, header_unit=unit)
    if kind == "int":
        return _int
    raise AssertionError(kind)


def _int(cell: Cell) -> int | None:
    n = V.number(cell)
    return None if n is None else int(n)

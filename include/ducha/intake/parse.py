"""One file in, normalised case rows out, with every issue found while reading."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ducha.config import Inspection, limit
from ducha.contract import Contract, load_contract
from ducha.intake import values as V
from ducha.intake.batch import batch_number, landing_day, parse_title
from ducha.intake.header import HeaderMatch, find_header
from ducha.intake.reader import EXCEL_ERRORS, Cell, RawSheet, read_raw
from ducha.issues import FileRejected, Issue, issue
from ducha.text import clean, header_key

_SKIP_FIRST_CELLS = ("合计", "小计", "总计")


@dataclass
class CaseRow:
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
        """Header as written -> cell text: the quarantine record and error messages.
        Built on demand: only rejected rows need it."""
        out: dict[str, str] = {}
        for col, text in self.columns.items():
            value = self.cells[col] if col < len(self.cells) else None
            out[text] = (
                "" if V.is_blank(value) else V.as_text(value) if isinstance(value, float) else str(value)
            )
        return out


@dataclass
class ParsedFile:
    path: Path
    sha256: str
    size: int
    inspection: Inspection
    as_of: dt.date | None = None
    batches: dict[int, dt.date | None] = field(default_factory=dict)
    sheets: list[str] = field(default_factory=list)
    rows: list[CaseRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)  # file and sheet level

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


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    parsed = ParsedFile(path, sha256 or sha256_of(path), path.stat().st_size, inspection)
    try:
        sheets, notes = read_raw(path)
        parsed.issues.extend(notes)
        _parse_sheets(parsed, sheets, batch_override, day_override)
    except FileRejected as exc:
        parsed.issues.append(exc.issue)
        parsed.rows.clear()
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
    parsed.as_of = day_override or folder_day
    found_header = False
    for sheet in sheets:
        match = find_header(sheet.rows, sheet.merged, contract, limit("header_search_rows"))
        if match is None:
            parsed.issues.append(issue("warning", "SHEET_NO_HEADER", sheet=sheet.name))
            continue
        found_header = True
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
        if title_batch is not None and title.batch_no is not None and title.day:
            parsed.batches.setdefault(title_batch, title.day)
        elif title_batch is not None:
            parsed.batches.setdefault(title_batch, None if title.day else folder_day)
        if parsed.as_of is None:
            parsed.as_of = day_override or folder_day or title.day
        parsed.sheets.append(sheet.name)
        _parse_rows(parsed, sheet, match, contract, title_batch, batch_override)
    if not found_header:
        raise FileRejected("NO_HEADER", "前若干行中没有「受理编号」「交办问题基本情况」等列名")
    if not parsed.rows:
        raise FileRejected("FILE_EMPTY")
    if any(r.batch_no is None for r in parsed.rows):
        raise FileRejected(
            "NO_BATCH", "标题、「批次」列、受理编号前缀和接收目录中均未写明批次；可用 --batch 指定"
        )
    if parsed.as_of is None:
        dated = [d for d in parsed.batches.values() if d]
        parsed.as_of = max(dated) if dated else None


_EMPTY_BY_KIND: dict[str, object] = {
    "flag": False,
    "count": None,
    "money": None,
    "date": None,
    "int": None,
}


def _empty(kind: str) -> object:
    """The value of a blank cell; types get a fresh list per row."""
    return [] if kind == "types" else _EMPTY_BY_KIND.get(kind, "")


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
        convert = partial(
            _value,
            f.kind,
            contract=contract,
            vocabulary=f.vocabulary,
            fine_unit=insp.fine_unit,
            year=year,
            header=header,
        )
        present.append((name, by_name[name], f.kind, convert))
    return _Plan(absent, present)


def _parse_rows(
    parsed: ParsedFile,
    sheet: RawSheet,
    match: HeaderMatch,
    contract: Contract,
    title_batch: int | None,
    batch_override: int | None,
) -> None:
    insp = parsed.inspection
    written = {name: match.written[col] for col, name in match.fields.items()}
    id_header = written["case_id"]
    id_col = next(col for col, name in match.fields.items() if name == "case_id")
    batch_col = next((col for col, name in match.fields.items() if name == "batch"), None)
    plan = _plan(match, contract, insp, insp.year_hint() or (parsed.as_of.year if parsed.as_of else None))
    for r in range(match.last_row + 1, len(sheet.rows)):
        cells = sheet.rows[r]
        filled = [c for c in cells if not V.is_blank(c)]
        if not filled:
            continue
        first = clean(filled[0])
        if len(filled) <= 2 and first.startswith(contract.notes_row_prefixes):
            continue  # "注：…" rows under the table
        if first.startswith(_SKIP_FIRST_CELLS):
            continue
        if id_col < len(cells) and clean(cells[id_col]) == id_header:
            continue  # the header repeated on every printed page of an export
        row = CaseRow(sheet.name, r + 1, 0, {}, cells, match.written, written)
        _normalise(row, plan, contract)
        row_batch = None
        if batch_col is not None and batch_col < len(cells) and not V.is_blank(cells[batch_col]):
            row_batch = batch_number(cells[batch_col])
        id_batch = row.values.pop("_id_batch", None)
        row.batch_no = batch_override or row_batch or title_batch or id_batch
        if row.batch_no is not None:
            parsed.batches.setdefault(row.batch_no, None)
        parsed.rows.append(row)


def _normalise(row: CaseRow, plan: _Plan, contract: Contract) -> None:
    values = row.values
    for name, kind in plan.absent.items():
        values[name] = _empty(kind)
    cells = row.cells
    for name, col, kind, convert in plan.present:
        cell = cells[col] if col < len(cells) else None
        if V.is_blank(cell):
            values[name] = _empty(kind)  # most cells of a new case are empty: skip the converter
            continue
        row.given.add(name)
        if isinstance(cell, str) and cell in EXCEL_ERRORS:
            values[name] = _empty(kind)
            row.issues.append(
                issue(
                    "error",
                    "CELL_ERROR",
                    f"「{cell}」",
                    sheet=row.sheet,
                    row=row.row,
                    column=row.written[name],
                    value=cell,
                    expected="数值或文字；请修正公式或直接填写数值",
                )
            )
            continue
        try:
            values[name] = convert(cell)
        except ValueError as exc:
            values[name] = None
            rule = "DATE_FORMAT" if kind == "date" else "NUMBER_FORMAT"
            row.issues.append(
                issue(
                    "error",
                    rule,
                    f"「{clean(cell)}」",
                    sheet=row.sheet,
                    row=row.row,
                    column=row.written[name],
                    value=clean(cell),
                    expected=str(exc),
                )
            )
    id_cell = next((cells[c] for n, c, _, _ in plan.present if n == "case_id" and c < len(cells)), None)
    case_id, id_batch = V.case_id(id_cell)
    values["case_id"] = case_id
    values["_id_batch"] = id_batch
    if values.get("duplicate_of"):
        values["duplicate_of"] = V.case_id(values["duplicate_of"])[0]
    values["received_on"] = V.received_on(case_id, contract) or values.get("received_on")
    values["channel"] = V.channel(case_id, contract)


def _value(
    kind: str,
    cell: Cell,
    *,
    contract: Contract,
    vocabulary: str | None,
    fine_unit: str,
    year: int | None,
    header: str,
) -> object:
    if kind in ("text", "id"):
        return V.as_text(cell)
    if kind == "region":
        return V.region(cell)
    if kind == "enum":
        return V.enum(cell, contract.vocabularies[vocabulary or ""])
    if kind == "types":
        return V.pollution_types(cell, contract)
    if kind == "flag":
        return V.flag(cell)
    if kind == "date":
        return V.date(cell, year_hint=year)
    if kind == "count":
        n = V.number(cell)
        return None if n is None else n
    if kind == "money":
        key = header_key(header)  # "罰款金額（萬元）" names its unit in Traditional
        unit = "万元" if "万" in key else ("元" if "元" in key else None)
        return V.number(cell, money_unit=fine_unit, header_unit=unit)
    if kind == "int":
        n = V.number(cell)
        return None if n is None else int(n)
    raise AssertionError(kind)

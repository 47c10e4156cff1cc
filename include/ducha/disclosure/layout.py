"""A published table sheet and where everything of it goes: the sheet model (columns,
rows, grouped header, title, notes), how each cell is written (blank, number, masked
text, quote-prefixed where it looks like a formula), its cell formats and print size,
and the layout both xlsx writers follow (writers.add_sheet through xlsxwriter, for
workbooks with charts; xlsx.write_workbook, for tables alone)."""

from __future__ import annotations

import math
import numbers
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Literal

from ducha.config import PrintSpec, project_settings
from ducha.disclosure.redact import is_missing, looks_like_formula, mask_personal

if TYPE_CHECKING:
    import xlsxwriter

ColumnKind = Literal["text", "int", "number", "percent"]
_KINDS = ("text", "int", "number", "percent")
Align = Literal["left", "center", "right"]
_ALIGNS = ("left", "center", "right")
# Excel display formats; percent values are fractions (0.853 -> 85.3%).
NUMBER_FORMATS: dict[str, str] = {"int": "0", "number": "#,##0.00", "percent": "0.0%"}
FOOTER = "&C第 &P 页 共 &N 页"


@dataclass(frozen=True)
class Column:
    header: str  # the flat name: CSV header, and the XLSX/HTML header without header_rows
    width: float = 12  # Excel character units; a Chinese character is about 2
    kind: ColumnKind = "text"
    align: Align | None = None  # None: text left, numbers right

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"column {self.header!r}: unknown kind {self.kind!r}")
        if self.align is not None and self.align not in _ALIGNS:
            raise ValueError(f"column {self.header!r}: unknown align {self.align!r}")
        if not self.width > 0:
            raise ValueError(f"column {self.header!r}: width must be positive")


@dataclass(frozen=True)
class Sheet:
    name: str  # worksheet name (Excel: at most 31 characters, none of []:*?/\)
    columns: Sequence[Column]
    rows: Sequence[Sequence[object]]
    title: str | None = None
    notes: Sequence[str] = ()  # paragraphs under the table ("注：…")
    # Optional grouped header, one list per header row; "" or a repeat of the cell to
    # the left / above continues that cell (see header_cells).
    header_rows: Sequence[Sequence[str]] | None = None

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError(f"sheet {self.name!r}: no columns")
        width = len(self.columns)
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"sheet {self.name!r}: row {i} has {len(row)} cells, expected {width}")
        if self.header_rows is not None:
            if not self.header_rows:
                raise ValueError(f"sheet {self.name!r}: header_rows is empty")
            for i, row in enumerate(self.header_rows):
                if len(row) != width:
                    raise ValueError(f"sheet {self.name!r}: header row {i} has {len(row)} cells")
        if isinstance(self.notes, str):
            raise TypeError(f"sheet {self.name!r}: notes must be a list of paragraphs")

    @property
    def header_grid(self) -> list[list[str]]:
        if self.header_rows is None:
            return [[c.header for c in self.columns]]
        return [["" if v is None else str(v) for v in row] for row in self.header_rows]


@dataclass(frozen=True)
class HeaderCell:
    """One (possibly merged) header cell, rows and columns relative to the header."""

    row: int
    col: int
    last_row: int
    last_col: int
    text: str

    @property
    def merged(self) -> bool:
        return (self.row, self.col) != (self.last_row, self.last_col)


def header_cells(grid: Sequence[Sequence[str]]) -> list[HeaderCell]:
    """Merge a grouped header into cells, covering every position exactly once.

    A non-empty cell grows right over "" (or a repeat of its text) while the cells above
    belong to the same group (so "总数" under two groups never merges across them), then
    down over rows that are "" (or repeats) across its whole width. An unclaimed ""
    stays a blank cell of its own.
    """
    nrows, ncols = len(grid), len(grid[0]) if grid else 0
    owner: list[list[int | None]] = [[None] * ncols for _ in range(nrows)]
    cells: list[HeaderCell] = []

    def continues(r: int, c: int, text: str) -> bool:
        return owner[r][c] is None and grid[r][c] in ("", text)

    for r in range(nrows):
        for c in range(ncols):
            if owner[r][c] is not None:
                continue
            text = grid[r][c]
            last_col, last_row = c, r
            if text:
                while (
                    last_col + 1 < ncols
                    and continues(r, last_col + 1, text)
                    and all(owner[up][last_col + 1] == owner[up][c] for up in range(r))
                ):
                    last_col += 1
                while last_row + 1 < nrows and all(
                    continues(last_row + 1, cc, text) for cc in range(c, last_col + 1)
                ):
                    last_row += 1
            for rr in range(r, last_row + 1):
                for cc in range(c, last_col + 1):
                    owner[rr][cc] = len(cells)
            cells.append(HeaderCell(r, c, last_row, last_col, text))
    return cells


# ---------------------------------------------------------------------------- cells


def _as_number(value: object) -> int | float | None:
    """value as a number if it is one (bool is not: it is text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real | Decimal):
        return float(value)
    return None


def classify(value: object, column: Column) -> tuple[Literal["blank", "number", "text"], object]:
    """How a cell is written: blank (missing, NaN, inf), number (numeric column and a
    numeric value) or text (everything else, including "—" in a numeric column)."""
    if value.__class__ is str:  # most cells of a published table: checked first
        return "text", value
    if is_missing(value):
        return "blank", None
    if column.kind != "text":
        number = _as_number(value)
        if number is not None:
            if not math.isfinite(number):
                return "blank", None
            return "number", number
    return "text", value


def plain_number(value: int | float) -> str:
    """A number as plain machine-readable text: ints (and integral floats) without ".0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def display_number(value: int | float, kind: ColumnKind) -> str:
    """A number as the XLSX number format shows it (for HTML)."""
    if kind == "percent":
        return f"{value:.1%}"
    if kind == "number":
        return f"{value:,.2f}"
    return plain_number(value)


def _display_width(text: str) -> int:
    """Width in Excel character units: wide (CJK) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrapped_height(text: str, width: float, line_height: float = 15.0) -> float:
    """Row height (points) for text wrapped in a merged cell; Excel does not autofit
    merged cells, so notes and titles get an explicit height."""
    usable = max(width - 1, 1)
    lines = sum(max(1, math.ceil(_display_width(line) / usable)) for line in text.split("\n"))
    return line_height * lines


class CellFormats(dict):
    """The cell formats by name, each added to the workbook when first used: a small
    workbook (a city's copy of a batch) does not pay for formats it never needs.
    "<name>_quoted" is the same format with Excel's quote prefix, for text that would
    otherwise run as a formula once a reader edits the cell (the reader sees the text as
    typed, without an apostrophe)."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        super().__init__()
        self._workbook = workbook

    def __missing__(self, name: str) -> object:
        self[name] = fmt = self._workbook.add_format(dict(format_spec(name)))
        return fmt


@cache
def format_spec(name: str) -> tuple[tuple[str, object], ...]:
    """The properties of the cell format ``name``, "<kind>[@<align>][_quoted]" ("int@center"
    is 序号, centred as offices print it), sorted: two names with equal specs are one
    format to Excel ("title@center" is "title")."""
    base = name.removesuffix("_quoted")
    kind, _, align = base.partition("@")
    spec = {
        **_FORMAT_SPECS[kind],
        "font_name": print_settings().title_font if kind == "title" else print_settings().font,
    }
    if align:
        spec["align"] = align
    if base != name:
        spec["quote_prefix"] = True
    return tuple(sorted(spec.items()))


@cache
def print_settings() -> PrintSpec:
    """The fonts and print size of published files (ducha.yaml `print`)."""
    return project_settings().print


# Printable width of a landscape page with 0.5" side margins, in points.
_PRINTABLE_PT = {"A4": (11.69 - 1.0) * 72, "A3": (16.54 - 1.0) * 72}
PAPER_CODE = {"A4": 9, "A3": 8}  # Excel's paper sizes


def paper_for(columns: Sequence[Column], font_points: float = 10) -> str:
    """A4, or A3 where a sheet printed one page wide on A4 landscape would shrink its
    text below ``print.min_points`` (11 columns of a central-inspection table do)."""
    chosen = print_settings().paper
    if chosen != "auto":
        return chosen
    # An Excel column of width w is w * 7 + 5 pixels wide (0.75 pt each).
    width_pt = sum(c.width * 7 + 5 for c in columns) * 0.75
    scale = min(1.0, _PRINTABLE_PT["A4"] / width_pt) if width_pt else 1.0
    return "A4" if font_points * scale >= print_settings().min_points else "A3"


_BASE_FORMAT: dict[str, object] = {"font_size": 10, "text_wrap": True, "valign": "top", "border": 1}
_FORMAT_SPECS: dict[str, dict[str, object]] = {
    "title": {"bold": True, "font_size": 14, "align": "center", "valign": "vcenter", "text_wrap": True},
    "header": {**_BASE_FORMAT, "bold": True, "align": "center", "valign": "vcenter", "bg_color": "#DDEBF7"},
    "text": _BASE_FORMAT,
    **{kind: {**_BASE_FORMAT, "num_format": fmt} for kind, fmt in NUMBER_FORMATS.items()},
    "note": {"font_size": 10, "text_wrap": True, "valign": "top"},
}


def text_cell(value: object, name: str) -> tuple[str, str]:
    """(the text to write, its format name) for a published text cell: personal data
    masked, and the quote-prefixed format where the text looks like a formula."""
    if value.__class__ is str:  # most cells: no need to ask whether it is missing
        text = mask_personal(value)
    else:
        text = "" if is_missing(value) else mask_personal(str(value))
    return text, f"{name}_quoted" if looks_like_formula(text) else name


@dataclass(frozen=True)
class Placed:
    """A text cell of a sheet's frame (title, header, note) over the cells from (row,
    col) to (last_row, last_col), its format name, and its row's height in points
    where the row needs one."""

    row: int
    col: int
    last_row: int
    last_col: int
    text: str
    format: str
    height: float | None = None

    @property
    def merged(self) -> bool:
        return (self.row, self.col) != (self.last_row, self.last_col)


@dataclass(frozen=True)
class SheetLayout:
    """Where everything of a table sheet goes, decided once for both ways of writing
    it (xlsxwriter for a workbook with charts, xlsx.py for tables alone)."""

    frame: tuple[Placed, ...]  # title and header cells, in the order they are written
    notes: tuple[Placed, ...]
    header_top: int
    header_bottom: int
    data_top: int  # the first data row
    data_rows: int
    # Per column: the format of its numbers and blanks ("<kind>[@<align>]") and of its
    # text ("text[@<align>]", "_quoted" added per cell).
    number_formats: tuple[str, ...]
    text_formats: tuple[str, ...]
    paper: str

    @property
    def last_row(self) -> int:
        return self.notes[-1].row if self.notes else self.data_top + self.data_rows - 1


def sheet_layout(sheet: Sheet) -> SheetLayout:
    """The layout of a print-ready table sheet: an optional merged title row, the
    (grouped) header repeated on every printed page and frozen on screen, bordered data
    cells, note rows below; A3 where A4 would shrink the text below the configured size."""
    last_col = len(sheet.columns) - 1
    total_width = sum(c.width for c in sheet.columns)
    frame: list[Placed] = []
    row = 0
    if sheet.title:
        title, fmt = text_cell(sheet.title, "title")
        height = max(30.0, _wrapped_height(title, total_width / 1.4, 22.0))  # 14pt: wider glyphs
        frame.append(Placed(0, 0, 0, last_col, title, fmt, height))
        row = 1
    header_top = row
    grid = sheet.header_grid
    for cell in header_cells(grid):
        text, fmt = text_cell(cell.text, "header")
        frame.append(
            Placed(header_top + cell.row, cell.col, header_top + cell.last_row, cell.last_col, text, fmt)
        )
    header_bottom = header_top + len(grid) - 1
    data_top = header_bottom + 1
    notes = []
    for i, note in enumerate(sheet.notes):
        text, fmt = text_cell(note, "note")
        at = data_top + len(sheet.rows) + i
        height = _wrapped_height(text, total_width / 1.1)  # 10pt in an 11pt grid
        notes.append(Placed(at, 0, at, last_col, text, fmt, height))
    aligned = [f"@{c.align}" if c.align else "" for c in sheet.columns]
    return SheetLayout(
        frame=tuple(frame),
        notes=tuple(notes),
        header_top=header_top,
        header_bottom=header_bottom,
        data_top=data_top,
        data_rows=len(sheet.rows),
        number_formats=tuple(c.kind + a for c, a in zip(sheet.columns, aligned, strict=True)),
        text_formats=tuple("text" + a for a in aligned),
        paper=paper_for(sheet.columns),
    )


def data_cell(
    value: object, column: Column, number_format: str, text_format: str
) -> tuple[Literal["blank", "number", "text"], object, str]:
    """How a data cell is written: (blank, None, format), (number, value, format) or
    (text, masked text, format)."""
    how, data = classify(value, column)
    if how == "text":
        text, fmt = text_cell(data, text_format)
        return "text", text, fmt
    return how, data, number_format

"""Atomic, deterministic, print-ready disclosure files: XLSX, CSV, HTML and a manifest.

Every text cell has its personal data masked (redact.mask_personal). Text a
spreadsheet would run as a formula is kept as typed in XLSX, with Excel's quote prefix
in the cell format, and gets a leading "'" in CSV (redact.safe_text); HTML only masks,
as a browser runs no formulas. The same input gives
the same bytes: no wall-clock time is written anywhere, the XLSX creation date is the
caller's ``created``. Files appear under their final name only when complete.
"""

from __future__ import annotations

import csv
import ctypes
import html
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Literal

import xlsxwriter

from ducha.disclosure.layout import (
    FOOTER,
    PAPER_CODE,
    CellFormats,
    Column,
    Placed,
    Sheet,
    classify,
    data_cell,
    display_number,
    header_cells,
    paper_for,
    plain_number,
    print_settings,
    sheet_layout,
)
from ducha.disclosure.redact import is_missing, mask_personal, safe_text
from ducha.disclosure.xlsx import write_workbook
from ducha.parallel import can_fork, fork_map
from ducha.paths import sha256_file

MANIFEST_NAME = "manifest.json"


# ---------------------------------------------------------------------------- files


# Folders being built aside (folder_aside): their files are made durable together when the
# folder is complete, by one sync, not each by an fsync of its own and of its folder
# (about 4 ms a file here: most of the cost of a small per-city copy).
_BUILT_ASIDE: set[Path] = set()


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to path; on success fsync it and rename it onto path,
    on any exception delete it. Readers only ever see the old file or the complete new
    one (os.replace is atomic within a folder). In a folder being built aside, the folder's
    own sync makes it durable."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    aside = target.parent.resolve() in _BUILT_ASIDE
    # Hidden, unique and in the same folder (same filesystem, so the rename is atomic).
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        yield temp
        if not aside:
            _fsync_file(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if not aside:
        _fsync_dir(target.parent)


@contextmanager
def folder_aside(final: Path) -> Iterator[Path]:
    """A folder built beside ``final`` (".<name>.tmp"), made durable and swapped in whole
    when the block ends; removed, leaving ``final`` as it was, if the block fails."""
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    key = tmp.resolve()
    _BUILT_ASIDE.add(key)
    try:
        yield tmp
        sync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # no half-written folder left beside the outbox
        raise
    finally:
        _BUILT_ASIDE.discard(key)
    _swap_in(tmp, final)
    _fsync_dir(final.parent)


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace the folder as a whole: readers see the old set or the new one."""
    old = final.with_name("." + final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def sync_tree(folder: Path) -> None:
    """Make every file and folder under ``folder`` durable: on Linux one syncfs of its
    filesystem (one journal commit for all of them), elsewhere, or if that fails, an
    fsync of each (which raises what went wrong)."""
    if _syncfs(folder):
        return
    for parent, _, names in os.walk(folder):
        for name in names:
            _fsync_file(Path(parent, name))
        _fsync_dir(Path(parent))


@cache
def _libc_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes, syncfs.restype = [ctypes.c_int], ctypes.c_int
    return syncfs


def _syncfs(folder: Path) -> bool:
    syncfs = _libc_syncfs()
    if syncfs is None:
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        return syncfs(fd) == 0
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- XLSX


def _xlsx_created(created: datetime) -> datetime:
    """xlsxwriter prints the date with a "Z" suffix as given: convert to UTC (a naive
    datetime is taken as UTC already)."""
    if created.tzinfo is not None:
        created = created.astimezone(UTC).replace(tzinfo=None)
    return created


def write_xlsx(
    path: str | os.PathLike[str], sheets: Sequence[Sheet], *, created: datetime, author: str = "Ducha"
) -> None:
    """Write sheets to one workbook, laid out for printing (sheet_layout): the bytes
    add_sheet writes through xlsxwriter, written directly (xlsx.py)."""
    if not sheets:
        raise ValueError("write_xlsx: no sheets")
    title = mask_personal(sheets[0].title) if sheets[0].title else None
    with atomic_path(path) as temp:
        write_workbook(str(temp), sheets, created=_xlsx_created(created), title=title, author=author)


@contextmanager
def open_workbook(
    path: str | os.PathLike[str], *, created: datetime, title: str | None = None, author: str = "Ducha"
) -> Iterator[tuple[xlsxwriter.Workbook, dict[str, object]]]:
    """A workbook written by xlsxwriter, atomically, with fixed metadata (same data, same
    bytes), and the shared cell formats: for workbooks with charts (weekly.py). Tables
    alone go through write_xlsx, which writes the same bytes faster (xlsx.py)."""
    with atomic_path(path) as temp:
        workbook = xlsxwriter.Workbook(
            str(temp),
            {
                # Belt and braces: text is written with write_string anyway.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "in_memory": True,
            },
        )
        try:
            properties: dict[str, str | datetime] = {"author": author, "created": _xlsx_created(created)}
            if title:
                properties["title"] = mask_personal(title)
            workbook.set_properties(properties)
            yield workbook, CellFormats(workbook)
        finally:
            workbook.close()


def add_sheet(workbook: xlsxwriter.Workbook, formats: dict[str, object], sheet: Sheet) -> None:
    """One print-ready table sheet (see write_xlsx)."""
    _xlsx_sheet(workbook, formats, sheet)


def _write_placed(ws, placed: Placed, formats) -> None:
    """A frame cell; merge_range would write() its data (formula risk), so merge with ""
    and then write_string the text."""
    fmt = formats[placed.format]
    if placed.merged:
        ws.merge_range(placed.row, placed.col, placed.last_row, placed.last_col, "", fmt)
    _write_text(ws, placed.row, placed.col, placed.text, fmt)
    if placed.height is not None:
        ws.set_row(placed.row, placed.height)


def _write_text(ws, row: int, col: int, text: str, fmt) -> None:
    """write_string, except for a text that starts with "<r>" and ends with "</r>":
    xlsxwriter takes it for its own rich-text markup and writes it unescaped, which
    breaks the file. Such a text (a clerk's cell may be anything) goes as three runs in
    the cell's format, escaped like any run."""
    if text.startswith("<r>") and text.endswith("</r>"):
        ws.write_rich_string(row, col, fmt, text[:1], fmt, text[1:2], fmt, text[2:], fmt)
    else:
        ws.write_string(row, col, text, fmt)


def _xlsx_sheet(workbook: xlsxwriter.Workbook, formats: dict[str, object], sheet: Sheet) -> None:
    ws = workbook.add_worksheet(sheet.name)
    layout = sheet_layout(sheet)
    for i, column in enumerate(sheet.columns):
        ws.set_column(i, i, column.width)
    for placed in layout.frame:
        _write_placed(ws, placed, formats)
    row = layout.data_top
    formats_of = list(zip(sheet.columns, layout.number_formats, layout.text_formats, strict=True))
    for values in sheet.rows:
        for col, (value, (column, number_format, text_format)) in enumerate(
            zip(values, formats_of, strict=True)
        ):
            how, data, fmt = data_cell(value, column, number_format, text_format)
            if how == "number":
                ws.write_number(row, col, data, formats[fmt])
            elif how == "text":
                _write_text(ws, row, col, data, formats[fmt])
            else:
                ws.write_blank(row, col, None, formats[fmt])
        row += 1
    for placed in layout.notes:
        _write_placed(ws, placed, formats)
    print_landscape(ws, layout.paper)
    ws.repeat_rows(layout.header_top, layout.header_bottom)
    ws.freeze_panes(layout.header_bottom + 1, 0)


def print_landscape(ws: xlsxwriter.worksheet.Worksheet, paper: str) -> None:
    """How every published sheet prints: landscape on ``paper`` (A4, A3), one page wide,
    centred, with the page-number footer."""
    ws.set_paper(PAPER_CODE[paper])
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    ws.set_footer(FOOTER, {"margin": 0.3})
    ws.center_horizontally()


# ---------------------------------------------------------------------------- CSV


def write_csv(path: str | os.PathLike[str], sheet: Sheet) -> None:
    """The table alone (flat Column.header row, then data; no title or notes), for
    machines: UTF-8 with BOM (Excel then reads Chinese correctly), CRLF, plain numbers."""
    with atomic_path(path) as temp, open(temp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([safe_text(c.header) for c in sheet.columns])
        for values in sheet.rows:
            writer.writerow([_csv_cell(v, c) for v, c in zip(values, sheet.columns, strict=True)])


def _csv_cell(value: object, column: Column) -> str:
    how, data = classify(value, column)
    if how == "number":
        return plain_number(data)  # type: ignore[arg-type]
    return safe_text(data) if how == "text" else ""


# ---------------------------------------------------------------------------- HTML

_CSS = """\
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
  margin:1.5rem;color:#111;line-height:1.5}
h1{font-size:1.4rem;text-align:center}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:1rem 0 .5rem;font-size:.9rem}
caption{font-weight:bold;font-size:1.1rem;padding:.5rem}
th,td{border:1px solid #555;padding:.3rem .45rem;vertical-align:top;white-space:pre-line;text-align:left}
th{background:#ddebf7;text-align:center;vertical-align:middle}
td.num{text-align:right;white-space:nowrap}
p.note{font-size:.9rem;margin:.25rem 0}
td.c{text-align:center}
@media print{body{margin:0}.scroll{overflow:visible}thead{display:table-header-group}
  tr{break-inside:avoid}th{print-color-adjust:exact;-webkit-print-color-adjust:exact}}
"""


def _h(value: object) -> str:
    """Masked (a browser runs no formulas, so no apostrophe) and escaped."""
    return "" if is_missing(value) else html.escape(mask_personal(str(value)), quote=True)


def _html_table(sheet: Sheet) -> list[str]:
    out = [
        '<div class="scroll">',
        "<table>",
        f"<caption>{_h(sheet.title or sheet.name)}</caption>",
        "<thead>",
    ]
    grid = sheet.header_grid
    cells = header_cells(grid)
    for r in range(len(grid)):
        ths = []
        for cell in (c for c in cells if c.row == r):
            span = ""
            if cell.last_col > cell.col:
                span += f' colspan="{cell.last_col - cell.col + 1}"'
            if cell.last_row > cell.row:
                span += f' rowspan="{cell.last_row - cell.row + 1}"'
            scope = "colgroup" if cell.last_col > cell.col else "col"
            ths.append(f'<th scope="{scope}"{span}>{_h(cell.text)}</th>')
        out.append("<tr>" + "".join(ths) + "</tr>")
    out += ["</thead>", "<tbody>"]
    for values in sheet.rows:
        tds = []
        for value, column in zip(values, sheet.columns, strict=True):
            how, data = classify(value, column)
            centred = ' class="c"' if column.align == "center" else ""
            if how == "number":
                number = display_number(data, column.kind)  # type: ignore[arg-type]
                tds.append(f'<td class="{"c" if centred else "num"}">{number}</td>')
            else:
                tds.append(f"<td{centred}>{_h(data)}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out += ["</tbody>", "</table>", "</div>"]
    out += [f'<p class="note">{_h(note)}</p>' for note in sheet.notes]
    return out


def _print_css(sheets: Sequence[Sheet]) -> str:
    """The page size (A3 where a table needs it, as in the workbook) and the office's
    fonts on paper."""
    paper = "A3" if any(paper_for(s.columns) == "A3" for s in sheets) else "A4"
    fonts = ",".join(f'"{f}"' for f in dict.fromkeys([print_settings().font, "SimSun", "Songti SC"]))
    title = ",".join(f'"{f}"' for f in dict.fromkeys([print_settings().title_font, "SimSun", "Songti SC"]))
    return (
        f"@page{{size:{paper} landscape;margin:12mm}}\n"
        f"@media print{{body{{font-family:{fonts},serif}}h1,caption{{font-family:{title},serif}}}}\n"
    )


def render_html(sheets: Sequence[Sheet], *, page_title: str) -> str:
    """The standalone page as text (write_html writes it)."""
    lines = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_h(page_title)}</title>",
        f"<style>\n{_CSS}{_print_css(sheets)}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_h(page_title)}</h1>",
    ]
    for sheet in sheets:
        lines += ["<section>", *_html_table(sheet), "</section>"]
    lines += ["</main>", "</body>", "</html>", ""]
    return "\n".join(lines)


def write_html(path: str | os.PathLike[str], sheets: Sequence[Sheet], *, page_title: str) -> None:
    """A standalone, accessible HTML5 page: one captioned table per sheet, notes below."""
    page = render_html(sheets, page_title=page_title)
    with atomic_path(path) as temp:
        temp.write_bytes(page.encode("utf-8"))


# ---------------------------------------------------------------------------- many files

TableFormat = Literal["xlsx", "csv", "html"]
# Below this many cells a day's files are written in this process: starting workers
# would cost more than it saves (a demo day has a few thousand cells).
PARALLEL_MIN_CELLS = 50_000


@dataclass(frozen=True)
class TableFile:
    """One table file to write, complete enough for another process to write it."""

    path: Path
    format: TableFormat
    sheets: tuple[Sheet, ...]
    created: datetime  # xlsx metadata
    page_title: str = ""  # html

    @property
    def cells(self) -> int:
        return sum(len(sheet.rows) * len(sheet.columns) for sheet in self.sheets)


def write_table_file(file: TableFile) -> None:
    if file.format == "xlsx":
        write_xlsx(file.path, file.sheets, created=file.created)
    elif file.format == "csv":
        (sheet,) = file.sheets  # a CSV holds one table
        write_csv(file.path, sheet)
    elif file.format == "html":
        write_html(file.path, file.sheets, page_title=file.page_title)
    else:
        raise ValueError(f"{file.path.name}: unknown table format {file.format!r}")


def write_table_files(
    files: Sequence[TableFile], *, workers: int, min_cells: int = PARALLEL_MIN_CELLS
) -> None:
    """Write every file; with ``workers`` > 1 and at least ``min_cells`` cells in all, in
    that many forked processes, largest file first. The bytes are the same either way:
    each file depends only on its own description."""
    workers = min(workers, len(files))
    if workers < 2 or not can_fork() or sum(f.cells for f in files) < min_cells:
        for file in files:
            write_table_file(file)
        return
    largest_first = sorted(range(len(files)), key=lambda i: -files[i].cells)
    fork_map(workers, write_table_file, files, order=largest_first)


# ---------------------------------------------------------------------------- manifest


def generator() -> str:
    try:
        version = metadata.version("ducha")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"ducha {version}"


def _file_entry(folder: Path, entry: dict) -> dict:
    name = entry.get("name")
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"manifest: file name must be a plain name inside the folder: {name!r}")
    if name == MANIFEST_NAME:
        raise ValueError("manifest: cannot list itself")
    path = folder / name
    # sha256 and bytes always come from the file on disk, never from the caller.
    return {"rows": None, **entry, "sha256": sha256_file(path), "bytes": path.stat().st_size}


def write_manifest(
    folder: Path,
    *,
    files: Sequence[dict],
    as_of: str,
    extra: dict | None = None,
) -> Path:
    """Write folder/manifest.json: one entry per file ({name, sha256, bytes, rows} plus
    whatever else the caller gave, sorted by name), as_of and generator. ``extra`` keys
    are added at the top level and may not replace these. Nothing about the run that
    wrote it: the same data gives the same bytes, whichever run or backfill made them."""
    folder = Path(folder)
    entries = sorted((_file_entry(folder, dict(f)) for f in files), key=lambda e: e["name"])
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"manifest: duplicate file names in {names}")
    manifest: dict[str, object] = {
        "as_of": as_of,
        "files": entries,
        "generator": generator(),
        "manifest_version": 1,
    }
    clash = set(extra or {}) & set(manifest)
    if clash:
        raise ValueError(f"manifest: extra may not set {sorted(clash)}")
    manifest.update(extra or {})
    target = folder / MANIFEST_NAME
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    with atomic_path(target) as temp:
        temp.write_bytes(text.encode("utf-8"))
    return target

"""Table workbooks written straight to their XML parts.

A published day writes hundreds of small workbooks (each city's copy of each batch);
through xlsxwriter each costs a few milliseconds whatever its size (a Python call per
cell, then every part assembled by its XML writer). This writes the same parts as
strings: the bytes are those xlsxwriter writes for the same sheets through
``writers.add_sheet`` (tests/unit/disclosure/test_xlsx.py compares them), so a published
file does not change with the path that wrote it. The layout is ``layout.sheet_layout``'s,
shared with that path; xlsxwriter still writes the styles part (once per set of formats)
and the workbooks with charts.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import BinaryIO

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_col_to_name

from ducha.disclosure.layout import (
    FOOTER,
    PAPER_CODE,
    CellFormats,
    Placed,
    Sheet,
    SheetLayout,
    data_cell,
    format_spec,
    sheet_layout,
)

# The zip entries as zipfile writes them for xlsxwriter: deflated, dated 1980-01-01 (no
# wall-clock time in the file), no extra fields, sizes in the local header.
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_ZIP_VERSION = 20  # deflate
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_CREATED_ON = zipfile.ZipInfo().create_system
_FILE_MODE = 0o600 << 16
_ZIP_LIMIT = 0xFFFFFFFF  # sizes and offsets without zip64, which xlsxwriter does not write either
# Parts the same in most workbooks (by sheet count, or by set of formats): deflated once.
_CONSTANT_PARTS = frozenset(
    {
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/theme/theme1.xml",
    }
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAX_SHEET_NAME = 31
_BAD_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_XML_SPECIAL = re.compile('["&<>\n]')
_CONTROL_ESCAPED = re.compile("(_x[0-9a-fA-F]{4}_)")  # a literal _xHHHH_ is escaped too
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EDGE_SPACE = re.compile(r"^\s|\s$")
_STRING_MAX = 32767  # Excel's cell limit, in UTF-16 units
_MAX_ROWS, _MAX_COLUMNS = 1_048_576, 16_384
_DEFAULT_ROW_PX = 20
_DEFAULT_COL_PX = 64
_DIGIT_PX, _PADDING_PX = 7, 5  # Calibri 11, as xlsxwriter measures columns


def write_workbook(
    path: str, sheets: Sequence[Sheet], *, created: datetime, title: str | None, author: str
) -> None:
    """Write ``sheets`` as one workbook at ``path`` (``writers.write_xlsx`` makes the path
    atomic and the metadata fixed)."""
    if not sheets:
        raise ValueError("write_workbook: no sheets")
    _check_sheet_names([s.name for s in sheets])
    strings, styles = _Strings(), _Styles()
    layouts = [sheet_layout(s) for s in sheets]
    for sheet, layout in zip(sheets, layouts, strict=True):
        # xlsxwriter drops cells beyond Excel's grid without a word: here it is an error.
        if layout.last_row >= _MAX_ROWS or len(sheet.columns) > _MAX_COLUMNS:
            raise ValueError(f"sheet {sheet.name!r}: more rows or columns than Excel holds")
    sheet_parts = [
        _worksheet(sheet, layout, index == 0, strings, styles)
        for index, (sheet, layout) in enumerate(zip(sheets, layouts, strict=True))
    ]
    print_titles = _print_titles(sheets, layouts)
    count = len(sheets)
    parts: list[tuple[str, str | bytes]] = [
        ("[Content_Types].xml", _content_types(count, bool(strings.order))),
        ("_rels/.rels", _ROOT_RELS),
        ("xl/_rels/workbook.xml.rels", _workbook_rels(count, bool(strings.order))),
        *((f"xl/worksheets/sheet{i + 1}.xml", part) for i, part in enumerate(sheet_parts)),
        ("xl/workbook.xml", _workbook(sheets, print_titles)),
    ]
    if strings.order:
        parts.append(("xl/sharedStrings.xml", strings.xml()))
    styles_xml, theme_xml = _styles_and_theme(tuple(styles.order))
    parts += [
        ("xl/styles.xml", styles_xml),
        ("xl/theme/theme1.xml", theme_xml),
        ("docProps/core.xml", _core(created, title, author)),
        ("docProps/app.xml", _app(sheets, print_titles)),
    ]
    with open(path, "wb") as out:
        _write_package(out, parts, constant=_CONSTANT_PARTS)


def _write_package(out: BinaryIO, parts: list[tuple[str, str | bytes]], constant: frozenset[str]) -> None:
    """The parts as a zip archive, byte for byte what zipfile.writestr writes for them
    (a few Python calls a part instead of zipfile's few dozen; constant parts deflated
    once a process)."""
    central, offset = [], 0
    for name, data in parts:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        crc, packed = _deflated(raw) if name in constant else _deflate(raw)
        encoded = name.encode("ascii")
        if len(raw) > _ZIP_LIMIT or offset > _ZIP_LIMIT:
            raise ValueError(f"{name}: a workbook part over 4 GB")
        # version needed, reserved, flags, method, time, date, crc, sizes, name: in both headers
        entry = (
            _ZIP_VERSION,
            0,
            0,
            zipfile.ZIP_DEFLATED,
            0,
            _DOS_DATE,
            crc,
            len(packed),
            len(raw),
            len(encoded),
        )
        head = _LOCAL.pack(b"PK\x03\x04", *entry, 0) + encoded
        out.write(head)
        out.write(packed)
        # no extra field, comment or disk; internal attributes 0; external: rw-------
        tail = (0, 0, 0, 0, _FILE_MODE, offset)
        central.append(_CENTRAL.pack(b"PK\x01\x02", _ZIP_VERSION, _CREATED_ON, *entry, *tail))
        central.append(encoded)
        offset += len(head) + len(packed)
    directory = b"".join(central)
    out.write(directory)
    out.write(_END.pack(b"PK\x05\x06", 0, 0, len(parts), len(parts), len(directory), offset, 0))


def _deflate(raw: bytes) -> tuple[int, bytes]:
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return zlib.crc32(raw), compressor.compress(raw) + compressor.flush()


@lru_cache(maxsize=256)
def _deflated(raw: bytes) -> tuple[int, bytes]:
    return _deflate(raw)


def _check_sheet_names(names: list[str]) -> None:
    """Excel's rules for a sheet name (xlsxwriter raises on the same)."""
    seen: set[str] = set()
    for name in names:
        if not name or len(name) > _MAX_SHEET_NAME or _BAD_SHEET_NAME.search(name):
            raise ValueError(f"sheet name {name!r}: 1 to 31 characters, none of []:*?/\\")
        if name.startswith("'") or name.endswith("'"):
            raise ValueError(f"sheet name {name!r} may not start or end with an apostrophe")
        if name.lower() in seen:
            raise ValueError(f"sheet name {name!r} is used twice in one workbook")
        seen.add(name.lower())


# ---------------------------------------------------------------------------- escaping


def _attr(value: str) -> str:
    if not _XML_SPECIAL.search(value):
        return value
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", "&#xA;")
    )


def _data(value: str) -> str:
    if not _XML_SPECIAL.search(value):
        return value
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _si(text: str) -> str:
    """One shared string, as Excel stores it: control characters as _xHHHH_. (xlsxwriter
    writes a string that starts with "<r>" and ends with "</r>" unescaped, as rich text;
    here every string is text.)"""
    text = _CONTROL_ESCAPED.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    space = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
    return f"<si><t{space}>{_data(text)}</t></si>"


def _fit(text: str) -> str:
    """At most Excel's 32,767 UTF-16 units a cell, never splitting a character."""
    if len(text) <= _STRING_MAX // 2 or len(text.encode("utf-16-le", "surrogatepass")) // 2 <= _STRING_MAX:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > _STRING_MAX:
            return text[:index]
    return text


# ---------------------------------------------------------------------------- tables


class _Strings:
    """The shared strings, in the order first written."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.order: list[str] = []
        self.count = 0

    def __call__(self, text: str) -> int:
        self.count += 1
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.order)
            self.order.append(text)
        return found

    def xml(self) -> str:
        head = f'{_DECLARATION}<sst xmlns="{_MAIN}" count="{self.count}" uniqueCount="{len(self.order)}">'
        return head + "".join(map(_si, self.order)) + "</sst>"


class _Styles:
    """Cell formats numbered in the order the cells using them are laid out, as Excel's
    cell formats are (0 is the default); names of one format share its number."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.by_spec: dict[tuple, int] = {}
        self.order: list[str] = []  # one name per format

    def __call__(self, name: str) -> int:
        found = self.index.get(name)
        if found is None:
            spec = format_spec(name)
            found = self.by_spec.get(spec)
            if found is None:
                self.order.append(name)
                found = self.by_spec[spec] = len(self.order)
            self.index[name] = found
        return found


def _row_attrs(height: float | None) -> str:
    if height is None:
        return ""
    pixels = int(height * 4.0 / 3.0 + 0.5)
    return "" if pixels == _DEFAULT_ROW_PX else f' ht="{pixels * 0.75:.16g}" customHeight="1"'


def _frame_rows(
    placed: Sequence[Placed], letters: list[str], strings: _Strings, styles: _Styles
) -> list[str]:
    """The rows of merged text cells (title, header, notes): the text in the first cell
    of each range, the rest blank in its format."""
    grid: dict[int, dict[int, tuple[str, int | None]]] = {}  # row, col: format, string
    heights: dict[int, float] = {}
    for cell in placed:
        index = strings(_fit(cell.text))  # strings are numbered as written, formats as laid out
        for r in range(cell.row, cell.last_row + 1):
            row = grid.setdefault(r, {})
            for c in range(cell.col, cell.last_col + 1):
                row[c] = (cell.format, None)
        grid[cell.row][cell.col] = (cell.format, index)
        if cell.height is not None:
            heights[cell.row] = cell.height
    spans = f"1:{len(letters)}"
    out = []
    for r in sorted(grid):
        cells = []
        for c, (fmt, index) in sorted(grid[r].items()):
            if index is None:
                cells.append(f'<c r="{letters[c]}{r + 1}" s="{styles(fmt)}"/>')
            else:
                cells.append(f'<c r="{letters[c]}{r + 1}" s="{styles(fmt)}" t="s"><v>{index}</v></c>')
        out.append(f'<row r="{r + 1}" spans="{spans}"{_row_attrs(heights.get(r))}>{"".join(cells)}</row>')
    return out


def _data_rows(
    sheet: Sheet, layout: SheetLayout, letters: list[str], strings: _Strings, styles: _Styles
) -> list[str]:
    spans = f"1:{len(letters)}"
    columns = list(zip(letters, sheet.columns, layout.number_formats, layout.text_formats, strict=True))
    out = []
    for r, values in enumerate(sheet.rows, start=layout.data_top + 1):
        cells = []
        for value, (letter, column, number_format, text_format) in zip(values, columns, strict=True):
            how, data, fmt = data_cell(value, column, number_format, text_format)
            if how == "text":
                cells.append(f'<c r="{letter}{r}" s="{styles(fmt)}" t="s"><v>{strings(_fit(data))}</v></c>')
            elif how == "number":
                cells.append(f'<c r="{letter}{r}" s="{styles(fmt)}"><v>{data:.16G}</v></c>')
            else:
                cells.append(f'<c r="{letter}{r}" s="{styles(fmt)}"/>')
        out.append(f'<row r="{r}" spans="{spans}">{"".join(cells)}</row>')
    return out


def _cols(sheet: Sheet) -> str:
    """Column widths as Excel stores them, runs of equal widths in one element."""
    runs: list[list[int]] = []  # [first, last, pixels]
    for i, column in enumerate(sheet.columns):
        width = column.width
        pixels = (
            int(width * (_DIGIT_PX + _PADDING_PX) + 0.5)
            if width < 1
            else int(width * _DIGIT_PX + 0.5) + _PADDING_PX
        )
        if runs and runs[-1][2] == pixels:
            runs[-1][1] = i
        else:
            runs.append([i, i, pixels])
    out = []
    for first, last, pixels in runs:
        custom = "" if pixels == _DEFAULT_COL_PX else ' customWidth="1"'
        chars = (pixels * 256 // _DIGIT_PX) / 256.0
        out.append(f'<col min="{first + 1}" max="{last + 1}" width="{chars:.16g}"{custom}/>')
    return "<cols>" + "".join(out) + "</cols>"


def _worksheet(sheet: Sheet, layout: SheetLayout, selected: bool, strings: _Strings, styles: _Styles) -> str:
    letters = [xl_col_to_name(c) for c in range(len(sheet.columns))]
    # Strings are numbered as written (frame, data, notes), formats as laid out (row by
    # row): the frame's rows come before the data's, the notes' after.
    rows = _frame_rows(layout.frame, letters, strings, styles)
    rows += _data_rows(sheet, layout, letters, strings, styles)
    rows += _frame_rows(layout.notes, letters, strings, styles)
    last = f"{letters[-1]}{layout.last_row + 1}"
    merges = [p for p in (*layout.frame, *layout.notes) if p.merged]
    merge_xml = ""
    if merges:
        refs = "".join(
            f'<mergeCell ref="{letters[p.col]}{p.row + 1}:{letters[p.last_col]}{p.last_row + 1}"/>'
            for p in merges
        )
        merge_xml = f'<mergeCells count="{len(merges)}">{refs}</mergeCells>'
    split = layout.header_bottom + 1
    tab = ' tabSelected="1"' if selected else ""
    return (
        f'{_DECLARATION}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="{"A1" if last == "A1" else "A1:" + last}"/>'
        f'<sheetViews><sheetView{tab} workbookViewId="0">'
        f'<pane ySplit="{split}" topLeftCell="A{split + 1}" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"{_cols(sheet)}<sheetData>{''.join(rows)}</sheetData>{merge_xml}"
        '<printOptions horizontalCentered="1"/>'
        '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.7" header="0.3" footer="0.3"/>'
        f'<pageSetup paperSize="{PAPER_CODE[layout.paper]}" fitToHeight="0" orientation="landscape"/>'
        f"<headerFooter><oddFooter>{_data(FOOTER)}</oddFooter></headerFooter></worksheet>"
    )


# ---------------------------------------------------------------------------- workbook parts


def _print_titles(sheets: Sequence[Sheet], layouts: Sequence[SheetLayout]) -> list[tuple[int, str]]:
    """(sheet index, range) of each sheet's header rows, in Excel's order of names."""
    titles = [
        (i, f"{quote_sheetname(s.name)}!${lay.header_top + 1}:${lay.header_bottom + 1}")
        for i, (s, lay) in enumerate(zip(sheets, layouts, strict=True))
    ]
    return sorted(titles, key=lambda t: "print_titles::" + t[1].lstrip("'").lower())


def _workbook(sheets: Sequence[Sheet], print_titles: list[tuple[int, str]]) -> str:
    listed = "".join(
        f'<sheet name="{_attr(s.name)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, s in enumerate(sheets)
    )
    names = "".join(
        f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">{_data(area)}</definedName>'
        for i, area in print_titles
    )
    return (
        f'{_DECLARATION}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<fileVersion appName="xl" lastEdited="4" lowestEdited="4" rupBuild="4505"/>'
        '<workbookPr defaultThemeVersion="124226"/>'
        '<bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews>'
        f"<sheets>{listed}</sheets><definedNames>{names}</definedNames>"
        '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
    )


_CT = "application/vnd.openxmlformats-officedocument"


def _content_types(sheets: int, strings: bool) -> str:
    overrides = [
        ("/docProps/app.xml", f"{_CT}.extended-properties+xml"),
        ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        ("/xl/styles.xml", f"{_CT}.spreadsheetml.styles+xml"),
        ("/xl/theme/theme1.xml", f"{_CT}.theme+xml"),
        ("/xl/workbook.xml", f"{_CT}.spreadsheetml.sheet.main+xml"),
        *((f"/xl/worksheets/sheet{i + 1}.xml", f"{_CT}.spreadsheetml.worksheet+xml") for i in range(sheets)),
    ]
    if strings:
        overrides.append(("/xl/sharedStrings.xml", f"{_CT}.spreadsheetml.sharedStrings+xml"))
    return (
        f'{_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{part}" ContentType="{kind}"/>' for part, kind in overrides)
        + "</Types>"
    )


def _relationships(targets: list[tuple[str, str]]) -> str:
    listed = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{kind}" Target="{target}"/>'
        for i, (kind, target) in enumerate(targets)
    )
    return f'{_DECLARATION}<Relationships xmlns="{_PKG_REL}">{listed}</Relationships>'


_ROOT_RELS = _relationships(
    [
        (f"{_REL}/officeDocument", "xl/workbook.xml"),
        (
            "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
            "docProps/core.xml",
        ),
        (f"{_REL}/extended-properties", "docProps/app.xml"),
    ]
)


def _workbook_rels(sheets: int, strings: bool) -> str:
    targets = [(f"{_REL}/worksheet", f"worksheets/sheet{i + 1}.xml") for i in range(sheets)]
    targets += [(f"{_REL}/theme", "theme/theme1.xml"), (f"{_REL}/styles", "styles.xml")]
    if strings:
        targets.append((f"{_REL}/sharedStrings", "sharedStrings.xml"))
    return _relationships(targets)


def _core(created: datetime, title: str | None, author: str) -> str:
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    title_xml = f"<dc:title>{_data(title)}</dc:title>" if title else ""
    return (
        f"{_DECLARATION}<cp:coreProperties"
        ' xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{title_xml}<dc:creator>{_data(author)}</dc:creator><cp:lastModifiedBy>{_data(author)}</cp:lastModifiedBy>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
    )


def _app(sheets: Sequence[Sheet], print_titles: list[tuple[int, str]]) -> str:
    ranges = [area.split("!", 1)[0] + "!Print_Titles" for _, area in print_titles]
    parts = [s.name for s in sheets] + ranges
    pairs = f"<vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>{len(sheets)}</vt:i4></vt:variant>"
    if ranges:
        pairs += (
            "<vt:variant><vt:lpstr>Named Ranges</vt:lpstr></vt:variant>"
            f"<vt:variant><vt:i4>{len(ranges)}</vt:i4></vt:variant>"
        )
    listed = "".join(f"<vt:lpstr>{_data(p)}</vt:lpstr>" for p in parts)
    return (
        f'{_DECLARATION}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"'
        ' xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        "<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
        f'<HeadingPairs><vt:vector size="{4 if ranges else 2}" baseType="variant">{pairs}</vt:vector></HeadingPairs>'
        f'<TitlesOfParts><vt:vector size="{len(parts)}" baseType="lpstr">{listed}</vt:vector></TitlesOfParts>'
        "<Company></Company><LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
        "<HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion></Properties>"
    )


@lru_cache(maxsize=64)
def _styles_and_theme(names: tuple[str, ...]) -> tuple[bytes, bytes]:
    """The styles part for cell formats ``names`` numbered 1, 2, … in that order, and the
    theme, as xlsxwriter writes them: a one-row workbook using each format once, in
    memory. A day's hundreds of city copies use a few such sets."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    formats = CellFormats(workbook)
    ws = workbook.add_worksheet()
    for col, name in enumerate(names):
        ws.write_blank(0, col, None, formats[name])
    workbook.close()
    numbered = [formats[name].xf_index for name in names]
    if numbered != list(range(1, len(names) + 1)):  # _Styles gives one name per format
        raise ValueError(f"cell formats {names} are not distinct to xlsxwriter")
    with zipfile.ZipFile(buffer) as package:
        return package.read("xl/styles.xml"), package.read("xl/theme/theme1.xml")

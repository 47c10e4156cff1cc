"""Workbooks and CSV files into raw rows, refusing hostile files cleanly.

Reading goes through calamine (Rust): it reads cached formula values and never
evaluates anything, and it is an order of magnitude faster than openpyxl.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ducha.config import limit
from ducha.issues import FileRejected, Issue, issue

Cell = object
Merge = tuple[tuple[int, int], tuple[int, int]]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXCEL_EXTS = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
_TEXT_EXTS = {".csv", ".txt"}
SUPPORTED_EXTS = _EXCEL_EXTS | _TEXT_EXTS


@dataclass
class RawSheet:
    name: str
    rows: list[list[Cell]]  # rows[0] is Excel row 1
    merged: list[Merge] = field(default_factory=list)


def read_raw(path: Path) -> tuple[list[RawSheet], list[Issue]]:
    """Every visible, non-empty sheet of the file; notes about the skipped ones."""
    size = path.stat().st_size
    if size > limit("max_file_bytes"):
        raise FileRejected("FILE_TOO_LARGE", f"{size} 字节，上限 {limit('max_file_bytes')} 字节")
    if size == 0:
        raise FileRejected("FILE_EMPTY")
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTS:
        raise FileRejected("FILE_UNSUPPORTED", f"扩展名 {ext or '（无）'}")
    with path.open("rb") as fh:
        head = fh.read(8)
    if ext in _TEXT_EXTS:
        if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
            raise FileRejected("FILE_UNREADABLE", "扩展名为 csv，内容却是 Excel 工作簿")
        return [RawSheet(path.stem, _read_csv(path.read_bytes()))], []
    if head.startswith(_OLE_MAGIC):
        _refuse_if_encrypted(path)
    elif head.startswith(_ZIP_MAGIC):
        _refuse_zip_bomb(path)
    else:
        raise FileRejected("FILE_UNREADABLE", "不是 Excel 工作簿")
    return _read_excel(path)


def _refuse_if_encrypted(path: Path) -> None:
    # An encrypted .xlsx is an OLE container; so is a plain .xls. msoffcrypto tells them apart.
    import msoffcrypto

    try:
        with path.open("rb") as fh:
            encrypted = msoffcrypto.OfficeFile(fh).is_encrypted()
    except Exception:  # not an Office container msoffcrypto knows: calamine decides
        return
    if encrypted:
        raise FileRejected("FILE_ENCRYPTED")


def _refuse_zip_bomb(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise FileRejected("FILE_UNREADABLE", str(exc)) from None
    if total > limit("max_uncompressed_bytes"):
        raise FileRejected("FILE_ZIP_BOMB", f"解压后 {total} 字节")


def _read_excel(path: Path) -> tuple[list[RawSheet], list[Issue]]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        raise FileRejected("FILE_UNREADABLE", type(exc).__name__) from None
    sheets: list[RawSheet] = []
    notes: list[Issue] = []
    errors = error_cells(path)
    try:
        for meta in wb.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            if meta.visible != SheetVisibleEnum.Visible:
                notes.append(issue("warning", "SHEET_HIDDEN", sheet=meta.name))
                continue
            sheet = wb.get_sheet_by_name(meta.name)
            rows = sheet.to_python(skip_empty_area=False)
            for (r, c), text in errors.get(meta.name, {}).items():
                if r < len(rows) and c < len(rows[r]):
                    rows[r][c] = text  # calamine gives "" for an error cell: put the error back
            if not any(_filled(c) for r in rows for c in r):
                notes.append(issue("warning", "SHEET_EMPTY", sheet=meta.name))
                continue
            sheets.append(RawSheet(meta.name, rows, list(sheet.merged_cell_ranges or [])))
    except FileRejected:
        raise
    except Exception as exc:
        raise FileRejected("FILE_UNREADABLE", type(exc).__name__) from None
    finally:
        wb.close()
    if not sheets:
        raise FileRejected("FILE_EMPTY")
    return sheets, notes


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileRejected("FILE_UNREADABLE", "文本编码无法识别（应为 UTF-8 或 GBK）") from None


def _read_csv(data: bytes) -> list[list[Cell]]:
    text = decode_text(data)
    sample = text[:8192]
    delimiter = max([",", "\t", ";"], key=sample.count)
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _filled(cell: Cell) -> bool:
    return cell is not None and str(cell).strip() != ""


# Excel's error literals, as a cell caches them (t="e").
EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA"}
)
_SHEET = re.compile(rb'<sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?Id="([^"]*)"[^>]*?Target="([^"]*)"')
_REL_REV = re.compile(rb'<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Id="([^"]*)"')
_ERROR_CELL = re.compile(rb'<c\b([^>]*\bt="e"[^>]*)>(.*?)</c>', re.S)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")


def error_cells(path: Path) -> dict[str, dict[tuple[int, int], str]]:
    """Cells holding an Excel error (a broken formula's cached #DIV/0! …), by sheet name,
    as (0-based row, 0-based column) -> the error text. xlsx/xlsm only: calamine reads
    these cells as empty, which would let a broken penalty load as "no penalty"."""
    import html

    out: dict[str, dict[tuple[int, int], str]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names:
                return out
            rels_xml = zf.read("xl/_rels/workbook.xml.rels") if "xl/_rels/workbook.xml.rels" in names else b""
            rels = {i: t for i, t in _REL.findall(rels_xml)} | {i: t for t, i in _REL_REV.findall(rels_xml)}
            for name, rid in _SHEET.findall(zf.read("xl/workbook.xml")):
                target = rels.get(rid, b"").decode()
                part = target.lstrip("/") if target.startswith("/") else "xl/" + target
                if part not in names:
                    continue
                data = zf.read(part)
                if b't="e"' not in data:
                    continue  # the usual case: nothing to scan
                found: dict[tuple[int, int], str] = {}
                for attrs, body in _ERROR_CELL.findall(data):
                    ref, value = _REF.search(attrs), _VALUE.search(body)
                    if ref and value:
                        col = 0
                        for ch in ref.group(1):
                            col = col * 26 + (ch - 64)
                        found[(int(ref.group(2)) - 1, col - 1)] = html.unescape(value.group(1).decode())
                if found:
                    out[html.unescape(name.decode())] = found
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}
    return out

"""Hostile workbooks the first guards trusted: a zip whose headers lie about its sizes, and
error cells written in XML the old regex did not expect."""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ducha.config import get_inspection, limit
from tests.unit.intake.conftest import HN, Formula, check, closed_case, standard_sheet, write_xlsx

SHEET_PART = "xl/worksheets/sheet1.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _rewrite(path: Path, part: str, change: Callable[[bytes], bytes]) -> Path:
    """The same workbook with one part changed; every other member copied as it was."""
    out = path.with_name("改_" + path.name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, change(data) if info.filename == part else data)
    return out


def forged_bomb(d: Path) -> Path:
    """A member that really inflates past the limit, but whose local header and central
    directory both declare 1,000 bytes."""
    path = d / "伪装炸弹.xlsx"
    chunk = b" " * (8 << 20)
    n = limit("max_uncompressed_bytes") // len(chunk) + 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open(SHEET_PART, "w") as fh:
            for _ in range(n):
                fh.write(chunk)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(SHEET_PART)
    assert info.file_size > limit("max_uncompressed_bytes")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)  # local header: uncompressed size
    central = data.find(b"PK\x01\x02")  # the first central directory entry
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + name_len]) == SHEET_PART.encode():
            struct.pack_into("<I", data, central + 24, 1000)  # central directory: uncompressed size
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    return path


def test_a_forged_zip_bomb_is_refused_by_what_really_inflates(tmp_path: Path) -> None:
    path = forged_bomb(tmp_path)
    with zipfile.ZipFile(path) as zf:  # the lie: what the old check summed
        assert sum(i.file_size for i in zf.infolist()) < 2000
    c = check(path, get_inspection(HN))
    assert c.parsed.rejected
    assert [e["rule"] for e in c.errors] == ["FILE_ZIP_BOMB"]


def _error_workbook(tmp_path: Path) -> Path:
    row = closed_case(1, **{"责令整改（家）": Formula("=1/0", "#DIV/0!")})
    return write_xlsx(tmp_path / "错误值.xlsx", standard_sheet([row]))


def _reordered(xml: bytes) -> bytes:
    return re.sub(rb'<c r="([A-Z]+[0-9]+)" t="e">', rb'<c t="e" s="0" r="\1">', xml)


def _single_quoted(xml: bytes) -> bytes:
    return re.sub(rb'<c r="([A-Z]+[0-9]+)" t="e">', rb"<c r='\1' t = 'e'>", xml)


def _prefixed(xml: bytes) -> bytes:
    xml = xml.replace(f'xmlns="{MAIN_NS}"'.encode(), f'xmlns:x="{MAIN_NS}"'.encode())
    return re.sub(rb"<(/?)([A-Za-z][A-Za-z0-9]*)(?=[\s/>])", rb"<\1x:\2", xml)


@pytest.mark.parametrize(
    "rewrite", [_reordered, _single_quoted, _prefixed], ids=["order", "quotes", "prefix"]
)
def test_error_cells_are_found_however_the_xml_is_written(tmp_path: Path, rewrite) -> None:  # type: ignore[no-untyped-def]
    original = _error_workbook(tmp_path)
    with zipfile.ZipFile(original) as zf:
        xml = zf.read(SHEET_PART)
    assert rewrite(xml) != xml  # the rewrite really applies
    path = _rewrite(original, SHEET_PART, rewrite)
    c = check(path, get_inspection(HN))
    errors = [e for e in c.errors if e["rule"] == "CELL_ERROR"]
    assert [(e["sheet"], e["row"], e["column"], e["value"]) for e in errors] == [
        (c.parsed.rows[0].sheet, 3, "责令整改（家）", "#DIV/0!")
    ], c.errors


def test_the_text_of_an_error_is_not_an_error_cell(tmp_path: Path) -> None:
    row = closed_case(1, 调查核实情况="公式显示 #DIV/0! 已修正", **{"责令整改（家）": 1})
    c = check(write_xlsx(tmp_path / "文本.xlsx", standard_sheet([row])), get_inspection(HN))
    assert "CELL_ERROR" not in c.rules("errors"), c.errors

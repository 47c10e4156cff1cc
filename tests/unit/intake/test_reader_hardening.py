"""Hostile workbooks the first guards trusted: a zip whose headers lie about its sizes, and
error cells written in XML the old regex did not expect.

Each input is a real workbook (written by xlsxwriter, as in test_bad_inputs.py) whose
bytes are then rewritten, and each is checked the way a clerk sees it: parse_file, the
real GX suite and the file report.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

import ducha
from ducha.config import get_inspection, limit, project_settings
from ducha.intake.reader import error_cells, read_raw
from ducha.issues import FileRejected
from tests.unit.intake.conftest import (
    HN,
    Formula,
    case,
    case_id,
    check,
    closed_case,
    standard_sheet,
    write_xlsx,
)

SHEET = "第三批"
SHEET_PART = "xl/worksheets/sheet1.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MiB = 1 << 20


# --- zip plumbing -----------------------------------------------------------------------------


def _rewrite(path: Path, changes: dict[str, Callable[[bytes], bytes]], name: str) -> Path:
    """The same workbook with some parts changed; every other member copied as it was."""
    out = path.with_name(name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            change = changes.get(info.filename)
            dst.writestr(info.filename, change(data) if change else data)
    return out


def _central_directory(data: bytes) -> list[tuple[int, str]]:
    """(offset of the central directory entry, member name), read from the end record."""
    eocd = data.rfind(b"PK\x05\x06")
    count, _, cd_offset = struct.unpack_from("<HII", data, eocd + 10)
    entries, pos = [], cd_offset
    for _ in range(count):
        assert data[pos : pos + 4] == b"PK\x01\x02"
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        entries.append((pos, data[pos + 46 : pos + 46 + name_len].decode()))
        pos += 46 + name_len + extra_len + comment_len
    return entries


def _declare(path: Path, sizes: dict[str, int]) -> None:
    """Forge the uncompressed sizes the archive declares for some members, in both the
    local file header and the central directory. The CRC and the data stay as they are."""
    data = bytearray(path.read_bytes())
    for pos, name in _central_directory(bytes(data)):
        if name in sizes:
            struct.pack_into("<I", data, pos + 24, sizes[name])  # central directory
            local = struct.unpack_from("<I", data, pos + 42)[0]
            assert data[local : local + 4] == b"PK\x03\x04"
            struct.pack_into("<I", data, local + 22, sizes[name])  # local file header
    path.write_bytes(bytes(data))


def _really_inflates(path: Path, member: str) -> int:
    """What a member inflates to, measured from its raw deflate stream (an oracle for the
    test, independent of the reader and of the declared sizes)."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    data = path.read_bytes()
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    stream = data[start : start + info.compress_size]
    inflater, total = zlib.decompressobj(-zlib.MAX_WBITS), 0
    while stream:
        total += len(inflater.decompress(stream, MiB))
        stream = inflater.unconsumed_tail
    return total


def _padded(xml: bytes, padding: int) -> Callable[[zipfile.ZipFile, str], None]:
    """Writes xml with a comment of `padding` spaces after the XML declaration: still a
    valid part, and highly compressible."""
    head, sep, tail = xml.partition(b"?>")
    assert sep, "no XML declaration"

    def write(dst: zipfile.ZipFile, name: str) -> None:
        with dst.open(name, "w") as fh:  # streamed: the test never holds the padding in memory
            fh.write(head + sep + b"<!--")
            for size in [MiB] * (padding // MiB) + [padding % MiB]:
                fh.write(b" " * size)
            fh.write(b"-->" + tail)

    return write


def forged_bomb(d: Path, padding: dict[str, int], *, forge: bool = True) -> Path:
    """A real one-case workbook whose given parts are padded to inflate to much more than
    they were; with forge, the archive still declares each padded part at its honest size."""
    real = write_xlsx(d / "真.xlsx", standard_sheet([case(1)]))
    out = d / ("伪装炸弹.xlsx" if forge else "大而诚实.xlsx")
    honest: dict[str, int] = {}
    with (
        zipfile.ZipFile(real) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst,
    ):
        for info in src.infolist():
            data = src.read(info)
            if info.filename in padding:
                honest[info.filename] = len(data)
                _padded(data, padding[info.filename])(dst, info.filename)
            else:
                dst.writestr(info.filename, data)
    assert set(honest) == set(padding)
    if forge:
        _declare(out, honest)
    return out


def _declared_total(path: Path) -> int:
    with zipfile.ZipFile(path) as zf:
        return sum(i.file_size for i in zf.infolist())


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    """max_uncompressed_bytes (ducha.yaml, 500 MiB) lowered to 2 MiB, so a
    bomb costs kilobytes; a one-case workbook inflates to some 20 KB."""
    monkeypatch.setattr(project_settings().limits, "max_uncompressed_bytes", 2 * MiB)
    assert limit("max_uncompressed_bytes") == 2 * MiB
    return 2 * MiB


# --- zip bombs whose headers lie ---------------------------------------------------------------


def test_forged_sizes_in_a_real_workbook_are_refused_as_a_zip_bomb(tmp_path: Path, small_limit: int) -> None:
    path = forged_bomb(tmp_path, {SHEET_PART: 32 * small_limit})
    # The lie: every size the archive declares is honest-looking and far under the limit,
    # so summing ZipFile.infolist() (the old check) lets it through...
    with zipfile.ZipFile(path) as zf:
        declared = {i.filename: i.file_size for i in zf.infolist()}
    assert declared[SHEET_PART] < 10_000
    assert sum(declared.values()) < small_limit
    # ...while the sheet really inflates to 32 times the limit.
    assert _really_inflates(path, SHEET_PART) > 32 * small_limit

    c = check(path, get_inspection(HN))  # does not raise

    assert c.parsed.rejected
    assert c.parsed.rows == []
    (e,) = c.errors
    assert (e["rule"], e["level"], e["row"], e["column"]) == ("FILE_ZIP_BOMB", "error", None, None)
    assert c.report["ok"] is False
    assert c.report["rows"]["accepted"] == 0
    assert c.warnings == []


def test_the_limit_is_on_what_all_members_inflate_to_together(tmp_path: Path, small_limit: int) -> None:
    # Three parts, each forged to its honest size and each inflating to under the limit,
    # together over it.
    parts = {
        SHEET_PART: small_limit // 2,
        "xl/sharedStrings.xml": small_limit // 2,
        "xl/styles.xml": small_limit // 2,
    }
    path = forged_bomb(tmp_path, parts)
    assert _declared_total(path) < 100_000
    inflated = {part: _really_inflates(path, part) for part in parts}
    assert all(size < small_limit for size in inflated.values())
    assert sum(inflated.values()) > small_limit

    c = check(path, get_inspection(HN))

    assert c.parsed.rejected
    assert [e["rule"] for e in c.errors] == ["FILE_ZIP_BOMB"]


def test_an_honest_workbook_just_under_the_limit_is_read(tmp_path: Path, small_limit: int) -> None:
    # Inflating every member must not refuse a workbook that really is under the limit.
    path = forged_bomb(tmp_path, {SHEET_PART: small_limit - 100_000}, forge=False)
    assert small_limit - 100_000 < _declared_total(path) < small_limit

    c = check(path, get_inspection(HN))

    assert c.errors == [] and c.report["ok"] is True
    assert [r.values["case_id"] for r in c.parsed.rows] == [case_id(1)]


_PROBE = """
import json, resource, sys
from pathlib import Path
import openpyxl, python_calamine  # loaded before the baseline: only reading the file counts
from ducha.config import get_inspection, limit
from ducha.intake import parse_file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
parsed = parse_file(Path(sys.argv[1]), get_inspection(sys.argv[2]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "rules": [i.rule for i in parsed.issues],
    "rows": len(parsed.rows),
    "grew_bytes": (after - before) * 1024,
    "limit": limit("max_uncompressed_bytes"),
}))
"""


def test_a_forged_bomb_over_the_configured_limit_is_refused_without_inflating_it_into_memory(
    tmp_path: Path,
) -> None:
    # The real configured limit (500 MiB) and a sheet that really inflates to 100 MiB more,
    # read in a fresh interpreter so its peak resident memory is its own.
    bound = limit("max_uncompressed_bytes")
    path = forged_bomb(tmp_path, {SHEET_PART: bound + 100 * MiB})
    assert _declared_total(path) < bound
    assert path.stat().st_size < 4 * MiB
    env = dict(os.environ)
    roots = [str(Path(ducha.__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[3])]
    env["PYTHONPATH"] = os.pathsep.join([*roots, env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), HN], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr  # no crash, no MemoryError, not killed
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["limit"] == bound
    assert out["rules"] == ["FILE_ZIP_BOMB"]
    assert out["rows"] == 0
    assert out["grew_bytes"] < 64 * MiB, out  # inflated in bounded chunks, never held whole


def _utf8_named_workbook(d: Path) -> tuple[Path, bytes]:
    """A real workbook (its bytes) whose first directory entry is flagged UTF-8 (flag bit
    11) and named by bytes that are not UTF-8."""
    data = bytearray(write_xlsx(d / "seed.xlsx", standard_sheet([case(1)])).read_bytes())
    entry = data.index(b"PK\x01\x02")
    flags = int.from_bytes(data[entry + 8 : entry + 10], "little") | 0x800
    data[entry + 8 : entry + 10] = flags.to_bytes(2, "little")
    data[entry + 46] = 0xCE  # the name's first byte: a lead byte, followed by ASCII
    return d / "第三批.xlsx", bytes(data)


def test_a_member_name_that_is_not_the_utf8_it_claims_is_unreadable(tmp_path: Path) -> None:
    # Found by fuzzing: zipfile decodes the name, raising UnicodeDecodeError (a ValueError).
    path, data = _utf8_named_workbook(tmp_path)
    path.write_bytes(data)
    with pytest.raises(FileRejected) as refused:
        read_raw(path)
    assert refused.value.issue.rule == "FILE_UNREADABLE"


@pytest.mark.parametrize(("chunk", "mistake"), [(-1, ValueError), ("64KiB", TypeError)])
def test_a_mistake_of_the_zip_check_itself_is_a_crash_not_an_unreadable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: object, mistake: type[Exception]
) -> None:
    # A wrong inflate chunk (our constant, not the clerk's bytes) makes zlib raise
    # ValueError or min() raise TypeError inside the check: it must not be reported as
    # the clerk's file being broken.
    import ducha.intake.reader as reader

    path = write_xlsx(tmp_path / "第三批.xlsx", standard_sheet([case(1)]))
    monkeypatch.setattr(reader, "_INFLATE_CHUNK", chunk)
    with pytest.raises(mistake):
        read_raw(path)


# --- error cells, however the XML is written ---------------------------------------------------

# (Excel row, header as written, cached error) of the three broken formulas below.
ERRORS = [(3, "责令整改（家）", "#DIV/0!"), (4, "罚款金额（元）", "#N/A"), (5, "责令整改（家）", "#VALUE!")]
_ERROR_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)" t="e">')


def _error_workbook(d: Path) -> Path:
    rows = [
        closed_case(1, **{"责令整改（家）": Formula("=1/0", "#DIV/0!")}),
        closed_case(2, **{"罚款金额（元）": Formula("=NA()", "#N/A")}),
        closed_case(3, **{"责令整改（家）": Formula('="a"+1', "#VALUE!")}),
    ]
    return write_xlsx(d / "错误值.xlsx", standard_sheet(rows))


def _reordered(xml: bytes) -> bytes:
    """<c t="e" s="0" r="K3">: type first, a style attribute between."""
    return _ERROR_CELL.sub(rb'<c t="e" s="0" r="\1">', xml)


def _prefixed(xml: bytes) -> bytes:
    """<x:worksheet xmlns:x="…main"> … <x:c r="K3" t="e"><x:f>…</x:f><x:v>#DIV/0!</x:v></x:c>"""
    xml = xml.replace(f'xmlns="{MAIN_NS}"'.encode(), f'xmlns:x="{MAIN_NS}"'.encode())
    return re.sub(rb"<(/?)([A-Za-z][A-Za-z0-9]*)(?=[\s/>])", rb"<\1x:\2", xml)


def _single_quoted(xml: bytes) -> bytes:
    """Every attribute of the sheet in single quotes (<c r='K3' t='e'>), as XML allows."""
    return re.sub(rb'(\s[A-Za-z:]+)="([^"]*)"', rb"\1='\2'", xml)


REWRITES = {
    "attribute_order": (_reordered, b'<c t="e" s="0" r="K3">'),
    "namespace_prefix": (_prefixed, b'<x:c r="K3" t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c>'),
    "single_quotes": (_single_quoted, b"<c r='K3' t='e'><f>1/0</f><v>#DIV/0!</v></c>"),
}


def test_the_error_workbook_as_written_reports_each_error_cell(tmp_path: Path) -> None:
    # The baseline the rewrites below must keep: three error cells, three CELL_ERRORs.
    c = check(_error_workbook(tmp_path), get_inspection(HN))
    assert sorted((e["sheet"], e["row"], e["column"], e["value"]) for e in c.errors) == [
        (SHEET, *e) for e in ERRORS
    ]


@pytest.mark.parametrize("how", list(REWRITES))
def test_error_cells_are_found_however_the_xml_is_written(tmp_path: Path, how: str) -> None:
    rewrite, shows = REWRITES[how]
    original = _error_workbook(tmp_path)
    with zipfile.ZipFile(original) as zf:
        xml = zf.read(SHEET_PART)
    assert len(_ERROR_CELL.findall(xml)) == 3
    path = _rewrite(original, {SHEET_PART: rewrite}, f"{how}.xlsx")
    with zipfile.ZipFile(path) as zf:
        written = zf.read(SHEET_PART)
    assert shows in written  # the rewrite really applies
    assert not _ERROR_CELL.search(written)

    c = check(path, get_inspection(HN))

    # The rest of the sheet still reads: three cases, each refused for its error cell only.
    assert [r.values["case_id"] for r in c.parsed.rows] == [case_id(1), case_id(2), case_id(3)]
    assert c.rules("errors") == {"CELL_ERROR"}, c.errors
    assert sorted((e["sheet"], e["row"], e["column"], e["value"]) for e in c.errors) == [
        (SHEET, *e) for e in ERRORS
    ]
    assert (c.report["rows"]["accepted"], c.report["rows"]["rejected"]) == (0, 3)
    for e in c.errors:
        assert e["level"] == "error"
        assert e["value"] in e["message"]
    # A broken penalty is not read as "no penalty".
    assert all(r.values["rectify_orders"] != 0 and r.values["fine_amount"] != 0 for r in c.parsed.rows)


def _as_inline_string(ref: str, text: str) -> Callable[[bytes], bytes]:
    """Cell ref (a shared string as xlsxwriter writes it) as an inline string instead."""

    def change(xml: bytes) -> bytes:
        out, n = re.subn(
            rf'<c r="{ref}"( s="[0-9]+")? t="s"><v>[0-9]+</v></c>'.encode(),
            rf'<c r="{ref}"\1 t="inlineStr"><is><t>{text}</t></is></c>'.encode(),
            xml,
        )
        assert n == 1
        return out

    return change


def test_the_text_of_an_error_is_not_an_error_cell(tmp_path: Path) -> None:
    # Row 3: a real error cell (K3) beside the error's text typed as a shared string
    # (调查核实情况, F3) and as an inline string (处理和整改情况, H3). The real one makes
    # the reader look for error cells; only the one whose type is "e" is one.
    row = closed_case(
        1,
        调查核实情况="#DIV/0!",
        处理和整改情况="待填",
        **{"责令整改（家）": Formula("=1/0", "#DIV/0!")},
    )
    original = write_xlsx(tmp_path / "文本.xlsx", standard_sheet([row]))
    path = _rewrite(original, {SHEET_PART: _as_inline_string("H3", "#N/A")}, "inline.xlsx")
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(SHEET_PART)
    assert b'<c r="H3" t="inlineStr"><is><t>#N/A</t></is></c>' in xml
    assert re.search(rb'<c r="F3"( s="[0-9]+")? t="s">', xml)

    assert error_cells(path) == {SHEET: {(2, 10): "#DIV/0!"}}
    (sheet,), _ = read_raw(path)
    assert (sheet.rows[2][5], sheet.rows[2][7], sheet.rows[2][10]) == ("#DIV/0!", "#N/A", "#DIV/0!")


def test_error_like_text_without_error_cells_is_left_alone(tmp_path: Path) -> None:
    # t='e' as text in the shared strings sets off the byte prefilter; no cell has type
    # "e", so there is nothing to report and the text reads as written.
    row = closed_case(1, 调查核实情况="核查 t='e' 与 #DIV/0! 字样", 处理和整改情况="#N/A 已更正")
    path = write_xlsx(tmp_path / "字样.xlsx", standard_sheet([row]))
    with zipfile.ZipFile(path) as zf:
        assert b"t='e'" in zf.read("xl/sharedStrings.xml")

    assert error_cells(path) == {}
    c = check(path, get_inspection(HN))
    assert c.errors == [] and c.report["ok"] is True
    assert c.parsed.rows[0].values["findings"] == "核查 t='e' 与 #DIV/0! 字样"


# --- known gaps, found while writing the tests above ------------------------------------------
# strict: a fix turns them into failures, to be promoted to ordinary tests.


def _sheet_part_renamed(xml_name: str, new_name: str) -> dict[str, Callable[[bytes], bytes]]:
    old, new = xml_name.encode(), new_name.encode()
    return {
        "xl/_rels/workbook.xml.rels": lambda x: x.replace(old.removeprefix(b"xl/"), new.removeprefix(b"xl/")),
        "[Content_Types].xml": lambda x: x.replace(b"/" + old, b"/" + new),
    }


def test_error_cells_in_a_sheet_part_not_named_xml(tmp_path: Path) -> None:
    # OPC part names are free: the relationship and the content type say what a part is.
    # calamine reads this sheet; the prefilter never looks at it, so #DIV/0! reads as blank.
    original = _error_workbook(tmp_path)
    renamed = "xl/worksheets/sheet1.bin"
    out = tmp_path / "改名.xlsx"
    changes = _sheet_part_renamed(SHEET_PART, renamed)
    with zipfile.ZipFile(original) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            name = renamed if info.filename == SHEET_PART else info.filename
            dst.writestr(name, changes[name](data) if name in changes else data)

    c = check(out, get_inspection(HN))

    assert [r.values["case_id"] for r in c.parsed.rows] == [case_id(1), case_id(2), case_id(3)]
    assert sorted((e["sheet"], e["row"], e["column"], e["value"]) for e in c.errors) == [
        (SHEET, *e) for e in ERRORS
    ]


def test_an_error_cell_without_a_value_is_not_the_text_none(tmp_path: Path) -> None:
    row = closed_case(1, 处理和整改情况=Formula('=A1&"x"', "#N/A"))
    original = write_xlsx(tmp_path / "无值.xlsx", standard_sheet([row]))

    def drop_value(xml: bytes) -> bytes:
        out, n = re.subn(rb'<c r="H3" t="e"><f>[^<]*</f><v>#N/A</v></c>', rb'<c r="H3" t="e"/>', xml)
        assert n == 1
        return out

    path = _rewrite(original, {SHEET_PART: drop_value}, "无值_改.xlsx")

    c = check(path, get_inspection(HN))

    (parsed,) = c.parsed.rows
    flagged = any(
        e["rule"] == "CELL_ERROR" and (e["row"], e["column"]) == (3, "处理和整改情况") for e in c.errors
    )
    assert flagged or parsed.raw["处理和整改情况"] == "", (parsed.raw["处理和整改情况"], c.errors)
    assert parsed.values["handling"] != "None"

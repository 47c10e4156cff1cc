"""Workbooks and CSVs mutated at random, byte by byte and part by part (issue 13): broken
zip members, shared-string indexes that point nowhere, huge cells, deep XML, declared and
actual encodings that disagree, bytes flipped or cut anywhere. Reading one never raises
(a bad file is the project's own rule codes in its report), never takes longer than a
time limit, and never grows the process by more than a set memory.
"""

from __future__ import annotations

import io
import resource
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ducha.config import get_inspection
from ducha.intake.parse import parse_file
from ducha.intake.reports import file_report
from ducha.issues import RULES
from tests.unit.intake.conftest import HN, case, standard_sheet, write_xlsx

# A hang, not a slow file: the slowest kind, a 2 MB text cell, takes 2-3 s on a loaded
# 2-core machine (linear in the cell; a 2 MB title has its own, tighter test below).
SECONDS_PER_FILE = 10.0
GROWTH_LIMIT_MB = 600  # what the whole run may add to the process's peak memory
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("seed") / "seed.xlsx"
    write_xlsx(path, standard_sheet([case(n) for n in range(1, 21)]))
    return path.read_bytes()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def _zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return out.getvalue()


def _mutate(seed: bytes, kind: str, at: float, size: int, junk: bytes) -> tuple[str, bytes]:
    """(suffix, bytes) of one mutation of the seed workbook."""
    members = _members(seed)
    sheet = members[SHEET].decode("utf-8")
    if kind == "flip":  # bytes changed anywhere in the archive
        data = bytearray(seed)
        for k in range(max(1, size % 64)):
            data[int(at * (len(data) - 1) + k * 7919) % len(data)] ^= 0xFF
        return ".xlsx", bytes(data)
    if kind == "cut":
        return ".xlsx", seed[: int(at * len(seed))]
    if kind == "member":  # one part replaced by junk
        name = sorted(members)[int(at * (len(members) - 1))]
        members[name] = junk
        return ".xlsx", _zipped(members)
    if kind == "lost-member":
        name = sorted(members)[int(at * (len(members) - 1))]
        del members[name]
        return ".xlsx", _zipped(members)
    if kind == "string-index":  # a shared-string cell pointing past the table
        members[SHEET] = sheet.replace('t="s"><v>', f"""t="s"><v>{10**6 + size}""", 1 + size % 5).encode()
        return ".xlsx", _zipped(members)
    if kind == "huge-cell":  # one cell (the title, a header, a text) of several MB
        big = ("污" * (2_000_000 + size)).encode()
        parts = members[STRINGS].split(b"<t>")
        k = 1 + int(at * (len(parts) - 2))
        parts[k] = big + parts[k]
        members[STRINGS] = b"<t>".join(parts)
        return ".xlsx", _zipped(members)
    if kind == "deep-xml":  # elements nested far deeper than any parser's recursion
        depth = 50_000 + size
        members[SHEET] = sheet.replace(
            "<sheetData>", "<sheetData>" + "<x>" * depth + "</x>" * depth, 1
        ).encode()
        return ".xlsx", _zipped(members)
    if kind == "encoding":  # declared one way, written another
        members[SHEET] = sheet.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("gb18030")
        members[STRINGS] = members[STRINGS].decode("utf-8").encode("gb18030", errors="replace")
        return ".xlsx", _zipped(members)
    if kind == "csv-bytes":  # a CSV of junk in some encoding
        text = "序号,受理编号,交办问题基本情况,行政区域\n" + junk.decode("latin-1")
        encoding = ["utf-8", "gb18030", "utf-16", "latin-1"][size % 4]
        return ".csv", text.encode(encoding, errors="replace")
    raise AssertionError(kind)


KINDS = [
    "flip",
    "cut",
    "member",
    "lost-member",
    "string-index",
    "huge-cell",
    "deep-xml",
    "encoding",
    "csv-bytes",
]


@pytest.fixture(scope="module")
def peak() -> dict[str, int]:
    return {"start": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


@settings(
    max_examples=120,
    deadline=None,  # timed below, per file, with its own limit
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(KINDS),
    at=st.floats(0, 1),
    size=st.integers(0, 10_000),
    junk=st.binary(min_size=0, max_size=4096),
)
def test_a_mutated_file_is_a_report_never_a_crash(
    seed: bytes, peak: dict[str, int], tmp_path: Path, kind: str, at: float, size: int, junk: bytes
) -> None:
    suffix, data = _mutate(seed, kind, at, size, junk)
    path = tmp_path / f"第一批交办清单{suffix}"
    path.write_bytes(data)
    t0 = time.perf_counter()
    parsed = parse_file(path, get_inspection(HN))
    report = file_report(parsed, display_name=path.name)
    took = time.perf_counter() - t0
    assert took < SECONDS_PER_FILE, (kind, took)
    rules = {e["rule"] for e in report["errors"]} | {w["rule"] for w in report["warnings"]}  # type: ignore[union-attr]
    assert rules <= set(RULES), (kind, rules - set(RULES))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak["start"]) / 1024
    assert grown_mb < GROWTH_LIMIT_MB, (kind, grown_mb)


def test_an_archive_of_an_unknown_zip_version_is_unreadable_not_a_crash(seed: bytes, tmp_path: Path) -> None:
    """Found by the fuzzing above: a flipped byte in the central directory's "version
    needed" made zipfile raise NotImplementedError out of the reader."""
    data = bytearray(seed)
    at = data.index(b"PK\x01\x02") + 6
    data[at : at + 2] = (235).to_bytes(2, "little")  # "zip file version 23.5"
    path = tmp_path / "第一批交办清单.xlsx"
    path.write_bytes(bytes(data))
    report = file_report(parse_file(path, get_inspection(HN)), display_name=path.name)
    assert [e["rule"] for e in report["errors"]] == ["FILE_UNREADABLE"]  # type: ignore[union-attr]


def test_a_title_of_megabytes_is_read_in_a_moment(seed: bytes, tmp_path: Path) -> None:
    """Found by the fuzzing above: the header search normalised every cell of the first
    rows, a 2 MB title too (opencc, NFKC): 9 s for one file."""
    members = _members(seed)
    members[STRINGS] = members[STRINGS].replace(b"<t>", b"<t>" + ("污" * 2_000_000).encode(), 1)
    path = tmp_path / "第一批交办清单.xlsx"
    path.write_bytes(_zipped(members))
    t0 = time.process_time()
    parsed = parse_file(path, get_inspection(HN))
    assert time.process_time() - t0 < 2.0
    assert len(parsed) == 20


def test_an_end_record_that_misplaces_the_directory_is_unreadable_not_a_crash(
    seed: bytes, tmp_path: Path
) -> None:
    """Found by the fuzzing above: an end-of-directory record whose offset of the central
    directory is past where it is gives a member a negative offset, and seeking there
    raised OSError (EINVAL) out of the zip-bomb check."""
    data = bytearray(seed)
    at = data.rindex(b"PK\x05\x06") + 16
    declared = int.from_bytes(data[at : at + 4], "little")
    data[at : at + 4] = (declared + 100).to_bytes(4, "little")
    path = tmp_path / "第一批交办清单.xlsx"
    path.write_bytes(bytes(data))
    report = file_report(parse_file(path, get_inspection(HN)), display_name=path.name)
    assert [e["rule"] for e in report["errors"]] == ["FILE_UNREADABLE"]  # type: ignore[union-attr]

"""Shared helpers for the intake, quality and warehouse tests: workbooks written by the
tests themselves (xlsxwriter), CSV in several encodings, and one GX validator per session."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from ducha.config import Inspection, get_inspection
from ducha.intake import ParsedFile, parse_file
from ducha.intake.reports import file_report
from ducha.issues import RULES

HN = "c3-hn-2024"  # the configured inspection: Hunan, 2024-06-01..2024-07-05, seven types
GENERIC = "unregistered-2024"  # no configuration: the generic profile applies

TITLE = "群众信访举报转办和边督边改公开情况一览表（第三批 2024年6月3日）"
BATCH_DAY = dt.date(2024, 6, 3)
RECEIVED = "20240602"  # the day before the batch: what the IDs carry

# A central-inspection layout with penalty columns appended, as provinces publish it.
HEADERS = [
    "序号",
    "受理编号",
    "交办问题基本情况",
    "行政区域",
    "问题类型",
    "调查核实情况",
    "是否属实",
    "处理和整改情况",
    "是否办结",
    "责任人被处理情况",
    "责令整改（家）",
    "罚款金额（元）",
]


def case_id(n: int, day: str = RECEIVED, prefix: str = "D3HN") -> str:
    return f"{prefix}{day}{n:04d}"


def case(n: int = 1, **overrides: object) -> dict[str, object]:
    """One valid, still-open case of the Hunan inspection, by header; overrides by header."""
    row: dict[str, object] = {
        "序号": n,
        "受理编号": case_id(n),
        "交办问题基本情况": f"岳麓区某化工厂{n}号车间夜间偷排废水，河水发黑发臭。",
        "行政区域": "长沙市岳麓区",
        "问题类型": "水",
        "调查核实情况": None,
        "是否属实": None,
        "处理和整改情况": None,
        "是否办结": "正在办理",
        "责任人被处理情况": None,
        "责令整改（家）": None,
        "罚款金额（元）": None,
    }
    row.update(overrides)
    return row


def closed_case(n: int = 1, **overrides: object) -> dict[str, object]:
    """A closed, verified case with penalties."""
    values: dict[str, object] = {
        "调查核实情况": "经调查核实，该厂存在废水直排现象。群众反映问题属实。",
        "是否属实": "属实",
        "处理和整改情况": "处理情况：立案处罚。整改情况：已整改到位。",
        "是否办结": "已办结",
        "责任人被处理情况": "无",
        "责令整改（家）": 1,
        "罚款金额（元）": 50000,
    }
    values.update(overrides)
    return case(n, **values)


@dataclass(frozen=True)
class Formula:
    """A formula cell with its cached value, as Excel saves it."""

    formula: str
    value: object


@dataclass
class Sheet:
    name: str = "Sheet1"
    rows: list[list[object]] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1 (0-based)
    hidden: bool = False


def grid(
    cases: list[dict[str, object]],
    *,
    headers: list[str] | None = None,
    title: str | None = TITLE,
    notes: str | None = "注：本表所列为第三批交办信访件。",
) -> list[list[object]]:
    """Title row, header row, one row per case (values looked up by header), notes row."""
    headers = headers or HEADERS
    out: list[list[object]] = []
    if title is not None:
        out.append([title])
    out.append(list(headers))
    out.extend([c.get(h) for h in headers] for c in cases)
    if notes is not None:
        out.append([notes])
    return out


def standard_sheet(cases: list[dict[str, object]], name: str = "第三批", **kw: Any) -> Sheet:
    rows = grid(cases, **kw)
    merges = []
    width = len(kw.get("headers") or HEADERS)
    if kw.get("title", TITLE) is not None:
        merges.append((0, 0, 0, width - 1))
    if kw.get("notes", "注") is not None:
        merges.append((len(rows) - 1, 0, len(rows) - 1, width - 1))
    return Sheet(name, rows, merges)


def write_xlsx(path: Path, *sheets: Sheet) -> Path:
    """A real workbook: strings as strings, numbers as numbers, formulas with cached values,
    merged ranges carrying their value in the top-left cell only (as Excel stores them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_numbers": False})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for spec in sheets:
        ws = wb.add_worksheet(spec.name)
        covered: set[tuple[int, int]] = set()
        for r0, c0, r1, c1 in spec.merges:
            value = spec.rows[r0][c0] if r0 < len(spec.rows) and c0 < len(spec.rows[r0]) else None
            ws.merge_range(r0, c0, r1, c1, "" if value is None else value)
            covered |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                if (r, c) in covered or value is None:
                    continue
                _write_cell(ws, r, c, value, date_fmt)
        if spec.hidden:
            ws.hide()
    wb.close()
    return path


def write_xls(path: Path, *sheets: Sheet) -> Path:
    """A real legacy .xls (BIFF8, an OLE container) written with xlwt; formulas not supported."""
    import xlwt

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlwt.Workbook(encoding="utf-8")
    for spec in sheets:
        ws = wb.add_sheet(spec.name)
        covered: set[tuple[int, int]] = set()
        for r0, c0, r1, c1 in spec.merges:
            value = spec.rows[r0][c0] if r0 < len(spec.rows) and c0 < len(spec.rows[r0]) else None
            ws.write_merge(r0, r1, c0, c1, "" if value is None else value)
            covered |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        for r, row in enumerate(spec.rows):
            for c, value in enumerate(row):
                if (r, c) not in covered and value is not None:
                    ws.write(r, c, value)
        if spec.hidden:
            ws.visibility = 1
    wb.save(str(path))
    return path


def _write_cell(ws: Any, r: int, c: int, value: object, date_fmt: Any) -> None:
    if isinstance(value, Formula):
        ws.write_formula(r, c, value.formula, None, value.value)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, int | float):
        ws.write_number(r, c, value)
    elif isinstance(value, dt.date):
        ws.write_datetime(r, c, value, date_fmt)
    else:
        ws.write_string(r, c, str(value))


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    """CSV text in the given encoding ("utf-8-sig" writes the BOM)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([["" if v is None else v for v in r] for r in rows])
    return buf.getvalue().encode(encoding)


@cache
def shared_validator() -> Any:
    """One GX context for the whole session (importing GX costs seconds)."""
    from ducha.intake.validator import Validator

    return Validator()


@pytest.fixture(scope="session")
def validator() -> Any:
    return shared_validator()


def validate(
    validator: Any,
    parsed: ParsedFile,
    known_summaries: dict[str, str] | None = None,
    known_facts: dict[str, dict[str, object]] | None = None,
) -> dict:
    """One file on its own, as a run checks it: the suite, then the warehouse's cases
    (``known_*``), then its Data Docs; the GX result as JSON ({} for a refused file)."""
    from ducha.intake.quality import compare_with_warehouse

    doc = validator.check([parsed])
    compare_with_warehouse(parsed, known_summaries or {}, known_facts or {})
    validator.build_docs()
    return doc


@pytest.fixture(scope="session")
def hn() -> Inspection:
    return get_inspection(HN)


@pytest.fixture(scope="session")
def generic() -> Inspection:
    return get_inspection(GENERIC)


@dataclass
class Checked:
    parsed: ParsedFile
    report: dict[str, Any]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.report["errors"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return self.report["warnings"]

    def rules(self, level: str = "errors") -> set[str]:
        return {i["rule"] for i in self.report[level]}


def check(
    path: Path,
    inspection: Inspection,
    *,
    known: dict[str, str] | None = None,
    **kw: Any,
) -> Checked:
    """The clerk's view of one file: parse, validate with the real suite, report."""
    parsed = parse_file(path, inspection, **kw)
    validate(shared_validator(), parsed, known)
    report = file_report(parsed)
    for i in [*report["errors"], *report["warnings"]]:  # type: ignore[union-attr]
        assert i["rule"] in RULES
    return Checked(parsed, report)

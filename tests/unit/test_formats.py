"""Every accepted format reads to the same rows: .xlsx, .xlsm, .xls, .csv in three encodings."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import xlsxwriter
import xlwt

from ducha.config import get_inspection
from ducha.intake.parse import parse_file

TITLE = "群众信访举报转办和边督边改公开情况一览表（第三批 2024年6月3日）"
HEADER = ["序号", "受理编号", "交办问题基本情况", "行政区域", "问题类型", "是否办结"]
ROWS = [
    [1, "D3HN202406020001", "某化工厂夜间偷排废水，河水发黑。", "长沙市岳麓区", "水、大气", "正在办理"],
    [2, "X3HN202406020002", "搅拌站粉尘污染严重", "株洲市", "大气", "正在办理"],
]
GRID = [[TITLE], HEADER, *ROWS, ["注：本表数据为示例。"]]


def _xlsx(path: Path, vba: bool = False) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("第三批")
    ws.merge_range(0, 0, 0, len(HEADER) - 1, TITLE)
    for r, row in enumerate(GRID[1:], start=1):
        ws.write_row(r, 0, row)
    if vba:
        # An .xlsm is an xlsx with macros allowed; macros are never run, only the cells read.
        wb.set_vba_name("ThisWorkbook")
    wb.close()
    return path


def _xls(path: Path) -> Path:
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("第三批")
    ws.write_merge(0, 0, 0, len(HEADER) - 1, TITLE)
    for r, row in enumerate(GRID[1:], start=1):
        for c, value in enumerate(row):
            ws.write(r, c, value)
    wb.save(str(path))
    return path


def _csv(path: Path, encoding: str) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows(GRID)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda d: _xlsx(d / "第三批.xlsx"),
        lambda d: _xlsx(d / "第三批.xlsm", vba=True),
        lambda d: _xls(d / "第三批.xls"),
        lambda d: _csv(d / "第三批.csv", "utf-8"),
        lambda d: _csv(d / "第三批.csv", "utf-8-sig"),
        lambda d: _csv(d / "第三批.csv", "gb18030"),
    ],
    ids=["xlsx", "xlsm", "xls", "csv-utf8", "csv-utf8-bom", "csv-gb18030"],
)
def test_every_format_reads_the_same(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    parsed = parse_file(path, get_inspection("c3-hn-2024"))
    assert not parsed.rejected, parsed.issues
    assert parsed.batch[0] == 3
    got = [
        (r.values["case_id"], r.values["summary"], r.values["region"], r.values["pollution_types"])
        for r in parsed.rows
    ]
    assert got == [
        ("D3HN202406020001", "某化工厂夜间偷排废水，河水发黑。", "长沙市岳麓区", ["水", "大气"]),
        ("X3HN202406020002", "搅拌站粉尘污染严重", "株洲市", ["大气"]),
    ]
    assert [r.row for r in parsed.rows] == [3, 4]  # Excel row numbers, as the clerk sees them

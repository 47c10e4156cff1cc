"""Printed and typed as offices do (issue 11): the office's fonts, 序号 centred, tables too
wide for A4 at the configured size on A3, and the weekly report on its own days."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from ducha.config import get_inspection
from ducha.disclosure import tables as T
from ducha.disclosure.layout import Column, Sheet, paper_for, print_settings
from ducha.disclosure.writers import render_html, write_xlsx
from ducha.layouts import layouts

HN = get_inspection("c3-hn-2024")
CREATED = datetime(2024, 6, 3, tzinfo=UTC)


def batch_sheet(layout: str) -> Sheet:
    columns = T.published_columns(layouts()[layout])
    row = ["1", "D3HN202406020040", "某厂夜间排污。", "长沙市岳麓区", "水", "", "", "", "", "", ""]
    return Sheet(name="第三批", columns=columns, rows=[[1, *row[1 : len(columns)]]], title="一览表（第三批）")


@pytest.mark.parametrize("layout", ["central11", "standard9"])
def test_a_wide_table_prints_on_a3_no_smaller_than_the_configured_size(layout: str, tmp_path: Path) -> None:
    sheet = batch_sheet(layout)
    write_xlsx(tmp_path / "b.xlsx", [sheet], created=CREATED)
    ws = openpyxl.load_workbook(tmp_path / "b.xlsx")["第三批"]
    assert int(ws.page_setup.paperSize) == 8  # A3
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToHeight == 0
    # One page wide on A3: the 10-point text prints at no less than min_points.
    width_pt = sum(c.width * 7 + 5 for c in sheet.columns) * 0.75
    assert 10 * min(1.0, (16.54 - 1.0) * 72 / width_pt) >= print_settings().min_points
    assert "@page{size:A3 landscape" in render_html([sheet], page_title="t")


def test_a_narrow_table_stays_on_a4(tmp_path: Path) -> None:
    sheet = Sheet(name="统计", columns=[Column("地区", 22), Column("件数", 10, "int")], rows=[["长沙市", 3]])
    assert paper_for(sheet.columns) == "A4"
    write_xlsx(tmp_path / "s.xlsx", [sheet], created=CREATED)
    assert int(openpyxl.load_workbook(tmp_path / "s.xlsx")["统计"].page_setup.paperSize) == 9


def test_cells_use_the_offices_font_and_seq_is_centred(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "b.xlsx", [batch_sheet("central11")], created=CREATED)
    ws = openpyxl.load_workbook(tmp_path / "b.xlsx")["第三批"]
    font = print_settings().font
    assert ws["A1"].font.name == print_settings().title_font  # the title
    assert ws["A2"].font.name == font and ws["A2"].alignment.horizontal == "center"  # header
    assert ws["A3"].value == 1 and ws["A3"].alignment.horizontal == "center"  # 序号
    assert ws["C3"].font.name == font and ws["C3"].alignment.horizontal in (None, "general")
    page = render_html([batch_sheet("central11")], page_title="t")
    assert '<td class="c">1</td>' in page and f'font-family:"{font}"' in page


def test_the_weekly_report_is_written_on_its_own_days() -> None:
    monday, tuesday = dt.date(2024, 6, 3), dt.date(2024, 6, 4)
    assert HN.weekly_due(monday) and not HN.weekly_due(tuesday)
    assert HN.period_end is not None and HN.weekly_due(HN.period_end)  # the last day closes the week
    daily = replace(HN, conventions=replace(HN.conventions, weekly_on=tuple(range(7))))
    assert daily.weekly_due(tuesday)

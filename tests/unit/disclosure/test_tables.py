"""The published tables, computed from a real warehouse built from sample workbooks."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import text

from ducha.config import data_dirs, get_inspection
from ducha.disclosure import tables as T
from ducha.disclosure.publish import publish
from ducha.pipeline import Ingestor
from ducha_sample import generate

INSP = "c3-hn-2024"
DAYS = [dt.date(2024, 6, d) for d in range(1, 7)]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("pub")
    generate(root / "landing", INSP, days=len(DAYS), seed=21)
    ingestor = Ingestor(data_dirs(root), f"sqlite:///{root / 'w.sqlite'}", run_label="t")
    early = root / "early"
    for day in DAYS[:2]:
        ingestor.ingest_day(day)
    first = publish(ingestor.engine, INSP, early, as_of=DAYS[1])
    for day in DAYS[2:]:
        ingestor.ingest_day(day)
    return {"root": root, "engine": ingestor.engine, "early": early, "first": first}


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.name != "manifest.json"
    }


def _rows(path: Path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def test_an_earlier_day_republishes_byte_for_byte(warehouse: dict, tmp_path: Path) -> None:
    """Later loads do not change what a day's tables said: they are computed as of that day."""
    again = publish(warehouse["engine"], INSP, tmp_path, as_of=DAYS[1])
    assert again.cases == warehouse["first"].cases
    assert _hashes(tmp_path / INSP / "2024-06-02") == _hashes(warehouse["early"] / INSP / "2024-06-02")


def test_batch_region_and_update_tables(warehouse: dict, tmp_path: Path) -> None:
    day = DAYS[-1]
    out = publish(warehouse["engine"], INSP, tmp_path, as_of=day)
    folder = Path(out.folder or "")
    names = {f["name"] for f in out.files}
    assert "第六批公开情况一览表.xlsx" in names and "办理情况更新表（2024-06-06）.xlsx" in names
    batch = _rows(folder / "第六批公开情况一览表.xlsx")
    body = [r for r in batch[2:] if r[1]]
    assert [int(r[0]) for r in body] == list(range(1, len(body) + 1))
    # The city tables partition the batch, each keeping the batch-wide 序号.
    insp = get_inspection(INSP)
    seen: list[tuple] = []
    for path in sorted(folder.glob("第六批公开情况一览表（*）.xlsx")):
        city = re.search(r"（(.+)）", path.stem).group(1)  # type: ignore[union-attr]
        rows = _rows(path)
        assert rows[0][0].startswith(city)
        for r in rows[2:]:
            if r[1]:
                assert insp.resolve_region(str(r[3]))[0] == city
                seen.append((int(r[0]), r[1]))
    assert sorted(seen) == [(int(r[0]), r[1]) for r in body]
    # The updates table: only earlier cases whose state changed that day.
    with warehouse["engine"].connect() as conn:
        changed = set(
            conn.execute(
                text("SELECT case_id FROM case_versions WHERE as_of = :d AND version_no > 1"), {"d": day}
            ).scalars()
        )
    updates = _rows(folder / "办理情况更新表（2024-06-06）.xlsx")
    assert updates[1][0] == "批次"
    assert {r[2] for r in updates[2:] if r[2]} == changed and changed


def test_a_batch_sent_as_the_teams_list_shows_its_cases_as_open(warehouse: dict, tmp_path: Path) -> None:
    """第四批 arrives as the team's 转办清单 (no status column): the warehouse holds no status,
    and the table shows the one configured label for open cases, not a blank."""
    day = DAYS[3]
    with warehouse["engine"].connect() as conn:
        statuses = set(
            conn.execute(
                text("SELECT DISTINCT status FROM case_versions WHERE version_no = 1 AND as_of = :d"),
                {"d": day},
            ).scalars()
        )
    assert statuses == {None}
    folder = Path(publish(warehouse["engine"], INSP, tmp_path, as_of=day).folder or "")
    rows = _rows(folder / "第四批公开情况一览表.xlsx")
    column = rows[1].index("是否办结")
    assert {r[column] for r in rows[2:] if r[1]} == {get_inspection(INSP).conventions.open_label}


def test_summary_matches_the_warehouse_views(warehouse: dict) -> None:
    day = DAYS[-1]
    insp = get_inspection(INSP)
    with warehouse["engine"].connect() as conn:
        states = T.case_states(conn, INSP, day)
        latest = conn.execute(text("SELECT status, COUNT(*) FROM v_case_latest GROUP BY status")).all()
        fines = conn.execute(
            text(
                "SELECT SUM(fine_amount) FROM case_versions v WHERE version_no = "
                "(SELECT MAX(version_no) FROM case_versions y WHERE y.case_id = v.case_id)"
            )
        ).scalar()
    by_status = dict(latest)
    paragraph = T.summary_paragraph(states, insp, day)
    n = sum(by_status.values())
    closed, partly = by_status.get("已办结", 0), by_status.get("阶段性办结", 0)
    assert paragraph.startswith(
        f"截至6月6日，全省已对1-6批{n}件信访件进行调查处理，其中，已办结{closed}件、阶段性办结{partly}件、未办结{n - closed - partly}件"
    )
    assert f"罚款金额{T._fmt_amount(Decimal(str(fines or 0)))}元" in paragraph
    regions = T.region_sheet(states, insp, day)
    total = regions.rows[-1]
    assert total[0] == "合计" and total[2] == n and total[4] == closed
    assert sum(r[1] for r in regions.rows[:-1]) == total[1] == len(states[states["transferred_on"] == day])
    types = T.type_sheet(states, insp, day)
    assert sum(r[1] for r in types.rows[:-1]) >= n == types.rows[-1][1]


def test_the_weekly_report_comes_on_mondays_only(warehouse: dict, tmp_path: Path) -> None:
    tuesday, monday = DAYS[3], DAYS[2]  # 2024-06-04, 2024-06-03
    assert (tuesday.weekday(), monday.weekday()) == (1, 0)
    for day in (tuesday, monday):
        publish(warehouse["engine"], INSP, tmp_path, as_of=day)
    weekly = {
        day: sorted(p.name for p in (tmp_path / INSP / day.isoformat()).glob("周报*"))
        for day in (tuesday, monday)
    }
    assert weekly[tuesday] == []
    assert "周报（截至2024-06-03）.xlsx" in weekly[monday] and len(weekly[monday]) == 5  # and 4 SVG charts

"""The same load on PostgreSQL as on SQLite: same tables, same views, same idempotence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ducha.config import data_dirs
from ducha.pipeline import Ingestor
from ducha.sample import generate
from ducha.warehouse.schema import case_versions, cases, files, quarantined_rows

pytestmark = pytest.mark.postgres


def _snapshot(engine) -> dict[str, list]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr)
            for t in (files, cases, case_versions, quarantined_rows)
        }


def test_load_days_on_postgres_matches_sqlite(postgres_url: str, tmp_path: Path) -> None:
    generate(tmp_path / "landing", "c3-hn-2024", days=4, seed=3)
    days = [dt.date(2024, 6, d) for d in range(1, 5)]
    pg = Ingestor(data_dirs(tmp_path), postgres_url)
    lite = Ingestor(data_dirs(tmp_path), f"sqlite:///{tmp_path / 'w.sqlite'}")
    for day in days:
        pg.ingest_day(day)
        lite.ingest_day(day)
    assert pg.engine.dialect.name == "postgresql"
    pg_snap, lite_snap = _snapshot(pg.engine), _snapshot(lite.engine)
    for name in pg_snap:
        assert len(pg_snap[name]) == len(lite_snap[name]) > 0, name
    with pg.engine.connect() as conn:
        n_cases = conn.execute(select(func.count()).select_from(cases)).scalar_one()
        assert conn.execute(text("SELECT COUNT(*) FROM v_case_latest")).scalar_one() == n_cases
        closed = conn.execute(text("SELECT COUNT(*) FROM v_ledger_closed")).scalar_one()
        open_ = conn.execute(text("SELECT COUNT(*) FROM v_ledger_in_progress")).scalar_one()
        assert closed + open_ == n_cases
    # Re-running every day leaves the warehouse identical.
    for day in days:
        outcome = pg.ingest_day(day)
        assert {f.status for f in outcome.files} == {"skipped"}
    assert _snapshot(pg.engine) == pg_snap

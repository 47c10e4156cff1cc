"""The same load on PostgreSQL as on SQLite: same tables, same views, same idempotence."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ducha.config import data_dirs
from ducha.pipeline import Ingestor
from ducha.sample import generate
from ducha.warehouse.schema import cases, metadata

pytestmark = pytest.mark.postgres


def _value(v: object) -> object:
    """One form per value, whichever database returned it (JSON text or dict, Decimal or float)."""
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dt.date):  # views are untyped on SQLite: dates come back as text
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    return v


def _snapshot(engine) -> dict[str, list]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(_value(v) for v in row) for row in conn.execute(select(t))), key=repr)
            for t in metadata.sorted_tables
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
    assert pg_snap.keys() == lite_snap.keys()
    for name in pg_snap:  # the same rows, value for value: not only as many
        assert pg_snap[name] or name == "batch_decisions", name  # that one only operators fill
        assert pg_snap[name] == lite_snap[name], name
    with pg.engine.connect() as a, lite.engine.connect() as b:
        latest = "SELECT * FROM v_case_latest ORDER BY case_id"
        assert [tuple(map(_value, r)) for r in a.execute(text(latest))] == [
            tuple(map(_value, r)) for r in b.execute(text(latest))
        ]
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


@pytest.mark.parametrize("threshold, analyzed", [(1, True), (10**9, False)])
def test_a_large_load_refreshes_the_planner_statistics(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int, analyzed: bool
) -> None:
    """Right after a bulk load autovacuum has not analysed yet, and the planner sizes its
    joins for empty tables; a load of at least ANALYZE_AFTER_ROWS rows analyses itself."""
    from ducha.warehouse import load

    monkeypatch.setattr(load, "ANALYZE_AFTER_ROWS", threshold)
    generate(tmp_path / "landing", "c3-hn-2024", days=1, seed=5, progress=False)
    ingestor = Ingestor(data_dirs(tmp_path), postgres_url)
    assert ingestor.ingest_day(dt.date(2024, 6, 1)).totals()["rows_loaded"] > 0
    with ingestor.engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        stamps = dict(
            conn.execute(
                text(
                    "SELECT relname, last_analyze FROM pg_stat_user_tables"
                    " WHERE relname IN ('cases', 'case_versions', 'case_latest', 'case_types')"
                )
            ).all()
        )
    ingestor.engine.dispose()
    assert len(stamps) == 4
    assert all((stamp is not None) == analyzed for stamp in stamps.values()), stamps


def test_a_key_clash_in_a_copy_is_an_integrity_error_the_load_retries(postgres_url: str) -> None:
    """COPY runs on the driver's cursor: its errors must reach load_file as SQLAlchemy's
    IntegrityError, or a concurrent load of the same case fails instead of retrying."""
    from sqlalchemy.exc import IntegrityError

    from ducha.warehouse.db import upgrade
    from ducha.warehouse.load import _bulk
    from ducha.warehouse.schema import inspections

    eng = upgrade(postgres_url)
    row = {
        "inspection_id": ["x"],
        "name": ["x"],
        "level": ["central"],
        "deadline_days": [10],
        "fine_unit": ["元"],
    }
    with eng.connect() as conn, conn.begin():
        _bulk(conn, inspections, row)
        with pytest.raises(IntegrityError):
            _bulk(conn, inspections, row)

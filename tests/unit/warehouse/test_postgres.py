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
from ducha.warehouse.schema import cases, metadata
from ducha_sample import generate

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


def _last_analyzed(engine) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        return dict(
            conn.execute(
                text(
                    "SELECT relname, last_analyze FROM pg_stat_user_tables"
                    " WHERE relname IN ('cases', 'case_versions')"
                )
            ).all()
        )


def _removed_by_join_filters(node: dict) -> int:
    return int(node.get("Rows Removed by Join Filter", 0)) + sum(
        _removed_by_join_filters(c) for c in node.get("Plans", [])
    )


def test_a_load_refreshes_the_statistics_of_a_warehouse_never_analysed(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after a load autovacuum has not analysed yet. A warehouse built from small
    files (daily batches are a few hundred rows) was never analysed, and the planner,
    sizing for empty tables, joined every version to every case in the case search. The
    first load analyses, however small; the search then reads each case once."""
    from ducha.config import get_inspection
    from ducha.warehouse import load
    from ducha.web import search
    from ducha.web.access import Scope
    from tests.unit.warehouse.test_plans import _sent

    monkeypatch.setattr(load, "ANALYZE_AFTER_ROWS", 10**9)  # not by size: by what the tables held
    generate(tmp_path / "landing", "c3-hn-2024", days=1, seed=5, progress=False)
    ingestor = Ingestor(data_dirs(tmp_path), postgres_url)
    loaded = ingestor.ingest_day(dt.date(2024, 6, 1)).totals()["rows_loaded"]
    assert 0 < loaded < 10_000
    stamps = _last_analyzed(ingestor.engine)
    assert len(stamps) == 2 and all(stamp is not None for stamp in stamps.values()), stamps
    insp, everyone = get_inspection("c3-hn-2024"), Scope(everything=True)
    with ingestor.engine.connect() as conn:
        criteria = search.Criteria(today=dt.date(2024, 7, 1))
        for statement, params in _sent(conn, lambda: search.search(conn, insp, criteria, everyone)):
            (plan,) = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).one()
            assert _removed_by_join_filters(plan[0]["Plan"]) < loaded, plan
    ingestor.engine.dispose()


@pytest.mark.parametrize("threshold, growth, analyzed", [(1, 10.0, True), (10**9, 10.0, False)])
def test_a_later_load_analyses_when_large_or_large_for_the_tables(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    threshold: int,
    growth: float,
    analyzed: bool,
) -> None:
    """Once the statistics exist, a load refreshes them if it is at least
    ANALYZE_AFTER_ROWS rows, or ANALYZE_AFTER_GROWTH of what they know of; a small load
    into a large warehouse leaves them to autovacuum."""
    from ducha.warehouse import load

    generate(tmp_path / "landing", "c3-hn-2024", days=2, seed=5, progress=False)
    ingestor = Ingestor(data_dirs(tmp_path), postgres_url)
    ingestor.ingest_day(dt.date(2024, 6, 1))
    first = _last_analyzed(ingestor.engine)
    monkeypatch.setattr(load, "ANALYZE_AFTER_ROWS", threshold)
    monkeypatch.setattr(load, "ANALYZE_AFTER_GROWTH", growth)
    assert ingestor.ingest_day(dt.date(2024, 6, 2)).totals()["rows_loaded"] > 0
    second = _last_analyzed(ingestor.engine)
    ingestor.engine.dispose()
    assert all((second[t] != first[t]) == analyzed for t in first), (first, second)


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


def test_many_small_loads_keep_the_statistics_within_the_growth(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file of a day is small against the tables, but together they grow them: the
    statistics follow the growth, not the size of one load. (They were refreshed only by
    a single load of half the tables' rows: after a round landed at once they still
    counted the first 655 cases of 24,696, and an inspection that came later was
    estimated at one row.)"""
    from ducha.warehouse import load

    monkeypatch.setattr(load, "ANALYZE_AFTER_ROWS", 10**9)
    monkeypatch.setattr(load, "ANALYZE_AFTER_GROWTH", 0.5)
    generate(tmp_path / "landing", "c3-hn-2024", days=6, seed=5, progress=False)
    ingestor = Ingestor(data_dirs(tmp_path), postgres_url)
    query = (
        "SELECT relpages, pg_relation_size(oid) / current_setting('block_size')::int "
        "FROM pg_class WHERE oid = 'case_versions'::regclass"
    )
    seen = []
    for day in sorted((tmp_path / "landing" / "c3-hn-2024").iterdir()):
        ingestor.ingest_day(dt.date.fromisoformat(day.name))
        with ingestor.engine.connect() as conn:
            counted, pages = conn.exec_driver_sql(query).one()
        seen.append((counted, pages))
        assert pages < (1 + load.ANALYZE_AFTER_GROWTH) * counted, seen
    ingestor.engine.dispose()
    assert seen[-1][1] > 3 * seen[0][1], "the warehouse grew several times over"


def test_ids_of_any_characters_are_found_among_many(postgres_url: str) -> None:
    """The IDs reach PostgreSQL as one array: quotes, backslashes, commas, braces,
    spaces, newlines and the word NULL are IDs like any other, found exactly."""
    from sqlalchemy import column, create_engine, table

    from ducha.warehouse.load import _among

    odd = ['a"b', "c\\d", "e,f", "{g}", "NULL", "", " h ", "i\nj", "中文"]
    plain = [f"D{n:06d}" for n in range(5000)]
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE t (id varchar(64))"))
        conn.execute(text("INSERT INTO t VALUES (:id)"), [{"id": i} for i in [*odd, *plain[::2], "other"]])
        among = _among(conn, [*odd, *plain])
        t = table("t", column("id"))
        found = conn.execute(select(t.c.id).where(among(t.c.id))).scalars().all()
    engine.dispose()
    assert sorted(found) == sorted([*odd, *plain[::2]])

"""A round replayed at test size through the code the DAGs call: every day publishes,
and the database work per case stays flat as the warehouse grows, so a query that scans
the versions per case (quadratic) fails here, on any machine, without a clock.

The work is counted in SQLite virtual-machine steps (a progress handler), which depend
only on the data and the query plans, not on the machine's speed.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, event, text

from bench.replay import inspection_ids, replay

STEPS_PER_UNIT = 1000
PROVINCES, DAYS = 2, 8


def sqlite_steps(engine: Engine) -> Callable[[], int]:
    """A running count of VM steps (in thousands) on every connection of ``engine``."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0  # 0: go on

    engine.dispose()  # connections opened before now would not be counted

    @event.listens_for(engine, "connect")
    def _count(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.set_progress_handler(tick, STEPS_PER_UNIT)

    return lambda: steps[0]


@pytest.fixture(scope="module")
def round_replayed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("replay")
    with pytest.MonkeyPatch.context() as env:
        # One process: the steps are counted in this one (a forked worker counts its own).
        env.setenv("DUCHA_PUBLISH_WORKERS", "1")
        result = replay(
            root, f"sqlite:///{root / 'w.sqlite'}", PROVINCES, DAYS, instrument=sqlite_steps, count_calls=True
        )
    return root, result


def test_every_day_of_every_inspection_is_published(round_replayed) -> None:  # type: ignore[no-untyped-def]
    root, result = round_replayed
    assert [d.cases for d in result.per_day] == sorted(d.cases for d in result.per_day)
    assert result.per_day[-1].cases > 1000 * PROVINCES  # a real round's shape, at test size
    for inspection_id in inspection_ids(PROVINCES):
        published = sorted(
            p.name for p in (root / "outbox" / inspection_id).iterdir() if not p.name.startswith(".")
        )
        assert published == [d.day for d in result.per_day], inspection_id
        last = json.loads(
            (root / "outbox" / inspection_id / result.per_day[-1].day / "manifest.json").read_text()
        )
        assert last["cases"] > 0


def test_database_work_per_case_stays_flat_as_the_warehouse_grows(round_replayed) -> None:  # type: ignore[no-untyped-def]
    """Publishing reads every case of the inspection each day (cumulative tables), so its
    work grows with the warehouse, but per case it must not: a quadratic query doubles
    the work per case whenever the warehouse doubles. Ingesting works on the day's file,
    so its work per row read must not grow with the warehouse at all."""
    _, result = round_replayed
    early, late = result.per_day[DAYS // 2 - 1], result.per_day[-1]
    assert late.cases >= 1.8 * early.cases  # the warehouse has (about) doubled
    per_case = [d.publish_work / d.cases for d in (early, late)]
    assert per_case[0] > 0  # the work was counted
    assert per_case[1] < 1.3 * per_case[0], (
        per_case,
        [(d.day, d.cases, d.publish_work) for d in result.per_day],
    )
    ingest = [d.ingest_work / d.rows for d in result.per_day[1:]]  # day 1 creates the schema
    assert max(ingest[DAYS // 2 :]) < 1.5 * max(ingest[: DAYS // 2]), ingest


def test_python_work_per_case_stays_flat_as_the_warehouse_grows(round_replayed) -> None:  # type: ignore[no-untyped-def]
    """The same for the Python side, counted in function calls (cProfile): a loop over
    every case for each case (or over every file so far, as the Data Docs rebuild once
    was) doubles the calls per case whenever the warehouse doubles."""
    _, result = round_replayed
    early, late = result.per_day[DAYS // 2 - 1], result.per_day[-1]
    per_case = [d.publish_calls / d.cases for d in (early, late)]
    assert per_case[0] > 0 and per_case[1] < 1.3 * per_case[0], (
        per_case,
        [(d.day, d.cases, d.publish_calls) for d in result.per_day],
    )
    ingest = [d.ingest_calls / d.rows for d in result.per_day[1:]]
    assert min(ingest) > 0 and max(ingest[DAYS // 2 :]) < 1.5 * max(ingest[: DAYS // 2]), ingest


def test_the_latest_state_view_counts_without_a_scan_per_case(round_replayed) -> None:  # type: ignore[no-untyped-def]
    """The view every page and status query reads: its count costs (about) one pass over
    the versions, not one per case."""
    root, result = round_replayed
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{root / 'w.sqlite'}")
    count = sqlite_steps(engine)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT count(*) FROM case_versions")).scalar_one()
        before = count()
        cases = conn.execute(text("SELECT count(*) FROM v_case_latest")).scalar_one()
        work = (count() - before) * STEPS_PER_UNIT
    assert cases == result.per_day[-1].cases
    assert work < 200 * versions, (work, versions)  # a scan per case would be ~cases × versions


def test_the_floor_reads_every_row_the_pipeline_reads(round_replayed) -> None:  # type: ignore[no-untyped-def]
    """The replay's floor is compared with the pipeline, so it must read as much: every
    sheet (Traditional headers, two-row headers, team lists, city files), every data row
    (a blank 序号 too), and the region by its header, not by its place."""
    import sqlite3

    from bench.replay import _raw_rows

    root, _ = round_replayed
    with sqlite3.connect(root / "w.sqlite") as db:
        taken = dict(db.execute("SELECT name, rows_total FROM files WHERE rows_total > 0"))
    read = {}
    for path in sorted((root / "landing").rglob("*.xls*")):
        rows, checked = _raw_rows(path)
        read[path.name] = len(rows)
        assert len(checked["行政区域"]) == len(rows)
        assert all(r[0] for r in rows), path.name  # every row's region found
    assert {name: read.get(name) for name in taken} == taken

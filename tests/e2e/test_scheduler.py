"""A backfill run by the real scheduler (scheduler, dag-processor and api-server as
processes in a temporary Airflow home, LocalExecutor): however the scheduler folds the
warehouse events into publish runs, the outbox ends byte for byte as day-by-day runs
leave it, and a second backfill of the same days changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ducha.config import data_dirs, local_day
from ducha.disclosure.publish import reconcile
from ducha.orchestration import WRITERS_POOL
from ducha.pipeline import Ingestor
from ducha_sample import generate
from scripts.demo import published
from scripts.services import Services, free_port, service_settings
from tests.conftest import BIN, airflow_home

pytestmark = pytest.mark.airflow

# Two inspections: a publish run then publishes them side by side in forked processes,
# inside the Airflow task.
INSPECTIONS = ("c3-hn-2024", "c3-p2-2024")
DAYS = [dt.date(2024, 6, d) for d in range(1, 5)]
# The ingest timetable runs at 22:00 Asia/Shanghai: --to-date 06-05 covers days 06-01…06-04.
BACKFILL = ["--from-date", "2024-06-01", "--to-date", "2024-06-05"]


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _warehouse(root: Path) -> tuple:
    import sqlite3

    with sqlite3.connect(root / "warehouse.sqlite") as db:
        return (
            db.execute("SELECT count(*), count(DISTINCT sha256), sum(rows_loaded) FROM files").fetchone(),
            db.execute("SELECT count(*) FROM cases").fetchone(),
            sorted(db.execute("SELECT case_id, as_of, state_hash FROM case_versions").fetchall()),
        )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Day-by-day runs through the library code the DAGs call: the outbox to match."""
    root = tmp_path_factory.mktemp("reference")
    for n, inspection in enumerate(INSPECTIONS):
        generate(root / "landing", inspection, days=len(DAYS), seed=17 + n, progress=False)
    ingestor = Ingestor(data_dirs(root), f"sqlite:///{root / 'warehouse.sqlite'}")
    for day in DAYS:
        ingestor.ingest_day(day)
        reconcile(ingestor.engine, ingestor.dirs.outbox)
    return root


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, reference: Path) -> Iterator[Services]:
    """A fresh Airflow home with its services running, and a data folder holding the
    reference's landing files. Both DAGs are unpaused: the ingest DAG's current run may
    pick every file up as late files, and the outbox must come out the same."""
    home, data = tmp_path_factory.mktemp("sched_home"), tmp_path_factory.mktemp("sched_data")
    shutil.copytree(reference / "landing", data / "landing")
    env = airflow_home(home, data, **service_settings(free_port()))
    with Services(env, home / "service-logs", BIN / "airflow") as running:
        running.wait_parsed(("ducha_ingest", "ducha_publish"))
        running.airflow("dags", "unpause", "ducha_publish")
        running.airflow("dags", "unpause", "ducha_ingest")
        yield running


def test_a_backfill_publishes_every_day_as_day_by_day_runs_do(services: Services, reference: Path) -> None:
    data = Path(services.env["DUCHA_DATA_DIR"])
    backfills = services.backfill("ducha_ingest", *BACKFILL)
    # An operator's run of one of those days at the same time (issue 13: two runs of a day
    # at once, a backfill overlapping the nightly run).
    services.airflow("dags", "trigger", "ducha_ingest", "-c", json.dumps({"day": DAYS[2].isoformat()}))
    runs = services.wait_idle(backfills, done=lambda: published(data))
    assert {r["state"] for r in runs} == {"success"}, runs
    backfilled = [r for r in runs if r["dag_id"] == "ducha_ingest" and r["run_type"] == "backfill"]
    assert len(backfilled) == len(DAYS)
    assert [r["run_type"] for r in runs if r["dag_id"] == "ducha_ingest"].count("manual") == 1
    # Nothing loaded twice: the warehouse holds what day-by-day runs left.
    assert _warehouse(data) == _warehouse(reference)
    ingests = services.metadata(
        "SELECT run_id, map_index, rendered_map_index, pool, state, end_date FROM task_instance"
        " WHERE task_id = 'ingest_file'"
    )
    # One mapped task per landed file, named by its landing path, in the writers' pool.
    by_run: dict[str, dict[str, dict]] = {}
    for ti in ingests:
        assert ti["pool"] == WRITERS_POOL and ti["state"] == "success", ti
        by_run.setdefault(ti["run_id"], {})[ti["rendered_map_index"]] = ti

    def day_of(run: dict) -> dt.date:
        return local_day(dt.datetime.fromisoformat(run["logical_date"]))

    # A backfill runs several days at once (its own max_active_runs): a run may also take
    # an earlier day's file as a late file before that day's run does; never a later one.
    for run in backfilled:
        names = by_run[run["run_id"]]
        on_day = {
            f"{i}/{day_of(run)}/{p.name}"
            for i in INSPECTIONS
            for p in (data / "landing" / i / str(day_of(run))).iterdir()
        }
        assert on_day <= set(names), (run, names)
        assert all(dt.date.fromisoformat(name.split("/")[1]) <= day_of(run) for name in names), names
    # Day 4 has two files per inspection: the second loaded after the first.
    (last,) = [by_run[r["run_id"]] for r in backfilled if day_of(r) == DAYS[-1]]
    for inspection in INSPECTIONS:
        first, second = sorted(n for n in last if n.startswith(f"{inspection}/{DAYS[-1]}/"))
        assert last[first]["end_date"] < last[second]["end_date"]
    for inspection in INSPECTIONS:
        assert sorted(p.name for p in (data / "outbox" / inspection).iterdir()) == [
            d.isoformat() for d in DAYS
        ]
    assert _tree(data / "outbox") == _tree(reference / "outbox")

    # The same backfill again: every day re-runs, nothing is loaded or published again.
    before = {p: p.stat().st_mtime_ns for p in (data / "outbox").rglob("*")}
    again = [*BACKFILL, "--reprocess-behavior", "completed"]
    backfills = services.backfill("ducha_ingest", *again)
    runs = services.wait_idle(backfills, done=lambda: published(data))
    assert {r["state"] for r in runs} == {"success"}, runs
    assert _tree(data / "outbox") == _tree(reference / "outbox")
    assert {p: p.stat().st_mtime_ns for p in (data / "outbox").rglob("*")} == before

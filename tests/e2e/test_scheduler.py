"""A backfill run by the real scheduler (scheduler, dag-processor and api-server as
processes in a temporary Airflow home, LocalExecutor): however the scheduler folds the
warehouse events into publish runs, the outbox ends byte for byte as day-by-day runs
leave it, and a second backfill of the same days changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ducha.config import data_dirs
from ducha.disclosure.publish import reconcile, stale_days
from ducha.pipeline import Ingestor
from ducha.sample import generate
from tests.conftest import BIN, REPO

pytestmark = pytest.mark.airflow

INSPECTION = "c3-hn-2024"
DAYS = [dt.date(2024, 6, d) for d in range(1, 5)]
# The ingest timetable runs at 22:00 Asia/Shanghai: --to-date 06-05 covers days 06-01…06-04.
BACKFILL = ["--from-date", "2024-06-01", "--to-date", "2024-06-05"]
WAIT = 600  # seconds, for a backfill and the publishing it wakes


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _airflow(env: dict[str, str], *args: str) -> str:
    for _ in range(5):
        done = subprocess.run(
            [str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=300
        )
        if done.returncode == 0 or "database is locked" not in done.stderr:
            break
        time.sleep(2)  # the scheduler holds SQLite's write lock for a moment: try again
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


def _metadata(env: dict[str, str], sql: str, *args: object) -> list[dict]:
    """Rows of the Airflow metadata database (an `airflow` command costs seconds)."""
    db = Path(env["AIRFLOW_HOME"]) / "airflow.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def _runs(env: dict[str, str]) -> list[dict]:
    return _metadata(env, "SELECT dag_id, run_id, run_type, state FROM dag_run")


def _wait_until_published(env: dict[str, str], backfills: int) -> None:
    """Until ``backfills`` backfills are complete, no run of either DAG is pending, and
    the outbox is up to date with the warehouse."""
    dirs = data_dirs(Path(env["DUCHA_DATA_DIR"]))
    deadline = time.monotonic() + WAIT
    while True:
        runs = _runs(env)
        complete = _metadata(env, "SELECT id FROM backfill WHERE completed_at IS NOT NULL")
        idle = all(r["state"] in ("success", "failed") for r in runs)
        if len(complete) == backfills and idle and (dirs.root / "warehouse.sqlite").exists():
            assert {r["state"] for r in runs} == {"success"}, runs
            engine = Ingestor(dirs, f"sqlite:///{dirs.root / 'warehouse.sqlite'}").engine
            try:
                if not stale_days(engine, dirs.outbox):
                    return
            finally:
                engine.dispose()
        assert time.monotonic() < deadline, runs
        time.sleep(3)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Day-by-day runs through the library code the DAGs call: the outbox to match."""
    root = tmp_path_factory.mktemp("reference")
    generate(root / "landing", INSPECTION, days=len(DAYS), seed=17, progress=False)
    ingestor = Ingestor(data_dirs(root), f"sqlite:///{root / 'warehouse.sqlite'}")
    for day in DAYS:
        ingestor.ingest_day(day)
        reconcile(ingestor.engine, ingestor.dirs.outbox)
    return root


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory, reference: Path) -> Iterator[dict[str, str]]:
    """A fresh Airflow home, with the services running until the end, and a data folder
    with the reference's landing files (the unpaused ingest DAG's first, current run may
    pick them all up as late files: the outbox must come out the same)."""
    home, data = tmp_path_factory.mktemp("sched_home"), tmp_path_factory.mktemp("sched_data")
    shutil.copytree(reference / "landing", data / "landing")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DUCHA_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        DUCHA_DATA_DIR=str(data),
        PATH=f"{BIN}:{env.get('PATH', '')}",
    )
    _airflow(env, "db", "migrate")
    logs = home / "service-logs"
    logs.mkdir()
    procs = []
    for service in (["api-server", "--port", str(port)], ["scheduler"], ["dag-processor"]):
        log = open(logs / f"{service[0]}.log", "wb")  # noqa: SIM115 (closed below)
        proc = subprocess.Popen(
            [str(BIN / "airflow"), *service],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append((proc, log))
    try:
        deadline = time.monotonic() + WAIT
        while "ducha_publish" not in _airflow(env, "dags", "list", "-o", "plain"):
            assert time.monotonic() < deadline, "the dag-processor never parsed the DAGs"
            assert all(p.poll() is None for p, _ in procs), (logs / "scheduler.log").read_text()[-3000:]
            time.sleep(3)
        _airflow(env, "dags", "unpause", "ducha_publish")
        _airflow(env, "dags", "unpause", "ducha_ingest")
        yield env
    finally:
        for p, _ in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p, log in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
            log.close()


def test_a_backfill_publishes_every_day_as_day_by_day_runs_do(
    scheduler: dict[str, str], reference: Path
) -> None:
    data = Path(scheduler["DUCHA_DATA_DIR"])
    _airflow(scheduler, "backfill", "create", "--dag-id", "ducha_ingest", *BACKFILL)
    _wait_until_published(scheduler, backfills=1)
    assert sorted(p.name for p in (data / "outbox" / INSPECTION).iterdir()) == [d.isoformat() for d in DAYS]
    assert _tree(data / "outbox") == _tree(reference / "outbox")

    # The same backfill again: every day re-runs, nothing is loaded or published again.
    before = {p: p.stat().st_mtime_ns for p in (data / "outbox").rglob("*")}
    again = [*BACKFILL, "--reprocess-behavior", "completed"]
    _airflow(scheduler, "backfill", "create", "--dag-id", "ducha_ingest", *again)
    _wait_until_published(scheduler, backfills=2)
    assert _tree(data / "outbox") == _tree(reference / "outbox")
    assert {p: p.stat().st_mtime_ns for p in (data / "outbox").rglob("*")} == before

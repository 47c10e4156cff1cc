"""Loads under faults (issue 13): a load killed with SIGKILL half-way through a
100,000-row file, its connection cut by the server, the server restarted under a worker.

`ducha ingest` runs as a user runs it; the test watches the warehouse grow under the
load's open transaction (SQLite's write-ahead log, PostgreSQL's relation size: both grow
before a commit) and kills the process there. Then the warehouse must hold nothing of
the file, no `files` row may claim it, and the next run loads it exactly once, with
every count reconciled.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ducha.warehouse.db import engine, upgrade
from ducha.warehouse.schema import case_versions, cases, files, quarantined_rows
from tests.conftest import BIN, unavailable

ROWS = 100_000
INSPECTION = "c3-hn-2024"
# Killed once the open transaction has written this much: well into the file's rows
# (the whole load writes several times more), long before its commit.
GROWN_BYTES = 6 * 2**20


@pytest.fixture(scope="module")
def big_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.workbook import big_workbook

    return big_workbook(tmp_path_factory.mktemp("book") / "第二十批交办清单.xlsx", ROWS)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.sqlite'}"
    return request.getfixturevalue("postgres_url")


def _ingest(book: Path, url: str, root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "ducha"), "ingest", "--inspection", INSPECTION, str(book), "--warehouse", url],
        env={**os.environ, "DUCHA_DATA_DIR": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _written(url: str) -> int:
    """Bytes the load's transaction has written so far (committed or not)."""
    if url.startswith("sqlite"):
        wal = Path(url.removeprefix("sqlite:///") + "-wal")
        return wal.stat().st_size if wal.exists() else 0
    with engine(url).connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_relation_size('case_versions')").scalar_one())


def _no_open_writer(url: str, timeout: float = 60) -> None:
    """PostgreSQL aborts a dead client's transaction when it notices the socket closed."""
    if url.startswith("sqlite"):
        return
    deadline = time.monotonic() + timeout
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
    )
    while True:
        with engine(url).connect() as conn:  # a new transaction: a fresh view of the activity
            if not conn.exec_driver_sql(query).scalar_one():
                return
        assert time.monotonic() < deadline, "the killed load's transaction is still open"
        time.sleep(0.2)


def _counts(url: str) -> dict[str, int]:
    with engine(url).connect() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (files, cases, case_versions, quarantined_rows)
        }
        latest = select(func.count()).where(cases.c.latest_version_no.is_not(None))
        return {**counts, "cases with their latest": conn.execute(latest).scalar_one()}


def test_a_load_killed_half_way_leaves_nothing_and_loads_once_after(
    big_book: Path, url: str, tmp_path: Path
) -> None:
    upgrade(url)
    before = _written(url)
    root = tmp_path / "data"
    proc = _ingest(big_book, url, root)
    _wait_writing(proc, url, before)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    _no_open_writer(url)

    # Nothing of the file: no case, no version, no quarantine entry, no files row.
    assert _counts(url) == {
        t: 0 for t in ("files", "cases", "case_versions", "cases with their latest", "quarantined_rows")
    }
    # The original is kept byte for byte wherever it was stored.
    kept = [p for p in (root / "archive").rglob("*.xlsx")] if (root / "archive").exists() else []
    assert all(p.read_bytes() == big_book.read_bytes() for p in kept)

    # The re-run loads it whole, once; a third run changes nothing.
    again = _ingest(big_book, url, root)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, out[-2000:] + err[-2000:]
    after = _counts(url)
    assert after == {
        "files": 1,
        "cases": ROWS,
        "case_versions": ROWS,
        "cases with their latest": ROWS,
        "quarantined_rows": 0,
    }
    with engine(url).connect() as conn:
        row = conn.execute(select(files.c.status, files.c.rows_total, files.c.rows_loaded)).one()
        per_file = conn.execute(
            select(func.count())
            .select_from(case_versions)
            .where(case_versions.c.source_file == select(files.c.sha256).scalar_subquery())
        ).scalar_one()
    assert tuple(row) == ("loaded", ROWS, ROWS) and per_file == ROWS
    third = _ingest(big_book, url, root)
    third.communicate(timeout=600)
    assert third.returncode == 0 and _counts(url) == after


def _wait_writing(proc: subprocess.Popen, url: str, before: int) -> None:
    deadline = time.monotonic() + 600
    while _written(url) - before < GROWN_BYTES:
        assert proc.poll() is None, f"the load ended before the fault: {proc.communicate()}"
        assert time.monotonic() < deadline, "the load never started writing"
        time.sleep(0.02)


@pytest.mark.postgres
def test_a_connection_cut_mid_load_is_retried_and_loads_once(
    big_book: Path, postgres_url: str, tmp_path: Path
) -> None:
    """The server ends the load's session (pg_terminate_backend, as a failover or an
    administrator does): the load's own retry, or the task's next try, loads it once."""
    upgrade(postgres_url)
    proc = _ingest(big_book, postgres_url, tmp_path / "data")
    _wait_writing(proc, postgres_url, _written(postgres_url))
    with engine(postgres_url).connect() as conn:
        cut = conn.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
        ).scalar_one()
    assert cut == 1
    _, err = proc.communicate(timeout=600)
    # The load's own retry: the transaction died whole with its session.
    assert proc.returncode == 0, err[-2000:]
    assert "load interrupted (OperationalError: " in err and "trying again" in err, err[-2000:]
    assert _counts(postgres_url) == {
        "files": 1,
        "cases": ROWS,
        "case_versions": ROWS,
        "cases with their latest": ROWS,
        "quarantined_rows": 0,
    }


@pytest.mark.postgres
@pytest.mark.exclusive
def test_postgres_restarted_between_two_loads_of_one_process(postgres_url: str, tmp_path: Path) -> None:
    """A long-lived worker (one Ingestor, one connection pool) loads a day, PostgreSQL
    restarts, and the next day loads: the pool's stale connections are not used."""
    import datetime as dt

    from ducha.config import data_dirs, get_inspection
    from ducha.pipeline import Ingestor
    from ducha_sample import generate

    generate(tmp_path / "landing", INSPECTION, days=2, seed=5)
    days = sorted((tmp_path / "landing" / INSPECTION).iterdir())
    ingestor = Ingestor(data_dirs(tmp_path / "data"), postgres_url, run_label="restart")
    insp = get_inspection(INSPECTION)

    def load(day: Path) -> list[str]:
        return [
            ingestor.ingest_file(p, insp, day=dt.date.fromisoformat(day.name)).status
            for p in sorted(day.glob("*.xlsx"))
        ]

    assert set(load(days[0])) <= {"loaded", "partial"}
    _restart_postgres()
    assert set(load(days[1])) <= {"loaded", "partial"}
    with engine(postgres_url).connect() as conn:
        loaded = conn.execute(select(func.count()).select_from(files)).scalar_one()
    assert loaded == len(list(days[0].glob("*.xlsx"))) + len(list(days[1].glob("*.xlsx")))


def _restart_postgres() -> None:
    if os.geteuid() != 0 or shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        unavailable("restarting PostgreSQL needs root and its local cluster (pg_ctlcluster)")
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 60
    while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
        assert time.monotonic() < deadline, "PostgreSQL did not come back"
        time.sleep(0.5)

"""Shared fixtures: a throw-away PostgreSQL database and a temporary Airflow home."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Nothing a test does may touch a developer's own Airflow home (~/airflow) or data.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="ducha-test-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# A signing key of the length PyJWT asks of HS512 (Airflow's generated one is shorter and
# warns on every token the pages' tests issue).
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))

PG_ADMIN_URL = os.environ.get("DUCHA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _services_required() -> bool:
    # CI must not pass by skipping: there a missing service is a failure.
    return bool(os.environ.get("CI")) or bool(os.environ.get("DUCHA_REQUIRE_SERVICES"))


def unavailable(reason: str) -> None:
    """Skip, saying why, on a user's machine; fail in CI, where a skip would hide the test."""
    if _services_required():
        pytest.fail(reason + " (required in CI)")
    pytest.skip(reason)


class PgDatabases:
    """Creates throw-away PostgreSQL databases and drops them all at the end."""

    def __init__(self) -> None:
        from sqlalchemy import create_engine

        # pre_ping: a test may restart the server under it (tests/reliability)
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        self.names: list[str] = []

    def check(self) -> None:
        from sqlalchemy import text

        try:
            with self.admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            self.admin.dispose()
            unavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL.split('@')[-1]}: {type(exc).__name__}")

    def create(self, template_url: str | None = None) -> str:
        """A new empty database, or a copy of ``template_url``'s database."""
        from sqlalchemy import text

        name = f"ducha_test_{uuid.uuid4().hex[:12]}"
        clause = ""
        if template_url:
            from ducha.warehouse.db import engine

            engine(template_url).dispose()  # a template must have no open connections
            clause = f' TEMPLATE "{template_url.rsplit("/", 1)[1]}"'
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.names.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        from sqlalchemy import text

        from ducha.warehouse.db import engine

        for name in self.names:
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
            engine(url).dispose()
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    dbs = PgDatabases()
    dbs.check()
    try:
        yield dbs.create()
    finally:
        dbs.drop_all()


@pytest.fixture(scope="module")
def pg_databases() -> Iterator[PgDatabases]:
    """Databases that live as long as a test module (for module-scoped warehouses)."""
    dbs = PgDatabases()
    dbs.check()
    try:
        yield dbs
    finally:
        dbs.drop_all()


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for a real Airflow in a temporary home, with its metadata DB migrated."""
    return airflow_home(tmp_path_factory.mktemp("airflow_home"), tmp_path_factory.mktemp("ducha_data"))


def airflow_home(home: Path, data: Path, **settings: str) -> dict[str, str]:
    """The environment of an Airflow in ``home`` (migrated here) running the project's
    DAGs on the data folder ``data``; ``settings`` are more variables."""
    from scripts.services import migrated_home

    return migrated_home(home, data, BIN, **settings)


def published_sample(root: Path, inspection: str, days: int, seed: int = 7) -> Path:
    """A data root holding ``days`` sample days of ``inspection`` ingested and published
    (drafts in outbox/), through the library code the DAGs call."""
    import datetime as dt

    from ducha.config import data_dirs
    from ducha.disclosure.publish import reconcile
    from ducha.pipeline import Ingestor
    from ducha_sample import generate

    generate(root / "landing", inspection, days=days, seed=seed, progress=False)
    ingestor = Ingestor(data_dirs(root), f"sqlite:///{root / 'warehouse.sqlite'}")
    for folder in sorted((root / "landing" / inspection).iterdir()):
        ingestor.ingest_day(dt.date.fromisoformat(folder.name))
    reconcile(ingestor.engine, ingestor.dirs.outbox)
    ingestor.engine.dispose()
    return root


def run_dag(env: dict[str, str], dag_id: str, day: str, conf: str | None = None) -> str:
    """``airflow dags test`` one run; fails the test unless the run succeeded."""
    cmd = [str(BIN / "airflow"), "dags", "test", dag_id, day]
    if conf:
        cmd += ["-c", conf]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "state=success" in out, out[-5000:]
    return out

"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL,
and two processes upgrading at once do not trip over each other."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from ducha.warehouse.db import _alembic_config, current_revision, engine, upgrade
from ducha.warehouse.schema import metadata

HEAD = "0002"
VIEWS = {"v_case_latest", "v_ledger_assigned", "v_ledger_in_progress", "v_ledger_closed"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.sqlite'}"
    return request.getfixturevalue("postgres_url")


def test_upgrade_builds_the_declared_schema(url: str) -> None:
    eng = upgrade(url)
    assert current_revision(url) == HEAD
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"schema.py and the migrations disagree: {diff}"
    assert set(inspect(eng).get_view_names()) >= VIEWS


def test_upgrade_is_idempotent_and_downgrade_round_trips(url: str) -> None:
    eng = upgrade(url)
    upgrade(url)
    with eng.connect() as conn:
        command.downgrade(_alembic_config(conn), "base")
        conn.commit()
    assert not set(inspect(engine(url)).get_table_names()) - {"alembic_version"}
    upgrade(url)
    assert {"cases", "case_versions"} <= set(inspect(engine(url)).get_table_names())


def test_concurrent_upgrades(url: str) -> None:
    code = "import sys; from ducha.warehouse.db import upgrade; upgrade(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert current_revision(url) == HEAD

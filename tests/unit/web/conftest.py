"""The pages' app in process, behind Airflow's real authentication: a migrated metadata
database in the test session's Airflow home, tokens issued by the SimpleAuthManager the
api-server uses, and a small published inspection (three days; batch 3 with a row in
quarantine) as the data root."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import BIN, published_sample

INSPECTION = "c3-hn-2024"
DAYS = [dt.date(2024, 6, d) for d in (1, 2, 3)]
PUBLISH_RUN = "manual__2024-06-03T08:00:00+00:00"
ACCESS = """
users:
  officer: {regions: "*", publisher: true}
  reader: {regions: "*"}
  changsha: {regions: [长沙市]}
  tianxin: {regions: [长沙市天心区]}
roles:
  admin: {regions: "*", publisher: true}
"""


@pytest.fixture(scope="session")
def airflow_metadata() -> None:
    """The in-process Airflow's metadata database (tokens are checked against it)."""
    done = subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with three days ingested and published (drafts in outbox/)."""
    root = published_sample(tmp_path_factory.mktemp("pages-data"), INSPECTION, len(DAYS))
    # Day 3 signed off: what officers who do not sign see.
    from ducha.disclosure.release import APPROVE, Signoff, draft_sha, record

    day = DAYS[-1].isoformat()
    draft = draft_sha(root / "outbox", INSPECTION, day) or ""
    record(
        root / "released",
        root / "outbox",
        Signoff(INSPECTION, day, draft, APPROVE, "officer", "t", "同意", "r", publish_run=PUBLISH_RUN),
    )
    return root


@pytest.fixture
def pages(
    airflow_metadata: None, published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., object]]:
    """``pages(user, role="viewer")``: a client of the app, logged in as ``user``
    (None: anonymous), on the published data root and the test access mapping."""
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from ducha.web.app import PREFIX, create_app

    access = tmp_path / "access.yaml"
    access.write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv("DUCHA_ACCESS_FILE", str(access))
    monkeypatch.setenv("DUCHA_DATA_DIR", str(published))
    manager = init_auth_manager()
    root = FastAPI()
    root.mount(PREFIX, create_app())
    clients = []

    def client(user: str | None, role: str = "viewer") -> TestClient:
        c = TestClient(root, base_url="http://pages.test")
        if user:
            c.cookies.set("_token", manager.generate_jwt(SimpleAuthManagerUser(username=user, role=role)))
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.close()

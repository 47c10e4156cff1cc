"""Notices through real Airflow (`airflow dags test`) to a real SMTP server: the ledgers
DAG writes the day's ledgers and e-mails the deadline notice, and a task that fails
(its retries spent) e-mails the failure notice from its on_failure_callback."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ducha.config import data_dirs
from ducha.pipeline import Ingestor
from ducha_sample import generate
from tests.conftest import BIN, airflow_home, run_dag
from tests.smtp import Inbox, body, smtp_server

pytestmark = pytest.mark.airflow

INSPECTION = "c3-hn-2024"


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, inbox: tuple[Inbox, str]) -> dict[str, str]:
    """An Airflow home whose data folder holds four loaded days, the SMTP connection in
    the environment (as a deployment's secrets would give it), and no retries."""
    data = tmp_path_factory.mktemp("alerts_data")
    generate(data / "landing", INSPECTION, days=4, seed=3, progress=False)
    ingestor = Ingestor(data_dirs(data), f"sqlite:///{data / 'warehouse.sqlite'}")
    for day in range(1, 5):
        ingestor.ingest_day(dt.date(2024, 6, day))
    ingestor.engine.dispose()
    return airflow_home(
        tmp_path_factory.mktemp("alerts_home"),
        data,
        AIRFLOW_CONN_DUCHA_SMTP=inbox[1],
        DUCHA_NOTIFY_TO="office@example.org",
        DUCHA_TASK_RETRIES="0",
    )


def test_the_ledgers_dag_writes_the_ledgers_and_e_mails_the_deadlines(
    env: dict[str, str], inbox: tuple[Inbox, str]
) -> None:
    mails = inbox[0]
    before = len(mails.messages)
    run_dag(env, "ducha_ledgers", "2024-06-14")  # 08:00 in Beijing on 06-14
    folder = Path(env["DUCHA_DATA_DIR"]) / "ledgers" / INSPECTION / "2024-06-14"
    assert sorted(p.name for p in folder.iterdir()) == [
        "交办台账（截至2024-06-14）.xlsx",
        "办理台账（截至2024-06-14）.xlsx",
        "办结台账（截至2024-06-14）.xlsx",
    ]
    (subject,) = mails.subjects()[before:]
    assert subject.startswith("[Ducha] 2024-06-14 办理时限：") and "件超期" in subject
    assert f"{INSPECTION}：交办" in body(mails.messages[-1])


def test_a_failed_task_e_mails_its_failure(env: dict[str, str], inbox: tuple[Inbox, str]) -> None:
    mails = inbox[0]
    before = len(mails.messages)
    broken = {**env, "DUCHA_WAREHOUSE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nowhere"}
    done = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "ducha_ledgers", "2024-06-14"],
        env=broken,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "state=failed" in done.stdout + done.stderr, (done.stdout + done.stderr)[-3000:]
    (subject,) = mails.subjects()[before:]
    assert subject.startswith("[Ducha] task failed: ducha_ledgers.ledgers")
    text = body(mails.messages[-1])
    assert "OperationalError" in text and "try 1" in text

"""The Deadline Alert through a real scheduler and triggerer: a landing day whose tables
are not in the outbox by ``alerts.tables_by`` gets the "tables late" notice, e-mailed to
a real SMTP server by the callback the triggerer runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ducha_sample import generate
from scripts.services import SERVICES, Services, free_port, service_settings
from tests.conftest import BIN, airflow_home
from tests.smtp import Inbox, body, smtp_server

pytestmark = pytest.mark.airflow

INSPECTION = "c3-hn-2024"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, Inbox]]:
    """Scheduler, dag-processor, api-server and triggerer; one landing day's files that
    nothing ingests (ducha_ingest stays paused)."""
    home, data = tmp_path_factory.mktemp("deadline_home"), tmp_path_factory.mktemp("deadline_data")
    generate(data / "landing", INSPECTION, days=1, seed=9, progress=False)
    with smtp_server() as (inbox, connection):
        env = airflow_home(
            home,
            data,
            **service_settings(free_port()),
            AIRFLOW_CONN_DUCHA_SMTP=connection,
            DUCHA_NOTIFY_TO="office@example.org",
        )
        services = (*SERVICES, ("triggerer",))
        with Services(env, home / "service-logs", BIN / "airflow", services) as started:
            started.wait_parsed(("ducha_tables_due",))
            started.airflow("dags", "unpause", "ducha_tables_due")
            yield started, inbox


def test_tables_missing_at_the_hour_send_the_late_notice(running: tuple[Services, Inbox]) -> None:
    services, inbox = running
    # The run of landing day 06-01 (22:00 in Beijing): its deadline, 23:30 that day, is long past.
    services.airflow("dags", "trigger", "ducha_tables_due", "--logical-date", "2024-06-01T14:00:00+00:00")
    deadline = time.monotonic() + 300
    while not inbox.messages:
        services._check_alive()
        assert time.monotonic() < deadline, f"no notice; see {services.logs}"
        time.sleep(3)
    (subject,) = inbox.subjects()
    assert subject == "[Ducha] tables late: 2024-06-01 not in the outbox by 23:30"
    assert f"the disclosure tables of {INSPECTION} are not in the outbox" in body(inbox.messages[0])
    assert not (Path(services.env["DUCHA_DATA_DIR"]) / "outbox" / INSPECTION / "2024-06-01").exists()

"""Same-day pickup through a real scheduler: a workbook dropped into today's landing
folder is ingested by ducha_pickup and its tables are in the outbox minutes later, with no
ingest run scheduled for it; a file still being written is left alone until it settles."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ducha.config import local_day
from ducha_sample import generate
from scripts.services import Services, free_port, service_settings
from tests.conftest import BIN, airflow_home

pytestmark = pytest.mark.airflow

INSPECTION = "c3-p2-2024"  # not configured: the generic profile, no inspection period


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, Path, Path]]:
    home, data = tmp_path_factory.mktemp("pickup_home"), tmp_path_factory.mktemp("pickup_data")
    sample = tmp_path_factory.mktemp("pickup_sample")
    generate(sample, INSPECTION, days=1, seed=4, progress=False)
    (workbook,) = (sample / INSPECTION / "2024-06-01").glob("*.xlsx")
    (data / "landing").mkdir()
    env = airflow_home(home, data, **service_settings(free_port()), DUCHA_PICKUP_MINUTES="1")
    with Services(env, home / "service-logs", BIN / "airflow") as started:
        started.wait_parsed(("ducha_pickup", "ducha_publish"))
        for dag_id in ("ducha_publish", "ducha_pickup"):
            started.airflow("dags", "unpause", dag_id)
        yield started, data, workbook


def test_a_dropped_workbook_is_published_the_same_day(running: tuple[Services, Path, Path]) -> None:
    services, data, workbook = running
    today = local_day(dt.datetime.now(dt.UTC))
    folder = data / "landing" / INSPECTION / today.isoformat()
    folder.mkdir(parents=True)
    # Still being written: changed just now, so the pickup leaves it alone…
    partial = folder / "第二批（传输中）.xlsx"
    partial.write_bytes(workbook.read_bytes()[:2000])
    writing = time.time() + 3600  # still changing for as long as this test runs
    os.utime(partial, (writing, writing))
    # …while the complete one was renamed into place a few minutes after it was written.
    shutil.copy(workbook, folder / workbook.name)
    settled = time.time() - 300
    os.utime(folder / workbook.name, (settled, settled))
    dropped = time.monotonic()
    manifest = data / "outbox" / INSPECTION / today.isoformat() / "manifest.json"
    while not manifest.exists():
        services._check_alive()
        assert time.monotonic() - dropped < 420, f"not published; see {services.logs}"
        time.sleep(2)
    print(f"landing -> manifest: {time.monotonic() - dropped:.0f} s (pickup every minute)")
    pickups = [r for r in services.runs() if r["dag_id"] == "ducha_pickup" and r["state"] == "success"]
    assert pickups
    assert not any(r["dag_id"] == "ducha_ingest" for r in services.runs())
    # The partial file was never taken in: it has no report in archive or quarantine.
    taken = [p.name for p in (data / "archive").rglob("*") if p.is_file()]
    taken += (
        [p.name for p in (data / "quarantine").rglob("*") if p.is_file()]
        if (data / "quarantine").exists()
        else []
    )
    assert any(workbook.name in name for name in taken)
    assert not any("传输中" in name for name in taken)

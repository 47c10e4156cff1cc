"""ducha.watch: a landing day's tables are missing while its files wait in landing or its
loaded files are not published, and the late notice goes out only while they are."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

import pytest

from ducha.config import data_dirs, project_settings
from ducha.disclosure.publish import reconcile
from ducha.orchestration import tables_deadline
from ducha.pipeline import Ingestor
from ducha.watch import check_tables, tables_late, tables_missing
from ducha_sample import generate

HN = "c3-hn-2024"
DAY = dt.date(2024, 6, 1)


def test_the_deadline_is_the_configured_hour_after_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    alerts = project_settings().alerts
    assert tables_deadline() == dt.timedelta(hours=1, minutes=30)  # 22:00 -> 23:30, as shipped
    monkeypatch.setattr(alerts, "tables_by", "08:00")  # the next morning
    assert tables_deadline() == dt.timedelta(hours=10)
    monkeypatch.setattr(alerts, "tables_by", "22:00")
    assert tables_deadline() == dt.timedelta(days=1)


def test_tables_are_missing_until_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_DUCHA_SMTP", raising=False)
    monkeypatch.setenv("DUCHA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DUCHA_WAREHOUSE_URL", raising=False)
    generate(tmp_path / "landing", HN, days=2, seed=3, progress=False)
    dirs = data_dirs(tmp_path)
    ingestor = Ingestor(dirs, f"sqlite:///{dirs.warehouse_file}")
    assert tables_missing(ingestor.engine, dirs, DAY) == [HN]  # files wait in landing
    with caplog.at_level(logging.WARNING, logger="ducha.notify"):
        assert check_tables(DAY, "23:30", dirs) == "log"
    assert any(f"tables late: {DAY} not in the outbox by 23:30" in r.getMessage() for r in caplog.records)
    ingestor.ingest_day(DAY)
    assert tables_missing(ingestor.engine, dirs, DAY) == [HN]  # loaded, not published
    reconcile(ingestor.engine, dirs.outbox)
    assert tables_missing(ingestor.engine, dirs, DAY) == []
    assert tables_missing(ingestor.engine, dirs, DAY + dt.timedelta(days=1)) == [HN]  # the next day waits
    # The Deadline Alert's callback, as the triggerer calls it: no notice once published.
    context = {"dag_run": {"logical_date": "2024-06-01T14:00:00Z"}}
    assert asyncio.run(tables_late(tables_by="23:30", context=context)) == "published"

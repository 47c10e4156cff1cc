"""Are a landing day's tables in the outbox by the hour they are due?

``tables_missing`` answers it from the data alone: an inspection's tables for a day are
missing while a file of its landing folder for that day is not yet taken in, or while the
day is stale (``stale_days``: loaded files not yet published). The ``ducha_tables_due`` DAG waits
on it; its Deadline Alert calls ``tables_late`` in the triggerer when the wait outlasts
``alerts.tables_by`` (ducha.yaml), and that sends the notice only if tables are still
missing then."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from ducha.config import DataDirs, data_dirs, local_day, warehouse_url
from ducha.notify import notify

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)


def tables_missing(engine: Engine, dirs: DataDirs, day: dt.date) -> list[str]:
    """The inspections whose tables for landing day ``day`` are not in the outbox: a file
    in its landing folder that the warehouse has not taken in yet (landing keeps the
    originals; a taken file has a row in ``files``, loaded or quarantined), or loaded files
    of that day not yet published."""
    # Imported here: the DAG processor imports this module to check the alert's callback.
    from ducha.disclosure.publish import stale_days
    from ducha.pipeline import untaken

    waiting = {insp for insp, _, _ in untaken(engine, dirs, day)}
    stale = {insp for insp, stale_day in stale_days(engine, dirs.outbox) if stale_day == day}
    return sorted(waiting | stale)


def late_notice(day: dt.date, missing: list[str], tables_by: str) -> tuple[str, str]:
    subject = f"[Ducha] tables late: {day.isoformat()} not in the outbox by {tables_by}"
    body = (
        f"Landing day {day.isoformat()}: the disclosure tables of {', '.join(missing)} are not in the "
        f"outbox by {tables_by} (Asia/Shanghai).\n"
        "Check the ducha_ingest run of that day and the latest ducha_publish run, and `ducha status`\n"
        "(files waiting, days loaded but not published). Runbook: docs/runbook.md.\n"
    )
    return subject, body


def check_tables(day: dt.date, tables_by: str, dirs: DataDirs | None = None, url: str | None = None) -> str:
    """Send the late-tables notice if tables for ``day`` are still missing; returns
    "published" when none is, else where the notice went."""
    dirs = dirs or data_dirs()
    from ducha.warehouse.db import upgrade

    engine = upgrade(warehouse_url(url, dirs))
    try:
        missing = tables_missing(engine, dirs, day)
    finally:
        engine.dispose()
    if not missing:
        log.info("tables of %s are in the outbox: no notice", day)
        return "published"
    return notify(*late_notice(day, missing, tables_by))


async def tables_late(*, tables_by: str, context: dict | None = None) -> str:
    """The Deadline Alert's callback (in the triggerer): the run of a landing day did not
    finish by ``tables_by``. The day is the run's logical date in the project's timezone."""
    run = (context or {}).get("dag_run") or {}
    moment = dt.datetime.fromisoformat(str(run["logical_date"]).replace("Z", "+00:00"))
    return await asyncio.to_thread(check_tables, local_day(moment), tables_by)

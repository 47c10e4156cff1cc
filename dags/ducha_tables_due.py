"""Watch that each landing day's tables reach the outbox by the hour they are due."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import AsyncCallback, CronTriggerTimetable, DeadlineAlert, DeadlineReference, dag, task

from ducha.config import project_settings
from ducha.orchestration import default_args, tables_deadline

TABLES_BY = project_settings().alerts.tables_by

DOC = f"""
### Tables due

One run per landing day, at the same moment as `ducha_ingest` (22:00 Asia/Shanghai). Its
task waits (rescheduling every two minutes, holding no worker slot; at most until the
next day's run) until the day's tables
are in the outbox: no file in `landing/<inspection>/<day>/` not yet taken in, and no loaded
day without its tables. It does not block ingesting or publishing.

**Deadline Alert**: when the run is not done by **{TABLES_BY}** (`alerts.tables_by` in
`ducha.yaml`), the triggerer calls `ducha.watch.tables_late`, which checks the outbox once
more and, if tables are still missing, sends the "tables late" notice (e-mail through
`ducha_smtp`, else the log). docs/runbook.md says what to do.
"""


@dag(
    dag_id="ducha_tables_due",
    schedule=CronTriggerTimetable("0 22 * * *", timezone="Asia/Shanghai"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["ducha", "alerts"],
    doc_md=DOC,
    default_args=default_args(),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=tables_deadline(),
        callback=AsyncCallback("ducha.watch.tables_late", kwargs={"tables_by": TABLES_BY}),
    ),
)
def ducha_tables_due():
    @task.sensor(poke_interval=120, timeout=timedelta(hours=23).total_seconds(), mode="reschedule")
    def tables_out(**context) -> bool:
        from ducha.config import data_dirs, warehouse_url
        from ducha.orchestration import run_landing_day
        from ducha.warehouse.db import upgrade
        from ducha.watch import tables_missing

        dirs = data_dirs()
        day = run_landing_day(None, context.get("logical_date"), context["dag_run"].run_after)
        missing = tables_missing(upgrade(warehouse_url(dirs=dirs)), dirs, day)
        if missing:
            print(f"tables of {day} not yet in the outbox: {', '.join(missing)}")
        return not missing

    tables_out()


ducha_tables_due()

"""Pick up workbooks as they land: ingest them the same day, without waiting for the night."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import CronTriggerTimetable, dag, task

from ducha.ingest_tasks import hand_over, ingest_planned
from ducha.orchestration import default_args, pickup_minutes

EVERY = pickup_minutes()

DOC = f"""
### Same-day pickup

Every {EVERY} minutes (`pickup.every_minutes` in `ducha.yaml`) it looks for landed files
the warehouse has not taken in yet, for today's landing day (Asia/Shanghai) and earlier
days. With none, the run stops at once (the rest is skipped). With some, they are
ingested exactly as `ducha_ingest` does (one mapped `ingest_file` task per file, same
validation, quarantine and reports, same order), and
the `ducha_warehouse` asset wakes `ducha_publish`: the day's tables follow within minutes.

A file changed in the last `pickup.settle_seconds` may still be being written: it waits for
the next look. Senders should copy under a hidden name (`.第八批.xlsx`) and rename it when
complete; hidden and `~$` files are never read. The nightly `ducha_ingest` run still runs
and finds these files taken in (same sha256): nothing is loaded twice.
"""


@dag(
    dag_id="ducha_pickup",
    schedule=CronTriggerTimetable(f"*/{EVERY} * * * *", timezone="Asia/Shanghai"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["ducha", "ingest"],
    doc_md=DOC,
    default_args=default_args(),
)
def ducha_pickup():
    @task.short_circuit(ignore_downstream_trigger_rules=True)
    def waiting(**context) -> list:
        """Settled files not yet taken in, for today and earlier days; none: stop here."""
        import time

        from ducha.config import data_dirs, warehouse_url
        from ducha.orchestration import run_landing_day
        from ducha.pipeline import plan_day, settled_before
        from ducha.warehouse.db import upgrade

        dirs = data_dirs()
        day = run_landing_day(None, context.get("logical_date"), context["dag_run"].run_after)
        engine = upgrade(warehouse_url(dirs=dirs))
        day_plan = plan_day(engine, dirs, day, settled_before=settled_before(time.time()))
        if not day_plan.deliveries:
            return []  # falsy: the rest of the run is skipped, nothing wakes ducha_publish
        print(f"{len(day_plan.deliveries)} file(s) waiting: {[p.name for p, _, _ in day_plan.deliveries]}")
        return hand_over(context, day_plan.to_xcom(dirs, run_label=f"pickup-{day.isoformat()}"))

    ingest_planned(waiting())


ducha_pickup()

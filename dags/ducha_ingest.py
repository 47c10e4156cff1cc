"""Ingest one landing day of inspection workbooks into the warehouse."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from ducha.ingest_tasks import hand_over, ingest_planned
from ducha.orchestration import default_args
from ducha.paths import DAY_PATTERN, INSPECTION_ID_PATTERN

DOC = """
### Ingest a landing day

One run = one landing day: every file under `landing/<inspection>/<YYYY-MM-DD>/` is read,
validated with the Great Expectations suite built from the contract and the inspection's
configuration, and loaded into the warehouse, one transaction per file.

* `plan` lists the day's files (and late files of earlier days' folders) in load order.
* `ingest_file` is **mapped, one task per file**, named `<inspection>/<day>/<file>` in the
  UI: its log, retries and outcome are that file's alone. Files of *different*
  inspections load side by side (as many as the `ducha_warehouse_writers` pool has
  slots: 1 on SQLite). A file waits (*up for reschedule*, its pool slot given back)
  until the earlier files of its own inspection have loaded, because each file is
  compared with the ones before it: the same files always give the same case versions,
  retries included. If an earlier file failed, the later ones fail at once saying which:
  clear the failed task and then theirs, or let the next run take them in order.
* `summary` logs the run's one line and emits the asset; `any_file_failed` marks the run
  failed if a file's task failed.

Bad rows and bad files go to quarantine with a report for the clerk (`*.report.json` / `*.report.html`);
good rows load. The original file is always kept byte for byte in `archive/` or
`quarantine/`.

* **Day**: the `day` param, else the logical date in Asia/Shanghai (not UTC).
* **Idempotent**: a file already loaded (same sha256) is skipped, so re-running a day or
  backfilling an inspection gives the same warehouse:
  `airflow backfill create --dag-id ducha_ingest --from-date 2024-06-01 --to-date 2024-06-30`.
* **Emits** the `ducha_warehouse` asset, which triggers `ducha_publish`.
"""


@dag(
    dag_id="ducha_ingest",
    schedule=CronTriggerTimetable("0 22 * * *", timezone="Asia/Shanghai"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,  # days load in order, so case versions follow the calendar
    tags=["ducha", "ingest"],
    doc_md=DOC,
    default_args=default_args(),
    params={
        "day": Param(
            None,
            type=["null", "string"],
            format="date",
            pattern=DAY_PATTERN,
            description="Landing day (YYYY-MM-DD)",
        ),
        "inspection": Param(
            None,
            type=["null", "string"],
            pattern=INSPECTION_ID_PATTERN,
            description="Only this inspection's folder",
        ),
    },
)
def ducha_ingest():
    @task
    def plan(**context) -> list:
        """The day's files in load order; only paths and ids go through XCom."""
        from ducha.config import data_dirs, warehouse_url
        from ducha.orchestration import run_landing_day
        from ducha.pipeline import plan_day
        from ducha.warehouse.db import upgrade

        params = context["params"]
        day = run_landing_day(params.get("day"), context.get("logical_date"), context["dag_run"].run_after)
        dirs = data_dirs()
        day_plan = plan_day(upgrade(warehouse_url(dirs=dirs)), dirs, day, params.get("inspection"))
        return hand_over(context, day_plan.to_xcom(dirs, run_label=day.isoformat()))

    ingest_planned(plan())


ducha_ingest()

"""Write the day's working ledgers and send the deadline notice."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from ducha.orchestration import default_args
from ducha.paths import DAY_PATTERN, INSPECTION_ID_PATTERN

DOC = """
### Ledgers and deadlines

Every morning (08:00 Asia/Shanghai), for every inspection in the warehouse, the three
working ledgers as of that day go to `ledgers/<inspection>/<day>/` (xlsx; internal, never
published):

* **交办台账**: every case, with its deadline (办理时限) and how it stands;
* **办理台账**: the cases not yet closed, overdue ones first (超期N天 / 今日到期 / 剩余N天);
* **办结台账**: the closed cases, each 按期办结 or 超期办结.

A case is due `deadline_days` after its batch's transfer date: the inspection's, or its
city's own where the inspection's YAML gives the city one. When a case is overdue or due
within a day, a notice lists them: e-mailed through the `ducha_smtp` connection to
`notifications.to` (ducha.yaml) or `DUCHA_NOTIFY_TO`, else written to this task's log.

* **Day**: the `day` param, else the run's day in Asia/Shanghai. The day decides what is
  overdue; the database clock does not.
* **Idempotent**: a re-run rewrites the same files (same bytes) and the same notice.
"""


@dag(
    dag_id="ducha_ledgers",
    schedule=CronTriggerTimetable("0 8 * * *", timezone="Asia/Shanghai"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["ducha", "ledgers"],
    doc_md=DOC,
    default_args=default_args(),
    params={
        "day": Param(
            None, type=["null", "string"], format="date", pattern=DAY_PATTERN, description="As of this day"
        ),
        "inspection": Param(
            None, type=["null", "string"], pattern=INSPECTION_ID_PATTERN, description="Only this inspection"
        ),
    },
)
def ducha_ledgers():
    @task
    def ledgers(**context) -> list:
        from ducha.config import data_dirs, warehouse_url
        from ducha.ledgers import ledgers_run
        from ducha.orchestration import run_landing_day
        from ducha.warehouse.db import upgrade

        dirs = data_dirs().ensure()
        params = context["params"]
        day = run_landing_day(params.get("day"), context.get("logical_date"), context["dag_run"].run_after)
        outcomes = ledgers_run(
            upgrade(warehouse_url(dirs=dirs)), dirs.ledgers, day, inspection_id=params.get("inspection")
        )
        return [
            {
                "inspection": o.inspection_id,
                "day": o.day,
                "folder": o.folder,
                "in_progress": o.in_progress,
                "overdue": len(o.overdue),
                "due_soon": len(o.due_soon),
            }
            for o in outcomes
        ]

    ledgers()


ducha_ledgers()

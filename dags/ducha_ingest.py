"""Ingest one landing day of inspection workbooks into the warehouse."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

from ducha.orchestration import WAREHOUSE_ASSET_NAME, WAREHOUSE_ASSET_URI, WRITERS_POOL, default_args
from ducha.paths import DAY_PATTERN, INSPECTION_ID_PATTERN

WAREHOUSE = Asset(name=WAREHOUSE_ASSET_NAME, uri=WAREHOUSE_ASSET_URI)

DOC = """
### Ingest a landing day

One run = one landing day: every file under `landing/<inspection>/<YYYY-MM-DD>/` is read,
validated with the Great Expectations suite built from the contract and the inspection's
configuration, and loaded into the warehouse, one transaction per file. The `ingest` task
is **mapped, one task per inspection** (named by its id in the UI): its log, retries and
outcome are that inspection's files alone. (Not one per file: the files of one inspection
and day load in order, each compared with the ones before it, so that the same files
always give the same case versions.) Bad rows and bad
files go to quarantine with a report for the clerk (`*.report.json` / `*.report.html`);
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
    def landing_day(**context) -> str:
        from ducha.orchestration import run_landing_day

        dag_run = context["dag_run"]
        day = run_landing_day(context["params"].get("day"), context.get("logical_date"), dag_run.run_after)
        return day.isoformat()

    @task
    def inspections(day: str, **context) -> list[str]:
        """Only ids go through XCom: the mapped tasks read their own files."""
        import datetime as dt

        from ducha.config import data_dirs, warehouse_url
        from ducha.pipeline import inspections_to_ingest
        from ducha.warehouse.db import upgrade

        dirs = data_dirs()
        engine = upgrade(warehouse_url(dirs=dirs))
        return inspections_to_ingest(
            engine, dirs, dt.date.fromisoformat(day), context["params"].get("inspection")
        )

    @task(outlets=[WAREHOUSE], pool=WRITERS_POOL, map_index_template="{{ inspection_id }}")
    def ingest(day: str, inspection_id: str) -> dict:
        import datetime as dt

        from airflow.sdk import get_current_context

        from ducha.config import data_dirs, warehouse_url
        from ducha.pipeline import Ingestor

        context = get_current_context()
        context["inspection_id"] = inspection_id  # names this mapped task in the UI
        dirs = data_dirs()
        ingestor = Ingestor(dirs, warehouse_url(dirs=dirs), run_label=f"{day}-{inspection_id}")
        outcome = ingestor.ingest_day(dt.date.fromisoformat(day), inspection_id)
        context["outlet_events"][WAREHOUSE].extra = {
            "day": day,
            "late_days": outcome.late_days,
            "inspections": outcome.inspections,
            **outcome.totals(),
        }
        return outcome.to_dict()

    day = landing_day()
    ingest.partial(day=day).expand(inspection_id=inspections(day))


ducha_ingest()

"""Publish the disclosure tables whenever the warehouse changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, Param, dag, task

from ducha.orchestration import WAREHOUSE_ASSET_NAME, WAREHOUSE_ASSET_URI
from ducha.paths import DAY_PATTERN, INSPECTION_ID_PATTERN

WAREHOUSE = Asset(name=WAREHOUSE_ASSET_NAME, uri=WAREHOUSE_ASSET_URI)

DOC = """
### Publish disclosure tables

Runs when `ducha_ingest` updates the `ducha_warehouse` asset. For every inspection in the
warehouse it writes, into `outbox/<inspection>/<as_of>/`:

* one table per batch reported that day (第N批公开情况一览表: xlsx, csv, html), in the
  inspection's configured layout, header exactly as published;
* the cumulative summary as of that day (statistics paragraph, by region, by pollution
  type, by 是否属实, penalties);
* `manifest.json` with each file's sha256 and row count.

The day comes from the `as_of` param, else from the triggering asset events, else the
latest data. The same warehouse state gives byte-identical tables.
"""


@dag(
    dag_id="ducha_publish",
    schedule=[WAREHOUSE],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["ducha", "publish"],
    doc_md=DOC,
    default_args={"owner": "ducha", "retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "as_of": Param(
            None,
            type=["null", "string"],
            format="date",
            pattern=DAY_PATTERN,
            description="Publish as of this day",
        ),
        "inspection": Param(
            None, type=["null", "string"], pattern=INSPECTION_ID_PATTERN, description="Only this inspection"
        ),
    },
)
def ducha_publish():
    @task
    def days_to_publish(**context) -> list:
        from ducha.orchestration import publish_days

        return publish_days(context["params"].get("as_of"), context.get("triggering_asset_events"))

    @task
    def publish(days: list, **context) -> list:
        import datetime as dt

        from ducha.config import data_dirs, warehouse_url
        from ducha.disclosure.publish import publish_all
        from ducha.warehouse.db import upgrade

        dirs = data_dirs().ensure()
        engine = upgrade(warehouse_url(dirs=dirs))
        out = []
        for day in days:
            for o in publish_all(
                engine,
                dirs.outbox,
                inspection_id=context["params"].get("inspection"),
                as_of=dt.date.fromisoformat(day) if day else None,
                run_id=context["run_id"],
            ):
                out.append(
                    {
                        "inspection": o.inspection_id,
                        "as_of": o.as_of,
                        "folder": o.folder,
                        "files": len(o.files),
                        "cases": o.cases,
                    }
                )
        return out

    publish(days_to_publish())


ducha_publish()

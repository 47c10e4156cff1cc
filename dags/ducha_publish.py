"""Publish the disclosure tables whenever the warehouse changes."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Asset, Param, dag, task

from ducha.orchestration import WAREHOUSE_ASSET_NAME, WAREHOUSE_ASSET_URI, default_args
from ducha.paths import DAY_PATTERN, INSPECTION_ID_PATTERN

WAREHOUSE = Asset(name=WAREHOUSE_ASSET_NAME, uri=WAREHOUSE_ASSET_URI)

DOC = """
### Publish disclosure tables

Runs when `ducha_ingest` updates the `ducha_warehouse` asset. It does not trust the event:
a scheduler folds many quick events into fewer runs (a backfill of ten days may wake it
twice), and a run can start before the data exists. Each run **reconciles** the outbox
with the warehouse: every (inspection, landing day) with loaded files whose tables are
missing, or were built from an older warehouse state (the manifest records the files they
were built from), is published, oldest first. A backfill of any range therefore ends
with the same outbox as day-by-day runs, byte for byte, and running again changes nothing.

Into `outbox/<inspection>/<as_of>/` go:

* one table per batch reported that day (第N批公开情况一览表: xlsx, csv, html), in the
  inspection's configured layout, header exactly as published, and one per city;
* the cumulative summary as of that day and the periodic charts;
* `manifest.json` with each file's sha256 and row count, and the warehouse state.

These are **drafts**: each day written asks for its sign-off (one `ducha_signoff` run
per draft, named by the draft's manifest hash, so an unchanged day asks nothing new).
Only a signed-off day is copied to `released/<inspection>/<day>/`.

With the `as_of` param, that day is published whether stale or not (for one inspection
with `inspection`).
"""


@dag(
    dag_id="ducha_publish",
    schedule=[WAREHOUSE],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["ducha", "publish"],
    doc_md=DOC,
    default_args=default_args(),
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
    def publish(**context) -> list:
        import datetime as dt

        from ducha.config import data_dirs, warehouse_url
        from ducha.disclosure.publish import publish_run
        from ducha.warehouse.db import upgrade

        dirs = data_dirs().ensure()
        params = context["params"]
        outcomes = publish_run(
            upgrade(warehouse_url(dirs=dirs)),
            dirs.outbox,
            inspection_id=params.get("inspection"),
            as_of=dt.date.fromisoformat(params["as_of"]) if params.get("as_of") else None,
        )
        return [
            {
                "inspection": o.inspection_id,
                "as_of": o.as_of,
                "folder": o.folder,
                "files": len(o.files),
                "cases": o.cases,
            }
            for o in outcomes
            if o.folder
        ]

    @task
    def sign_off_requests(published: list, **context) -> list:
        """One sign-off run per draft written (drafts unchanged since ask nothing)."""
        from ducha.config import data_dirs
        from ducha.disclosure.release import draft_sha, signoff_request

        outbox = data_dirs().outbox
        requests = []
        for day in published:
            draft = draft_sha(outbox, day["inspection"], day["as_of"])
            if draft:
                requests.append(signoff_request(day["inspection"], day["as_of"], draft, context["run_id"]))
        return requests

    TriggerDagRunOperator.partial(
        task_id="ask_sign_off",
        trigger_dag_id="ducha_signoff",
        skip_when_already_exists=True,
    ).expand_kwargs(sign_off_requests(publish()))


ducha_publish()

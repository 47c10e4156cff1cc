"""The Airflow tasks ``ducha_ingest`` and ``ducha_pickup`` share: one mapped task per
landed file, then one summary that wakes ``ducha_publish``. The logic is in
:mod:`ducha.pipeline`; only the wiring is here."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from airflow.sdk import Asset, PokeReturnValue, TriggerRule, task

from ducha.orchestration import WAREHOUSE_ASSET_NAME, WAREHOUSE_ASSET_URI, WRITERS_POOL

WAREHOUSE = Asset(name=WAREHOUSE_ASSET_NAME, uri=WAREHOUSE_ASSET_URI)
# A file waiting for an earlier file of its inspection gives its pool slot back between looks.
WAIT_SECONDS = 5
WAIT_LIMIT_SECONDS = 6 * 3600


@task.sensor(
    pool=WRITERS_POOL,
    mode="reschedule",
    poke_interval=WAIT_SECONDS,
    timeout=WAIT_LIMIT_SECONDS,
    map_index_template="{{ file_label }}",
)
def ingest_file(delivery: dict[str, Any]) -> PokeReturnValue:
    """Read, validate, report, store and load one landed file, once the files before it of
    the same inspection have loaded."""
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    from ducha.config import data_dirs, warehouse_url
    from ducha.orchestration import load_turn, mapped_states
    from ducha.pipeline import Ingestor, delivery_from_xcom

    context = get_current_context()
    context["file_label"] = delivery["label"]  # names this mapped task in the UI
    ti = context["ti"]
    if delivery["after"]:
        found = ti.get_task_states(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id])
        ready, failed = load_turn(delivery["after"], mapped_states(found.get(ti.run_id, {}), ti.task_id))
        if failed:
            raise AirflowFailException(
                f"{delivery['label']} loads after map index {failed} of the same inspection, "
                "which failed: clear that task, then this one (or the next run takes both in order)"
            )
        if not ready:
            print(
                f"{delivery['label']}: waiting for the earlier files of its inspection ({delivery['after']})"
            )
            return PokeReturnValue(is_done=False)
    dirs = data_dirs()
    ingestor = Ingestor(dirs, warehouse_url(dirs=dirs), run_label=delivery["run_label"])
    outcome = ingestor.ingest_files([delivery_from_xcom(dirs, delivery)])[0]
    return PokeReturnValue(is_done=True, xcom_value={"label": delivery["label"], "outcome": asdict(outcome)})


@task(trigger_rule=TriggerRule.ALL_DONE, outlets=[WAREHOUSE])
def summary(plan: dict[str, Any], loaded: list[dict[str, Any]] | None, **context) -> dict[str, Any]:
    """The run's one line; wakes ``ducha_publish`` unless nothing was ingested at all."""
    from airflow.sdk.exceptions import AirflowSkipException

    from ducha.config import data_dirs
    from ducha.pipeline import DayPlan, FileOutcome, summary_line

    day_plan = DayPlan.from_xcom(data_dirs(), {**plan, "deliveries": []})  # the files are done with
    done = {item["label"]: FileOutcome(**item["outcome"]) for item in loaded or []}
    failed = [d["label"] for d in plan["deliveries"] if d["label"] not in done]
    outcome = day_plan.outcome(list(done.values()))
    print(summary_line(outcome, failed=failed))
    if not done and not day_plan.refused:
        raise AirflowSkipException("no file to ingest: ducha_publish is not woken")
    context["outlet_events"][WAREHOUSE].extra = {
        "day": outcome.day,
        "late_days": outcome.late_days,
        "inspections": outcome.inspections,
        **outcome.totals(),
    }
    return outcome.to_dict()


@task(trigger_rule=TriggerRule.ONE_FAILED)
def any_file_failed() -> None:
    """Fails the run when a file's task failed (the summary, which runs regardless, would
    otherwise leave the run green)."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException("a file's task failed: see the failed ingest_file task's log")


PLAN_KEY = "day_plan"


def hand_over(context: Any, day_plan: dict[str, Any]) -> list[dict[str, Any]]:
    """What a planning task returns: the deliveries to map over (Airflow maps only over a
    return value); the whole plan goes to the summary under its own XCom key."""
    context["ti"].xcom_push(key=PLAN_KEY, value=day_plan)
    return day_plan["deliveries"]


def ingest_planned(plan: Any) -> None:
    """Wire the per-file tasks after a planning task that returns :func:`hand_over`."""
    loaded = ingest_file.expand(delivery=plan)
    summary(plan[PLAN_KEY], loaded)
    loaded >> any_file_failed()

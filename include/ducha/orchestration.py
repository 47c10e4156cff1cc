"""What a DAG run works on, derived from its context: pure functions, no Airflow import."""

from __future__ import annotations

import datetime as dt
import os

from ducha.config import local_day, project_settings

WAREHOUSE_ASSET_NAME = "ducha_warehouse"
WAREHOUSE_ASSET_URI = "ducha://warehouse"
# The Airflow pool every task that writes the warehouse runs in: one slot on the embedded
# SQLite (one writer at a time), more on PostgreSQL. Created with the Airflow home
# (`airflow pools set`: Makefile, scripts/services.py, docker-compose init).
WRITERS_POOL = "ducha_warehouse_writers"
WRITERS_POOL_DESCRIPTION = "Ducha tasks that write the warehouse"
# Airflow's embedded SQLite metadata (demo, tests): a command waits for the scheduler's
# write lock instead of failing after pysqlite's 5 s. AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS.
SQLITE_METADATA_CONNECT_ARGS = {"timeout": 60}


def run_landing_day(
    param_day: str | None, logical_date: dt.datetime | None, run_after: dt.datetime | None
) -> dt.date:
    """The landing day a run ingests.

    An explicit ``day`` param wins; else the logical date, else (manual and
    asset-triggered runs have none) the moment the run was due, each taken as a
    calendar day in the project's timezone, not UTC.
    """
    if param_day:
        return dt.date.fromisoformat(str(param_day))
    moment = logical_date or run_after
    if moment is None:
        raise ValueError("a run needs a 'day' param, a logical date or a run_after time")
    return local_day(moment)


def default_args() -> dict[str, object]:
    """Every Ducha task's defaults (ducha.yaml ``tasks``): owner, retries, and the
    failure notice once the retries are spent."""
    from ducha.notify import task_failed

    settings = project_settings().tasks
    retries = os.environ.get("DUCHA_TASK_RETRIES", "").strip() or settings.retries
    return {
        "owner": "ducha",
        "retries": int(retries),
        "retry_delay": dt.timedelta(minutes=settings.retry_delay_minutes),
        "on_failure_callback": task_failed,
    }


def tables_deadline(schedule_hour: int = 22) -> dt.timedelta:
    """From a landing day's run (``schedule_hour``, local) to ``alerts.tables_by``: the
    interval of the Deadline Alert. An hour not after the run's is the next morning's."""
    hours, minutes = (int(x) for x in project_settings().alerts.tables_by.split(":"))
    delta = dt.timedelta(hours=hours, minutes=minutes) - dt.timedelta(hours=schedule_hour)
    return delta if delta > dt.timedelta(0) else delta + dt.timedelta(days=1)


def signoff_wait_days() -> int:
    """How long a draft waits for its sign-off before it counts as rejected (ducha.yaml
    ``signoff.wait_days``)."""
    return project_settings().signoff.wait_days


def pickup_minutes() -> int:
    """How often ducha_pickup looks into landing (ducha.yaml ``pickup.every_minutes``)."""
    value = os.environ.get("DUCHA_PICKUP_MINUTES", "").strip() or project_settings().pickup.every_minutes
    minutes = int(value)
    if not 1 <= minutes <= 59:
        raise ValueError(f"pickup every {minutes} minutes: must be 1 to 59")
    return minutes


# A mapped task's state as Airflow reports it: finished and loaded, or finished and not.
_LOADED_STATES = {"success", "skipped"}
_FAILED_STATES = {"failed", "upstream_failed", "removed"}


def mapped_states(task_states: dict[str, str | None], task_id: str) -> dict[int, str | None]:
    """Map index → state, from Airflow's ``get_task_states`` form ``{"<task_id>_<n>": state}``."""
    out = {}
    for key, state in task_states.items():
        head, _, index = key.rpartition("_")
        if head == task_id and index.isdigit():
            out[int(index)] = state
    return out


def load_turn(after: list[int], states: dict[int, str | None]) -> tuple[bool, list[int]]:
    """Whether a file may load now, and which of the files before it failed: a file of an
    inspection loads only once every earlier one of the same run has loaded, so the same
    files always give the same case versions, retries included."""
    failed = [i for i in after if states.get(i) in _FAILED_STATES]
    return all(states.get(i) in _LOADED_STATES for i in after), failed

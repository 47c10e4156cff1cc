"""What a DAG run works on, derived from its context: pure functions, no Airflow import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from ducha.config import local_day

WAREHOUSE_ASSET_NAME = "ducha_warehouse"
WAREHOUSE_ASSET_URI = "ducha://warehouse"


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


def publish_days(param_as_of: str | None, events: Mapping[Any, Iterable[Any]] | None) -> list[str | None]:
    """Which days to publish: the ``as_of`` param, else every day named by the
    triggering warehouse events (the run's day, and earlier days whose late files it
    loaded), else [None] (= as of the latest data)."""
    if param_as_of:
        return [dt.date.fromisoformat(str(param_as_of)).isoformat()]
    days: set[str] = set()
    for batch in (events or {}).values():
        for event in batch:
            extra = getattr(event, "extra", None) or {}
            if extra.get("day"):
                days.add(str(extra["day"]))
            days.update(str(d) for d in extra.get("late_days") or ())
    return sorted(days) or [None]

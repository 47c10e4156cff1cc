from __future__ import annotations

import datetime as dt

import pytest

from ducha.orchestration import run_landing_day

UTC = dt.UTC


def test_param_day_wins() -> None:
    assert run_landing_day("2024-06-05", dt.datetime(2024, 6, 1, tzinfo=UTC), None) == dt.date(2024, 6, 5)


@pytest.mark.parametrize(
    ("logical", "day"),
    [
        (dt.datetime(2024, 6, 3, 0, 0, tzinfo=UTC), dt.date(2024, 6, 3)),  # airflow dags test DAG 2024-06-03
        (dt.datetime(2024, 6, 2, 15, 59, tzinfo=UTC), dt.date(2024, 6, 2)),  # 23:59 in Shanghai
        (dt.datetime(2024, 6, 2, 16, 0, tzinfo=UTC), dt.date(2024, 6, 3)),  # midnight in Shanghai
        (dt.datetime(2024, 6, 3, 14, 0, tzinfo=UTC), dt.date(2024, 6, 3)),  # the 22:00 schedule
        # UTC's own midnight is 08:00 in Shanghai: the same Shanghai day either side of it.
        (dt.datetime(2024, 6, 2, 23, 59, 59, tzinfo=UTC), dt.date(2024, 6, 3)),
        (dt.datetime(2024, 6, 3, 0, 0, 0, tzinfo=UTC), dt.date(2024, 6, 3)),
        # No daylight saving in China: the nights the US and Europe change clocks map as any.
        (dt.datetime(2024, 3, 10, 15, 59, tzinfo=UTC), dt.date(2024, 3, 10)),
        (dt.datetime(2024, 3, 31, 16, 0, tzinfo=UTC), dt.date(2024, 4, 1)),
        (dt.datetime(2024, 11, 3, 15, 59, tzinfo=UTC), dt.date(2024, 11, 3)),
        # A logical date given in another zone is the same instant.
        (dt.datetime(2024, 6, 2, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4))), dt.date(2024, 6, 3)),
    ],
)
def test_logical_date_is_a_shanghai_day(logical: dt.datetime, day: dt.date) -> None:
    assert run_landing_day(None, logical, None) == day


def test_manual_run_without_logical_date_uses_run_after() -> None:
    assert run_landing_day(None, None, dt.datetime(2024, 6, 9, 17, 0, tzinfo=UTC)) == dt.date(2024, 6, 10)


def test_no_date_at_all_is_an_error() -> None:
    with pytest.raises(ValueError):
        run_landing_day(None, None, None)


def test_mapped_states_reads_airflows_keys() -> None:
    from ducha.orchestration import mapped_states

    found = {"ingest_file_0": "success", "ingest_file_12": None, "ingest_file": "x", "other_1": "failed"}
    assert mapped_states(found, "ingest_file") == {0: "success", 12: None}


@pytest.mark.parametrize(
    ("states", "turn"),
    [
        ({}, (False, [])),  # the earlier files have not even been scheduled
        ({0: "success", 1: "running"}, (False, [])),
        ({0: "success", 1: "up_for_retry"}, (False, [])),  # a retry keeps the order
        ({0: "success", 1: "up_for_reschedule"}, (False, [])),
        ({0: "success", 1: "skipped"}, (True, [])),
        ({0: "failed", 1: "success"}, (False, [0])),
        ({0: "upstream_failed", 1: "failed"}, (False, [0, 1])),
    ],
)
def test_a_file_loads_after_the_earlier_files_of_its_inspection(states: dict, turn: tuple) -> None:
    from ducha.orchestration import load_turn

    assert load_turn([0, 1], states) == turn
    assert load_turn([], states) == (True, [])  # the first file of its inspection goes at once

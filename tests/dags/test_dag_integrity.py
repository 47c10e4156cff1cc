"""Every DAG imports cleanly and follows the project's policies."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
HEAVY = (
    "pandas",
    "great_expectations",
    "openpyxl",
    "python_calamine",
    "xlsxwriter",
    "ducha.intake.quality",
    "ducha.intake.validator",
    "ducha.warehouse",
    "ducha.disclosure",
    "ducha.intake",
)


@pytest.fixture(scope="module")
def dagbag():
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


# Our code, not the virtualenv that may live in the repository too.
OUR_CODE = tuple(str(REPO / part) for part in ("dags", "include", "plugins"))


def test_dags_import_without_warnings(dagbag) -> None:
    # The DagBag records what a DAG file warns while it is read (an Airflow deprecation
    # in our DAG code) instead of letting pytest's filters see it. Warnings located in
    # Airflow's own modules (a provider importing a deprecated helper) are not ours to fix.
    ours = {
        path: found
        for path, warned in dagbag.captured_warnings.items()
        if (found := [w for w in warned if w.startswith(OUR_CODE)])
    }
    assert ours == {}


def test_expected_dags(dagbag) -> None:
    assert set(dagbag.dag_ids) == {
        "ducha_ingest",
        "ducha_publish",
        "ducha_ledgers",
        "ducha_tables_due",
        "ducha_pickup",
        "ducha_signoff",
    }


@pytest.mark.parametrize(
    "dag_id", ["ducha_ingest", "ducha_publish", "ducha_ledgers", "ducha_tables_due", "ducha_pickup"]
)
def test_policy(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert "ducha" in dag.tags
    assert dag.doc_md and len(dag.doc_md) > 200
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "ducha", task.task_id
        assert task.retries >= 1, task.task_id
        # Whoever runs Ducha hears of a failure (ducha.notify.task_failed).
        assert [getattr(c, "__name__", c) for c in _callbacks(task.on_failure_callback)] == ["task_failed"]


def test_signoff_waits_for_a_person_then_records_either_answer(dagbag) -> None:
    """One run per draft, many may wait at once; the approval is retried once, soon, so a
    failure asks again rather than failing the run (Airflow 3.3.2 can fail an approval
    answered within seconds); the decision is recorded whether approved or rejected
    (Reject skips only ``approved``); every other task is a normal Ducha task."""
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    dag = dagbag.dags["ducha_signoff"]
    assert "ducha" in dag.tags and dag.doc_md and len(dag.doc_md) > 200
    assert dag.max_active_runs > 1 and dag.schedule is None
    sign_off, approved, record = dag.get_task("sign_off"), dag.get_task("approved"), dag.get_task("record")
    assert isinstance(sign_off, ApprovalOperator) and sign_off.retries == 1
    assert sign_off.retry_delay.total_seconds() <= 10  # the publisher may be waiting on the page
    assert not sign_off.ignore_downstream_trigger_rules
    assert sign_off.downstream_task_ids == {"approved"} and approved.downstream_task_ids == {"record"}
    assert record.trigger_rule == "none_failed"  # after a Reject; not after a failed approval
    assert sign_off.response_timeout and sign_off.defaults == ["Reject"]  # no run waits for ever
    assert set(sign_off.params) == {"comment"}  # the form asks for nothing else
    for task in dag.tasks:
        assert task.owner == "ducha"
        assert task.retries >= 1, task.task_id
    publish = dagbag.dags["ducha_publish"]
    ask = publish.get_task("ask_sign_off")
    assert ask.partial_kwargs["trigger_dag_id"] == "ducha_signoff"
    assert ask.partial_kwargs["skip_when_already_exists"] is True


def _callbacks(value: object) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def test_ingest_emits_the_asset_publish_consumes(dagbag) -> None:
    ingest, publish = dagbag.dags["ducha_ingest"], dagbag.dags["ducha_publish"]
    outlets = {o.name for t in ingest.tasks for o in t.outlets}
    assert "ducha_warehouse" in outlets
    assert "ducha_warehouse" in str(publish.timetable.asset_condition)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_nothing_heavy(path: Path) -> None:
    """The DAG processor re-parses every file every 30 s: heavy imports belong in tasks."""
    code = (
        f"import sys, runpy; sys.path.insert(0, {str(REPO / 'dags')!r}); runpy.run_path({str(path)!r});"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (heavy,) = [line for line in done.stdout.splitlines() if line.startswith("HEAVY:")]
    assert heavy == "HEAVY:", f"imported at parse time: {heavy}"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_do_not_import_each_other(path: Path) -> None:
    siblings = {p.stem for p in DAG_FILES}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in siblings
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & siblings


@pytest.mark.parametrize("dag_id,day_param", [("ducha_ingest", "day"), ("ducha_publish", "as_of")])
def test_params_refuse_what_could_leave_a_folder(dagbag, dag_id: str, day_param: str) -> None:
    """A trigger's conf is validated by the Param schema before any task runs."""
    from airflow.sdk.exceptions import ParamValidationError

    params = dagbag.dags[dag_id].params
    inspection, day = params.get_param("inspection"), params.get_param(day_param)
    assert inspection.resolve("c3-hn-2024") == "c3-hn-2024" and inspection.resolve(None) is None
    assert day.resolve("2024-06-01") == "2024-06-01"
    for bad in ("../archive/c3-hn-2024", "..", "a/b", ".hidden", "c3 hn", "x" * 65, "c3-hn-2024\n"):
        with pytest.raises(ParamValidationError):
            inspection.resolve(bad)
    for bad in ("2024-06-01/../../x", "../2024-06-01", "2024-6-1", "2024-13-45"):
        with pytest.raises(ParamValidationError):
            day.resolve(bad)


def test_warehouse_writers_run_in_the_writers_pool(dagbag) -> None:
    """The tasks that write the warehouse run in one pool (1 slot on SQLite); no other task
    takes its slots. The asset that wakes publishing is emitted once the writers are done."""
    from ducha.orchestration import WAREHOUSE_ASSET_NAME, WRITERS_POOL

    writers, emitters = set(), set()
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            if task.pool == WRITERS_POOL:
                writers.add((dag.dag_id, task.task_id))
            if any(getattr(o, "name", None) == WAREHOUSE_ASSET_NAME for o in task.outlets):
                emitters.add((dag.dag_id, task.task_id))
                assert task.trigger_rule == "all_done", task.task_id  # also after a failed file
                assert {(dag.dag_id, t.task_id) for t in task.upstream_list} & writers
    assert writers == {("ducha_ingest", "ingest_file"), ("ducha_pickup", "ingest_file")}
    assert emitters == {("ducha_ingest", "summary"), ("ducha_pickup", "summary")}


@pytest.mark.parametrize("dag_id, planner", [("ducha_ingest", "plan"), ("ducha_pickup", "waiting")])
def test_ingest_maps_one_task_per_file(dagbag, dag_id: str, planner: str) -> None:
    """An engineer sees, retries and reads the log of one file, named by its landing path;
    a file waiting for an earlier one of its inspection gives its pool slot back
    (reschedule), and a failed file fails the run even though the summary runs."""
    dag = dagbag.dags[dag_id]
    ingest = dag.get_task("ingest_file")
    assert type(ingest).__name__.endswith("MappedOperator")
    assert ingest.map_index_template == "{{ file_label }}"
    assert ingest.partial_kwargs["mode"] == "reschedule"
    assert {t.task_id for t in ingest.upstream_list} == {planner}
    assert {t.task_id for t in ingest.downstream_list} == {"summary", "any_file_failed"}
    assert dag.get_task("any_file_failed").trigger_rule == "one_failed"
    assert dag.get_task("any_file_failed").downstream_list == []

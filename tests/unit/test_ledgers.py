"""The working ledgers and deadlines (ducha.ledgers) on a real warehouse: a city's own
deadline sets its cases' due day, the three ledgers hold what the warehouse says as of a
day, overdue and due-soon cases are found against that day (not the database clock),
and the notice reaches a real SMTP server, or the log when none is configured."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from ducha.config import data_dirs, get_inspection, registry
from ducha.ledgers import DUE_SOON_DAYS, ledgers_run
from ducha.notify import task_failed
from ducha.pipeline import Ingestor
from ducha_sample import generate
from tests.smtp import Inbox, body, smtp_server

HN = "c3-hn-2024"
DAYS = 6
LAST = dt.date(2024, 6, DAYS)
ASKED = dt.date(2024, 6, 12)  # after the last load: as-of states are the latest states
CLOSED = ("已办结", "验收销号")
OWN_DAYS = 3  # 长沙市's own deadline in these tests


@pytest.fixture(scope="module")
def own_deadline() -> Iterator[None]:
    """The sample inspection with 长沙市 keeping a 3-day deadline of its own."""
    insp = get_inspection(HN)
    regions = tuple(replace(r, deadline_days=OWN_DAYS) if r.name == "长沙市" else r for r in insp.regions)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(registry(), HN, replace(insp, regions=regions))
        yield


def _load(root: Path, url: str) -> Ingestor:
    generate(root / "landing", HN, days=DAYS, seed=21, progress=False)
    ingestor = Ingestor(data_dirs(root), url, run_label="t")
    for day in range(1, DAYS + 1):
        ingestor.ingest_day(dt.date(2024, 6, day))
    return ingestor


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, own_deadline: None) -> Ingestor:
    root = tmp_path_factory.mktemp("ledgers")
    return _load(root, f"sqlite:///{root / 'w.sqlite'}")


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.xlsx")
    }


def test_a_citys_own_deadline_sets_its_cases_due_day(loaded: Ingestor) -> None:
    with loaded.engine.connect() as conn:
        rows = conn.execute(text("SELECT region, transferred_on, due_on FROM v_case_latest")).all()
    days = {r.region.startswith("长沙"): [] for r in rows}
    for r in rows:
        if r.due_on:
            days[r.region.startswith("长沙")].append((_date(r.due_on) - _date(r.transferred_on)).days)
    assert set(days[True]) == {OWN_DAYS}
    assert set(days[False]) == {get_inspection(HN).deadline_days}


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _rows(path: Path) -> list[tuple]:
    """The data rows of a ledger (title, header and the note row left out)."""
    ws = openpyxl.load_workbook(path, read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    return [r for r in rows[2:] if r[0] and not str(r[0]).startswith("注")]


def test_the_three_ledgers_hold_the_warehouse_as_of_the_day(loaded: Ingestor, tmp_path: Path) -> None:
    (outcome,) = ledgers_run(loaded.engine, tmp_path, ASKED)
    folder = tmp_path / HN / ASKED.isoformat()
    with loaded.engine.connect() as conn:
        latest = conn.execute(text("SELECT case_id, status, due_on, closed_on FROM v_case_latest")).all()
    is_closed = {r.case_id: r.status in CLOSED for r in latest}
    assigned = _rows(folder / f"交办台账（截至{ASKED}）.xlsx")
    in_progress = _rows(folder / f"办理台账（截至{ASKED}）.xlsx")
    closed = _rows(folder / f"办结台账（截至{ASKED}）.xlsx")
    assert sorted(r[0] for r in assigned) == sorted(is_closed)
    assert sorted(r[0] for r in in_progress) == sorted(c for c, done in is_closed.items() if not done)
    assert sorted(r[0] for r in closed) == sorted(c for c, done in is_closed.items() if done)
    assert (outcome.assigned, outcome.in_progress, outcome.closed) == (
        len(assigned),
        len(in_progress),
        len(closed),
    )

    # Against the day asked for, worked out here from the view's own columns.
    open_due = {r.case_id: _date(r.due_on) for r in latest if not is_closed[r.case_id] and r.due_on}
    overdue = {c for c, due in open_due.items() if due < ASKED}
    soon = {c for c, due in open_due.items() if ASKED <= due <= ASKED + dt.timedelta(days=DUE_SOON_DAYS)}
    assert overdue, "the sample must have overdue cases on this day"
    assert {d.case_id for d in outcome.overdue} == overdue
    assert {d.case_id for d in outcome.due_soon} == soon
    assert all(d.days == (ASKED - d.due_on).days for d in outcome.overdue)
    # 办理台账: overdue cases first, most overdue at the top, with how long.
    states = [r[-2] for r in in_progress]
    assert states[: len(overdue)] == sorted(states[: len(overdue)], key=lambda s: -int(s[2:-1]))
    assert all(s.startswith("超期") for s in states[: len(overdue)])
    assert not any(s.startswith("超期") for s in states[len(overdue) :])
    late = {
        r.case_id
        for r in latest
        if is_closed[r.case_id] and r.due_on and r.closed_on and r.closed_on > r.due_on
    }
    assert sum(r[-1] == "超期办结" for r in closed) == len(late) == outcome.closed_late


def test_a_rerun_writes_the_same_bytes(loaded: Ingestor, tmp_path: Path) -> None:
    ledgers_run(loaded.engine, tmp_path / "a", ASKED)
    ledgers_run(loaded.engine, tmp_path / "b", ASKED)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b") and len(_tree(tmp_path / "a")) == 3


def test_a_day_earlier_sees_fewer_overdue_cases(loaded: Ingestor, tmp_path: Path) -> None:
    """The day decides: the same warehouse as of an earlier day has fewer overdue cases."""
    (early,) = ledgers_run(loaded.engine, tmp_path, LAST)
    (late,) = ledgers_run(loaded.engine, tmp_path, ASKED)
    assert {d.case_id for d in early.overdue} < {d.case_id for d in late.overdue}


@pytest.mark.postgres
def test_postgres_in_any_time_zone_gives_the_same_ledgers(
    loaded: Ingestor, postgres_url: str, tmp_path: Path
) -> None:
    """The same landing in PostgreSQL, its sessions at UTC+14: the same files, byte for
    byte, as SQLite's (whose clock is UTC)."""
    from sqlalchemy import create_engine

    _load(tmp_path / "pg", postgres_url)
    far_east = create_engine(postgres_url, connect_args={"options": "-c timezone=Pacific/Kiritimati"})
    with far_east.connect() as conn:
        assert conn.execute(text("SHOW timezone")).scalar() == "Pacific/Kiritimati"
    ledgers_run(far_east, tmp_path / "pg-ledgers", ASKED)
    ledgers_run(loaded.engine, tmp_path / "sqlite-ledgers", ASKED)
    far_east.dispose()
    assert _tree(tmp_path / "pg-ledgers") == _tree(tmp_path / "sqlite-ledgers")


# --- notices ---------------------------------------------------------------------------------


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    with smtp_server() as (inbox, connection):
        monkeypatch.setenv("AIRFLOW_CONN_DUCHA_SMTP", connection)
        monkeypatch.setenv("DUCHA_NOTIFY_TO", "office@example.org, duty@example.org")
        yield inbox


def test_the_deadline_notice_is_e_mailed(loaded: Ingestor, tmp_path: Path, smtp: Inbox) -> None:
    (outcome,) = ledgers_run(loaded.engine, tmp_path, ASKED)
    (message,) = smtp.messages
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert (
        subject
        == f"[Ducha] {ASKED} 办理时限：{len(outcome.overdue)} 件超期，{len(outcome.due_soon)} 件即将到期"
    )
    assert message["To"] == "office@example.org, duty@example.org"
    text = body(message)
    assert outcome.overdue[0].case_id in text and f"{HN}：交办 {outcome.assigned} 件" in text


def test_without_smtp_the_notice_goes_to_the_log(
    loaded: Ingestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_DUCHA_SMTP", raising=False)
    monkeypatch.setenv("DUCHA_NOTIFY_TO", "office@example.org")
    with caplog.at_level(logging.WARNING, logger="ducha.notify"):
        (outcome,) = ledgers_run(loaded.engine, tmp_path, ASKED)
    (notice,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("NOTICE ")]
    assert f"{len(outcome.overdue)} 件超期" in notice and outcome.overdue[0].case_id in notice
    assert f"…另 {len(outcome.overdue) - 20} 件，见台账" in notice  # the ledgers hold the rest


def test_a_failed_task_is_e_mailed(smtp: Inbox) -> None:
    class TaskInstance:  # what Airflow hands a callback: the fields the notice reads
        dag_id, task_id, run_id, try_number = "ducha_ingest", "ingest", "scheduled__2024-06-03", 3
        log_url = "http://airflow.example.org/dags/ducha_ingest/runs/x/tasks/ingest"

    task_failed({"ti": TaskInstance(), "exception": RuntimeError("warehouse unreachable")})
    (message,) = smtp.messages
    assert "task failed: ducha_ingest.ingest" in message["Subject"]
    text = body(message)
    assert "RuntimeError: warehouse unreachable" in text and TaskInstance.log_url in text

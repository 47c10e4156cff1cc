"""The working ledgers of an inspection as of a day, and its deadlines.

Every case is tracked in three ledgers ("清单制+责任制+销号制"): assigned (交办, every
case), in progress (办理, not yet closed) and closed (办结). Each case is due its
deadline after its batch's transfer date (``Inspection.deadline_for``: the inspection's
days, or its city's own). As of a day, an open case is *overdue* when its due day has
passed and *due soon* when it falls on that day or the next; a closed case was *closed
late* when it first reported closed after its due day.

Everything is computed against the given day, in Python: nothing depends on the database
clock or its time zone. The ledgers are internal work lists for the province's office:
they go to ``ledgers/<inspection>/<day>/``, never to the public outbox; personal data is
masked as in every table Ducha writes.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from ducha.config import get_inspection
from ducha.contract import load_contract
from ducha.disclosure import tables as T
from ducha.disclosure.layout import Column, Sheet
from ducha.disclosure.publish import inspections_in_warehouse
from ducha.disclosure.redact import is_missing
from ducha.disclosure.writers import TableFile, write_table_files
from ducha.notify import notify
from ducha.paths import check_inspection_id, under

log = logging.getLogger(__name__)

DUE_SOON_DAYS = 1  # "due within 1 day": today or tomorrow
LEDGERS = (("assigned", "交办台账"), ("in_progress", "办理台账"), ("closed", "办结台账"))


@dataclass(frozen=True)
class DueCase:
    case_id: str
    region: str
    due_on: dt.date
    days: int  # days left (due soon) or days over (overdue)


@dataclass
class LedgerOutcome:
    inspection_id: str
    day: str
    folder: str | None
    assigned: int = 0
    in_progress: int = 0
    closed: int = 0
    closed_late: int = 0
    due_soon: list[DueCase] = field(default_factory=list)
    overdue: list[DueCase] = field(default_factory=list)


def deadline_states(states: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """``states`` (one row per case, as of ``day``) with ``closed``, ``overdue``,
    ``due_soon``, ``closed_late`` and ``days_left`` (negative: days over) added."""
    closed = states["status"].isin(load_contract().closed_statuses)
    due = pd.to_datetime(states["due_on"], errors="coerce")
    days_left = (due - pd.Timestamp(day)).dt.days  # NaN where the due day is not known yet
    closed_on = pd.to_datetime(states["closed_on"], errors="coerce")
    return states.assign(
        closed=closed,
        days_left=days_left,
        overdue=~closed & (days_left < 0),
        due_soon=~closed & days_left.between(0, DUE_SOON_DAYS),
        closed_late=closed & (closed_on > due),
    )


_COLUMNS = [
    ("case_id", Column("受理编号", 20)),
    ("batch_no", Column("交办批次", 8, "int")),
    ("transferred_on", Column("交办日期", 11)),
    ("region", Column("行政区域", 14)),
    ("pollution_types", Column("污染类型", 12)),
    ("key_case", Column("是否重点", 8)),
    ("summary", Column("交办问题基本情况", 48)),
    ("due_on", Column("办理时限", 11)),
    ("status", Column("办理状态", 12)),
]
_EXTRA = {
    "assigned": [("deadline", Column("时限情况", 14))],
    "in_progress": [("deadline", Column("时限情况", 14)), ("handling", Column("处理和整改情况", 40))],
    "closed": [("closed_on", Column("办结日期", 11)), ("deadline", Column("是否按期办结", 10))],
}


def _deadline_text(row: pd.Series) -> str:
    if row["closed"]:
        if is_missing(row["due_on"]) or is_missing(row["closed_on"]):
            return ""
        return "超期办结" if row["closed_late"] else "按期办结"
    if is_missing(row["days_left"]):
        return "时限未定"  # the batch's transfer date is not known yet
    left = int(row["days_left"])
    return f"超期{-left}天" if left < 0 else ("今日到期" if left == 0 else f"剩余{left}天")


def _cell(value: object) -> object:
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):  # pandas Timestamps too
        return value.strftime("%Y-%m-%d")
    return value


def ledger_sheets(states: pd.DataFrame, inspection_name: str, day: dt.date) -> dict[str, Sheet]:
    """The three ledgers as sheets, by ledger name; overdue cases first in 办理, each
    ledger then by batch and case."""
    frame = deadline_states(states, day)
    frame = frame.assign(deadline=frame.apply(_deadline_text, axis=1) if len(frame) else [])
    parts = {
        "assigned": frame,
        "in_progress": frame[~frame["closed"]].sort_values(
            ["days_left", "batch_no", "case_id"], na_position="last", kind="stable"
        ),
        "closed": frame[frame["closed"]],
    }
    sheets: dict[str, Sheet] = {}
    for name, label in LEDGERS:
        rows = parts[name]
        if name != "in_progress":
            rows = rows.sort_values(["batch_no", "case_id"], kind="stable")
        columns = [*_COLUMNS, *_EXTRA[name]]
        sheets[name] = Sheet(
            name=label,
            title=f"{inspection_name}{label}（截至{day.isoformat()}）",
            columns=[c for _, c in columns],
            rows=[
                [_cell(v) for v in values] for values in rows[[f for f, _ in columns]].itertuples(index=False)
            ],
            notes=[f"注：办理时限为交办日期起算的办理期限；截至{day.isoformat()}，共{len(rows)}件。"],
        )
    return sheets


def _due(frame: pd.DataFrame, flag: str) -> list[DueCase]:
    rows = frame[frame[flag]].sort_values(["due_on", "case_id"], kind="stable")
    return [
        DueCase(str(r.case_id), str(r.region), r.due_on, abs(int(r.days_left)))
        for r in rows[["case_id", "region", "due_on", "days_left"]].itertuples(index=False)
    ]


def write_ledgers(engine: Engine, ledgers_root: Path, inspection_id: str, day: dt.date) -> LedgerOutcome:
    """The three ledgers of ``inspection_id`` as of ``day`` into
    ``ledgers_root/<inspection>/<day>/`` (xlsx), and what is due or overdue."""
    insp = get_inspection(check_inspection_id(inspection_id))
    with engine.connect() as conn:
        states = T.case_states(conn, inspection_id, day)
    if states.empty:
        return LedgerOutcome(inspection_id, day.isoformat(), None)
    frame = deadline_states(states, day)
    sheets = ledger_sheets(states, insp.name, day)
    folder = under(ledgers_root, inspection_id, day.isoformat())
    created = dt.datetime.combine(day, dt.time(0, 0))  # same data, same bytes
    write_table_files(
        [
            TableFile(
                under(folder, f"{label}（截至{day.isoformat()}）.xlsx"), "xlsx", (sheets[name],), created
            )
            for name, label in LEDGERS
        ],
        workers=1,
    )
    outcome = LedgerOutcome(
        inspection_id,
        day.isoformat(),
        str(folder),
        assigned=len(frame),
        in_progress=int((~frame["closed"]).sum()),
        closed=int(frame["closed"].sum()),
        closed_late=int(frame["closed_late"].sum()),
        due_soon=_due(frame, "due_soon"),
        overdue=_due(frame, "overdue"),
    )
    log.info(
        "%s: ledgers as of %s: %d assigned, %d in progress, %d closed; %d due soon, %d overdue",
        inspection_id,
        day,
        outcome.assigned,
        outcome.in_progress,
        outcome.closed,
        len(outcome.due_soon),
        len(outcome.overdue),
    )
    return outcome


def deadline_message(outcomes: list[LedgerOutcome], day: dt.date, *, listed: int = 20) -> tuple[str, str]:
    """(subject, plain-text body) of the day's deadline notice: per inspection, the
    cases overdue and due soon (the first ``listed`` of each, the ledgers hold all)."""
    overdue = sum(len(o.overdue) for o in outcomes)
    soon = sum(len(o.due_soon) for o in outcomes)
    subject = f"[Ducha] {day.isoformat()} 办理时限：{overdue} 件超期，{soon} 件即将到期"
    lines = [subject, ""]
    for o in outcomes:
        if o.folder is None:
            continue
        lines.append(
            f"{o.inspection_id}：交办 {o.assigned} 件，办理中 {o.in_progress} 件，办结 {o.closed} 件"
        )
        for title, due, word in (("超期", o.overdue, "超期"), ("即将到期", o.due_soon, "剩余")):
            if due:
                lines.append(f"  {title} {len(due)} 件：")
                for d in due[:listed]:
                    lines.append(
                        f"    {d.case_id}  {d.region}  时限 {d.due_on.isoformat()}（{word}{d.days}天）"
                    )
                if len(due) > listed:
                    lines.append(f"    …另 {len(due) - listed} 件，见台账")
        lines.append(f"  台账：{o.folder}")
    return subject, "\n".join(lines) + "\n"


def ledgers_run(
    engine: Engine, ledgers_root: Path, day: dt.date, *, inspection_id: str | None = None
) -> list[LedgerOutcome]:
    """The ledgers of every inspection in the warehouse (or one) as of ``day``; a notice
    (``notify``) when a case is overdue or due within a day. Run again, it writes the
    same files and sends the same notice."""
    ids = [check_inspection_id(inspection_id)] if inspection_id else inspections_in_warehouse(engine)
    outcomes = [write_ledgers(engine, ledgers_root, i, day) for i in ids]
    if any(o.overdue or o.due_soon for o in outcomes):
        notify(*deadline_message(outcomes, day))
    else:
        log.info("as of %s no case is overdue or due within %d day(s)", day, DUE_SOON_DAYS)
    return outcomes

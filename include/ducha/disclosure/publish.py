"""Writing a day's disclosure files into the outbox, all or nothing, and keeping the
outbox in step with the warehouse.

Each day's manifest records the warehouse state its tables were built from: the files
loaded for the inspection up to that day (``warehouse_state``). ``reconcile`` compares
that with the warehouse and publishes every (inspection, day) whose tables are missing
or stale, oldest first, whatever woke it up: a scheduler folds many quick warehouse
events into fewer runs, and a run can start before the data it was woken for exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, select

from ducha.config import Inspection, get_inspection, publish_workers, registry
from ducha.disclosure import decisions
from ducha.disclosure import tables as T
from ducha.disclosure.layout import Sheet
from ducha.disclosure.weekly import write_weekly
from ducha.disclosure.writers import (
    MANIFEST_NAME,
    TableFile,
    TableFormat,
    folder_aside,
    write_manifest,
    write_table_files,
)
from ducha.layouts import Layout, layouts
from ducha.parallel import can_fork, fork_map
from ducha.paths import check_inspection_id, safe_name, under
from ducha.text import batch_label
from ducha.warehouse.db import snapshot
from ducha.warehouse.schema import batch_decisions, batches, files, inspections

log = logging.getLogger(__name__)


@dataclass
class PublishOutcome:
    inspection_id: str
    as_of: str | None
    folder: str | None
    files: list[dict[str, object]] = field(default_factory=list)
    cases: int = 0
    decision: decisions.Decision | None = None  # an operator's choice recorded by this publish


class UnknownInspection(ValueError):
    """An inspection id that is neither configured nor in the warehouse."""


def inspections_in_warehouse(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(inspections.c.inspection_id)).scalars())


def publish(
    engine: Engine,
    inspection_id: str,
    out_root: Path,
    *,
    as_of: dt.date | None = None,
) -> PublishOutcome:
    """The per-batch tables for batches reported on ``as_of`` and the cumulative
    summary as of that day, into ``out_root/<inspection>/<as_of>/``."""
    return _logged(_publish(engine, inspection_id, out_root, as_of=as_of))


def _logged(outcome: PublishOutcome) -> PublishOutcome:
    """Logged here, in the process that called: a worker's lines could interleave."""
    if outcome.folder is None:
        log.info("%s: no data in the warehouse yet, nothing to publish", outcome.inspection_id)
    else:
        log.info(
            "%s: published %d files as of %s into %s",
            outcome.inspection_id,
            len(outcome.files),
            outcome.as_of,
            outcome.folder,
        )
    return outcome


def _publish(engine: Engine, inspection_id: str, out_root: Path, *, as_of: dt.date | None) -> PublishOutcome:
    insp = get_inspection(check_inspection_id(inspection_id))
    # One state of the warehouse for every read: a load committing meanwhile is all in
    # the tables or not at all (the next reconcile sees it and publishes the day again).
    with snapshot(engine) as conn:
        day = as_of or T.latest_data_day(conn, inspection_id)
        if day is None:
            return PublishOutcome(inspection_id, None, None)
        source = warehouse_state(conn, inspection_id, day)
        states = T.case_states(conn, inspection_id, day)
        accounts = T.batch_accounts(conn, inspection_id, day, states)
        decided = decisions.in_force(conn, inspection_id, day)
        default = insp.conventions.pending_rows
        held_now = T.held_batches(accounts, decisions.choices(decided), default)
        held_before: set[int] = set()
        if default == "hold" or decided:  # the day before: was a batch held?
            yesterday = day - dt.timedelta(days=1)
            earlier = states[states["first_reported"] < day] if len(states) else states
            before = T.batch_accounts(conn, inspection_id, yesterday, earlier)
            earlier_choices = decisions.choices(decisions.in_force(conn, inspection_id, yesterday))
            held_before = T.held_batches(before, earlier_choices, default)
    states = T.with_cities(states, insp)  # read once, shared by every table and chart
    layout = layouts()[insp.layout]
    final = under(out_root, inspection_id, day.isoformat())
    with folder_aside(final) as tmp:
        entries, paragraph = _write_day(tmp, states, insp, layout, day, accounts, (held_now, held_before))
        write_manifest(
            tmp,
            files=entries,
            as_of=day.isoformat(),
            extra={
                "inspection_id": inspection_id,
                "inspection_name": insp.name,
                "cases": len(states),
                "summary": paragraph,  # the statistics sentence, for the pages to show
                "batches": [
                    {
                        "batch_no": a.batch_no,
                        "transferred": a.expected,
                        "published": a.published,
                        "pending": a.pending,
                        **({"held": True} if a.batch_no in held_now else {}),
                        **({"decision": decided[a.batch_no].to_manifest()} if a.batch_no in decided else {}),
                    }
                    for a in accounts.values()
                ],
                "warehouse": source,
            },
        )
    return PublishOutcome(inspection_id, day.isoformat(), str(final), entries, len(states))


def publish_batch(
    engine: Engine,
    inspection_id: str,
    out_root: Path,
    batch_no: int,
    *,
    as_of: dt.date | None = None,
    pending: str | None = None,
    decided_by: str = "",
    note: str = "",
) -> PublishOutcome:
    """One batch's table (and its cities' copies) as of a day, on an operator's demand:
    into ``out_root/<inspection>/batches/第N批（截至<day>）/``, beside the day folders,
    so a day's folder stays what the warehouse alone decides. After its arrival day the
    table is titled with the update wording ("（更新）").

    A batch with rows awaiting correction needs the operator's explicit choice
    (``pending``: publish | hold, and who decides): it is recorded in the warehouse and
    applies to the day folders from ``as_of`` on; "hold" publishes nothing now."""
    insp = get_inspection(check_inspection_id(inspection_id))
    with engine.connect() as conn:
        day = as_of or T.latest_data_day(conn, inspection_id)
        if day is None:
            return PublishOutcome(inspection_id, None, None)
        states = T.case_states(conn, inspection_id, day)
        accounts = T.batch_accounts(conn, inspection_id, day, states)
    account = accounts.get(batch_no)
    if account is None:
        raise UnknownBatch(f"{inspection_id} has no 第{batch_no}批 as of {day}")
    made = None
    if account.pending:
        if pending is None:
            raise PendingChoiceNeeded(batch_no, account.pending, day)
        # A write transaction of its own, taken at BEGIN (SQLite: a read transaction that
        # writes after a load has committed fails at once, "database is locked").
        with engine.connect().execution_options(ducha_write=True) as conn, conn.begin():
            made = decisions.record(
                conn,
                inspection_id,
                batch_no,
                pending,
                effective_on=day,
                pending=account.pending,
                decided_by=decided_by,
                note=note,
            )
    if made is not None and made.decision == "hold":
        return PublishOutcome(inspection_id, day.isoformat(), None, decision=made)
    states = T.with_cities(states[states["batch_no"] == batch_no], insp)
    if states.empty:  # every row of it awaits correction: nothing to show yet
        return PublishOutcome(inspection_id, day.isoformat(), None, decision=made)
    update = day > min(states["first_reported"])
    created = dt.datetime.combine(day, dt.time(0, 0))
    final = under(out_root, inspection_id, "batches", f"{batch_label(batch_no)}（截至{day.isoformat()}）")
    with folder_aside(final) as tmp:
        tables = _Tables(tmp, created)
        _batch_files(tables, states, batch_no, update, account, layouts()[insp.layout], insp)
        write_table_files(tables.files, workers=1)
        write_manifest(
            tmp,
            files=tables.entries,
            as_of=day.isoformat(),
            extra={
                "inspection_id": inspection_id,
                "batch_no": batch_no,
                **({"decision": made.to_manifest()} if made else {}),
            },
        )
    return PublishOutcome(
        inspection_id, day.isoformat(), str(final), tables.entries, len(states), decision=made
    )


class PendingChoiceNeeded(ValueError):
    """A batch with rows awaiting correction, published on demand without a decision."""

    def __init__(self, batch_no: int, pending: int, day: dt.date) -> None:
        self.batch_no, self.pending, self.day = batch_no, pending, day
        super().__init__(
            f"第{batch_no}批 has {pending} row(s) awaiting correction (待补正) as of {day}: "
            "choose --pending publish (publish it now, the note says how many await correction) "
            "or --pending hold (keep it back until they are corrected)"
        )


class UnknownBatch(ValueError):
    """A batch the inspection does not have (yet) on that day."""


def region_file_names(regions: list[str]) -> list[str]:
    """One safe, distinct file-name part per region, in order. A region is a cell a clerk
    typed: it may hold separators ("长沙／岳麓区"), "..", or run to any length. Distinct
    means distinct on a case-insensitive file system too, and a renamed duplicate
    ("<name>~<n>") is itself checked against every name already taken."""
    out: list[str] = []
    taken: set[str] = set()
    for region in regions:
        name = safe_name(region)
        n = 1
        while name.casefold() in taken:  # regions that differ only in unsafe characters
            n += 1
            name = safe_name(f"{safe_name(region)}~{n}")
        taken.add(name.casefold())
        out.append(name)
    return out


def _write_day(
    tmp: Path,
    states: pd.DataFrame,
    insp: Inspection,
    layout: Layout,
    day: dt.date,
    accounts: dict[int, T.BatchAccount],
    held: tuple[set[int], set[int]],
) -> tuple[list[dict[str, object]], str]:
    """Every table, chart and page of the day into ``tmp``; the manifest entries (the
    manifest adds each file's hash and size) and the summary's statistics sentence."""
    created = dt.datetime.combine(day, dt.time(0, 0))  # fixed metadata: same data, same bytes
    table = _Tables(tmp, created)
    batch_tables = T.batch_tables(states, day, insp)
    batch_tables = T.held_and_released(batch_tables, *held)  # held: (as of the day, the day before)
    # Split once: each batch's tables (and its cities' copies) read only its own rows, so
    # a day that brings many batches (a landing backlog) stays linear in the cases.
    wanted = [t.batch_no for t in batch_tables]
    by_batch = dict(tuple(states[states["batch_no"].isin(wanted)].groupby("batch_no", sort=True)))
    # A batch released while every row of it still awaits correction has nothing to show:
    # its table comes the day its first corrected rows arrive.
    batch_tables = [t for t in batch_tables if t.batch_no in by_batch]
    for t in batch_tables:
        _batch_files(
            table, by_batch[t.batch_no], t.batch_no, t.update, accounts.get(t.batch_no), layout, insp
        )
    updates = T.updated_cases(states, day)
    if len(updates):
        table(
            f"办理情况更新表（{day.isoformat()}）",
            [T.updates_sheet(updates, layout, day)],
            "updates",
            ("xlsx", "csv", "html"),
        )
    summary = T.summary_sheets(states, insp, day)
    table(f"累计情况汇总（截至{day.isoformat()}）", summary, "summary", ("xlsx", "html"), rows=len(states))
    write_table_files(table.files, workers=publish_workers())
    # The periodic report, on its own days: native Excel charts, and the same charts as
    # SVG for the web.
    if insp.weekly_due(day):
        for path in write_weekly(tmp, states, insp, day, created=created):
            table.entries.append({"name": path.name, "rows": len(states), "kind": "weekly"})
    return table.entries, T.overview_text(summary)


class _Tables:
    """The table files of a folder being built, and their manifest entries (the
    manifest adds each file's hash and size)."""

    def __init__(self, folder: Path, created: dt.datetime) -> None:
        self.folder, self.created = folder, created
        self.files: list[TableFile] = []
        self.entries: list[dict[str, object]] = []

    def __call__(
        self,
        stem: str,
        sheets: list[Sheet],
        kind: str,
        formats: tuple[TableFormat, ...],
        rows: int | None = None,
        **facts: object,
    ) -> None:
        """``facts`` go into each file's manifest entry (batch_no, region: what the
        officers' pages group and scope by, without reading names)."""
        for ext in formats:
            path = under(self.folder, f"{stem}.{ext}")
            self.files.append(TableFile(path, ext, tuple(sheets), self.created, sheets[0].title or stem))
            self.entries.append(
                {
                    "name": path.name,
                    "rows": len(sheets[0].rows) if rows is None else rows,
                    "kind": kind,
                    **facts,
                }
            )


def _batch_files(
    table: _Tables,
    rows: pd.DataFrame,
    batch_no: int,
    update: bool,
    account: T.BatchAccount | None,
    layout: Layout,
    insp: Inspection,
) -> None:
    """A batch's table (xlsx, csv, html) and each city's copy of it (xlsx); republished
    with its results, titled and named with the update wording."""
    stem = T.batch_stem(batch_no, update, insp)
    # A case no locality has reported on yet (a team's 转办清单 has no status column) is
    # shown with the one label for open cases, not a blank.
    rows = rows.assign(status=rows["status"].where(rows["status"].notna(), insp.conventions.open_label))
    wording = insp.conventions.update_wording if update else ""
    sheet = T.batch_sheet(
        rows, batch_no, layout, account, update_wording=wording, note=insp.conventions.batch_note
    )
    kind = "batch_update" if update else "batch"
    table(stem, [sheet], kind, ("xlsx", "csv", "html"), batch_no=batch_no)
    copies = T.city_sheets(rows, batch_no, layout, insp, update_wording=wording)
    names = region_file_names([region for region, _ in copies])
    for (region, copy), name in zip(copies, names, strict=True):
        # Each city publishes its own rows of the batch, keeping the batch-wide 序号.
        table(f"{stem}（{name}）", [copy], "batch_region", ("xlsx",), batch_no=batch_no, region=region)


def publish_all(
    engine: Engine,
    out_root: Path,
    *,
    inspection_id: str | None = None,
    as_of: dt.date | None = None,
) -> list[PublishOutcome]:
    """Every inspection (or one) as of one day (None: each one's latest data)."""
    return publish_days(engine, out_root, [(i, as_of) for i in _inspection_ids(engine, inspection_id)])


def publish_days(
    engine: Engine, out_root: Path, days: list[tuple[str, dt.date | None]]
) -> list[PublishOutcome]:
    """Publish each (inspection, day), in the order given within each inspection; the
    outcomes in the order given. Several inspections are published side by side in
    forked processes (``publish_workers``); a lone inspection writes each day's files
    side by side instead (write_table_files). The outbox is the same either way."""
    groups: dict[str, list[tuple[str, dt.date | None]]] = {}
    for insp_id, day in days:
        groups.setdefault(insp_id, []).append((insp_id, day))
    workers = min(publish_workers(), len(groups))
    if workers < 2 or not can_fork():
        return [publish(engine, insp_id, out_root, as_of=day) for insp_id, day in days]

    def publish_group(group: list[tuple[str, dt.date | None]]) -> list[PublishOutcome]:
        return [_publish(engine, insp_id, out_root, as_of=day) for insp_id, day in group]

    def forget_parent_connections() -> None:
        engine.dispose(close=False)  # the parent's connections stay the parent's

    results = fork_map(workers, publish_group, list(groups.values()), initializer=forget_parent_connections)
    outcomes = {insp_id: iter(group) for insp_id, group in zip(groups, results, strict=True)}
    return [_logged(next(outcomes[insp_id])) for insp_id, _ in days]


def _inspection_ids(engine: Engine, inspection_id: str | None) -> list[str]:
    known = inspections_in_warehouse(engine)
    if inspection_id is None:
        return known
    check_inspection_id(inspection_id)
    if inspection_id not in known and inspection_id not in registry():
        raise UnknownInspection(f"unknown inspection {inspection_id!r}: not configured, not in the warehouse")
    return [inspection_id]


def warehouse_state(conn: Connection, inspection_id: str, day: dt.date) -> dict[str, object]:
    """What a day's tables are built from: the inspection's files loaded for days up to
    ``day`` (and undated ones) and what operators entered (batch decisions in force,
    batch counts), as a count of files and a fingerprint of all of it."""
    return _state(_loaded(conn, inspection_id), day)


_OPERATOR = "op:"  # tokens of what operators entered, beside the files' hashes


def _loaded(conn: Connection, inspection_id: str) -> list[tuple[dt.date | None, str]]:
    """(landing day, sha256) of every file loaded for the inspection; (effective day,
    "op:decision:<id>") of every batch decision and (None: every day, "op:count:<batch>=<n>")
    of every count an operator entered: a new one makes the days it changes stale."""
    q = select(files.c.received_on, files.c.sha256).where(files.c.inspection_id == inspection_id)
    d, b = batch_decisions, batches
    decided = select(d.c.effective_on, d.c.decision_id).where(d.c.inspection_id == inspection_id)
    counted = select(b.c.batch_no, b.c.transferred_count).where(
        b.c.inspection_id == inspection_id, b.c.counted_on.is_(None), b.c.transferred_count.is_not(None)
    )
    return [
        *((day, sha) for day, sha in conn.execute(q)),
        *((day, f"{_OPERATOR}decision:{n}") for day, n in conn.execute(decided)),
        *((None, f"{_OPERATOR}count:{no}={n}") for no, n in conn.execute(counted)),
    ]


def _state(loaded: list[tuple[dt.date | None, str]], day: dt.date) -> dict[str, object]:
    tokens = sorted(token for d, token in loaded if d is None or d <= day)
    shas = [t for t in tokens if not t.startswith(_OPERATOR)]
    return {"files": len(shas), "fingerprint": hashlib.sha256("\n".join(tokens).encode()).hexdigest()}


def stale_days(engine: Engine, out_root: Path, inspection_id: str | None = None) -> list[tuple[str, dt.date]]:
    """(inspection, day) for every landing day with loaded files whose tables are not in
    the outbox, or were built from another warehouse state; oldest first."""
    out: list[tuple[str, dt.date]] = []
    ids = _inspection_ids(engine, inspection_id)
    with engine.connect() as conn:
        for insp_id in ids:
            loaded = _loaded(conn, insp_id)
            for day in sorted({d for d, t in loaded if d is not None and not t.startswith(_OPERATOR)}):
                if _published_state(out_root, insp_id, day) != _state(loaded, day):
                    out.append((insp_id, day))
    return sorted(out, key=lambda item: (item[1], item[0]))


def _published_state(out_root: Path, inspection_id: str, day: dt.date) -> object:
    path = under(out_root, inspection_id, day.isoformat(), MANIFEST_NAME)
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("warehouse")
    except (OSError, ValueError, AttributeError):
        return None  # missing or unreadable: publish it again


def reconcile(engine: Engine, out_root: Path, *, inspection_id: str | None = None) -> list[PublishOutcome]:
    """Publish every stale or missing day (``stale_days``), oldest first within each
    inspection; nothing when the outbox is up to date, so running it again changes
    nothing."""
    return publish_days(engine, out_root, list(stale_days(engine, out_root, inspection_id)))


def publish_run(
    engine: Engine, out_root: Path, *, inspection_id: str | None = None, as_of: dt.date | None = None
) -> list[PublishOutcome]:
    """One publishing run (the DAG's, the CLI's): ``as_of`` publishes that day whether
    stale or not; without it, ``reconcile``. Logs one line of what it wrote."""
    if as_of is not None:
        outcomes = publish_all(engine, out_root, inspection_id=inspection_id, as_of=as_of)
    else:
        outcomes = reconcile(engine, out_root, inspection_id=inspection_id)
    done = [o for o in outcomes if o.folder]
    log.info(
        "published %d day(s): %s",
        len(done),
        ", ".join(f"{o.inspection_id} {o.as_of} ({len(o.files)} files)" for o in done) or "none",
    )
    return outcomes

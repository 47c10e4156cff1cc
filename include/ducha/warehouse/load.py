"""Loading one validated file: one transaction, set-based, idempotent, reconciled.

Per file: read what the warehouse already holds for the file's case IDs (one statement),
work out the new cases and the new versions column by column, then write them in bulk:
COPY straight into each table on PostgreSQL, executemany on SQLite. A concurrent load that
wrote the same case first makes this one fail on a key and start again from the top,
so nothing is duplicated and no update is lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import pandas as pd
from sqlalchemy import Connection, Engine, Table, bindparam, column, func, select, table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from ducha.config import Inspection
from ducha.contract import load_contract
from ducha.intake.parse import ParsedFile
from ducha.parallel import beside
from ducha.warehouse.schema import (
    CASE_FACTS,
    STATE_COLUMNS,
    batches,
    case_versions,
    cases,
    files,
    inspections,
    quarantined_rows,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadResult:
    sha256: str
    status: str  # loaded | partial | quarantined | skipped (already loaded)
    rows_total: int
    rows_loaded: int
    rows_quarantined: int


class ReconciliationError(RuntimeError):
    """Rows in the file != rows loaded + rows quarantined."""


def _among(conn: Connection, ids: Sequence[str]) -> Callable[[ColumnElement[str]], ColumnElement[bool]]:
    """``column IN ids`` for any number of ids, in one statement: on PostgreSQL as
    ``= ANY(array)`` (one parameter); on SQLite through a temporary table filled by one
    executemany (each bound IN parameter cost SQLAlchemy ~5 µs to render, and 500-id
    chunks made 200 round trips per 100,000 ids). The condition reads the set as it is
    when its statement runs: run it before the next ``_among`` on this connection."""
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        driver.adapters.register_dumper(_VarcharArray, _varchar_array_dumper())  # type: ignore[union-attr]
        # Untyped for SQLAlchemy (its ARRAY type would make the text a list again).
        param = bindparam(None, _VarcharArray.of(ids), type_=NullType())
        return lambda column: column == func.any(param)
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {_IDS.name} (id TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.exec_driver_sql(f"DELETE FROM {_IDS.name}")
    if ids:
        conn.exec_driver_sql(f"INSERT OR IGNORE INTO {_IDS.name} VALUES (?)", [(i,) for i in ids])
    return lambda column: column.in_(select(_IDS.c.id))


_IDS = table("_ducha_ids", column("id"))


class _VarcharArray(str):
    """A varchar[] parameter as its text form, built by one join: psycopg's own array
    dumper is a Python loop (0.18 s per 100,000 IDs, this 0.06 s; a load sends its IDs
    three times). Sent typed as varchar[], it is a constant to the planner, as a list is
    (a text parameter cast on the server is not: array_in is only stable, so a filter
    would parse the array again for every row)."""

    @classmethod
    def of(cls, values: Sequence[str]) -> _VarcharArray:
        # Inside double quotes only a backslash and a quote need escaping.
        quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
        return cls("{" + ",".join(f'"{v}"' for v in quoted) + "}")


@cache
def _varchar_array_dumper() -> type:
    """psycopg's dumper for a _VarcharArray (psycopg imported only where PostgreSQL is)."""
    from psycopg import postgres
    from psycopg.adapt import Dumper

    class VarcharArrayDumper(Dumper):
        oid = postgres.types["varchar"].array_oid

        def dump(self, obj: str) -> bytes:
            return obj.encode()

    return VarcharArrayDumper


def _insert(conn: Connection, table: Table):  # type: ignore[no-untyped-def]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def already_loaded(conn: Connection, sha256: str) -> bool:
    return conn.execute(select(files.c.sha256).where(files.c.sha256 == sha256)).first() is not None


@dataclass(frozen=True)
class KnownCase:
    """What the warehouse holds for a case, as seen from a file's as-of day."""

    summary: str
    top: int  # its highest version number (0: no version yet)
    state_at: str | None  # hash of the state in effect at the as-of day
    facts: dict[str, object]  # CASE_FACTS in effect then (else as first reported)
    latest: tuple[dt.date, int] | None  # (as_of, version_no) of its latest version


def load_day(parsed: ParsedFile) -> dt.date:
    """The as-of day a file's versions take: an undated file's sorts before every day."""
    return parsed.as_of or dt.date(1970, 1, 1)


def known_cases(
    conn: Connection, inspection_id: str, case_ids: list[str], as_of: dt.date
) -> dict[str, KnownCase]:
    """Cases already in the warehouse among ``case_ids``: two statements, whatever their number.

    "In effect" is by as-of day, then load order: a backfill that loads an earlier day
    after a later one adds the earlier state without making it the current one.
    """
    v = case_versions
    out: dict[str, KnownCase] = {}
    among = _among(conn, sorted(set(case_ids)))
    summaries = dict(
        conn.execute(
            select(cases.c.case_id, cases.c.summary).where(
                cases.c.inspection_id == inspection_id, among(cases.c.case_id)
            )
        ).all()
    )
    if not summaries:
        return out  # none of these cases is known: no versions to read
    found: dict[str, list] = {}
    rows = conn.execute(
        select(v.c.case_id, v.c.as_of, v.c.version_no, v.c.state_hash, *(v.c[f] for f in CASE_FACTS)).where(
            v.c.inspection_id == inspection_id, among(v.c.case_id)
        )
    )
    for r in rows:
        found.setdefault(r.case_id, []).append(r)
    for case_id, summary in summaries.items():
        vs = sorted(found.get(case_id, []), key=lambda r: (r.as_of, r.version_no))
        before = [r for r in vs if r.as_of <= as_of]
        effect = before[-1] if before else (vs[0] if vs else None)
        out[case_id] = KnownCase(
            summary=summary,
            top=max((r.version_no for r in vs), default=0),
            state_at=before[-1].state_hash if before else None,
            facts=_facts(effect) if effect is not None else {},
            latest=(vs[-1].as_of, vs[-1].version_no) if vs else None,
        )
    return out


def _facts(row) -> dict[str, object]:  # type: ignore[no-untyped-def]
    fields = load_contract().fields
    return {name: _stored(fields[name].kind, [getattr(row, name)])[0] for name in CASE_FACTS}


def ensure_inspection(conn: Connection, insp: Inspection) -> None:
    conn.execute(
        _insert(conn, inspections)
        .values(
            inspection_id=insp.id,
            name=insp.name,
            level=insp.level,
            province=insp.province,
            deadline_days=insp.deadline_days,
            fine_unit=insp.fine_unit,
        )
        .on_conflict_do_nothing()
    )


def state_columns(frame: pd.DataFrame) -> dict[str, list[object]]:
    """The versioned state of each row, column by column, each value in the one form it
    is stored and hashed in (by the kind of its contract field)."""
    fields = load_contract().fields
    return {name: _stored(fields[name].kind, frame[name].tolist()) for name in STATE_COLUMNS}


def _stored(kind: str, values: list[object]) -> list[object]:
    if kind == "types":
        return [v or "" for v in values]  # held joined in the frame
    if kind == "flag":
        return [bool(v) for v in values]
    if kind == "int":
        return [None if v is None else int(v) for v in values]  # type: ignore[call-overload]
    if kind == "enum":
        return [v or None for v in values]
    if kind in ("count", "money"):
        # Hashed as floats (the hash is frozen); a money column stores the decimal value
        # the float's shortest form writes, which is the amount intake rounded.
        return [None if v is None else float(v) for v in values]  # type: ignore[arg-type]
    return ["" if v is None else v for v in values]


def state_hash(state: Sequence[object]) -> str:
    """The digest of one state, its values in STATE_COLUMNS order (frozen: stored hashes
    of earlier loads are compared with it)."""
    blob = "".join(_STATE_JSON(list(state), 0))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# What json.dumps(…, ensure_ascii=False, default=str) writes, its C encoder made once:
# dumps and JSONEncoder.encode build one on every call, a third of a hash's cost. No
# check for cycles: a state is a flat list of values.
_STATE_JSON = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, str, json.encoder.encode_basestring, None, ": ", ", ", False, False, True
    )
    if json.encoder.c_make_encoder is not None
    else json.JSONEncoder(ensure_ascii=False, default=str).iterencode
)


def load_file(
    engine: Engine,
    parsed: ParsedFile,
    *,
    stored_path: str,
    attempts: int = 5,
    before_commit: Callable[[], None] | None = None,
) -> LoadResult:
    """Merge the accepted rows of ``parsed`` and record the rejected ones.

    One transaction per file; a file already loaded (same sha256) is a no-op.
    ``before_commit`` is called once the rows are written, before they are committed; what
    it raises rolls the file back (a load begun before its checks were all in).
    """
    for attempt in range(1, attempts + 1):
        try:
            # On SQLite, take the write lock at BEGIN (see db.engine), not at the first write.
            with engine.connect().execution_options(ducha_write=True) as conn, conn.begin():
                result = _load(conn, parsed, stored_path)
                if before_commit is not None and result.status != "skipped":
                    before_commit()
            _analyze_after_bulk(engine, result.rows_loaded)
            return result
        except (IntegrityError, OperationalError) as exc:
            # Another load got there first (same file, or a version of the same case).
            with engine.connect() as conn:
                if already_loaded(conn, parsed.sha256):
                    log.info("%s loaded concurrently elsewhere: nothing to do", parsed.path.name)
                    return LoadResult(parsed.sha256, "skipped", len(parsed), 0, 0)
            if attempt == attempts:
                raise
            # A concurrent load's clash, or the connection lost (a server restarted, a
            # session ended by an administrator): the transaction is gone whole, try again.
            log.warning("%s: load interrupted (%s), trying again", parsed.path.name, interruption(exc))
    raise AssertionError("unreachable")


def interruption(exc: BaseException) -> str:
    """What stopped a load, in one line: the error's kind and the driver's first line."""
    reason = (str(getattr(exc, "orig", exc)).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {reason}"


# PostgreSQL plans by its statistics, which autovacuum refreshes only some time after a
# load: until then a count over v_case_latest measured 3x slower (hash joins sized for an
# empty table), and on a warehouse never analysed (every file small, as daily batches
# are) the case search joined every version to every case: 2,500 cases, 450 ms instead
# of 11. A load that is large, or that finds the tables grown by half since their last
# ANALYZE (however many small loads that took), refreshes them itself. The growth is read
# in pages (the table's size against the pages its statistics counted): exact at once,
# where the activity counters lag. What matters most is the values: an inspection that
# came after the last ANALYZE is estimated at one row, and a round landed at once (5
# inspections, 355 small files) took 30 s to read one inspection's states, joining every
# case to every version.
ANALYZE_AFTER_ROWS = 10_000
ANALYZE_AFTER_GROWTH = 0.5
ANALYZED = ("cases", "case_versions", "batches", "files")


def _analyze_after_bulk(engine: Engine, rows_loaded: int) -> None:
    if engine.dialect.name != "postgresql" or rows_loaded == 0:
        return
    with engine.begin() as conn:
        # relpages: the pages the last ANALYZE (or VACUUM) saw; 0 when never analysed.
        counted, pages = conn.exec_driver_sql(
            "SELECT relpages, pg_relation_size(oid) / current_setting('block_size')::int "
            "FROM pg_class WHERE oid = 'case_versions'::regclass"
        ).one()
        if rows_loaded >= ANALYZE_AFTER_ROWS or counted <= 0 or pages >= (1 + ANALYZE_AFTER_GROWTH) * counted:
            conn.exec_driver_sql(f"ANALYZE {', '.join(ANALYZED)}")


def _load(conn: Connection, parsed: ParsedFile, stored_path: str) -> LoadResult:
    insp = parsed.inspection
    total = len(parsed)
    if already_loaded(conn, parsed.sha256):
        log.info("file %s (%s) already loaded: nothing to do", parsed.path.name, parsed.sha256[:12])
        return LoadResult(parsed.sha256, "skipped", total, 0, 0)
    rejected = parsed.rejected_positions()  # every row, when the file itself is refused
    accepted = sorted(set(range(total)) - set(rejected))
    status = "quarantined" if parsed.rejected or not accepted else ("partial" if rejected else "loaded")
    ensure_inspection(conn, insp)
    batch_no, _ = parsed.batch
    # The files row goes first: a concurrent load of the same file fails here, not later.
    conn.execute(
        files.insert().values(
            sha256=parsed.sha256,
            inspection_id=insp.id,
            name=parsed.path.name,
            stored_path=stored_path,
            size=parsed.size,
            received_on=parsed.as_of,
            batch_no=batch_no,
            status=status,
            rows_total=total,
            rows_loaded=0,
            rows_quarantined=0,
            warnings=sum(1 for found in parsed.row_issues.values() for i in found if i.level == "warning"),
        )
    )
    _merge_batches(conn, insp, parsed)
    rows = parsed.frame.iloc[accepted]
    _merge_cases(conn, insp, parsed, rows, parsed.given.iloc[accepted])
    _quarantine(conn, insp, parsed, rejected)
    accepted_ids = sorted(set(rows["case_id"]))
    _resolve_quarantine(conn, insp.id, accepted_ids, parsed.sha256)
    loaded, quarantined = _reconcile(conn, insp.id, parsed, accepted_ids, len(accepted))
    conn.execute(
        update(files)
        .where(files.c.sha256 == parsed.sha256)
        .values(rows_loaded=loaded, rows_quarantined=quarantined)
    )
    return LoadResult(parsed.sha256, status, total, loaded, quarantined)


def _reconcile(
    conn: Connection, inspection_id: str, parsed: ParsedFile, accepted_ids: list[str], accepted: int
) -> tuple[int, int]:
    """(rows loaded, rows quarantined) as the database now holds them, checked against
    the rows read from the file: every accepted row is a distinct case in the warehouse,
    every rejected row a quarantine entry of this file. A row lost on the way (two
    accepted rows of one case, a conflict swallowed) raises, and the load rolls back."""
    among = _among(conn, accepted_ids)
    loaded = conn.execute(
        select(func.count())
        .select_from(cases)
        .where(cases.c.inspection_id == inspection_id, among(cases.c.case_id))
    ).scalar_one()
    quarantined = conn.execute(
        select(func.count())
        .select_from(quarantined_rows)
        .where(quarantined_rows.c.file_sha256 == parsed.sha256)
    ).scalar_one()
    if loaded + quarantined != len(parsed) or loaded != accepted:
        raise ReconciliationError(
            f"{parsed.path.name}: {len(parsed)} rows in the file, {accepted} accepted, but the "
            f"warehouse holds {loaded} loaded + {quarantined} quarantined"
        )
    return loaded, quarantined


def _merge_batches(conn: Connection, insp: Inspection, parsed: ParsedFile) -> None:
    b = batches
    for no, day in sorted(parsed.batches.items()):
        # The date is known from this file's as-of day on (an undated file: from the date).
        dated = parsed.as_of or day
        conn.execute(
            _insert(conn, b)
            .values(inspection_id=insp.id, batch_no=no, transferred_on=day, dated_on=dated if day else None)
            .on_conflict_do_nothing()
        )
        this = (b.c.inspection_id == insp.id) & (b.c.batch_no == no)
        if no in parsed.batch_counts:  # the first count given stands; an operator may correct it
            conn.execute(
                update(b)
                .where(this, b.c.transferred_count.is_(None))
                .values(transferred_count=parsed.batch_counts[no], counted_on=dated)
            )
            # A backfill that loads an earlier day's file later: the count was known earlier.
            conn.execute(
                update(b)
                .where(this, b.c.transferred_count == parsed.batch_counts[no], b.c.counted_on > dated)
                .values(counted_on=dated)
            )
        if day is None:
            continue
        conn.execute(
            update(b).where(this, b.c.transferred_on.is_(None)).values(transferred_on=day, dated_on=dated)
        )
        # A backfill that loads an earlier day's file later: the date was known earlier.
        conn.execute(
            update(b).where(this, b.c.transferred_on == day, b.c.dated_on > dated).values(dated_on=dated)
        )
        # Cases first seen in an update file, before their batch's date was known.
        stored = conn.execute(select(b.c.transferred_on).where(this)).scalar_one()
        undated = cases.c.inspection_id == insp.id, cases.c.batch_no == no, cases.c.due_on.is_(None)
        by_days: dict[int, list[str]] = {}
        for case_id, region in conn.execute(select(cases.c.case_id, cases.c.region).where(*undated)):
            by_days.setdefault(insp.deadline_for(region), []).append(case_id)
        for days, case_ids in by_days.items():
            among = _among(conn, case_ids)
            conn.execute(
                update(cases)
                .where(*undated, among(cases.c.case_id))
                .values(due_on=stored + dt.timedelta(days=days))
            )


def _merge_cases(
    conn: Connection, insp: Inspection, parsed: ParsedFile, rows: pd.DataFrame, given: pd.DataFrame
) -> None:
    """New cases and new versions of the accepted ``rows``, worked out column by column
    against what the warehouse holds, then written in bulk. Only the cases already known
    are looked at one by one; a file of new cases passes its columns through whole."""
    if rows.empty:
        return
    case_ids: list[str] = rows["case_id"].tolist()
    as_of = load_day(parsed)
    known = known_cases(conn, insp.id, case_ids, as_of)
    transferred = dict(
        conn.execute(
            select(batches.c.batch_no, batches.c.transferred_on).where(batches.c.inspection_id == insp.id)
        ).all()
    )
    state = state_columns(rows)
    # A fact a row leaves blank keeps what is known of the case.
    if known:
        for name in CASE_FACTS:
            column = state[name]
            for i, gave in enumerate(given[name].tolist()):
                if not gave and (prev := known.get(case_ids[i])) is not None and name in prev.facts:
                    column[i] = prev.facts[name]
    regions, types, statuses = state["region"], state["pollution_types"], state["status"]
    # A few dozen regions: their code and deadline worked out once each.
    codes = {r: insp.resolve_region(str(r))[1] for r in set(regions)}
    deadlines = {r: insp.deadline_for(str(r)) for r in codes}
    # Two accepted rows of one case (validation skipped) keep the first: _reconcile refuses it.
    first = _first_positions(case_ids)
    new = [i for i in first if case_ids[i] not in known]
    closed = set(load_contract().closed_statuses)
    id_invalid = {
        pos for pos, found in parsed.row_issues.items() if any(i.rule == "CASE_ID_PATTERN" for i in found)
    }
    positions = rows.index.tolist()
    batch_nos = rows["batch_no"].tolist()
    due: dict[tuple[object, object], dt.date | None] = {}
    for i in new:  # one due day per (batch, region)
        key = (batch_nos[i], regions[i])
        if key not in due:
            day = transferred.get(batch_nos[i])
            due[key] = day + dt.timedelta(days=deadlines[regions[i]]) if day else None
    n_new = len(new)
    new_cases = {
        "inspection_id": [insp.id] * n_new,
        "case_id": _take(case_ids, new),
        "batch_no": _take(batch_nos, new),
        "seq": _take(state["seq"], new),
        "received_on": _take(rows["received_on"].tolist(), new),
        "channel": _take(rows["channel"].tolist(), new),
        "id_valid": [positions[i] not in id_invalid for i in new],
        "region": _take(regions, new),
        "region_code": [codes[regions[i]] for i in new],
        "pollution_types": _take(types, new),
        "summary": [s or "" for s in _take(rows["summary"].tolist(), new)],
        "key_case": _take(state["key_case"], new),
        "duplicate_of": [d or None for d in _take(rows["duplicate_of"].tolist(), new)],
        "due_on": [due[(batch_nos[i], regions[i])] for i in new],
        "first_file": [parsed.sha256] * n_new,
        # A new case's one version is its latest.
        "latest_version_no": [1] * n_new,
        "latest_as_of": [as_of] * n_new,
        "closed_on": [as_of if statuses[i] in closed else None for i in new],
    }
    # The new cases are written in a thread while their versions are hashed here: the
    # database's own work on them (keys, the batch check) then costs no time of ours.
    # The thread has the connection to itself until it is done; nothing here touches it.
    # A concurrent file carrying the same new case or version clashes on a key, and
    # load_file starts this one again with fresh version numbers.
    with beside(_bulk, conn, cases, new_cases) as cases_written:
        new_versions, latest_moves, closings = _versions(parsed, rows, case_ids, first, known, state, codes)
    cases_written.result()
    _bulk(conn, case_versions, new_versions)
    _keep_latest(conn, insp.id, latest_moves, closings)


def _versions(
    parsed: ParsedFile,
    rows: pd.DataFrame,
    case_ids: list[str],
    first: list[int],
    known: dict[str, KnownCase],
    state: dict[str, list[object]],
    codes: dict[object, str | None],
) -> tuple[dict[str, list[object]], list[dict[str, object]], list[dict[str, object]]]:
    """The new versions of the rows at ``first`` (those whose state differs from the one
    in effect), as columns; and the known cases whose latest version or closing day they
    move."""
    as_of = load_day(parsed)
    closed = set(load_contract().closed_statuses)
    states = list(zip(*(state[name] for name in STATE_COLUMNS), strict=True))
    digests = [state_hash(s) for s in states]
    statuses = state["status"]
    versioned = [i for i in first if (prev := known.get(case_ids[i])) is None or prev.state_at != digests[i]]
    version_nos = [known[case_ids[i]].top + 1 if case_ids[i] in known else 1 for i in versioned]
    closed_on = [as_of if statuses[i] in closed else None for i in versioned]
    latest_moves: list[dict[str, object]] = []  # known cases whose new version is the latest
    closings: list[dict[str, object]] = []  # known cases whose new version is closed
    for k, i in enumerate(versioned):
        prev = known.get(case_ids[i])
        if prev is None:
            continue  # a new case: its latest version is written with it
        if prev.latest is None or (as_of, version_nos[k]) > prev.latest:
            latest_moves.append({"b_case": case_ids[i], "b_version": version_nos[k], "b_as_of": as_of})
        if closed_on[k] is not None:
            closings.append({"b_case": case_ids[i], "b_day": closed_on[k]})
    n_versioned = len(versioned)
    regions = state["region"]
    new_versions = {
        "inspection_id": [parsed.inspection.id] * n_versioned,
        "case_id": _take(case_ids, versioned),
        "version_no": version_nos,
        "as_of": [as_of] * n_versioned,
        "region_code": [codes[regions[i]] for i in versioned],
        **{name: _take(state[name], versioned) for name in STATE_COLUMNS},
        "state_hash": _take(digests, versioned),
        "source_file": [parsed.sha256] * n_versioned,
        "source_sheet": _take(rows["_sheet"].tolist(), versioned),
        "source_row": _take(rows["_row"].tolist(), versioned),
    }
    return new_versions, latest_moves, closings


def _first_positions(case_ids: list[str]) -> list[int]:
    """Positions of each case ID's first row."""
    seen: dict[str, int] = {}
    for i, case_id in enumerate(case_ids):
        seen.setdefault(case_id, i)
    return list(seen.values()) if len(seen) < len(case_ids) else list(range(len(case_ids)))


def _take(values: list[object], positions: list[int]) -> list[object]:
    """``values`` at ``positions``: the list itself when they are all of it, in order."""
    if len(positions) == len(values):
        return values  # positions are distinct and ascending: all of them, in order
    return [values[i] for i in positions]


def _keep_latest(
    conn: Connection, inspection_id: str, moves: list[dict[str, object]], closings: list[dict[str, object]]
) -> None:
    """Known cases after the file's versions: those whose new version is the latest, and
    an earlier closing day (a backfill can bring one)."""
    c = cases.c
    this = (c.inspection_id == inspection_id) & (c.case_id == bindparam("b_case"))
    if moves:
        conn.execute(
            update(cases)
            .where(this)
            .values(latest_version_no=bindparam("b_version"), latest_as_of=bindparam("b_as_of")),
            moves,
        )
    if closings:
        earlier = c.closed_on.is_(None) | (c.closed_on > bindparam("b_day"))
        conn.execute(update(cases).where(this, earlier).values(closed_on=bindparam("b_day")), closings)


def _quarantine(conn: Connection, insp: Inspection, parsed: ParsedFile, rejected: list[int]) -> None:
    file_errors = [i.to_dict() for i in parsed.issues if i.level == "error"]
    frame = parsed.frame.iloc[rejected]
    errors = [
        [i.to_dict() for i in parsed.row_issues.get(pos, []) if i.level == "error"] or file_errors
        for pos in rejected
    ]
    _bulk(
        conn,
        quarantined_rows,
        {
            "file_sha256": [parsed.sha256] * len(rejected),
            "sheet": frame["_sheet"].tolist(),
            "row": frame["_row"].tolist(),
            "inspection_id": [insp.id] * len(rejected),
            "case_id": [case_id or None for case_id in frame["case_id"]],
            "raw": [parsed.raw(p) for p in rejected],
            "errors": errors,
            "resolved": [False] * len(rejected),
            "resolved_by": [None] * len(rejected),
        },
    )


def _resolve_quarantine(conn: Connection, inspection_id: str, case_ids: list[str], by_file: str) -> None:
    """A corrected row has loaded: its earlier quarantine entries are resolved, not deleted."""
    q = quarantined_rows
    open_here = (q.c.inspection_id == inspection_id) & q.c.resolved.is_(False)
    if conn.execute(select(q.c.case_id).where(open_here).limit(1)).first() is None:
        return  # nothing of this inspection awaits a correction (the usual case)
    among = _among(conn, sorted(set(case_ids)))
    conn.execute(update(q).where(open_here, among(q.c.case_id)).values(resolved=True, resolved_by=by_file))


def _bulk(conn: Connection, table: Table, columns: dict[str, list[object]]) -> None:
    """Insert rows given as columns (name -> values; a column left out is NULL). A row
    that clashes with a key raises: a concurrent load got there first, and load_file
    starts this file again from the top."""
    n = len(next(iter(columns.values()), []))
    if not n:
        return
    cols = [c.name for c in table.columns]
    rows = _tuples(table, columns, n, dates_as_text=conn.dialect.name != "postgresql")
    if conn.dialect.name == "postgresql":
        col_list = ", ".join(f'"{c}"' for c in cols)
        sql = f"COPY {table.name} ({col_list}) FROM STDIN"
        raw = conn.connection.driver_connection
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
                for values in rows:  # psycopg adapts dates itself
                    copy.write_row(values)
        except conn.dialect.loaded_dbapi.Error as exc:
            # The driver's own error, raised as SQLAlchemy raises every other statement's (a
            # key clash is an IntegrityError: load_file retries the file).
            raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc
        return
    # SQLite: the driver's executemany of column tuples; SQLAlchemy's per-row parameter
    # processing costs more than the insert itself on large files.
    sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.exec_driver_sql(sql, rows)


def _tuples(
    table: Table, columns: dict[str, list[object]], n: int, *, dates_as_text: bool
) -> list[tuple[object, ...]]:
    """Columns to parameter tuples in the table's column order, converting only the
    columns the driver cannot take as they are (JSON as text; on SQLite, dates as the
    ISO text SQLAlchemy's Date type stores)."""
    data: list[list[object]] = []
    for c in table.columns:
        values = columns.get(c.name)
        if values is None:
            values = [None] * n
        kind = c.type.__class__.__name__
        if kind == "JSON":
            values = [_to_json(v) for v in values]
        elif dates_as_text and kind == "Date":
            iso = {v: _to_iso(v) for v in set(values)}  # a few distinct days per file
            values = [iso[v] for v in values]
        data.append(values)
    return list(zip(*data, strict=True))


def _to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _to_iso(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def counts(conn: Connection) -> dict[str, int]:
    """Row counts of every table, for logs and the demo's closing summary."""
    out = {}
    for t in (inspections, batches, files, cases, case_versions, quarantined_rows):
        out[t.name] = conn.execute(select(func.count()).select_from(t)).scalar_one()
    return out

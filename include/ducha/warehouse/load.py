"""Loading one validated file: one transaction, set-based, idempotent, reconciled.

Per file: read what the warehouse already holds for the file's case IDs (in chunks),
work out the new cases and the new versions in Python, then write them in bulk: COPY
through a staging table on PostgreSQL, executemany on SQLite. A concurrent load that
wrote the same case first makes this one fail on a key and start again from the top,
so nothing is duplicated and no update is lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter

from sqlalchemy import Connection, Engine, String, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from ducha.config import Inspection
from ducha.contract import TYPE_SEPARATOR
from ducha.intake.parse import CaseRow, ParsedFile
from ducha.warehouse.schema import (
    CASE_FACTS,
    PENALTY_COLUMNS,
    STATE_COLUMNS,
    batches,
    case_types,
    case_versions,
    cases,
    files,
    inspections,
    quarantined_rows,
)

log = logging.getLogger(__name__)

# IN-list sizes: each chunk is a round trip. On SQLite long IN lists measured slower than
# more round trips (make bench); PostgreSQL takes one array parameter (see _in).
CHUNK = {"sqlite": 500, "postgresql": 20_000}
_NUMERIC = set(PENALTY_COLUMNS)


@dataclass(frozen=True)
class LoadResult:
    sha256: str
    status: str  # loaded | partial | quarantined | skipped (already loaded)
    rows_total: int
    rows_loaded: int
    rows_quarantined: int
    new_cases: int = 0
    new_versions: int = 0


class ReconciliationError(RuntimeError):
    """Rows in the file != rows loaded + rows quarantined."""


def _in(column: ColumnElement[str], values: Sequence[str], conn: Connection) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``: one parameter instead of
    thousands, which the server plans and the driver sends far faster."""
    if conn.dialect.name == "postgresql":
        return column == func.any(bindparam(None, list(values), type_=ARRAY(String)))
    return column.in_(values)


def _chunks(items: Sequence[str], conn: Connection) -> Iterator[Sequence[str]]:
    size = CHUNK.get(conn.dialect.name, 500)
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
    latest_types: str  # pollution types of that latest version


def known_cases(
    conn: Connection, inspection_id: str, case_ids: list[str], as_of: dt.date
) -> dict[str, KnownCase]:
    """Cases already in the warehouse among ``case_ids``, read in chunks.

    "In effect" is by as-of day, then load order: a backfill that loads an earlier day
    after a later one adds the earlier state without making it the current one.
    """
    v = case_versions
    out: dict[str, KnownCase] = {}
    for chunk in _chunks(sorted(set(case_ids)), conn):
        summaries = dict(
            conn.execute(
                select(cases.c.case_id, cases.c.summary).where(
                    cases.c.inspection_id == inspection_id, _in(cases.c.case_id, chunk, conn)
                )
            ).all()
        )
        found: dict[str, list] = {}
        rows = conn.execute(
            select(
                v.c.case_id, v.c.as_of, v.c.version_no, v.c.state_hash, *(v.c[f] for f in CASE_FACTS)
            ).where(v.c.inspection_id == inspection_id, _in(v.c.case_id, chunk, conn))
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
                latest_types=vs[-1].pollution_types if vs else "",
            )
    return out


def _facts(row) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "region": row.region,
        "pollution_types": row.pollution_types,
        "key_case": bool(row.key_case),
        "seq": row.seq,
    }


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


def state_of(values: dict[str, object]) -> dict[str, object]:
    """The versioned state of a row, each value in the one form it is stored and hashed in."""
    state: dict[str, object] = {}
    for name in STATE_COLUMNS:
        v = values.get(name)
        if name == "pollution_types":
            state[name] = v if isinstance(v, str) else TYPE_SEPARATOR.join(v or [])  # type: ignore[arg-type]
        elif name == "key_case":
            state[name] = bool(v)
        elif name == "seq":
            state[name] = None if v is None else int(v)  # type: ignore[call-overload]
        elif name in ("verified", "status"):
            state[name] = v or None
        elif isinstance(v, float | int) and not isinstance(v, bool):
            state[name] = float(v)
        else:
            state[name] = v if v is not None else ("" if name not in _NUMERIC else None)
    return state


def facts_of(row: CaseRow, known: KnownCase | None) -> dict[str, object]:
    """The row's values with each case fact it leaves blank taken from what is known."""
    values = dict(row.values)
    if known is not None:
        for name in CASE_FACTS:
            if name not in row.given and name in known.facts:
                values[name] = known.facts[name]
    return values


def state_hash(state: dict[str, object]) -> str:
    blob = json.dumps([state[k] for k in STATE_COLUMNS], ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_file(engine: Engine, parsed: ParsedFile, *, stored_path: str, attempts: int = 5) -> LoadResult:
    """Merge the accepted rows of ``parsed`` and record the rejected ones.

    One transaction per file; a file already loaded (same sha256) is a no-op.
    """
    for attempt in range(1, attempts + 1):
        try:
            # On SQLite, take the write lock at BEGIN (see db.engine), not at the first write.
            with engine.connect().execution_options(ducha_write=True) as conn, conn.begin():
                return _load(conn, parsed, stored_path)
        except (IntegrityError, OperationalError) as exc:
            # Another load got there first (same file, or a version of the same case).
            with engine.connect() as conn:
                if already_loaded(conn, parsed.sha256):
                    log.info("%s loaded concurrently elsewhere: nothing to do", parsed.path.name)
                    return LoadResult(parsed.sha256, "skipped", len(parsed.rows), 0, 0)
            if attempt == attempts:
                raise
            log.warning("%s: concurrent load (%s), trying again", parsed.path.name, type(exc).__name__)
    raise AssertionError("unreachable")


def _load(conn: Connection, parsed: ParsedFile, stored_path: str) -> LoadResult:
    insp = parsed.inspection
    total = len(parsed.rows)
    if already_loaded(conn, parsed.sha256):
        log.info("file %s (%s) already loaded: nothing to do", parsed.path.name, parsed.sha256[:12])
        return LoadResult(parsed.sha256, "skipped", total, 0, 0)
    if parsed.rejected:  # a file-level error: every row goes to quarantine with the file
        accepted, rejected = [], list(parsed.rows)
    else:
        accepted = [r for r in parsed.rows if not any(i.level == "error" for i in r.issues)]
        rejected = [r for r in parsed.rows if any(i.level == "error" for i in r.issues)]
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
            warnings=sum(1 for r in parsed.rows for i in r.issues if i.level == "warning"),
        )
    )
    _merge_batches(conn, insp, parsed)
    new_cases, new_versions = _merge_cases(conn, insp, parsed, accepted)
    _quarantine(conn, insp, parsed, rejected)
    _resolve_quarantine(conn, insp.id, [str(r.values["case_id"]) for r in accepted], parsed.sha256)
    loaded, quarantined = _reconcile(conn, insp.id, parsed, accepted)
    conn.execute(
        update(files)
        .where(files.c.sha256 == parsed.sha256)
        .values(rows_loaded=loaded, rows_quarantined=quarantined)
    )
    return LoadResult(parsed.sha256, status, total, loaded, quarantined, new_cases, new_versions)


def _reconcile(
    conn: Connection, inspection_id: str, parsed: ParsedFile, accepted: list[CaseRow]
) -> tuple[int, int]:
    """(rows loaded, rows quarantined) as the database now holds them, checked against
    the rows read from the file: every accepted row is a distinct case in the warehouse,
    every rejected row a quarantine entry of this file. A row lost on the way (two
    accepted rows of one case, a conflict swallowed) raises, and the load rolls back."""
    loaded = 0
    for chunk in _chunks(sorted({str(r.values["case_id"]) for r in accepted}), conn):
        loaded += conn.execute(
            select(func.count())
            .select_from(cases)
            .where(cases.c.inspection_id == inspection_id, _in(cases.c.case_id, chunk, conn))
        ).scalar_one()
    quarantined = conn.execute(
        select(func.count())
        .select_from(quarantined_rows)
        .where(quarantined_rows.c.file_sha256 == parsed.sha256)
    ).scalar_one()
    if loaded + quarantined != len(parsed.rows):
        raise ReconciliationError(
            f"{parsed.path.name}: {len(parsed.rows)} rows in the file, but the warehouse holds "
            f"{loaded} loaded + {quarantined} quarantined"
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
        if day is None:
            continue
        this = (b.c.inspection_id == insp.id) & (b.c.batch_no == no)
        conn.execute(
            update(b).where(this, b.c.transferred_on.is_(None)).values(transferred_on=day, dated_on=dated)
        )
        # A backfill that loads an earlier day's file later: the date was known earlier.
        conn.execute(
            update(b).where(this, b.c.transferred_on == day, b.c.dated_on > dated).values(dated_on=dated)
        )
        # Cases first seen in an update file, before their batch's date was known.
        stored = conn.execute(select(b.c.transferred_on).where(this)).scalar_one()
        conn.execute(
            update(cases)
            .where(cases.c.inspection_id == insp.id, cases.c.batch_no == no, cases.c.due_on.is_(None))
            .values(due_on=stored + dt.timedelta(days=insp.deadline_days))
        )


def _merge_cases(
    conn: Connection, insp: Inspection, parsed: ParsedFile, accepted: list[CaseRow]
) -> tuple[int, int]:
    if not accepted:
        return 0, 0
    ids = sorted({str(r.values["case_id"]) for r in accepted})
    as_of = parsed.as_of or dt.date(1970, 1, 1)
    known = known_cases(conn, insp.id, ids, as_of)
    transferred = dict(
        conn.execute(
            select(batches.c.batch_no, batches.c.transferred_on).where(batches.c.inspection_id == insp.id)
        ).all()
    )
    region_code: dict[str, str | None] = {}  # a file names a few dozen regions, many times each
    new_case_rows: list[dict[str, object]] = []
    type_rows: list[dict[str, object]] = []
    retyped: list[str] = []  # known cases whose latest version now has other types
    version_rows: list[dict[str, object]] = []
    for row in accepted:
        case_id = str(row.values["case_id"])
        prev = known.get(case_id)
        state = state_of(facts_of(row, prev))
        if prev is None:
            day = transferred.get(row.batch_no)
            new_case_rows.append(
                {
                    "inspection_id": insp.id,
                    "case_id": case_id,
                    "batch_no": row.batch_no,
                    "seq": state["seq"],
                    "received_on": row.values.get("received_on"),
                    "channel": row.values.get("channel"),
                    "id_valid": not any(i.rule == "CASE_ID_PATTERN" for i in row.issues),
                    "region": state["region"],
                    "region_code": _region_code(insp, str(state["region"]), region_code),
                    "pollution_types": state["pollution_types"],
                    "summary": row.values.get("summary") or "",
                    "key_case": state["key_case"],
                    "duplicate_of": row.values.get("duplicate_of") or None,
                    "due_on": day + dt.timedelta(days=insp.deadline_days) if day else None,
                    "first_file": parsed.sha256,
                }
            )
            type_rows.extend(_type_rows(insp.id, case_id, str(state["pollution_types"])))
        digest = state_hash(state)
        if prev is not None and prev.state_at == digest:
            continue  # the same state reported again is not a new version
        version_no = prev.top + 1 if prev else 1
        becomes_latest = prev is not None and (prev.latest is None or (as_of, version_no) > prev.latest)
        if becomes_latest and prev.latest_types != state["pollution_types"]:  # type: ignore[union-attr]
            retyped.append(case_id)
            type_rows.extend(_type_rows(insp.id, case_id, str(state["pollution_types"])))
        known[case_id] = KnownCase(
            summary=str(row.values.get("summary") or ""),
            top=version_no,
            state_at=digest,
            facts={f: state[f] for f in CASE_FACTS},
            latest=max(prev.latest, (as_of, version_no)) if prev and prev.latest else (as_of, version_no),
            latest_types=str(state["pollution_types"]),
        )
        version_rows.append(
            {
                "inspection_id": insp.id,
                "case_id": case_id,
                "version_no": version_no,
                "as_of": as_of,
                "state_hash": digest,
                "source_file": parsed.sha256,
                "source_sheet": row.sheet,
                "source_row": row.row,
                "region_code": _region_code(insp, str(state["region"]), region_code),
                **state,
            }
        )
    # Cases and types may race with a concurrent file carrying the same new case: the
    # first writer wins, the row is identical. Versions must not be dropped: a clash
    # there raises and the whole file is retried with fresh version numbers.
    _bulk(conn, cases, new_case_rows, ignore_conflicts=True)
    for chunk in _chunks(retyped, conn):
        conn.execute(
            case_types.delete().where(
                case_types.c.inspection_id == insp.id, _in(case_types.c.case_id, chunk, conn)
            )
        )
    _bulk(conn, case_types, type_rows, ignore_conflicts=True)
    _bulk(conn, case_versions, version_rows, ignore_conflicts=False)
    return len(new_case_rows), len(version_rows)


def _type_rows(inspection_id: str, case_id: str, types: str) -> list[dict[str, object]]:
    return [
        {"inspection_id": inspection_id, "case_id": case_id, "pollution_type": t}
        for t in types.split(TYPE_SEPARATOR)
        if t
    ]


def _region_code(insp: Inspection, region: str, memo: dict[str, str | None]) -> str | None:
    if region not in memo:
        memo[region] = insp.resolve_region(region)[1]
    return memo[region]


def _quarantine(conn: Connection, insp: Inspection, parsed: ParsedFile, rejected: list[CaseRow]) -> None:
    file_errors = [i.to_dict() for i in parsed.issues if i.level == "error"]
    rows = [
        {
            "file_sha256": parsed.sha256,
            "sheet": row.sheet,
            "row": row.row,
            "inspection_id": insp.id,
            "case_id": str(row.values.get("case_id") or "") or None,
            "raw": row.raw,
            "errors": [i.to_dict() for i in row.issues if i.level == "error"] or file_errors,
            "resolved": False,
            "resolved_by": None,
        }
        for row in rejected
    ]
    _bulk(conn, quarantined_rows, rows, ignore_conflicts=True)


def _resolve_quarantine(conn: Connection, inspection_id: str, case_ids: list[str], by_file: str) -> None:
    """A corrected row has loaded: its earlier quarantine entries are resolved, not deleted."""
    for chunk in _chunks(sorted(set(case_ids)), conn):
        conn.execute(
            update(quarantined_rows)
            .where(
                quarantined_rows.c.inspection_id == inspection_id,
                _in(quarantined_rows.c.case_id, chunk, conn),
                quarantined_rows.c.resolved.is_(False),
            )
            .values(resolved=True, resolved_by=by_file)
        )


def _bulk(conn: Connection, table: Table, rows: list[dict[str, object]], *, ignore_conflicts: bool) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy_merge(conn, table, rows, ignore_conflicts=ignore_conflicts)
        return
    # SQLite: the driver's executemany directly; SQLAlchemy's per-row parameter
    # processing costs more than the insert itself on large files.
    cols = [c.name for c in table.columns]
    verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
    sql = f"{verb} INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.exec_driver_sql(sql, _params(table, rows, dates_as_text=True))


def _copy_merge(
    conn: Connection, table: Table, rows: list[dict[str, object]], *, ignore_conflicts: bool
) -> None:
    """COPY into a temporary staging table, then one INSERT … SELECT into the target."""
    cols = [c.name for c in table.columns]
    stage = f"stage_{table.name}"
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DELETE ROWS")
    conn.exec_driver_sql(f"TRUNCATE {stage}")
    raw = conn.connection.driver_connection
    col_list = ", ".join(f'"{c}"' for c in cols)
    with raw.cursor() as cur, cur.copy(f"COPY {stage} ({col_list}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for values in _params(table, rows, dates_as_text=False):  # psycopg adapts dates itself
            copy.write_row(values)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({col_list}) SELECT {col_list} FROM {stage}{conflict}")


def _params(table: Table, rows: list[dict[str, object]], *, dates_as_text: bool) -> list[tuple[object, ...]]:
    """Row dicts to parameter tuples in column order: itemgetter for speed, converting only
    the columns the driver cannot take as they are (JSON as text; on SQLite, dates as the
    ISO text SQLAlchemy's Date type stores)."""
    cols = [c.name for c in table.columns]
    get = itemgetter(*cols)
    convert = [
        (i, _to_json if c.type.__class__.__name__ == "JSON" else _to_iso)
        for i, c in enumerate(table.columns)
        if c.type.__class__.__name__ == "JSON" or (dates_as_text and c.type.__class__.__name__ == "Date")
    ]
    defaults = dict.fromkeys(cols)
    out = []
    for r in rows:
        values = list(get({**defaults, **r})) if len(r) != len(cols) else list(get(r))
        for i, fn in convert:
            values[i] = fn(values[i])
        out.append(tuple(values))
    return out


def _to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _to_iso(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def counts(conn: Connection) -> dict[str, int]:
    """Row counts of every table, for logs and the demo's closing summary."""
    out = {}
    for t in (inspections, batches, files, cases, case_versions, case_types, quarantined_rows):
        out[t.name] = conn.execute(select(func.count()).select_from(t)).scalar_one()
    return out

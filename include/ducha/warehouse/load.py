"""Loading one validated file: one transaction, idempotent, reconciled."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ducha.config import Inspection
from ducha.intake.parse import CaseRow, ParsedFile
from ducha.warehouse.schema import (
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


def _insert(conn: Connection, table):  # type: ignore[no-untyped-def]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def already_loaded(conn: Connection, sha256: str) -> bool:
    return conn.execute(select(files.c.sha256).where(files.c.sha256 == sha256)).first() is not None


def known_summaries(conn: Connection, inspection_id: str, case_ids: list[str]) -> dict[str, str]:
    """Summaries already in the warehouse for these IDs (for the conflict rule)."""
    out: dict[str, str] = {}
    for i in range(0, len(case_ids), 500):
        chunk = case_ids[i : i + 500]
        rows = conn.execute(
            select(cases.c.case_id, cases.c.summary).where(
                cases.c.inspection_id == inspection_id, cases.c.case_id.in_(chunk)
            )
        )
        out.update({r.case_id: r.summary for r in rows})
    return out


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
    state: dict[str, object] = {}
    for name in STATE_COLUMNS:
        v = values.get(name)
        if name in ("verified", "status"):
            state[name] = v or None
        elif isinstance(v, float | int) and not isinstance(v, bool):
            state[name] = float(v)
        else:
            state[name] = v if v is not None else ("" if name not in _NUMERIC else None)
    return state


_NUMERIC = set(STATE_COLUMNS[7:])


def state_hash(state: dict[str, object]) -> str:
    blob = json.dumps([state[k] for k in STATE_COLUMNS], ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_file(
    engine: Engine,
    parsed: ParsedFile,
    *,
    stored_path: str,
) -> LoadResult:
    """Merge the accepted rows of ``parsed`` and record the rejected ones.

    One transaction per file; a file already loaded (same sha256) is a no-op.
    """
    insp = parsed.inspection
    accepted = [r for r in parsed.rows if not any(i.level == "error" for i in r.issues)]
    rejected = [r for r in parsed.rows if r not in accepted]
    total = len(parsed.rows)
    if parsed.rejected:  # file-level error: every row is quarantined with the file
        accepted, rejected = [], list(parsed.rows)
    try:
        with engine.begin() as conn:
            if already_loaded(conn, parsed.sha256):
                log.info("file %s (%s) already loaded: nothing to do", parsed.path.name, parsed.sha256[:12])
                return LoadResult(parsed.sha256, "skipped", total, 0, 0)
            ensure_inspection(conn, insp)
            status = (
                "quarantined" if parsed.rejected or not accepted else ("partial" if rejected else "loaded")
            )
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
            for no, day in parsed.batches.items():
                conn.execute(
                    _insert(conn, batches)
                    .values(inspection_id=insp.id, batch_no=no, transferred_on=day)
                    .on_conflict_do_nothing()
                )
                if day is not None:
                    conn.execute(
                        update(batches)
                        .where(
                            batches.c.inspection_id == insp.id,
                            batches.c.batch_no == no,
                            batches.c.transferred_on.is_(None),
                        )
                        .values(transferred_on=day)
                    )
            new_cases = new_versions = 0
            as_of = parsed.as_of or dt.date(1970, 1, 1)
            for row in accepted:
                c, v = _merge_row(conn, insp, parsed, row, as_of)
                new_cases += c
                new_versions += v
            for row in rejected:
                _quarantine_row(conn, insp, parsed, row)
            loaded, quarantined = len(accepted), len(rejected)
            if loaded + quarantined != total:
                raise ReconciliationError(
                    f"{parsed.path.name}: {total} rows in the file, {loaded} loaded + {quarantined} quarantined"
                )
            conn.execute(
                update(files)
                .where(files.c.sha256 == parsed.sha256)
                .values(rows_loaded=loaded, rows_quarantined=quarantined)
            )
    except IntegrityError:
        # Another worker loaded the same file at the same moment: that load stands.
        with engine.connect() as conn:
            if already_loaded(conn, parsed.sha256):
                log.info("file %s loaded concurrently elsewhere: nothing to do", parsed.path.name)
                return LoadResult(parsed.sha256, "skipped", total, 0, 0)
        raise
    return LoadResult(parsed.sha256, status, total, loaded, quarantined, new_cases, new_versions)


def _merge_row(
    conn: Connection,
    insp: Inspection,
    parsed: ParsedFile,
    row: CaseRow,
    as_of: dt.date,
) -> tuple[int, int]:
    v = row.values
    case_id = str(v["case_id"])
    key = and_(cases.c.inspection_id == insp.id, cases.c.case_id == case_id)
    new_case = 0
    if conn.execute(select(cases.c.case_id).where(key)).first() is None:
        transferred = conn.execute(
            select(batches.c.transferred_on).where(
                batches.c.inspection_id == insp.id, batches.c.batch_no == row.batch_no
            )
        ).scalar()
        types = list(v.get("pollution_types") or [])
        conn.execute(
            cases.insert().values(
                inspection_id=insp.id,
                case_id=case_id,
                batch_no=row.batch_no,
                seq=v.get("seq"),
                received_on=v.get("received_on"),
                channel=v.get("channel"),
                id_valid=bool(_id_valid(row)),
                region=v.get("region") or "",
                region_code=insp.resolve_region(str(v.get("region") or ""))[1],
                pollution_types="、".join(types),
                summary=v.get("summary") or "",
                key_case=bool(v.get("key_case")),
                duplicate_of=v.get("duplicate_of") or None,
                due_on=transferred + dt.timedelta(days=insp.deadline_days) if transferred else None,
                first_file=parsed.sha256,
            )
        )
        for t in types:
            conn.execute(
                _insert(conn, case_types)
                .values(inspection_id=insp.id, case_id=case_id, pollution_type=t)
                .on_conflict_do_nothing()
            )
        new_case = 1
    state = state_of(v)
    digest = state_hash(state)
    latest = conn.execute(
        select(case_versions.c.version_no, case_versions.c.state_hash)
        .where(case_versions.c.inspection_id == insp.id, case_versions.c.case_id == case_id)
        .order_by(case_versions.c.version_no.desc())
        .limit(1)
    ).first()
    _resolve_quarantine(conn, insp.id, case_id, parsed.sha256)
    if latest is not None and latest.state_hash == digest:
        return new_case, 0  # the same state reported again is not a new version
    conn.execute(
        case_versions.insert().values(
            inspection_id=insp.id,
            case_id=case_id,
            version_no=(latest.version_no + 1) if latest else 1,
            as_of=as_of,
            state_hash=digest,
            source_file=parsed.sha256,
            source_sheet=row.sheet,
            source_row=row.row,
            **state,
        )
    )
    return new_case, 1


def _id_valid(row: CaseRow) -> bool:
    return not any(i.rule == "CASE_ID_PATTERN" for i in row.issues)


def _quarantine_row(conn: Connection, insp: Inspection, parsed: ParsedFile, row: CaseRow) -> None:
    errors = [i.to_dict() for i in row.issues if i.level == "error"] or [
        i.to_dict() for i in parsed.issues if i.level == "error"
    ]
    conn.execute(
        _insert(conn, quarantined_rows)
        .values(
            file_sha256=parsed.sha256,
            sheet=row.sheet,
            row=row.row,
            inspection_id=insp.id,
            case_id=str(row.values.get("case_id") or "") or None,
            raw=row.raw,
            errors=errors,
            resolved=False,
        )
        .on_conflict_do_nothing()
    )


def _resolve_quarantine(conn: Connection, inspection_id: str, case_id: str, by_file: str) -> None:
    """A corrected row has loaded: its earlier quarantine entries are resolved, not deleted."""
    conn.execute(
        update(quarantined_rows)
        .where(
            quarantined_rows.c.inspection_id == inspection_id,
            quarantined_rows.c.case_id == case_id,
            quarantined_rows.c.resolved.is_(False),
        )
        .values(resolved=True, resolved_by=by_file)
    )


def counts(conn: Connection) -> dict[str, int]:
    """Row counts of every table, for logs and the demo's closing summary."""
    out = {}
    for t in (inspections, batches, files, cases, case_versions, case_types, quarantined_rows):
        out[t.name] = conn.execute(select(func.count()).select_from(t)).scalar_one()
    return out

"""Case search for the 案件查询 page: read-only, paginated, scoped to the user's regions,
and linear in the cases (one pass over the inspection's latest versions; a page's
history reads only the cases on it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, or_, select

from ducha.config import Inspection
from ducha.contract import load_contract
from ducha.warehouse.schema import case_versions, cases, files
from ducha.web.access import Scope

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_KEYWORD = 100
# Status choices beyond the vocabulary: any not closed, and none reported yet.
OPEN = "open"
UNREPORTED = "unreported"


def _latest():  # type: ignore[no-untyped-def]
    """Each case's latest state: the case → its latest version. The columns of
    v_case_latest the pages use, without its join to batches (a page needs no transfer
    date), so PostgreSQL can walk ix_cases_batch_order and stop at the page's end."""
    v, c = case_versions.c, cases.c
    closed = tuple(load_contract().closed_statuses)
    return (
        select(
            # The case's own keys: the order (batch_no, case_id) is then ix_cases_batch_order's.
            c.inspection_id,
            c.case_id,
            c.batch_no,
            v.region,
            v.region_code,
            v.pollution_types,
            c.summary,
            v.findings,
            v.verified,
            v.handling,
            v.status,
            v.key_case,
            c.due_on,
            v.as_of.label("reported_on"),
            c.closed_on,
            case((v.status.in_(closed), c.closed_on > c.due_on)).label("closed_late"),
        )
        .select_from(
            cases.join(
                case_versions,
                and_(
                    v.inspection_id == c.inspection_id,
                    v.case_id == c.case_id,
                    v.version_no == c.latest_version_no,
                ),
            )
        )
        .subquery("latest")
    )


latest = _latest()

SHOWN = (
    "case_id",
    "batch_no",
    "region",
    "pollution_types",
    "summary",
    "verified",
    "status",
    "key_case",
    "due_on",
    "reported_on",
    "closed_on",
    "closed_late",
)


@dataclass(frozen=True)
class Criteria:
    """What the search form asks for; every field optional. ``overdue`` is asked as of
    ``today`` (the page passes the inspection's local date)."""

    keyword: str = ""
    region: str = ""
    pollution_type: str = ""
    verified: str = ""
    status: str = ""
    key_case: bool | None = None
    batch_no: int | None = None
    overdue: bool = False
    today: dt.date = field(default_factory=dt.date.today)


def personal_keyword(keyword: str) -> bool:
    """Is the keyword personal data (a phone or ID-card number, an account, a name after
    举报人…)? It is not searched for: the pages mask such data, and a search would still
    tell whose complaint holds it."""
    from ducha.disclosure.redact import find_personal

    return bool(keyword.strip()) and bool(find_personal(keyword.strip()[:MAX_KEYWORD]))


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _escaped(text_value: str) -> str:
    """A user's words with LIKE's wildcards escaped, so they match literally."""
    return text_value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(text_value: str) -> str:
    """Containing the words."""
    return f"%{_escaped(text_value)}%"


def _prefix(text_value: str) -> str:
    """Starting with the words (a region and the places under it)."""
    return f"{_escaped(text_value)}%"


def scope_clause(scope: Scope, insp: Inspection) -> ColumnElement[bool]:
    """The cases a scope sees: its cities by code (the column publishing groups by), its
    counties by the region as written, prefix first."""
    if scope.everything:
        return and_(True)
    codes = [code for r in insp.regions if r.name in scope.cities(insp) and (code := r.code)]
    parts: list[ColumnElement[bool]] = []
    if codes:
        parts.append(latest.c.region_code.in_(codes))
    parts += [latest.c.region.like(_prefix(c), escape="\\") for c in sorted(scope.counties(insp))]
    return or_(*parts) if parts else false()


def where(insp: Inspection, criteria: Criteria, scope: Scope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [latest.c.inspection_id == insp.id, scope_clause(scope, insp)]
    keyword = criteria.keyword.strip()[:MAX_KEYWORD]
    if keyword:
        pattern = _like(keyword)
        conditions.append(
            or_(
                latest.c.summary.like(pattern, escape="\\"),
                latest.c.findings.like(pattern, escape="\\"),
                latest.c.handling.like(pattern, escape="\\"),
                latest.c.case_id.like(pattern, escape="\\"),
            )
        )
    if criteria.region:
        conditions.append(latest.c.region.like(_prefix(criteria.region.strip()), escape="\\"))
    if criteria.pollution_type:
        conditions.append(latest.c.pollution_types.like(_like(criteria.pollution_type.strip()), escape="\\"))
    if criteria.verified:
        conditions.append(latest.c.verified == criteria.verified)
    if criteria.status == OPEN:
        conditions.append(or_(latest.c.status.is_(None), latest.c.status.not_in(_closed())))
    elif criteria.status == UNREPORTED:
        conditions.append(latest.c.status.is_(None))
    elif criteria.status:
        conditions.append(latest.c.status == criteria.status)
    if criteria.key_case is not None:
        conditions.append(latest.c.key_case == criteria.key_case)
    if criteria.batch_no is not None:
        conditions.append(latest.c.batch_no == criteria.batch_no)
    if criteria.overdue:
        open_past_due = and_(
            or_(latest.c.status.is_(None), latest.c.status.not_in(_closed())),
            latest.c.due_on < criteria.today,
        )
        conditions.append(or_(open_past_due, latest.c.closed_late.is_(True)))
    return conditions


def _closed() -> tuple[str, ...]:
    return tuple(load_contract().closed_statuses)


def search(
    conn: Connection,
    insp: Inspection,
    criteria: Criteria,
    scope: Scope,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> Page:
    """One page of the cases matching ``criteria`` that ``scope`` sees, newest batch
    first, and how many match in all."""
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    page = max(1, page)
    if personal_keyword(criteria.keyword):
        return Page([], 0, 1, per_page)
    conditions = where(insp, criteria, scope)
    listed = (
        select(*(latest.c[name] for name in SHOWN))
        .where(*conditions)
        .order_by(latest.c.batch_no.desc(), latest.c.case_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    if criteria.keyword.strip():
        # Words match few cases anywhere in the texts: one pass finds them and counts
        # them (a window count), instead of a count and a page that each read every text.
        rows = [
            dict(r) for r in conn.execute(listed.add_columns(func.count().over().label("_total"))).mappings()
        ]
        total = rows[0].pop("_total") if rows else None
        for r in rows[1:]:
            r.pop("_total")
        if total is not None:
            return Page(rows, int(total), page, per_page)
    else:
        rows = [dict(r) for r in conn.execute(listed).mappings()]
    total = conn.execute(select(func.count()).select_from(latest).where(*conditions)).scalar_one()
    return Page(rows, int(total), page, per_page)


def one_case(conn: Connection, insp: Inspection, case_id: str, scope: Scope) -> dict | None:
    """One case's latest state, by its ID, if the scope sees it."""
    row = (
        conn.execute(
            select(*(latest.c[name] for name in SHOWN)).where(
                latest.c.inspection_id == insp.id, latest.c.case_id == case_id, scope_clause(scope, insp)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def history(conn: Connection, insp: Inspection, case_id: str, scope: Scope) -> list[dict]:
    """Every version of one case (which day reported what, from which file), oldest
    first; empty when the case is not there or not in the scope. A version that placed
    the case in a region outside the scope (a case moved to another county) is left
    out: it is that region's record."""
    visible = conn.execute(
        select(latest.c.case_id).where(
            latest.c.inspection_id == insp.id, latest.c.case_id == case_id, scope_clause(scope, insp)
        )
    ).first()
    if visible is None:
        return []
    v = case_versions.c
    rows = conn.execute(
        select(
            v.version_no,
            v.as_of,
            v.region,
            v.status,
            v.verified,
            v.findings,
            v.handling,
            v.accountability,
            files.c.name.label("source_name"),
            v.source_sheet,
            v.source_row,
        )
        .join(files, files.c.sha256 == v.source_file, isouter=True)
        .where(v.inspection_id == insp.id, v.case_id == case_id)
        .order_by(v.version_no)
    ).mappings()
    return [dict(r) for r in rows if scope.sees_region(insp, r["region"] or "")]


def choices(conn: Connection, insp: Inspection) -> dict[str, list]:
    """The values the form offers: the batches present, the vocabularies, the cities."""
    batches = conn.execute(
        select(latest.c.batch_no)
        .where(latest.c.inspection_id == insp.id)
        .distinct()
        .order_by(latest.c.batch_no)
    ).scalars()
    vocab = load_contract().vocabularies
    return {
        "batches": list(batches),
        "statuses": [
            (OPEN, "全部未办结"),
            (UNREPORTED, "尚未反馈"),
            *((s, s) for s in vocab["status"].values),
        ],
        "types": list(insp.pollution_types),
        "verified": list(vocab["verified"].values),
        "regions": [r.name for r in insp.regions],
    }

"""The figures of the 挂图作战 page: cases per city (and county), by batch, by type, by
status, closure and overdue per city — grouped in the database, one pass each over
the inspection's latest versions, and only over the cases the user's scope sees."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import Connection, case, func, or_, select

from ducha.config import Inspection
from ducha.contract import load_contract, split_types
from ducha.web.access import Scope
from ducha.web.search import latest, scope_clause


def dashboard(conn: Connection, insp: Inspection, scope: Scope, today: dt.date) -> dict[str, object]:
    closed = tuple(load_contract().closed_statuses)
    is_closed = latest.c.status.in_(closed)
    overdue = or_(
        (~is_closed | latest.c.status.is_(None)) & (latest.c.due_on < today), latest.c.closed_late.is_(True)
    )
    seen = [latest.c.inspection_id == insp.id, scope_clause(scope, insp)]
    # One pass over the cases: every figure is a sum over these groups (a few thousand
    # at most: regions × batches × statuses × type combinations present).
    groups = conn.execute(
        select(
            latest.c.region,
            latest.c.batch_no,
            latest.c.status,
            latest.c.pollution_types,
            func.count(),
            func.sum(case((overdue, 1), else_=0)),
        )
        .where(*seen)
        .group_by(latest.c.region, latest.c.batch_no, latest.c.status, latest.c.pollution_types)
    ).all()
    cities: dict[str, dict[str, int]] = {}
    counties: Counter[tuple[str, str]] = Counter()  # (city, county as the city's map names it)
    batches: dict[int, list[int]] = {}
    statuses: Counter[str] = Counter()
    types: Counter[str] = Counter()
    city_of: dict[str, str] = {}
    for region, batch_no, status_value, joined, total, late in groups:
        n, done = int(total), int(total) if status_value in closed else 0
        city = city_of.setdefault(region, insp.city_of(region))
        row = cities.setdefault(city, {"cases": 0, "closed": 0, "overdue": 0})
        row["cases"] += n
        row["closed"] += done
        row["overdue"] += int(late or 0)
        if region != city:
            counties[(city, region.removeprefix(city) or region)] += n
        in_batch = batches.setdefault(int(batch_no), [0, 0])
        in_batch[0] += n
        in_batch[1] += done
        # no status yet: shown as the one open label, as the tables do
        statuses[status_value or insp.conventions.open_label] += n
        for t in split_types(joined or ""):
            types[t] += n
    codes = {r.name: r.code for r in insp.regions}
    return {
        "inspection": insp.id,
        "name": insp.name,
        "province_code": insp.province_code,
        "as_of": today.isoformat(),
        "total": sum(c["cases"] for c in cities.values()),
        "cities": [
            {
                "name": name,
                "code": codes.get(name),
                **row,
                "closure": round(100 * row["closed"] / row["cases"], 1) if row["cases"] else 0,
            }
            for name, row in sorted(cities.items(), key=lambda kv: -kv[1]["cases"])
        ],
        "counties": [{"city": city, "name": n, "cases": c} for (city, n), c in counties.most_common()],
        "batches": [{"batch_no": b, "cases": n, "closed": c} for b, (n, c) in sorted(batches.items())],
        "statuses": [{"status": s, "cases": n} for s, n in statuses.most_common()],
        "types": [{"type": t, "cases": n} for t, n in types.most_common()],
    }

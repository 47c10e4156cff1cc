"""The plans at the size of a real round, not on an empty schema: 100,000 cases in two
inspections (a third with a later version), statistics gathered (ANALYZE), then every
query that lists or counts cases is explained on SQLite and PostgreSQL. An empty table
can hide a plan that scans per case; statistics at size are what the planners use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, text

from ducha.warehouse.db import upgrade
from ducha.warehouse.schema import (
    PENALTY_COLUMNS,
    batches,
    case_versions,
    cases,
    files,
    inspections,
    quarantined_rows,
)
from tests.unit.warehouse.test_plans import QUERIES, _batch_accounts_sql, _case_states_sql

CASES = 100_000
QUARANTINED = 5_000
DAY = dt.date(2024, 6, 1)
# A query that does scan per case (the shape v_case_latest once had): the checks must
# flag it, or they prove nothing. Explained only, never run.
PER_CASE = (
    "SELECT count(*) FROM cases c WHERE c.batch_no ="
    " (SELECT max(v.version_no) FROM case_versions v WHERE v.source_sheet = c.summary)"
)


def _fill(engine: Engine) -> None:
    """Two inspections of 50,000 cases, 10 batches each; every third case has a second,
    later version (closed), and each case points at its latest."""
    versions, case_rows = [], []
    for n in range(CASES):
        insp, case_id = "x" if n % 2 else "y", f"D3HN{20240601 + n % 20:08d}{n:06d}"
        batch = 1 + n % 10
        state = {
            "inspection_id": insp,
            "case_id": case_id,
            "region": "长沙市",
            "region_code": "430100",
            "pollution_types": "水",
            "key_case": False,
            "seq": n,
            "findings": "",
            "verified": None,
            "target": "",
            "handling": "",
            "status": None,
            "accountability": "",
            "remarks": "",
            **dict.fromkeys(PENALTY_COLUMNS),
            "state_hash": "h",
            "source_file": "f",
            "source_sheet": "s",
            "source_row": n,
        }
        versions.append({**state, "version_no": 1, "as_of": DAY})
        top, closed = (1, None)
        if n % 3 == 0:
            later = DAY + dt.timedelta(days=5)
            versions.append(
                {**state, "version_no": 2, "as_of": later, "status": "已办结", "verified": "属实"}
            )
            top, closed = 2, later
        case_rows.append(
            {
                "inspection_id": insp,
                "case_id": case_id,
                "batch_no": batch,
                "seq": n,
                "received_on": DAY,
                "channel": "来电",
                "id_valid": True,
                "region": "长沙市",
                "region_code": "430100",
                "pollution_types": "水",
                "summary": f"案件{n}",
                "key_case": False,
                "due_on": DAY + dt.timedelta(days=10),
                "first_file": "f",
                "latest_version_no": top,
                "latest_as_of": DAY if top == 1 else closed,
                "closed_on": closed,
            }
        )
    with engine.begin() as conn:
        for insp in ("x", "y"):
            conn.execute(
                insert(inspections),
                [
                    {
                        "inspection_id": insp,
                        "name": insp,
                        "level": "central",
                        "deadline_days": 10,
                        "fine_unit": "元",
                    }
                ],
            )
            conn.execute(
                insert(batches),
                [
                    {"inspection_id": insp, "batch_no": b, "transferred_on": DAY, "dated_on": DAY}
                    for b in range(1, 11)
                ],
            )
        conn.execute(insert(cases), case_rows)
        conn.execute(insert(case_versions), versions)
        # Files, and rows of them in quarantine (half corrected by a later file): what the
        # 待补正 count of each batch reads.
        shas = [f"{n:064x}" for n in range(40)]
        conn.execute(
            insert(files),
            [
                {
                    "sha256": sha, "inspection_id": "x" if n % 2 else "y", "name": f"{n}.xlsx",
                    "stored_path": f"{n}.xlsx", "size": 1, "received_on": DAY + dt.timedelta(days=n % 10),
                    "batch_no": 1 + n % 10, "status": "partial", "rows_total": 1, "rows_loaded": 0,
                    "rows_quarantined": 1, "warnings": 0,
                }
                for n, sha in enumerate(shas)
            ],
        )  # fmt: skip
        conn.execute(
            insert(quarantined_rows),
            [
                {
                    "file_sha256": shas[n % 40], "sheet": "s", "row": n, "inspection_id": "x" if n % 2 else "y",
                    "case_id": f"D3HNQ{n:07d}", "raw": {}, "errors": [], "resolved": n % 2 == 0,
                    "resolved_by": shas[(n + 1) % 40] if n % 2 == 0 else None,
                }
                for n in range(QUARANTINED)
            ],
        )  # fmt: skip
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


@pytest.fixture(scope="module")
def sqlite_at_size(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = upgrade(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'w.sqlite'}")
    _fill(engine)
    return engine


@pytest.fixture(scope="module")
def postgres_at_size(pg_databases) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = upgrade(pg_databases.create())
    _fill(engine)
    yield engine
    engine.dispose()


def _sqlite_inner_scans(plan: list[tuple]) -> list[str]:
    """Loops of the top-level join after the first that read a whole table (or
    materialised subquery) once per outer row, and correlated subqueries."""
    loops = [row[3] for row in plan if row[1] == 0 and row[3].startswith(("SCAN", "SEARCH"))]
    return [p for p in loops[1:] if p.startswith("SCAN")] + [row[3] for row in plan if "CORRELATED" in row[3]]


def test_sqlite_plans_at_size_scan_nothing_per_case(sqlite_at_size: Engine) -> None:
    with sqlite_at_size.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM v_case_latest")).scalar_one() == CASES
        assert _sqlite_inner_scans(conn.execute(text(f"EXPLAIN QUERY PLAN {PER_CASE}")).all())
        for query in QUERIES:
            plan = conn.execute(text(f"EXPLAIN QUERY PLAN {query}")).all()
            assert not _sqlite_inner_scans(plan), (query, [r[3] for r in plan])
        for sent in (_case_states_sql, _batch_accounts_sql):
            statement, params = sent(conn)
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            assert not _sqlite_inner_scans(plan), [r[3] for r in plan]


def _per_row_scans(node: dict, inner: bool = False) -> list[str]:
    """Sequential scans run once per row of an outer loop (the inner side of a nested
    loop), and subplans: the shapes whose cost grows with cases × cases."""
    found = [node["Subplan Name"]] if "Subplan Name" in node else []
    # A parallel-aware scan's loops are its worker processes, each reading a share once.
    if (
        inner
        and node["Node Type"] == "Seq Scan"
        and node.get("Actual Loops", 1) > 1
        and not node.get("Parallel Aware")
    ):
        found.append(f"Seq Scan on {node.get('Relation Name')} × {node['Actual Loops']}")
    children = node.get("Plans", [])
    for i, child in enumerate(children):
        found += _per_row_scans(child, inner or (node["Node Type"] == "Nested Loop" and i == 1))
    return found


@pytest.mark.postgres
def test_postgres_plans_at_size_scan_nothing_per_case(postgres_at_size: Engine) -> None:
    """EXPLAIN ANALYZE: what the executor actually did at 100,000 cases."""
    with postgres_at_size.connect() as conn:
        (control,) = conn.execute(text(f"EXPLAIN (FORMAT JSON) {PER_CASE}")).one()
        assert _per_row_scans(control[0]["Plan"])
        for query in QUERIES:
            (plan,) = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}")).one()
            assert _per_row_scans(plan[0]["Plan"]) == [], (query, plan)
        for sent in (_case_states_sql, _batch_accounts_sql):
            statement, params = sent(conn)
            (plan,) = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).one()
            assert _per_row_scans(plan[0]["Plan"]) == [], plan


def _lookup_statements(conn, known: int) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """The SELECTs a load sends to read what the warehouse holds of a file's case IDs
    (``known_cases``): ``known`` IDs in the warehouse and as many new ones."""
    from ducha.warehouse.load import known_cases

    found = {}

    def run() -> None:
        found.update(known_cases(conn, "y", _file_ids(known), DAY + dt.timedelta(days=30)))

    sent = _selects(conn, run)
    assert len(found) == known and len(sent) == 2, (len(found), sent)
    return sent


def _file_ids(known: int) -> list[str]:
    """A file's case IDs: ``known`` of inspection "y" in the warehouse, as many not."""
    ids = [f"D3HN{20240601 + n % 20:08d}{n:06d}" for n in range(0, 4 * known, 4)]
    return ids + [f"D3HNX{n:06d}" for n in range(known)]


def _selects(conn, run) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """The SELECTs sent while ``run`` runs."""
    from tests.unit.warehouse.test_plans import _sent

    return [(s, p) for s, p in _sent(conn, run) if s.lstrip().upper().startswith("SELECT")]


@pytest.mark.parametrize("known", [10, 1000])
def test_sqlite_load_lookups_at_size_search_by_key(sqlite_at_size: Engine, known: int) -> None:
    """The IDs go through a temporary table; every warehouse table is searched by key,
    never scanned, whatever its size."""
    with sqlite_at_size.connect() as conn:
        for statement, params in _lookup_statements(conn, known):
            plan = [r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()]
            assert not [p for p in plan if p.startswith("SCAN") and "_ducha_ids" not in p], plan
            assert [p for p in plan if p.startswith("SEARCH")], plan


@pytest.mark.postgres
def test_postgres_load_lookups_at_size(postgres_at_size: Engine) -> None:
    """A small file's lookups search by key: they cost nothing as the warehouse grows. A
    file of thousands of IDs may read a table once (the planner's choice, cheaper than
    thousands of index probes), never once per case."""
    with postgres_at_size.connect() as conn:
        for statement, params in _lookup_statements(conn, 10):
            (plan,) = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).one()
            scans = [n for n in _nodes(plan[0]["Plan"]) if n["Node Type"] == "Seq Scan"]
            assert scans == [], [(n.get("Relation Name"), n.get("Actual Rows")) for n in scans]
        for statement, params in _lookup_statements(conn, 1000):
            (plan,) = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).one()
            assert _per_row_scans(plan[0]["Plan"]) == [], plan
            on_ids = [c for c in _conditions(plan[0]["Plan"]) if "case_id" in c]
            assert on_ids and all("ANY ('{" in c and "$" not in c for c in on_ids), [c[:200] for c in on_ids]


def _reconcile_statements(conn, known: int) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """The counts a load makes before it commits (``_reconcile``): the file's accepted
    IDs in the warehouse, and its rows in quarantine. A file with no rows is what it is
    checked against here, so the counts disagree and it raises, after both ran."""
    from pathlib import Path

    from ducha.config import get_inspection
    from ducha.intake.parse import ParsedFile
    from ducha.warehouse.load import ReconciliationError, _reconcile

    ids = _file_ids(known)
    parsed = ParsedFile(Path("x.xlsx"), "0" * 64, 0, get_inspection("c3-hn-2024"))

    def run() -> None:
        with pytest.raises(ReconciliationError, match=f"holds {known} loaded"):
            _reconcile(conn, "y", parsed, ids, len(ids))

    sent = _selects(conn, run)
    assert len(sent) == 2, sent
    return sent


@pytest.mark.parametrize("known", [10, 1000])
def test_sqlite_reconcile_counts_at_size_search_by_key(sqlite_at_size: Engine, known: int) -> None:
    with sqlite_at_size.connect() as conn:
        for statement, params in _reconcile_statements(conn, known):
            plan = [r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()]
            assert not [p for p in plan if p.startswith("SCAN") and "_ducha_ids" not in p], plan


def _conditions(node: dict) -> list[str]:
    keys = ("Index Cond", "Filter", "Recheck Cond", "Hash Cond")
    return [n[k] for n in _nodes(node) for k in keys if k in n]


@pytest.mark.postgres
def test_postgres_reconcile_counts_at_size(postgres_at_size: Engine) -> None:
    """The IDs reach the planner as one constant array: a parameter cast on the server
    (array_in is only stable) is parsed again for every row it filters, and a count of
    100,000 IDs once ran for minutes that way with no per-row scan to show for it."""
    on_ids: list[str] = []
    with postgres_at_size.connect() as conn:
        for statement, params in _reconcile_statements(conn, 1000):
            (plan,) = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).one()
            assert _per_row_scans(plan[0]["Plan"]) == [], plan
            on_ids += [c for c in _conditions(plan[0]["Plan"]) if "case_id" in c]
    # A constant: ANY ('{…}'::text[]); a cast the planner could not fold: ANY ((('{…}'::cstring)…
    assert on_ids and all("ANY ('{" in c and "$" not in c for c in on_ids), [c[:200] for c in on_ids]


def _nodes(node: dict) -> list[dict]:
    return [node, *(n for child in node.get("Plans", []) for n in _nodes(child))]


def _pages_statements(conn) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """Every SELECT the officers' pages send for a search (filtered, scoped to a city, a
    page of results, a case's history) and for the 挂图作战 figures."""
    from dataclasses import replace

    from ducha.config import get_inspection
    from ducha.web import search, stats
    from ducha.web.access import Scope

    insp = replace(get_inspection("c3-hn-2024"), id="x")
    city = Scope(regions=frozenset({"长沙市"}))
    county = Scope(regions=frozenset({"长沙市天心区"}))
    everything = Scope(everything=True)
    today = DAY + dt.timedelta(days=30)

    def run() -> None:
        search.search(conn, insp, search.Criteria(today=today), everything, page=40)
        search.search(conn, insp, search.Criteria(keyword="案件12", overdue=True, today=today), city)
        search.search(conn, insp, search.Criteria(status=search.OPEN, batch_no=3, today=today), county)
        search.history(conn, insp, "D3HN20240602000001", city)
        stats.dashboard(conn, insp, city, today)

    return _selects(conn, run)


def test_sqlite_pages_queries_at_size_scan_nothing_per_case(sqlite_at_size: Engine) -> None:
    with sqlite_at_size.connect() as conn:
        statements = _pages_statements(conn)
        assert len(statements) >= 8  # searches (count and page, or one with a keyword), history, figures
        for statement, params in statements:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            assert not _sqlite_inner_scans(plan), (statement, [r[3] for r in plan])


@pytest.mark.postgres
def test_postgres_pages_queries_at_size_scan_nothing_per_case(postgres_at_size: Engine) -> None:
    with postgres_at_size.connect() as conn:
        for statement, params in _pages_statements(conn):
            (plan,) = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).one()
            assert _per_row_scans(plan[0]["Plan"]) == [], (statement, plan)

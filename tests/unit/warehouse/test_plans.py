"""The read-model views stay linear in the number of cases: their plans hold no subquery
run once per case (SQLite "CORRELATED …", PostgreSQL "SubPlan"), on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from ducha.warehouse.db import upgrade

QUERIES = [
    "SELECT count(*) FROM v_case_latest",
    "SELECT * FROM v_case_latest WHERE inspection_id = 'x' ORDER BY case_id",
    "SELECT count(*) FROM v_ledger_assigned",
    "SELECT count(*) FROM v_ledger_in_progress",
    "SELECT * FROM v_ledger_closed",
]


def _subplans(node: dict) -> list[str]:
    found = [node["Subplan Name"]] if "Subplan Name" in node else []
    for child in node.get("Plans", []):
        found += _subplans(child)
    return found


@pytest.mark.parametrize("query", QUERIES)
def test_sqlite_plan_has_no_per_case_subquery(tmp_path: Path, query: str) -> None:
    eng = upgrade(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with eng.connect() as conn:
        plan = [row[3] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {query}"))]
    assert plan and not [p for p in plan if "CORRELATED" in p], plan
    # Each inner loop is a search by a whole key (one row per case: the case keeps
    # which version is its latest), never a range of a case's versions, nor a scan.
    inner = plan[1:]
    assert not [p for p in inner if p.startswith("SCAN")], plan
    ranges = [p for p in plan if "case_versions" in p and "case_id=?" in p and "version_no=?" not in p]
    assert not ranges, plan


@pytest.mark.postgres
def test_postgres_plans_have_no_per_case_subquery(postgres_url: str) -> None:
    eng = upgrade(postgres_url)
    with eng.connect() as conn:
        for query in QUERIES:
            (plan,) = conn.execute(text(f"EXPLAIN (FORMAT JSON) {query}")).one()
            assert _subplans(plan[0]["Plan"]) == [], (query, plan)


def _case_states_sql(conn) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    """The statement publishing runs (``case_states``), as sent to the database."""
    import datetime as dt

    from ducha.disclosure.tables import case_states

    return _sent(conn, lambda: case_states(conn, "x", dt.date(2024, 6, 8)))[-1]


def _batch_accounts_sql(conn) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    """The quarantine count behind "待补正K件" (``batch_accounts``), as sent."""
    import datetime as dt

    import pandas as pd

    from ducha.disclosure.tables import batch_accounts

    sent = _sent(conn, lambda: batch_accounts(conn, "x", dt.date(2024, 6, 8), pd.DataFrame()))
    return next((statement, params) for statement, params in sent if statement.lstrip().startswith("SELECT"))


def _sent(conn, run) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    sent: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        sent.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    return sent


def test_sqlite_pending_rows_query_searches_by_key(tmp_path: Path) -> None:
    """The quarantine rows of an inspection by their index, each file by its key."""
    eng = upgrade(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with eng.connect() as conn:
        statement, params = _batch_accounts_sql(conn)
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()]
    assert plan[0].startswith("SEARCH") and "quarantined_rows" in plan[0], plan
    assert all(p.startswith("SEARCH") for p in plan[1:]), plan


def test_sqlite_publishing_query_scans_only_its_outer_loop(tmp_path: Path) -> None:
    """Each inner loop of the join is an index search: a SCAN there (of a table, or of a
    materialised subquery such as a per-case GROUP BY) runs once per case. Publishing's
    first-closed day was such a LEFT JOIN: quadratic, found by tests/…/test_replay.py."""
    eng = upgrade(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with eng.connect() as conn:
        statement, params = _case_states_sql(conn)
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
    loops = [row[3] for row in plan if row[1] == 0 and row[3].startswith(("SCAN", "SEARCH"))]
    assert loops and not [p for p in loops[1:] if p.startswith("SCAN")], plan
    assert not [row for row in plan if "CORRELATED" in row[3]], plan


@pytest.mark.postgres
@pytest.mark.parametrize("sent", [_case_states_sql, _batch_accounts_sql], ids=["case_states", "pending_rows"])
def test_postgres_publishing_queries_have_no_per_case_subquery(postgres_url: str, sent) -> None:  # type: ignore[no-untyped-def]
    eng = upgrade(postgres_url)
    with eng.connect() as conn:
        statement, params = sent(conn)
        (plan,) = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).one()
    assert _subplans(plan[0]["Plan"]) == [], plan

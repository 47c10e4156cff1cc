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
    # The versions are read in one pass (a scan, or one range of an inspection), never
    # looked up case by case.
    assert not [p for p in plan if "case_versions" in p and "case_id=?" in p], plan


@pytest.mark.postgres
def test_postgres_plans_have_no_per_case_subquery(postgres_url: str) -> None:
    eng = upgrade(postgres_url)
    with eng.connect() as conn:
        for query in QUERIES:
            (plan,) = conn.execute(text(f"EXPLAIN (FORMAT JSON) {query}")).one()
            assert _subplans(plan[0]["Plan"]) == [], (query, plan)

"""v_case_latest without the database clock: closed_late instead of overdue

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

0004's ``overdue`` compared an open case's due day with ``CURRENT_DATE``: the database
server's date, in its own time zone (UTC on SQLite, the session's on PostgreSQL), so the
same warehouse answered differently around midnight Beijing time. Whether an open case is
overdue depends on the day it is asked for: ``ducha.ledgers`` computes it against an
explicit day. The view keeps what its rows alone decide: ``closed_late``, a closed case
first reported closed after its due day (NULL while open or without a due day).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CLOSED = "'已办结', '验收销号'"  # frozen as they were when this revision was written
LEDGERS = {
    "v_ledger_assigned": "SELECT * FROM v_case_latest",
    "v_ledger_in_progress": f"SELECT * FROM v_case_latest WHERE status IS NULL OR status NOT IN ({CLOSED})",
    "v_ledger_closed": f"SELECT *, closed_on <= due_on AS closed_on_time FROM v_case_latest WHERE status IN ({CLOSED})",
}
V_CASE_LATEST = f"""
        SELECT c.case_id, c.inspection_id, c.batch_no, b.transferred_on, v.region, v.region_code,
               v.pollution_types, c.summary, v.findings, v.verified, v.target, v.handling, v.status,
               v.accountability, v.key_case, c.duplicate_of, c.due_on, v.as_of AS reported_on,
               l.closed_on,
               CASE WHEN v.status IN ({CLOSED}) THEN l.closed_on > c.due_on END AS closed_late
          FROM case_latest l
          JOIN case_versions v ON v.inspection_id = l.inspection_id AND v.case_id = l.case_id
                              AND v.version_no = l.version_no
          JOIN cases c ON c.inspection_id = l.inspection_id AND c.case_id = l.case_id
          JOIN batches b ON b.inspection_id = c.inspection_id AND b.batch_no = c.batch_no
    """


def _replace_views(v_case_latest: str, ledgers: dict[str, str]) -> None:
    for name in (*ledgers, "v_case_latest"):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.execute(f"CREATE VIEW v_case_latest AS {v_case_latest}")
    for name, sql in ledgers.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def upgrade() -> None:
    _replace_views(V_CASE_LATEST, LEDGERS)


def downgrade() -> None:
    from importlib import import_module

    before = import_module("ducha.warehouse.migrations.versions.0004_case_latest_table")
    _replace_views(before.V_CASE_LATEST, before.LEDGERS)

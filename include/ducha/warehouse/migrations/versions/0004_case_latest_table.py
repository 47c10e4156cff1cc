"""case_latest: the latest version of each case, kept by the load

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

0003's v_case_latest ranked every version of every case (a window, one sort of all the
versions) on each read: 0.6 s for a count over 100,000 cases on SQLite. Now the load
keeps, per case, which version is the latest (by as-of day, then version number) and
the first day a version said it was closed; v_case_latest joins that table to the
version by its primary key, so a count is one pass over the cases.

Existing warehouses get the table filled from their versions, by the same rule.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
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
               CASE WHEN v.status IN ({CLOSED}) THEN l.closed_on > c.due_on
                    ELSE c.due_on < CURRENT_DATE END AS overdue
          FROM case_latest l
          JOIN case_versions v ON v.inspection_id = l.inspection_id AND v.case_id = l.case_id
                              AND v.version_no = l.version_no
          JOIN cases c ON c.inspection_id = l.inspection_id AND c.case_id = l.case_id
          JOIN batches b ON b.inspection_id = c.inspection_id AND b.batch_no = c.batch_no
    """
FILL = f"""
    INSERT INTO case_latest (inspection_id, case_id, version_no, as_of, closed_on)
    SELECT inspection_id, case_id, version_no, as_of, closed_on
      FROM (SELECT inspection_id, case_id, version_no, as_of,
                   ROW_NUMBER() OVER (PARTITION BY inspection_id, case_id
                                      ORDER BY as_of DESC, version_no DESC) AS rank_latest,
                   MIN(CASE WHEN status IN ({CLOSED}) THEN as_of END)
                       OVER (PARTITION BY inspection_id, case_id) AS closed_on
              FROM case_versions) ranked
     WHERE rank_latest = 1
"""


def _drop_views() -> None:
    for name in (*LEDGERS, "v_case_latest"):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def create_table() -> None:
    """case_latest as this revision made it (0011's downgrade makes it again)."""
    op.create_table(
        "case_latest",
        sa.Column("inspection_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date()),
        sa.ForeignKeyConstraint(["inspection_id", "case_id"], ["cases.inspection_id", "cases.case_id"]),
    )


def upgrade() -> None:
    _drop_views()
    create_table()
    op.execute(FILL)
    op.execute(f"CREATE VIEW v_case_latest AS {V_CASE_LATEST}")
    for name, sql in LEDGERS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    from importlib import import_module

    _drop_views()
    op.drop_table("case_latest")
    before = import_module("ducha.warehouse.migrations.versions.0003_versioned_case_facts")
    op.execute(f"CREATE VIEW v_case_latest AS {before.V_CASE_LATEST}")
    for name, sql in before.LEDGERS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")

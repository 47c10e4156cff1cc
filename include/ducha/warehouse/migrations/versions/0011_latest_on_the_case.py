"""The latest version on the case row: cases.latest_version_no, latest_as_of, closed_on

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

0004's case_latest held one row per case beside cases, with its own primary key and a
foreign key to cases: on PostgreSQL every new case cost a second index entry and a
second key check (a row lock on the case), about 1 s of a 100,000-case load, and every
read of the latest state joined three tables. The same three values now sit on the case
itself, kept by the load; v_case_latest and the ledgers read cases → version → batch.

Existing warehouses get the columns filled from case_latest, then the table goes. The
downgrade builds case_latest again from the columns.
"""

from __future__ import annotations

from importlib import import_module

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CLOSED = "'已办结', '验收销号'"  # frozen as they were when this revision was written
# The ledgers read v_case_latest: 0005's, unchanged.
VIEWS = import_module("ducha.warehouse.migrations.versions.0005_no_database_clock")
V_CASE_LATEST = f"""
        SELECT c.case_id, c.inspection_id, c.batch_no, b.transferred_on, v.region, v.region_code,
               v.pollution_types, c.summary, v.findings, v.verified, v.target, v.handling, v.status,
               v.accountability, v.key_case, c.duplicate_of, c.due_on, v.as_of AS reported_on,
               c.closed_on,
               CASE WHEN v.status IN ({CLOSED}) THEN c.closed_on > c.due_on END AS closed_late
          FROM cases c
          JOIN case_versions v ON v.inspection_id = c.inspection_id AND v.case_id = c.case_id
                              AND v.version_no = c.latest_version_no
          JOIN batches b ON b.inspection_id = c.inspection_id AND b.batch_no = c.batch_no
    """
COLUMNS = ("latest_version_no", "latest_as_of", "closed_on")
FROM_TABLE = ("version_no", "as_of", "closed_on")  # case_latest's names for them


def _drop_views() -> None:
    for name in (*VIEWS.LEDGERS, "v_case_latest"):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def upgrade() -> None:
    _drop_views()
    op.add_column("cases", sa.Column("latest_version_no", sa.Integer()))
    op.add_column("cases", sa.Column("latest_as_of", sa.Date()))
    op.add_column("cases", sa.Column("closed_on", sa.Date()))
    # Correlated by the primary key of case_latest: one probe per case, both databases.
    sets = ", ".join(
        f"{new} = (SELECT l.{old} FROM case_latest l"
        " WHERE l.inspection_id = cases.inspection_id AND l.case_id = cases.case_id)"
        for new, old in zip(COLUMNS, FROM_TABLE, strict=True)
    )
    op.execute(f"UPDATE cases SET {sets}")
    op.drop_table("case_latest")
    VIEWS._replace_views(V_CASE_LATEST, VIEWS.LEDGERS)


def downgrade() -> None:
    _drop_views()
    import_module("ducha.warehouse.migrations.versions.0004_case_latest_table").create_table()
    op.execute(
        f"INSERT INTO case_latest (inspection_id, case_id, {', '.join(FROM_TABLE)})"
        f" SELECT inspection_id, case_id, {', '.join(COLUMNS)} FROM cases WHERE latest_version_no IS NOT NULL"
    )
    # ALTER TABLE … DROP COLUMN on both (SQLite ≥ 3.35): a batch rebuild of cases would
    # drop a table the versions' foreign key points at.
    for name in COLUMNS:
        op.drop_column("cases", name)
    VIEWS._replace_views(VIEWS.V_CASE_LATEST, VIEWS.LEDGERS)

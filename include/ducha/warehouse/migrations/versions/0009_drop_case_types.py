"""Drop case_types: one row per pollution type of each case's latest version

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Every load wrote it and nothing read it: the tables and pages count types from the
versions' pollution_types ("水、大气"). The downgrade builds it again from the latest
version of each case, as the load kept it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SEPARATOR = "、"  # how pollution_types were joined when this revision was written


def upgrade() -> None:
    op.drop_table("case_types")


def downgrade() -> None:
    op.create_table(
        "case_types",
        sa.Column("inspection_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("pollution_type", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["inspection_id", "case_id"], ["cases.inspection_id", "cases.case_id"]),
        sa.PrimaryKeyConstraint("inspection_id", "case_id", "pollution_type"),
    )
    conn = op.get_bind()
    latest = conn.execute(
        sa.text(
            "SELECT l.inspection_id, l.case_id, v.pollution_types FROM case_latest l"
            " JOIN case_versions v ON v.inspection_id = l.inspection_id AND v.case_id = l.case_id"
            " AND v.version_no = l.version_no"
        )
    ).all()
    rows = {
        (inspection_id, case_id, t): None
        for inspection_id, case_id, types in latest
        for t in (types or "").split(SEPARATOR)
        if t
    }
    if rows:
        conn.execute(
            sa.text("INSERT INTO case_types (inspection_id, case_id, pollution_type) VALUES (:i, :c, :t)"),
            [{"i": i, "c": c, "t": t} for i, c, t in rows],
        )

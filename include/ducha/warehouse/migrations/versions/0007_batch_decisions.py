"""batch_decisions: an operator's explicit choice to publish or hold a batch with rows
awaiting correction

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

A batch whose rows are still quarantined (待补正) is published or held by the
inspection's `pending_rows` convention; an operator may decide otherwise for one batch
(`ducha publish --batch N --pending publish|hold`). Each decision is kept, with who made
it, when, the as-of day it applies from, and the rows pending at the time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_decisions",
        sa.Column("decision_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("inspection_id", sa.String(64), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["inspection_id", "batch_no"], ["batches.inspection_id", "batches.batch_no"]),
        sa.CheckConstraint("decision IN ('publish', 'hold')", name="ck_batch_decisions_decision"),
    )
    op.create_index(
        "ix_batch_decisions_batch", "batch_decisions", ["inspection_id", "batch_no", "effective_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_batch_decisions_batch", table_name="batch_decisions")
    op.drop_table("batch_decisions")

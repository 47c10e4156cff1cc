"""batches.transferred_count: how many cases the inspection team transferred in a batch

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

A row rejected at intake must not leave a silent hole: each batch records the count the
team transferred (from a file's title, "共52件", or an operator's entry with `ducha
batch-count`), so tables and the status report can say "交办N件，已公开M件，待补正K件".
``counted_on``: the as-of day of the file that gave the count (tables of earlier days do
not use it, so they republish the same); NULL for an operator's entry, which applies to
every day. NULL count: not known yet (the tables then count the rows received).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN in place (SQLite too): rebuilding the table would break the views on it.
    op.add_column("batches", sa.Column("transferred_count", sa.Integer(), nullable=True))
    op.add_column("batches", sa.Column("counted_on", sa.Date(), nullable=True))


def downgrade() -> None:
    # DROP COLUMN in place too (SQLite ≥ 3.35): a rebuilt table would trip the foreign
    # keys of cases and the views on it.
    op.execute("ALTER TABLE batches DROP COLUMN counted_on")
    op.execute("ALTER TABLE batches DROP COLUMN transferred_count")

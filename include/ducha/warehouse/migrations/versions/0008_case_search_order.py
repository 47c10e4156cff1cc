"""ix_cases_batch_order: the case search's order (newest batch first, then case ID)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

The 案件查询 page lists an inspection's cases by batch, newest first, a page at a time.
Without an index in that order, every page sorts all the inspection's cases (PostgreSQL,
50,000 cases: 265 ms a page at offset 1,950; with it, 74 ms).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_batch_order", "cases", ["inspection_id", "batch_no", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_batch_order", table_name="cases")

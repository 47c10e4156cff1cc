"""Money as a decimal: case_versions.fine_amount NUMERIC(18, 6), not a binary float

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

A fine summed from floats is off by fractions of a fen (0.1 + 0.2); NUMERIC keeps each
amount as written, to the fen in either fine unit (intake rounds 元 to 2 places, 万元 to
6). The values are kept: PostgreSQL casts each float to the number of its shortest form
(1200.5, not 1200.4999…); SQLite has no decimal storage, so its table is rebuilt with
the new declared type and SQLAlchemy reads the values back as Decimal.

The views read case_versions, so they are dropped and made again as 0005 left them
(PostgreSQL cannot change the type of a column a view uses; SQLite's rebuild renames a
table under them).
"""

from __future__ import annotations

from importlib import import_module

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The money columns when this revision was written (the contract's money fields then).
MONEY = ("fine_amount",)


def _retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    views = import_module("ducha.warehouse.migrations.versions.0005_no_database_clock")
    for name in (*views.LEDGERS, "v_case_latest"):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    with op.batch_alter_table("case_versions") as batch:
        for name in MONEY:
            batch.alter_column(name, existing_type=old, type_=new, existing_nullable=True)
    views.upgrade()


def upgrade() -> None:
    _retype(sa.Float(), sa.Numeric(18, 6))


def downgrade() -> None:
    _retype(sa.Numeric(18, 6), sa.Float())

"""v_case_latest: the latest state is the one reported last by as-of day

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

0001 took the highest version number, i.e. the state loaded last. A backfill that loads
an earlier day after a later one would then make an older state "latest". Now the view
takes the version with the latest as-of day, then the highest version number.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The ledgers select from v_case_latest, so they are dropped and made again with it.
LEDGERS = ("v_ledger_assigned", "v_ledger_in_progress", "v_ledger_closed")

V_CASE_LATEST = "\n        SELECT c.case_id, c.inspection_id, c.batch_no, b.transferred_on, c.region, c.region_code,\n               c.pollution_types, c.summary, v.findings, v.verified, v.target, v.handling, v.status,\n               v.accountability, c.key_case, c.duplicate_of, c.due_on, v.as_of AS reported_on,\n               (SELECT MIN(x.as_of) FROM case_versions x\n                 WHERE x.inspection_id = c.inspection_id AND x.case_id = c.case_id\n                   AND x.status IN ({closed})) AS closed_on,\n               CASE WHEN v.status IN ({closed}) THEN\n                        (SELECT MIN(x.as_of) FROM case_versions x\n                          WHERE x.inspection_id = c.inspection_id AND x.case_id = c.case_id\n                            AND x.status IN ({closed})) > c.due_on\n                    ELSE c.due_on < CURRENT_DATE END AS overdue\n          FROM cases c\n          JOIN batches b ON b.inspection_id = c.inspection_id AND b.batch_no = c.batch_no\n          JOIN case_versions v ON v.inspection_id = c.inspection_id AND v.case_id = c.case_id\n         WHERE v.version_no = (SELECT y.version_no FROM case_versions y\n                                WHERE y.inspection_id = c.inspection_id AND y.case_id = c.case_id\n                                ORDER BY y.as_of DESC, y.version_no DESC LIMIT 1)\n    "

V_CASE_LATEST_0001 = "\n        SELECT c.case_id, c.inspection_id, c.batch_no, b.transferred_on, c.region, c.region_code,\n               c.pollution_types, c.summary, v.findings, v.verified, v.target, v.handling, v.status,\n               v.accountability, c.key_case, c.duplicate_of, c.due_on, v.as_of AS reported_on,\n               (SELECT MIN(x.as_of) FROM case_versions x\n                 WHERE x.inspection_id = c.inspection_id AND x.case_id = c.case_id\n                   AND x.status IN ({closed})) AS closed_on,\n               CASE WHEN v.status IN ({closed}) THEN\n                        (SELECT MIN(x.as_of) FROM case_versions x\n                          WHERE x.inspection_id = c.inspection_id AND x.case_id = c.case_id\n                            AND x.status IN ({closed})) > c.due_on\n                    ELSE c.due_on < CURRENT_DATE END AS overdue\n          FROM cases c\n          JOIN batches b ON b.inspection_id = c.inspection_id AND b.batch_no = c.batch_no\n          JOIN case_versions v ON v.inspection_id = c.inspection_id AND v.case_id = c.case_id\n         WHERE v.version_no = (SELECT MAX(y.version_no) FROM case_versions y\n                                WHERE y.inspection_id = c.inspection_id AND y.case_id = c.case_id)\n    "


def _recreate(latest_sql: str) -> None:
    from importlib import import_module

    initial = import_module("ducha.warehouse.migrations.versions.0001_initial_warehouse")
    ledgers, closed = initial.VIEWS, initial.CLOSED  # the statuses frozen when 0001 was written
    for name in (*LEDGERS, "v_case_latest"):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.execute(f"CREATE VIEW v_case_latest AS {latest_sql.format(closed=closed)}")
    for name in LEDGERS:
        op.execute(f"CREATE VIEW {name} AS {ledgers[name].format(closed=closed)}")


def upgrade() -> None:
    _recreate(V_CASE_LATEST)


def downgrade() -> None:
    _recreate(V_CASE_LATEST_0001)

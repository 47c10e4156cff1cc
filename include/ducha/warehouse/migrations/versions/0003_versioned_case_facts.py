"""Versioned case facts, dated batch dates, a linear v_case_latest

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

- case_versions carry region, region_code, pollution_types, key_case and seq: a later
  file's correction of them was dropped before (the cases row was written once). Existing
  versions take the values of their cases row, and every state_hash is recomputed with
  the facts in it, so the same state reported again is still not a new version.
- batches.dated_on: the as-of day from which the transfer date is known. As-of tables use
  the date (and the due dates it sets) only from then on.
- v_case_latest takes the facts from the latest version, picked by a window function
  (one pass over the versions, not a subquery per case).

Values are frozen here as they were when this revision was written: a later change to
the contract must not change what this migration does.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CLOSED = "'已办结', '验收销号'"
LEDGERS = {
    "v_ledger_assigned": "SELECT * FROM v_case_latest",
    "v_ledger_in_progress": f"SELECT * FROM v_case_latest WHERE status IS NULL OR status NOT IN ({CLOSED})",
    "v_ledger_closed": f"SELECT *, closed_on <= due_on AS closed_on_time FROM v_case_latest WHERE status IN ({CLOSED})",
}
V_CASE_LATEST = f"""
        SELECT c.case_id, c.inspection_id, c.batch_no, b.transferred_on, v.region, v.region_code,
               v.pollution_types, c.summary, v.findings, v.verified, v.target, v.handling, v.status,
               v.accountability, v.key_case, c.duplicate_of, c.due_on, v.as_of AS reported_on,
               v.closed_on,
               CASE WHEN v.status IN ({CLOSED}) THEN v.closed_on > c.due_on
                    ELSE c.due_on < CURRENT_DATE END AS overdue
          FROM (SELECT x.inspection_id, x.case_id, x.as_of, x.region, x.region_code, x.pollution_types,
                       x.key_case, x.findings, x.verified, x.target, x.handling, x.status,
                       x.accountability,
                       ROW_NUMBER() OVER (PARTITION BY x.inspection_id, x.case_id
                                          ORDER BY x.as_of DESC, x.version_no DESC) AS rank_latest,
                       MIN(CASE WHEN x.status IN ({CLOSED}) THEN x.as_of END)
                           OVER (PARTITION BY x.inspection_id, x.case_id) AS closed_on
                  FROM case_versions x) v
          JOIN cases c ON c.inspection_id = v.inspection_id AND c.case_id = v.case_id
          JOIN batches b ON b.inspection_id = c.inspection_id AND b.batch_no = c.batch_no
         WHERE v.rank_latest = 1
    """

# The state hash as defined by this revision: facts, then state, then penalties.
PENALTIES = (
    "rectify_orders",
    "penalty_cases",
    "fine_amount",
    "criminal_investigations",
    "admin_detentions",
    "criminal_detentions",
    "interviews",
    "accountable_persons",
)
HASHED = (
    "region",
    "pollution_types",
    "key_case",
    "seq",
    "findings",
    "verified",
    "target",
    "handling",
    "status",
    "accountability",
    "remarks",
    *PENALTIES,
)
FACTS = ("region", "region_code", "pollution_types", "key_case", "seq")


def _state_hash(row: dict) -> str:
    state: list[object] = []
    for name in HASHED:
        v = row[name]
        if name in PENALTIES:
            v = None if v is None else float(v)
        elif name in ("verified", "status"):
            v = v or None
        elif name == "key_case":
            v = bool(v)
        elif name == "seq":
            v = None if v is None else int(v)
        else:
            v = "" if v is None else v
        state.append(v)
    blob = json.dumps(state, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _drop_views() -> None:
    for name in (*LEDGERS, "v_case_latest"):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def upgrade() -> None:
    _drop_views()
    with op.batch_alter_table("case_versions") as batch:
        batch.add_column(sa.Column("region", sa.Text(), nullable=True))
        batch.add_column(sa.Column("region_code", sa.String(12), nullable=True))
        batch.add_column(sa.Column("pollution_types", sa.Text(), nullable=True))
        batch.add_column(sa.Column("key_case", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("dated_on", sa.Date(), nullable=True))
    for name in FACTS:
        op.execute(
            f"UPDATE case_versions SET {name} = (SELECT c.{name} FROM cases c"
            " WHERE c.inspection_id = case_versions.inspection_id AND c.case_id = case_versions.case_id)"
        )
    op.execute(
        "UPDATE batches SET dated_on = (SELECT MIN(v.as_of) FROM case_versions v JOIN cases c"
        " ON c.inspection_id = v.inspection_id AND c.case_id = v.case_id"
        " WHERE c.inspection_id = batches.inspection_id AND c.batch_no = batches.batch_no)"
        " WHERE transferred_on IS NOT NULL"
    )
    op.execute(
        "UPDATE batches SET dated_on = transferred_on WHERE transferred_on IS NOT NULL AND dated_on IS NULL"
    )
    conn = op.get_bind()
    cols = ", ".join(("inspection_id", "case_id", "version_no", *HASHED))
    rows = conn.execute(sa.text(f"SELECT {cols} FROM case_versions")).mappings().all()
    if rows:
        conn.execute(
            sa.text(
                "UPDATE case_versions SET state_hash = :h"
                " WHERE inspection_id = :i AND case_id = :c AND version_no = :n"
            ),
            [
                {"h": _state_hash(r), "i": r["inspection_id"], "c": r["case_id"], "n": r["version_no"]}
                for r in rows
            ],
        )
    with op.batch_alter_table("case_versions") as batch:
        batch.alter_column("region", existing_type=sa.Text(), nullable=False)
        batch.alter_column("pollution_types", existing_type=sa.Text(), nullable=False)
        batch.alter_column("key_case", existing_type=sa.Boolean(), nullable=False)
    op.execute(f"CREATE VIEW v_case_latest AS {V_CASE_LATEST}")
    for name, sql in LEDGERS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    from importlib import import_module

    _drop_views()
    # Plain DROP COLUMN (SQLite >= 3.35): batch mode would copy batches, which cases reference.
    op.drop_column("batches", "dated_on")
    for name in reversed(FACTS):
        op.drop_column("case_versions", name)
    # 0002's views, with the hashes left as they are (0002 never compared facts).
    import_module("ducha.warehouse.migrations.versions.0002_latest_by_as_of").upgrade()

"""Warehouse tables (SQLAlchemy Core). Every reported state of a case is a version;
nothing is overwritten. Dates are DATE columns; fines are stored in the inspection's
fine unit (inspections.fine_unit says which)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from ducha.contract import Field, load_contract

metadata = MetaData()

inspections = Table(
    "inspections",
    metadata,
    Column("inspection_id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", String(16), nullable=False),
    Column("province", Text),
    Column("deadline_days", Integer, nullable=False),
    Column("fine_unit", String(4), nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("inspection_id", String(64), primary_key=True),
    Column("batch_no", Integer, primary_key=True),
    Column("transferred_on", Date),
    # The as-of day of the first file that gave the transfer date: an as-of table uses
    # the date (and the due dates it sets) only from then on, so republishing an earlier
    # day gives the same bytes after a later file fills the date in.
    Column("dated_on", Date),
    # The number of cases the team transferred in the batch (the file's title "共52件", or
    # an operator's entry); NULL until known. Rows received but quarantined are not lost.
    Column("transferred_count", Integer),
    Column("counted_on", Date),  # the as-of day of the file that gave it; NULL: an operator's entry
    ForeignKeyConstraint(["inspection_id"], ["inspections.inspection_id"]),
)

files = Table(
    "files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("inspection_id", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("stored_path", Text, nullable=False),  # archive/ or quarantine/ copy, byte for byte
    Column("size", Integer, nullable=False),
    Column("received_on", Date),  # the landing day
    Column("batch_no", Integer),
    Column("status", String(16), nullable=False),  # loaded | partial | quarantined
    Column("rows_total", Integer, nullable=False),
    Column("rows_loaded", Integer, nullable=False),
    Column("rows_quarantined", Integer, nullable=False),
    Column("warnings", Integer, nullable=False, default=0),
    ForeignKeyConstraint(["inspection_id"], ["inspections.inspection_id"]),
)

cases = Table(
    "cases",
    metadata,
    Column("inspection_id", String(64), primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("batch_no", Integer, nullable=False),
    Column("seq", Integer),
    Column("received_on", Date),
    Column("channel", String(4)),  # 来电 / 来信, from the ID
    Column("id_valid", Boolean, nullable=False),  # flagged, never dropped
    Column("region", Text, nullable=False),
    Column("region_code", String(12)),
    Column("pollution_types", Text, nullable=False),  # "水、大气"
    Column("summary", Text, nullable=False),
    Column("key_case", Boolean, nullable=False),
    Column("duplicate_of", String(64)),
    Column("due_on", Date),  # transfer date + the inspection's deadline
    Column("first_file", String(64), nullable=False),
    # Which version is the latest (by as-of day, then version number) and the first as-of
    # day a version said it was closed: kept by the load, so v_case_latest reads one row
    # per case instead of ranking every version on each read. On the case row, not a
    # table of their own: no second key and key check per case (migration 0011).
    Column("latest_version_no", Integer),
    Column("latest_as_of", Date),
    Column("closed_on", Date),
    # region, region_code, pollution_types, key_case and seq here are as first reported;
    # the versions carry their corrections (v_case_latest shows the latest).
    ForeignKeyConstraint(["inspection_id", "batch_no"], ["batches.inspection_id", "batches.batch_no"]),
    # The order the case search lists in (newest batch first): a page reads its own rows.
    Index("ix_cases_batch_order", "inspection_id", "batch_no", "case_id"),
)

_CONTRACT = load_contract()
# The penalty counts and amounts of a version (the contract's count and money fields).
PENALTY_COLUMNS = tuple(_CONTRACT.penalty_fields)
# What a case is (where, what kind, how urgent, where in its batch): a later file may
# correct it, so each version carries it, and a blank cell never erases it.
CASE_FACTS = _CONTRACT.fact_fields
# A version's state, in the order its hash takes it: facts, progress, penalties.
STATE_COLUMNS = _CONTRACT.state_fields

# Money exactly (not a binary float), in the inspection's fine unit, to the fen in
# either: intake rounds an amount in 元 to 2 places, in 万元 to 6.
MONEY = Numeric(18, 6)


def _state_column(field: Field) -> Column:
    """The column of a state field, typed by its kind: text is "" when blank, never NULL;
    a number or a vocabulary value may be missing."""
    kinds: dict[str, tuple[TypeEngine, bool]] = {
        "region": (Text(), False),
        "types": (Text(), False),  # "水、大气"
        "flag": (Boolean(), False),
        "text": (Text(), False),
        "int": (Integer(), True),
        "enum": (String(8), True),
        "count": (Float(), True),
        "money": (MONEY, True),
    }
    kind, nullable = kinds[field.kind]
    return Column(field.name, kind, nullable=nullable)


case_versions = Table(
    "case_versions",
    metadata,
    Column("inspection_id", String(64), primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("version_no", Integer, primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("region_code", String(12)),  # worked out from the region
    *(_state_column(_CONTRACT.fields[name]) for name in STATE_COLUMNS),
    Column("state_hash", String(64), nullable=False),
    Column("source_file", String(64), nullable=False),
    Column("source_sheet", Text, nullable=False),
    Column("source_row", Integer, nullable=False),
    ForeignKeyConstraint(["inspection_id", "case_id"], ["cases.inspection_id", "cases.case_id"]),
    Index("ix_case_versions_as_of", "inspection_id", "as_of"),
)

# An operator's explicit choice for a batch whose rows still await correction (待补正):
# publish its table now, or hold it until the last of them is corrected. The latest one
# in force on a day (effective_on, the as-of day it was made for, on or before it)
# overrides the inspection's `pending_rows`, so an earlier day republishes the same.
# Never updated: the history of who decided what is kept.
batch_decisions = Table(
    "batch_decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("inspection_id", String(64), nullable=False),
    Column("batch_no", Integer, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("pending", Integer, nullable=False),  # rows awaiting correction when it was made
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", DateTime, nullable=False),  # UTC, from the application's clock
    Column("note", Text, nullable=False),
    ForeignKeyConstraint(["inspection_id", "batch_no"], ["batches.inspection_id", "batches.batch_no"]),
    CheckConstraint("decision IN ('publish', 'hold')", name="ck_batch_decisions_decision"),
    Index("ix_batch_decisions_batch", "inspection_id", "batch_no", "effective_on"),
)

quarantined_rows = Table(
    "quarantined_rows",
    metadata,
    Column("file_sha256", String(64), primary_key=True),
    Column("sheet", Text, primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("inspection_id", String(64), nullable=False),
    Column("case_id", String(64)),
    Column("raw", JSON, nullable=False),  # the row as written: header -> cell text
    Column("errors", JSON, nullable=False),
    Column("resolved", Boolean, nullable=False, default=False),
    Column("resolved_by", String(64)),  # the file whose corrected row loaded
    Index("ix_quarantined_rows_case", "inspection_id", "case_id"),
)

# The read-model views (v_case_latest and the three ledgers) are defined by the
# migrations (warehouse/migrations/versions), the one place a view changes.

"""An operator's explicit choice for a batch whose rows still await correction (待补正):
publish its table now, or hold it until the last of them is corrected.

The inspection's `pending_rows` convention decides by default; a decision recorded here
overrides it for one batch from its as-of day on. Decisions are never updated: the latest
in force on a day wins and the earlier ones stay as history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields

from sqlalchemy import Connection, insert, select

from ducha.warehouse.schema import batch_decisions

CHOICES = ("publish", "hold")


@dataclass(frozen=True)
class Decision:
    batch_no: int
    decision: str  # publish | hold
    effective_on: dt.date
    pending: int  # rows awaiting correction when it was made
    decided_by: str
    decided_at: dt.datetime  # UTC
    note: str

    def to_manifest(self) -> dict[str, object]:
        """What the published manifest says of it: not who decided nor why (a name, a free
        text); those stay in the warehouse and `ducha status`."""
        return {
            "decision": self.decision,
            "effective_on": self.effective_on.isoformat(),
            "pending_then": self.pending,
        }


def record(
    conn: Connection,
    inspection_id: str,
    batch_no: int,
    decision: str,
    *,
    effective_on: dt.date,
    pending: int,
    decided_by: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> Decision:
    if decision not in CHOICES:
        raise ValueError(f"a decision is one of {CHOICES}, not {decision!r}")
    # Printed by `ducha status`: no control characters from a terminal's argument.
    by = " ".join("".join(c for c in decided_by if c.isprintable()).split())
    if not by:
        raise ValueError("a decision names who made it")
    current = in_force(conn, inspection_id, effective_on).get(batch_no)
    if current is not None and current.decision == decision:
        return current  # the same choice again: nothing new, no day made stale
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    made = Decision(batch_no, decision, effective_on, pending, by[:200], at, note.strip())
    conn.execute(insert(batch_decisions).values(inspection_id=inspection_id, **asdict(made)))
    return made


def in_force(conn: Connection, inspection_id: str, as_of: dt.date) -> dict[int, Decision]:
    """batch -> the latest decision made for a day on or before ``as_of``."""
    d = batch_decisions
    rows = conn.execute(
        select(*(d.c[f.name] for f in fields(Decision)))
        .where(d.c.inspection_id == inspection_id, d.c.effective_on <= as_of)
        .order_by(d.c.batch_no, d.c.effective_on, d.c.decision_id)
    ).all()
    return {r.batch_no: Decision(**r._mapping) for r in rows}  # the last of each wins


def choices(decided: dict[int, Decision]) -> dict[int, str]:
    """batch -> publish | hold, of the decisions in force."""
    return {b: d.decision for b, d in decided.items()}

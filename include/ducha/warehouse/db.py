"""Engines and schema set-up for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine, create_engine, event, inspect, text

from ducha.contract import load_contract
from ducha.warehouse.schema import VIEWS, metadata


@cache
def engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # WAL lets the publisher read while a load writes; FKs are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        return eng
    return create_engine(url, pool_pre_ping=True)


def upgrade(url: str) -> Engine:
    """Create what is missing: tables, then the read-model views (idempotent)."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    eng = engine(url)
    metadata.create_all(eng)
    closed = ", ".join(f"'{s}'" for s in load_contract().closed_statuses)
    existing = set(inspect(eng).get_view_names())
    with eng.begin() as conn:
        for name, sql in VIEWS.items():
            if name not in existing:
                conn.execute(text(f"CREATE VIEW {name} AS {sql.format(closed=closed)}"))
    return eng

"""Engines and schema migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


@cache
def engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # WAL lets the publisher read while a load writes; FKs are off by default in SQLite.
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(eng, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            # A load takes the write lock at BEGIN: in WAL mode a reader that tries to write
            # after another writer committed fails at once instead of waiting its turn.
            immediate = conn.get_execution_options().get("ducha_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return eng
    return create_engine(url, pool_pre_ping=True)


def snapshot(eng: Engine) -> Connection:
    """A connection whose reads all see one state of the warehouse, for a reader that
    reads several times (a day's tables: the states, the batch accounts, the decisions).
    PostgreSQL's default (READ COMMITTED) lets each statement see loads committed since
    the one before; SQLite's WAL gives a transaction one snapshot already."""
    conn = eng.connect()
    if eng.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def _alembic_config(conn: Connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _sqlite_file(url: str) -> Path | None:
    """The database file of a file-backed SQLite URL; None for anything else."""
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    return Path(path) if path and path != ":memory:" else None


@contextmanager
def _migration_lock(url: str, conn: Connection) -> Iterator[None]:
    """One migrator at a time: two tasks starting together must not both create tables."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('ducha.warehouse.migrate'))"))
        yield
        return
    path = _sqlite_file(url)
    if path is None:  # an in-memory database has one connection: nothing to race
        yield
        return
    with open(str(path) + ".migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(url: str) -> Engine:
    """Bring the warehouse schema to the latest revision (idempotent); return its engine."""
    from alembic import command

    if (path := _sqlite_file(url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    eng = engine(url)
    with eng.connect() as conn, _migration_lock(url, conn):
        cfg = _alembic_config(conn)
        tables = set(inspect(conn).get_table_names())
        if "cases" in tables and "alembic_version" not in tables:
            # A warehouse made before migrations existed (same schema as 0001): adopt it.
            log.warning("warehouse has no migration history: stamping it at revision 0001")
            command.stamp(cfg, "0001")
        command.upgrade(cfg, "head")
        conn.commit()
    return eng


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()

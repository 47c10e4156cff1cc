"""Alembic environment: run by ducha.warehouse.db.upgrade with a live connection."""

from __future__ import annotations

from alembic import context

from ducha.warehouse.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` called by hand: open the configured URL
    from sqlalchemy import create_engine

    connection = create_engine(config.get_main_option("sqlalchemy.url")).connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

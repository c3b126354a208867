"""Alembic environment for the on-call store: run by oncall_sync.store.migrate, online only.

The caller hands over an open connection in config.attributes["connection"], so migrations run
with the store's own engine settings (SQLite pragmas, psycopg 3).
"""

from __future__ import annotations

from alembic import context

from oncall_sync.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run store migrations with `python -m oncall_sync.store migrate` (or make migrate), "
        "which passes the store connection to Alembic"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

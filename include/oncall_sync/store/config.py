"""Where the store lives and how to connect to it: one URL, one engine with sane settings.

The URL comes from the environment (ONCALL_SYNC_STORE_URL), else the Airflow Connection
`oncall_store`, else the embedded default: a SQLite file under <project>/var/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

ENV_VAR = "ONCALL_SYNC_STORE_URL"
CONNECTION_ID = "oncall_store"
PROJECT_DIR = Path(__file__).resolve().parents[3]
DEFAULT_PATH = PROJECT_DIR / "var" / "oncall_store.db"
SQLITE_BUSY_TIMEOUT_MS = 60_000  # a load waits this long for another load's write lock


class StoreConfigError(RuntimeError):
    """The store URL cannot be used; the message says what to change."""


def store_url() -> str:
    """The store URL: environment, then the Airflow Connection, then the embedded SQLite file."""
    if url := os.environ.get(ENV_VAR, "").strip():
        return normalise_url(url)
    if from_airflow := _url_from_airflow_connection(CONNECTION_ID):
        return normalise_url(from_airflow)
    DEFAULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_PATH}"


def _url_from_airflow_connection(conn_id: str) -> str | None:
    """The URL of an Airflow Connection, or None when Airflow or the connection is absent."""
    try:  # Airflow is heavy and optional here: the CLI and tests work without it
        from airflow.sdk import BaseHook
    except ImportError:
        return None
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # not defined (AirflowNotFoundException) or no Airflow context
        if "not defined" in str(exc) or type(exc).__name__.endswith("NotFoundException"):
            return None
        raise StoreConfigError(
            f"could not read Airflow connection {conn_id!r}: {type(exc).__name__}; "
            f"set {ENV_VAR} to the store URL instead"
        ) from None
    if (conn.conn_type or "").lower() == "sqlite":
        # Airflow keeps a SQLite connection's file path in host.
        path = conn.host or ""
        return f"sqlite:///{path}" if path else "sqlite://"
    uri: str = conn.get_uri()
    return uri


def normalise_url(url: str) -> str:
    """Accept the spellings people use for PostgreSQL and point them at psycopg 3."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for the store. SQLite: WAL, foreign keys, a busy timeout, and transactions that
    SQLAlchemy begins explicitly (so a load can take the write lock with BEGIN IMMEDIATE)."""
    raw = store_url() if url is None else url
    parsed = make_url(normalise_url(raw)) if isinstance(raw, str) else raw
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            parsed.set(drivername="postgresql+psycopg"),
            pool_pre_ping=True,  # a store restarted overnight costs a reconnect, not a failed task
            connect_args={"application_name": "oncall_sync", "connect_timeout": 10},
            **kwargs,
        )
    if parsed.get_backend_name() != "sqlite":
        raise StoreConfigError(
            f"unsupported store URL scheme {parsed.drivername!r}: use sqlite:///path or "
            "postgresql+psycopg://user@host/db"
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself; pysqlite's implicit transactions would hide it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; commits stay durable enough
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

"""Fixtures of the reliability suite: migrated stores on SQLite and PostgreSQL (a database of our
own per session, oncall_sync_rel_<random>), and the figures printed at the end for the note."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from oncall_sync.store import schema
from oncall_sync.store.config import make_engine
from oncall_sync.store.migrate import migrate
from tests.reliability.harness import FIGURES

PG_DSN_VAR = "ONCALL_SYNC_TEST_PG_DSN"


def new_sqlite_store(folder: Path, name: str = "store") -> str:
    """A migrated, empty SQLite store file; its URL."""
    url = f"sqlite:///{folder / f'{name}.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One migrated PostgreSQL database for the session, dropped at the end."""
    dsn = os.environ.get(PG_DSN_VAR)
    if not dsn:
        pytest.skip(
            f"PostgreSQL reliability tests need {PG_DSN_VAR} "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it"
        )
    server = make_url(dsn).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"oncall_sync_rel_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # constant DDL: the name is ours
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(t.name for t in schema.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty store on each engine."""
    if request.param == "sqlite":
        return new_sqlite_store(tmp_path)
    url: str = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def open_store() -> Iterator[Callable[[str], Engine]]:
    """Open a store's engine for reading; every engine opened is disposed at the test's end."""
    engines: list[Engine] = []

    def opened(url: str) -> Engine:
        engines.append(make_engine(url))
        return engines[-1]

    yield opened
    for engine in engines:
        engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not any(FIGURES.values()):
        return
    terminalreporter.section("reliability figures")
    for name, counter in FIGURES.items():
        if counter:
            terminalreporter.write_line(f"{name}: {dict(sorted(counter.items()))}")

"""The store URL: environment first, then the Airflow Connection, then the embedded file."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from sqlalchemy import text

from oncall_sync.store import config


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/oncall", "postgresql+psycopg://u:p@db:5432/oncall"),
        ("postgresql://u@db/oncall", "postgresql+psycopg://u@db/oncall"),
        ("postgresql+psycopg2://u@db/oncall", "postgresql+psycopg://u@db/oncall"),
        ("postgresql+psycopg://u@db/oncall", "postgresql+psycopg://u@db/oncall"),
        ("sqlite:////var/store.db", "sqlite:////var/store.db"),
    ],
)
def test_postgres_spellings_point_at_psycopg3(given: str, expected: str) -> None:
    assert config.normalise_url(given) == expected


def test_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.ENV_VAR, "postgres://u@db/oncall")
    monkeypatch.setattr(config, "_url_from_airflow_connection", _must_not_be_asked)
    assert config.store_url() == "postgresql+psycopg://u@db/oncall"


def _must_not_be_asked(conn_id: str) -> str | None:
    raise AssertionError("the Airflow connection was read although the env var is set")


class AirflowNotFoundException(Exception):
    """Named like Airflow's: what BaseHook.get_connection raises for an unknown conn_id."""


def _fake_airflow(monkeypatch: pytest.MonkeyPatch, conn: object | Exception) -> None:
    class BaseHook:
        @staticmethod
        def get_connection(conn_id: str) -> object:
            assert conn_id == "oncall_store"
            if isinstance(conn, Exception):
                raise conn
            return conn

    sdk = types.ModuleType("airflow.sdk")
    sdk.BaseHook = BaseHook  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "airflow", types.ModuleType("airflow"))
    monkeypatch.setitem(sys.modules, "airflow.sdk", sdk)


def test_a_sqlite_connection_keeps_its_path_in_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    conn = types.SimpleNamespace(conn_type="sqlite", host="/data/oncall.db", get_uri=None)
    _fake_airflow(monkeypatch, conn)
    assert config.store_url() == "sqlite:////data/oncall.db"


def test_a_postgres_connection_gives_its_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    conn = types.SimpleNamespace(conn_type="postgres", get_uri=lambda: "postgres://u:s@db/oncall")
    _fake_airflow(monkeypatch, conn)
    assert config.store_url() == "postgresql+psycopg://u:s@db/oncall"


def test_without_env_or_connection_the_embedded_file_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    _fake_airflow(monkeypatch, AirflowNotFoundException("The conn_id `oncall_store` isn't defined"))
    monkeypatch.setattr(config, "DEFAULT_PATH", tmp_path / "var" / "oncall_store.db")
    url = config.store_url()
    assert url == f"sqlite:///{tmp_path / 'var' / 'oncall_store.db'}"
    assert (tmp_path / "var").is_dir()


def test_an_unreadable_connection_is_an_error_that_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    _fake_airflow(monkeypatch, PermissionError("secrets backend refused"))
    with pytest.raises(config.StoreConfigError, match=config.ENV_VAR):
        config.store_url()


def test_sqlite_engines_enforce_foreign_keys_and_use_wal(tmp_path: Path) -> None:
    engine = config.make_engine(f"sqlite:///{tmp_path / 'sub' / 's.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        busy_timeout = conn.execute(text("PRAGMA busy_timeout")).scalar_one()
    assert busy_timeout == config.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_other_databases_are_refused_with_the_supported_forms() -> None:
    with pytest.raises(config.StoreConfigError, match="postgresql"):
        config.make_engine("mysql://u@db/oncall")

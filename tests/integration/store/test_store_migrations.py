"""Migrations bring an empty database to the schema the code expects, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from oncall_sync.store.__main__ import main
from oncall_sync.store.config import make_engine
from oncall_sync.store.migrate import current_revision, head_revision, is_behind, migrate
from oncall_sync.store.schema import metadata


def test_migrations_bring_an_empty_database_to_head(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    assert current_revision(engine) is None
    assert is_behind(engine)

    assert migrate(engine) == head_revision()

    assert current_revision(engine) == head_revision()
    assert not is_behind(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_migrating_a_current_store_again_changes_nothing(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_migrate_command_reports_the_revisions(empty_database_url: str, capsys) -> None:
    assert main(["migrate", "--url", empty_database_url]) == 0
    out = capsys.readouterr().out
    assert f"empty -> {head_revision()}" in out
    assert "password" not in out.lower() or "***" in out

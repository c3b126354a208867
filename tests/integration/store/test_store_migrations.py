"""Migrations bring an empty database to the schema the code expects, on both engines."""

from __future__ import annotations

from datetime import datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from oncall_sync.store.__main__ import main
from oncall_sync.store.config import make_engine
from oncall_sync.store.migrate import (
    current_revision,
    ensure_current,
    head_revision,
    is_behind,
    migrate,
)
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


def test_oncall_command_answers_from_the_store(empty_database_url: str, capsys) -> None:
    from oncall_sync.oncall import on_call_at
    from oncall_sync.store.repo import apply_plan
    from tests.store_fixtures import create_plan, full_config

    engine = make_engine(empty_database_url)
    migrate(engine)
    apply_plan(engine, create_plan(full_config()))
    engine.dispose()
    at = "2026-12-25T12:00:00+00:00"

    assert (
        main(["oncall", "--schedule", "SRE primary", "--at", at, "--url", empty_database_url]) == 0
    )

    out = capsys.readouterr().out
    expected = on_call_at(full_config().schedules[0], datetime.fromisoformat(at))
    assert expected, "the sample schedule has someone on call at that instant"
    for participant in expected:
        assert (
            f"{participant.member_type}: {participant.ref_name or ''} ({participant.ref_source_id})"
            in out
        )


def test_oncall_command_says_when_the_schedule_is_unknown(empty_database_url: str, capsys) -> None:
    migrate(empty_database_url)
    assert main(["oncall", "--schedule", "Nope", "--url", empty_database_url]) == 1
    assert "no schedule named 'Nope'" in capsys.readouterr().err


def test_a_store_behind_is_migrated_once_before_a_load(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    assert ensure_current(engine) is True
    assert ensure_current(engine) is False
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_detach_command_hands_a_synced_row_to_local_management(
    empty_database_url: str, capsys
) -> None:
    from sqlalchemy import select

    from oncall_sync.store import schema
    from oncall_sync.store.migrate import migrate

    engine = make_engine(empty_database_url)
    migrate(engine)
    with engine.begin() as conn:
        team_id = conn.execute(
            schema.team.insert().values(name="Ops", source_system="opsgenie", source_id="t1")
        ).inserted_primary_key[0]
    assert main(["detach", "team", str(team_id), "--url", empty_database_url]) == 0
    assert "managed locally" in capsys.readouterr().out
    with engine.connect() as conn:
        managed = conn.execute(select(schema.team.c.managed)).scalar_one()
    assert managed == "detached"
    assert main(["detach", "team", "999", "--url", empty_database_url]) == 1
    engine.dispose()

"""Records survive the trip into columns and back, exactly as entity_records makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, insert, select

from oncall_sync.model import EntityType, entity_records, record_hash
from oncall_sync.store import repo, schema
from tests.store_fixtures import full_config, record_of


@pytest.mark.parametrize("kind", list(EntityType))
def test_every_record_rebuilds_from_its_columns_unchanged(kind: EntityType) -> None:
    for rec in entity_records(full_config())[kind]:
        rebuilt = repo.store_form(kind, rec.data)
        if kind is EntityType.ROTATION and rec.source_id == "r-weekend":
            continue  # its anchor has an offset: see the test below
        assert rebuilt == rec.data
        assert record_hash(rebuilt) == rec.hash


def test_an_instant_with_an_offset_comes_back_as_the_same_instant_in_utc() -> None:
    record = record_of(full_config(), EntityType.ROTATION, "r-weekend")
    assert record["anchor_at"] == "2026-03-06T18:00:00+01:00"

    rebuilt = repo.store_form(EntityType.ROTATION, record)

    assert rebuilt["anchor_at"] == "2026-03-06T17:00:00Z"
    assert {k: v for k, v in rebuilt.items() if k != "anchor_at"} == {
        k: v for k, v in record.items() if k != "anchor_at"
    }


def test_escalation_repeat_is_kept_apart_from_no_repeat() -> None:
    config = full_config()
    with_repeat = repo.store_form(
        EntityType.ESCALATION_POLICY, record_of(config, EntityType.ESCALATION_POLICY, "e-sre")
    )
    without = repo.store_form(
        EntityType.ESCALATION_POLICY, record_of(config, EntityType.ESCALATION_POLICY, "e-pay")
    )
    assert with_repeat["repeat"] == {
        "count": 2,
        "wait_minutes": 10,
        "reset_recipients": True,
        "close_after_all": False,
    }
    assert without["repeat"] is None


def test_utc_instants_round_trip_through_sqlite_as_aware_datetimes() -> None:
    engine = create_engine("sqlite://")
    schema.metadata.create_all(engine, tables=[schema.sync_run])
    berlin_time = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as conn:
        conn.execute(
            insert(schema.sync_run).values(
                id="r",
                source_system="opsgenie",
                source_account="a",
                status="ok",
                started_at=berlin_time,
            )
        )
        stored = conn.execute(select(schema.sync_run.c.started_at)).scalar_one()
    assert stored == berlin_time
    assert stored.tzinfo is UTC


def test_a_naive_instant_is_refused() -> None:
    engine = create_engine("sqlite://")
    schema.metadata.create_all(engine, tables=[schema.sync_run])
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            insert(schema.sync_run).values(
                id="r",
                source_system="o",
                source_account="a",
                status="ok",
                started_at=datetime(2026, 1, 1),
            )
        )


def test_every_synced_table_carries_the_provenance_block() -> None:
    provenance = {
        "source_system",
        "source_account",
        "source_id",
        "source_hash",
        "applied_hash",
        "last_synced_at",
        "last_sync_run_id",
        "local_modified",
        "local_modified_at",
        "source_deleted_at",
        "managed",
    }
    for table in schema.SYNCED_TABLES:
        assert provenance <= set(table.c.keys()), table.name
        keys = [
            {c.name for c in con.columns}
            for con in table.constraints
            if con.__class__.__name__ == "UniqueConstraint"
        ]
        assert {"source_system", "source_account", "source_id"} in keys, table.name

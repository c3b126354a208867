"""Reading and writing the store on SQLite and PostgreSQL: round trip, idempotence, local edits,
tombstones, all-or-nothing writes, detached rows, adoption, invitations and the load lock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select, text

from oncall_sync.model import (
    Action,
    EntityType,
    Invitation,
    PlannedChange,
    entity_records,
)
from oncall_sync.store import repo, schema
from oncall_sync.store.repo import (
    StoreWriteError,
    apply_plan,
    detach,
    find_by_name,
    find_people_by_email,
    read_config,
    read_schedules_named,
    read_state,
    record_sync_run,
    write_transaction,
)
from tests.store_fixtures import (
    ACCOUNT,
    SYSTEM,
    create_plan,
    full_config,
    plan_of,
    record_of,
    row_counts,
    snapshot,
)

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def _loaded(store: Engine) -> None:
    apply_plan(store, create_plan(full_config()), now=T0)


def _tombstone(kind: EntityType, source_id: str) -> PlannedChange:
    return PlannedChange(entity_type=kind, source_id=source_id, action=Action.TOMBSTONE)


def _unchanged_plan(store: Engine) -> list[PlannedChange]:
    """What a planner does with an unchanged source: compare hashes, decide unchanged."""
    with store.connect() as conn:
        state = read_state(conn, SYSTEM, ACCOUNT)
    changes = []
    for kind, records in entity_records(full_config()).items():
        for rec in records:
            stored = state[kind][rec.source_id]
            assert stored.source_hash == rec.hash
            changes.append(
                PlannedChange(
                    entity_type=kind,
                    source_id=rec.source_id,
                    name=rec.name,
                    action=Action.UNCHANGED,
                    store_id=stored.store_id,
                )
            )
    return changes


def test_full_account_round_trips_through_the_store(store: Engine) -> None:
    config = full_config()
    written = apply_plan(store, create_plan(config), now=T0)

    with store.connect() as conn:
        assert read_config(conn, SYSTEM, ACCOUNT) == config
        state = read_state(conn, SYSTEM, ACCOUNT)
    for kind, records in entity_records(config).items():
        assert set(state[kind]) == {r.source_id for r in records}
        for rec in records:
            stored = state[kind][rec.source_id]
            assert stored.source_hash == rec.hash
            assert stored.current_hash == stored.applied_hash
            assert not stored.local_modified
            assert stored.name == rec.name
    assert written["person"] == 3
    assert written["rotation_member"] == 8
    assert written["escalation_target"] == 8


def test_references_resolve_to_store_rows(store: Engine) -> None:
    _loaded(store)
    with store.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT m.member_type, p.source_id, t.source_id, e.source_id "
                "FROM rotation_member m JOIN rotation r ON r.id = m.rotation_id "
                "LEFT JOIN person p ON p.id = m.person_id LEFT JOIN team t ON t.id = m.team_id "
                "LEFT JOIN escalation_policy e ON e.id = m.escalation_policy_id "
                "WHERE r.source_id = 'r-weekend' ORDER BY m.position"
            )
        ).all()
        unresolved = text(
            "SELECT ref_source_id FROM escalation_target "
            "WHERE person_id IS NULL AND target_type = 'user'"
        )
        dangling = conn.execute(unresolved).scalars().all()
    assert [tuple(r) for r in rows] == [
        ("user", "u-alice", None, None),
        ("user", "u-bob", None, None),
        ("none", None, None, None),
        ("team", None, "t-pay", None),
        ("escalation", None, None, "e-sre"),
    ]
    assert dangling == ["u-gone"]  # kept by source id, no store row to point at


def test_second_identical_apply_writes_nothing(store: Engine) -> None:
    _loaded(store)
    before = snapshot(store)

    written = apply_plan(
        store, plan_of(_unchanged_plan(store), run_id="opsgenie_sync/run-2"), now=T1
    )

    assert written == {}
    assert snapshot(store) == before


def test_rerunning_the_same_load_keeps_one_copy_of_everything(store: Engine) -> None:
    plan = create_plan(full_config())
    apply_plan(store, plan, now=T0)
    counts = row_counts(store)

    apply_plan(store, plan, now=T0)

    assert row_counts(store) == counts
    with store.connect() as conn:
        assert read_config(conn, SYSTEM, ACCOUNT) == full_config()


def test_local_edit_is_detected_by_hash(store: Engine) -> None:
    _loaded(store)
    with store.begin() as conn:
        conn.execute(text("UPDATE schedule SET name = 'Renamed by hand' WHERE source_id = 's-sre'"))
        conn.execute(
            text(
                "UPDATE rotation_window SET start_time = '19:00:00' WHERE ordinal = 0 AND "
                "rotation_id = (SELECT id FROM rotation WHERE source_id = 'r-weekend')"
            )
        )
    with store.connect() as conn:
        state = read_state(conn, SYSTEM, ACCOUNT)
    assert state[EntityType.SCHEDULE]["s-sre"].local_modified
    assert state[EntityType.SCHEDULE]["s-sre"].data["name"] == "Renamed by hand"
    assert state[EntityType.ROTATION]["r-weekend"].local_modified
    assert not state[EntityType.SCHEDULE]["s-pay"].local_modified
    assert not state[EntityType.ROTATION]["r-nights"].local_modified


def test_update_overwrites_a_local_edit_and_rewrites_children(store: Engine) -> None:
    _loaded(store)
    with store.begin() as conn:
        conn.execute(text("UPDATE rotation SET name = 'hand' WHERE source_id = 'r-weekend'"))
    record = record_of(full_config(), EntityType.ROTATION, "r-weekend")
    record = {**record, "members": record["members"][:2], "windows": []}
    change = PlannedChange(
        entity_type=EntityType.ROTATION,
        source_id="r-weekend",
        name="Weekend",
        action=Action.UPDATE,
        record=record,
        diff={"members": ([], [])},
    )

    written = apply_plan(store, plan_of([change]), now=T1)

    assert written == {"rotation": 1, "rotation_member": 2, "sync_run": 1, "sync_run_item": 1}
    with store.connect() as conn:
        stored = read_state(conn, SYSTEM, ACCOUNT)[EntityType.ROTATION]["r-weekend"]
        windows = conn.execute(text("SELECT count(*) FROM rotation_window")).scalar_one()
    assert stored.data == repo.store_form(EntityType.ROTATION, record)
    assert stored.data["anchor_at"] == "2026-03-06T17:00:00Z"  # the same instant, in UTC
    assert not stored.local_modified
    assert windows == 2  # only r-nights' windows remain


def test_tombstone_keeps_the_row(store: Engine) -> None:
    _loaded(store)
    tombstone = PlannedChange(
        entity_type=EntityType.SCHEDULE,
        source_id="s-empty",
        name="Empty",
        action=Action.TOMBSTONE,
        reason="gone from the source",
    )

    written = apply_plan(store, plan_of([tombstone]), now=T1)

    assert written["schedule"] == 1
    with store.connect() as conn:
        row = conn.execute(
            select(schema.schedule).where(schema.schedule.c.source_id == "s-empty")
        ).one()
        state = read_state(conn, SYSTEM, ACCOUNT)
        config = read_config(conn, SYSTEM, ACCOUNT)
    assert row.source_deleted_at == T1
    assert state[EntityType.SCHEDULE]["s-empty"].tombstoned
    assert "s-empty" not in {s.source_id for s in config.schedules}


def test_a_tombstoned_object_that_returns_is_revived(store: Engine) -> None:
    _loaded(store)
    apply_plan(store, plan_of([_tombstone(EntityType.TEAM, "t-pay")]), now=T1)
    revive = PlannedChange(
        entity_type=EntityType.TEAM,
        source_id="t-pay",
        action=Action.UPDATE,
        record=record_of(full_config(), EntityType.TEAM, "t-pay"),
    )
    apply_plan(store, plan_of([revive], run_id="opsgenie_sync/run-3"), now=T1)
    with store.connect() as conn:
        assert not read_state(conn, SYSTEM, ACCOUNT)[EntityType.TEAM]["t-pay"].tombstoned


def test_a_failure_midway_leaves_the_store_unchanged(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _loaded(store)
    before = snapshot(store)
    config = full_config()
    changes = [
        PlannedChange(
            entity_type=EntityType.SCHEDULE,
            source_id="s-sre",
            action=Action.UPDATE,
            record={**record_of(config, EntityType.SCHEDULE, "s-sre"), "name": "New name"},
        ),
        PlannedChange(
            entity_type=EntityType.ROTATION,
            source_id="r-nights",
            action=Action.UPDATE,
            record={**record_of(config, EntityType.ROTATION, "r-nights"), "members": []},
        ),
        PlannedChange(
            entity_type=EntityType.SERVICE, source_id="v-orphan", action=Action.TOMBSTONE
        ),
    ]

    def crash(load: object) -> None:
        raise RuntimeError("the worker died after the parent tables were written")

    monkeypatch.setattr(repo, "_write_children", crash)
    with pytest.raises(RuntimeError, match="worker died"):
        apply_plan(store, plan_of(changes), now=T1)

    assert snapshot(store) == before


def test_a_plan_that_breaks_a_constraint_is_refused_whole(store: Engine) -> None:
    _loaded(store)
    before = snapshot(store)
    orphan = PlannedChange(
        entity_type=EntityType.ROTATION,
        source_id="r-orphan",
        action=Action.CREATE,
        record={
            **record_of(full_config(), EntityType.ROTATION, "r-pay"),
            "source_id": "r-orphan",
            "schedule_source_id": "s-missing",
        },
    )
    good = PlannedChange(
        entity_type=EntityType.TEAM,
        source_id="t-new",
        action=Action.CREATE,
        record={"source_id": "t-new", "name": "New", "description": ""},
    )
    with pytest.raises(StoreWriteError, match="s-missing"):
        apply_plan(store, plan_of([good, orphan]), now=T1)
    assert snapshot(store) == before


def test_detached_rows_are_left_alone(store: Engine) -> None:
    _loaded(store)
    with store.connect() as conn:
        schedule_id = read_state(conn, SYSTEM, ACCOUNT)[EntityType.SCHEDULE]["s-sre"].store_id
    assert detach(store, EntityType.SCHEDULE, schedule_id)
    record = {**record_of(full_config(), EntityType.SCHEDULE, "s-sre"), "name": "From source"}
    changes = [
        PlannedChange(
            entity_type=EntityType.SCHEDULE, source_id="s-sre", action=Action.UPDATE, record=record
        ),
    ]
    apply_plan(store, plan_of(changes), now=T1)
    tombstone = _tombstone(EntityType.SCHEDULE, "s-sre")
    apply_plan(store, plan_of([tombstone], run_id="opsgenie_sync/run-3"), now=T1)

    with store.connect() as conn:
        stored = read_state(conn, SYSTEM, ACCOUNT)[EntityType.SCHEDULE]["s-sre"]
        item = schema.sync_run_item.c
        items = conn.execute(
            select(item.action, item.reason).where(item.sync_run_id != "opsgenie_sync/run-1")
        ).all()
    assert stored.data["name"] == "SRE primary"
    assert stored.detached and not stored.tombstoned
    assert [a for a, _ in items] == ["skip", "skip"]
    assert all("detached" in reason for _, reason in items)


def test_a_local_person_matched_by_email_is_adopted(store: Engine) -> None:
    with store.begin() as conn:
        local_alice = {"email_norm": "alice@example.com", "display_name": "Alice (local)"}
        conn.execute(insert(schema.person).values(**local_alice, created_at=T0, updated_at=T0))
        found = find_people_by_email(conn, ["ALICE@example.com "])
    local = found["alice@example.com"]
    assert local.source_id is None
    config = full_config()
    changes = [
        PlannedChange(
            entity_type=EntityType.PERSON,
            source_id="u-alice",
            action=Action.UPDATE,
            record=record_of(config, EntityType.PERSON, "u-alice"),
            store_id=local.store_id,
            reason="matched by email",
        )
    ]
    apply_plan(store, plan_of(changes), now=T1)

    with store.connect() as conn:
        again = find_people_by_email(conn, ["alice@example.com"])["alice@example.com"]
        stored = read_state(conn, SYSTEM, ACCOUNT)[EntityType.PERSON]["u-alice"]
    assert again == (local.store_id, SYSTEM, ACCOUNT, "u-alice", "Europe/Berlin")
    assert stored.data["display_name"] == "Alice Adams"
    assert row_counts(store)["person"] == 1


def test_adopting_a_row_of_another_source_is_refused(store: Engine) -> None:
    _loaded(store)
    with store.connect() as conn:
        team_id = read_state(conn, SYSTEM, ACCOUNT)[EntityType.TEAM]["t-sre"].store_id
    steal = PlannedChange(
        entity_type=EntityType.TEAM,
        source_id="t-other",
        action=Action.CREATE,
        record={"source_id": "t-other", "name": "SRE", "description": ""},
        store_id=team_id,
    )
    with pytest.raises(StoreWriteError, match="only rows created locally"):
        apply_plan(store, plan_of([steal]), now=T1)


def test_names_are_found_across_origins(store: Engine) -> None:
    _loaded(store)
    with store.begin() as conn:
        conn.execute(
            insert(schema.team).values(name="SRE", description="", created_at=T0, updated_at=T0)
        )
        found = find_by_name(conn, EntityType.TEAM, ["SRE", "Nobody"])
        schedules = find_by_name(conn, EntityType.SCHEDULE, ["Payments on-call"])
    assert [ref.source_id for ref in found["SRE"]] == ["t-sre", None]
    assert "Nobody" not in found
    assert [ref.time_zone for ref in schedules["Payments on-call"]] == ["America/New_York"]


def test_every_decision_but_unchanged_is_a_run_item_and_invitations_are_kept(store: Engine) -> None:
    _loaded(store)
    changes = [
        *_unchanged_plan(store)[:3],
        PlannedChange(
            entity_type=EntityType.PERSON,
            source_id="u-dave",
            name="dave@example.com",
            action=Action.SKIP,
            reason="user not found and invite_users=none",
        ),
        PlannedChange(
            entity_type=EntityType.SCHEDULE,
            source_id="s-sre",
            action=Action.CONFLICT,
            reason="duplicate schedule",
            diff={"name": ["SRE primary", "SRE primary (OpsGenie)"]},
        ),
    ]
    invite = Invitation(email="carol@example.com", person_source_id="u-carol")
    plan = plan_of(changes, invitations=(invite,))
    before = row_counts(store)

    written = apply_plan(store, plan, now=T1)
    apply_plan(store, plan, now=T1)  # a re-run of the same load

    assert written == {"sync_run": 1, "sync_run_item": 2, "invitation": 1}
    after = row_counts(store)
    assert after["sync_run_item"] == before["sync_run_item"] + 2
    assert after["invitation"] == 1
    assert {k: v for k, v in after.items() if k not in written} == {
        k: v for k, v in before.items() if k not in written
    }
    with store.connect() as conn:
        invitation = conn.execute(select(schema.invitation)).one()
        status = conn.execute(
            text("SELECT invite_status FROM person WHERE source_id = 'u-carol'")
        ).scalar_one()
        diff = conn.execute(
            select(schema.sync_run_item.c.diff).where(schema.sync_run_item.c.action == "conflict")
        ).scalar_one()
    assert (invitation.status, invitation.invited_at) == ("pending", T1)
    assert status == "pending"
    assert diff == {"name": ["SRE primary", "SRE primary (OpsGenie)"]}


def test_record_sync_run_inserts_then_completes_the_row(store: Engine) -> None:
    run = {"id": "opsgenie_sync/run-9", "source_system": SYSTEM, "source_account": ACCOUNT}
    record_sync_run(
        store, {**run, "status": "running", "started_at": T0, "params": {"dry_run": False}}
    )
    record_sync_run(store, {**run, "status": "success", "finished_at": T1, "stats": {"created": 3}})
    with store.connect() as conn:
        row = conn.execute(select(schema.sync_run)).one()
    assert (row.status, row.started_at, row.finished_at) == ("success", T0, T1)
    assert row.params == {"dry_run": False} and row.stats == {"created": 3}


def test_schedules_are_read_back_by_name_for_the_oncall_question(store: Engine) -> None:
    _loaded(store)
    with store.connect() as conn:
        schedules = read_schedules_named(conn, "SRE primary")
    assert schedules == [full_config().schedules[0]]


def test_two_loads_never_interleave(store: Engine) -> None:
    done = threading.Event()
    errors: list[BaseException] = []

    def second_load() -> None:
        try:
            apply_plan(store, create_plan(full_config()), now=T1)
        except BaseException as exc:  # pragma: no cover - surfaced by the assertion below
            errors.append(exc)
        finally:
            done.set()

    with write_transaction(store) as conn:
        conn.execute(
            insert(schema.team).values(name="held", description="", created_at=T0, updated_at=T0)
        )
        worker = threading.Thread(target=second_load)
        worker.start()
        assert not done.wait(0.5), "a second load ran while the first held the lock"
    worker.join(30)
    assert done.is_set() and not errors
    assert row_counts(store)["team"] == 3


def test_a_kept_local_edit_is_flagged_once_for_sql(store: Engine) -> None:
    _loaded(store)
    with store.begin() as conn:
        conn.execute(text("UPDATE schedule SET name = 'Ours' WHERE source_id = 's-pay'"))
    kept = PlannedChange(
        entity_type=EntityType.SCHEDULE,
        source_id="s-pay",
        action=Action.SKIPPED_LOCAL_EDIT,
        reason="edited in the store; kept (preserve_local)",
    )

    first = apply_plan(store, plan_of([kept]), now=T1)
    second = apply_plan(store, plan_of([kept], run_id="opsgenie_sync/run-3"), now=T1)

    assert first["schedule"] == 1
    assert "schedule" not in second
    sched = schema.schedule.c
    with store.connect() as conn:
        flagged = conn.execute(
            select(sched.name, sched.local_modified_at).where(sched.local_modified)
        ).all()
    assert [tuple(row) for row in flagged] == [("Ours", T1)]


def test_reading_an_account_takes_one_query_per_table_not_per_row(store: Engine) -> None:
    _loaded(store)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(store, "before_cursor_execute", count)
    try:
        with store.connect() as conn:
            state = read_state(conn, SYSTEM, ACCOUNT)
    finally:
        event.remove(store, "before_cursor_execute", count)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert state.count() == sum(len(r) for r in entity_records(full_config()).values())
    assert len(reads) == len(EntityType) + 5  # the entity tables, then the five child tables

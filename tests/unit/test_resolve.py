"""conflict_resolve: every action, the seed's four conflicts, selection and the deletion guard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from oncall_sync.model import (
    Action,
    ConflictKind,
    EntityType,
    OnCallConfig,
    Participant,
    Person,
    Rotation,
    Schedule,
    Service,
    Team,
    TeamMember,
    entity_records,
)
from oncall_sync.resolve import (
    IMPORT_SUFFIX,
    DeletionGuardTripped,
    StoreRef,
    StoreView,
    SyncOptions,
    check_deletion_guard,
    plan_changes,
    plan_summary,
)

ANCHOR = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def person(n: int, **extra: Any) -> Person:
    return Person(
        source_id=f"u{n}", email=f"user{n}@example.com", email_raw=f"User{n}@Example.com",
        display_name=f"User {n}", time_zone="Europe/Berlin", time_zone_raw="Europe/Berlin",
        **extra,
    )  # fmt: skip


def account(people: int = 4, **overrides: Any) -> OnCallConfig:
    rotation = Rotation(
        source_id="r1",
        schedule_source_id="s1",
        position=0,
        turn_unit="week",
        turn_count=1,
        anchor_at=ANCHOR,
        members=(
            Participant(member_type="user", ref_source_id="u0", ref_name="user0@example.com"),
            Participant(member_type="none"),
        ),
    )
    fields: dict[str, Any] = {
        "source_system": "opsgenie",
        "source_account": "acme",
        "people": tuple(person(n) for n in range(people)),
        "teams": (Team(source_id="t1", name="Ops"), Team(source_id="t2", name="Web")),
        "team_members": (TeamMember(team_source_id="t1", person_source_id="u0"),),
        "schedules": (
            Schedule(
                source_id="s1", name="Ops_schedule", time_zone="America/Los_Angeles",
                time_zone_raw="PST", owner_team_source_id="t1", rotations=(rotation,),
            ),
            Schedule(
                source_id="s2", name="Web_schedule", time_zone="Europe/Berlin",
                time_zone_raw="Europe/Berlin", owner_team_source_id="t2",
            ),
        ),
        "services": (Service(source_id="v1", name="checkout", owner_team_source_id="t2"),),
    }  # fmt: skip
    return OnCallConfig(**{**fields, **overrides})


@dataclass
class Stored:
    store_id: int
    name: str
    data: dict[str, Any]
    source_hash: str | None
    local_modified: bool = False
    managed: str = "synced"
    source_deleted_at: datetime | None = None


def store_of(config: OnCallConfig, **edits: Any) -> StoreView:
    """A store holding exactly what a previous sync of `config` wrote."""
    records: dict[EntityType, dict[str, Stored]] = {}
    n = 0
    for kind, recs in entity_records(config).items():
        for rec in recs:
            n += 1
            records.setdefault(kind, {})[rec.source_id] = Stored(n, rec.name, rec.data, rec.hash)
    refs = {
        p.email: StoreRef(i, "opsgenie", "acme", p.source_id) for i, p in enumerate(config.people)
    }
    return StoreView(records=records, people_by_email=refs, **edits)


def actions(plan, kind: EntityType) -> dict[str, Action]:
    return {c.source_id: c.action for c in plan.changes if c.entity_type is kind}


def test_first_sync_into_an_empty_store_creates_everything_and_invites_unmatched_users():
    plan = plan_changes(account(), StoreView(), SyncOptions(), run_id="r")
    assert set(actions(plan, EntityType.PERSON).values()) == {Action.CREATE}
    assert set(actions(plan, EntityType.SCHEDULE).values()) == {Action.CREATE}
    assert actions(plan, EntityType.ROTATION) == {"r1": Action.CREATE}
    assert [i.email for i in plan.invitations] == [f"user{n}@example.com" for n in range(4)]
    not_found = [c for c in plan.conflicts if c.kind is ConflictKind.USER_NOT_FOUND]
    assert len(not_found) == 4 and all(c.resolution == "invited (pending)" for c in not_found)


def test_syncing_an_unchanged_account_plans_no_write():
    config = account()
    plan = plan_changes(config, store_of(config), SyncOptions(), run_id="r")
    assert {c.action for c in plan.changes} == {Action.UNCHANGED}
    assert plan_summary(plan)["writes_planned"] == 0


def test_a_changed_source_record_is_an_update_with_a_field_diff():
    config = account()
    store = store_of(config)
    renamed = config.model_copy(update={"teams": (Team(source_id="t1", name="Operations"),
                                                  config.teams[1])})  # fmt: skip
    plan = plan_changes(renamed, store, SyncOptions(), run_id="r")
    [change] = [c for c in plan.changes if c.action is Action.UPDATE]
    assert change.source_id == "t1"
    assert change.diff == {"name": ("Ops", "Operations")}


def test_preserve_local_keeps_a_locally_edited_row_and_overwrite_source_replaces_it():
    config = account()
    store = store_of(config)
    store.records[EntityType.TEAM]["t1"].local_modified = True  # type: ignore[attr-defined]
    store.records[EntityType.TEAM]["t1"].data = {**store.records[EntityType.TEAM]["t1"].data,
                                                 "name": "Ops (edited)"}  # fmt: skip
    kept = plan_changes(config, store, SyncOptions(conflict_strategy="preserve_local"), run_id="r")
    assert actions(kept, EntityType.TEAM)["t1"] is Action.SKIPPED_LOCAL_EDIT
    replaced = plan_changes(
        config, store, SyncOptions(conflict_strategy="overwrite_source"), run_id="r"
    )
    [change] = [c for c in replaced.changes if c.source_id == "t1"]
    assert change.action is Action.UPDATE and change.record["name"] == "Ops"


def test_a_record_gone_from_the_source_is_tombstoned_not_deleted():
    config = account(people=8)
    smaller = account(people=7)
    plan = plan_changes(smaller, store_of(config), SyncOptions(), run_id="r")
    [gone] = [c for c in plan.changes if c.action is Action.TOMBSTONE]
    assert (gone.entity_type, gone.source_id, gone.reason) == (
        EntityType.PERSON, "u7", "no longer in the source",
    )  # fmt: skip


def test_detached_rows_are_left_alone_and_never_tombstoned():
    config = account()
    store = store_of(config)
    store.records[EntityType.SCHEDULE]["s2"].managed = "detached"  # type: ignore[attr-defined]
    without_s2 = config.model_copy(update={"schedules": config.schedules[:1]})
    plan = plan_changes(without_s2, store, SyncOptions(deletion_guard_share=0.9), run_id="r")
    assert "s2" not in actions(plan, EntityType.SCHEDULE)


def test_an_existing_local_person_is_matched_by_email_case_insensitively():
    store = StoreView(people_by_email={"user1@example.com": StoreRef(store_id=42)})
    plan = plan_changes(account(), store, SyncOptions(), run_id="r")
    [change] = [c for c in plan.changes if c.source_id == "u1"]
    assert change.action is Action.CREATE and change.store_id == 42
    assert "u1" not in {i.person_source_id for i in plan.invitations}


def test_unmatched_users_are_skipped_with_their_contacts_when_invite_users_is_none():
    plan = plan_changes(account(), StoreView(), SyncOptions(invite_users="none"), run_id="r")
    assert set(actions(plan, EntityType.PERSON).values()) == {Action.SKIP}
    member = next(c for c in plan.changes if c.entity_type is EntityType.TEAM_MEMBER)
    assert member.action is Action.SKIP and "not invited" in member.reason
    assert actions(plan, EntityType.ROTATION) == {"r1": Action.CREATE}  # the slot is kept
    assert not plan.invitations
    assert all(c.needs_review for c in plan.conflicts if c.kind is ConflictKind.USER_NOT_FOUND)


def test_invite_users_as_a_list_invites_only_those():
    options = SyncOptions(invite_users=["USER2@example.com"])
    plan = plan_changes(account(), StoreView(), options, run_id="r")
    assert [i.email for i in plan.invitations] == ["user2@example.com"]
    assert actions(plan, EntityType.PERSON)["u1"] is Action.SKIP


@pytest.mark.parametrize(
    ("strategy", "expected_name", "expected_store_id"),
    [("preserve_local", "Ops" + IMPORT_SUFFIX, None), ("overwrite_source", "Ops", 9)],
)
def test_team_name_collision_is_renamed_or_merged_per_strategy(
    strategy, expected_name, expected_store_id
):
    store = StoreView(names={EntityType.TEAM: {"Ops": [StoreRef(store_id=9)]}})
    plan = plan_changes(account(), store, SyncOptions(conflict_strategy=strategy), run_id="r")
    [change] = [c for c in plan.changes if c.source_id == "t1"]
    assert change.record["name"] == expected_name
    assert change.store_id == expected_store_id
    [conflict] = [c for c in plan.conflicts if c.kind is ConflictKind.TEAM_NAME_COLLISION]
    assert conflict.name == "Ops" and conflict.resolution


def test_duplicate_schedule_from_another_source_is_imported_under_a_suffixed_name():
    other = StoreRef(store_id=5, source_system="pagerduty", source_account="x", source_id="P1")
    store = StoreView(names={EntityType.SCHEDULE: {"Web_schedule": [other]}})
    plan = plan_changes(account(), store, SyncOptions(conflict_strategy="overwrite_source"),
                        run_id="r")  # fmt: skip
    [change] = [c for c in plan.changes if c.source_id == "s2"]
    assert change.record["name"] == "Web_schedule" + IMPORT_SUFFIX
    assert [c.kind for c in plan.conflicts if c.source_id == "s2"] == [
        ConflictKind.DUPLICATE_SCHEDULE
    ]


def test_a_suffixed_import_stays_unchanged_on_the_next_sync():
    config = account()
    store = StoreView(names={EntityType.TEAM: {"Ops": [StoreRef(store_id=9)]}})
    first = plan_changes(config, store, SyncOptions(), run_id="r")
    written = {c.source_id: c.record for c in first.changes if c.record}
    second_store = store_of(config)
    second_store.records[EntityType.TEAM]["t1"].data = written["t1"]  # type: ignore[attr-defined]
    second = plan_changes(config, second_store, SyncOptions(), run_id="r2")
    assert actions(second, EntityType.TEAM)["t1"] is Action.UNCHANGED


def test_a_java_short_zone_is_a_timezone_mismatch_that_needs_no_review():
    plan = plan_changes(account(), StoreView(), SyncOptions(), run_id="r")
    [tz] = [c for c in plan.conflicts if c.kind is ConflictKind.TIMEZONE_MISMATCH]
    assert tz.source_id == "s1" and "PST" in tz.detail and not tz.needs_review


def test_a_zone_that_differs_from_the_store_needs_review():
    config = account()
    store = store_of(config)
    stored = store.records[EntityType.SCHEDULE]["s2"]
    stored.data = {**stored.data, "time_zone": "Asia/Tokyo"}  # type: ignore[attr-defined]
    plan = plan_changes(config, store, SyncOptions(), run_id="r")
    flagged = [c for c in plan.conflicts if c.source_id == "s2"]
    assert flagged and flagged[0].needs_review and "Asia/Tokyo" in flagged[0].detail


def test_a_service_selects_its_owning_team_and_what_that_team_owns():
    plan = plan_changes(account(), StoreView(), SyncOptions(services=["checkout"]), run_id="r")
    assert actions(plan, EntityType.TEAM) == {"t1": Action.SKIP, "t2": Action.CREATE}
    assert actions(plan, EntityType.SCHEDULE) == {"s1": Action.SKIP, "s2": Action.CREATE}
    skipped = next(c for c in plan.changes if c.source_id == "t1")
    assert skipped.reason == "outside the selected teams and services"


def test_selecting_an_unknown_team_is_an_error_not_an_empty_run():
    with pytest.raises(ValueError, match="Nope"):
        plan_changes(account(), StoreView(), SyncOptions(teams=["Nope"]), run_id="r")


def test_contacts_are_skipped_when_contact_details_are_off():
    from oncall_sync.model import ContactMethod

    config = account(
        contact_methods=(
            ContactMethod(source_id="c1", person_source_id="u0", kind="email", address="a@b.c"),
        )
    )
    plan = plan_changes(config, StoreView(), SyncOptions(sync_contact_details=False), run_id="r")
    assert actions(plan, EntityType.CONTACT_METHOD) == {"c1": Action.SKIP}


def test_deletion_guard_stops_a_source_with_no_users():
    config = account()
    empty = config.model_copy(update={"people": (), "team_members": ()})
    with pytest.raises(DeletionGuardTripped, match="0 users"):
        plan_changes(empty, store_of(config), SyncOptions(), run_id="r")


def test_deletion_guard_stops_when_half_the_schedules_vanish_and_says_which():
    config = account()
    half = config.model_copy(update={"schedules": config.schedules[:1]})
    with pytest.raises(DeletionGuardTripped) as error:
        plan_changes(half, store_of(config), SyncOptions(deletion_guard_share=0.25), run_id="r")
    assert "1 of 2 schedule records vanished" in str(error.value) and "s2" in str(error.value)


def test_deletion_guard_allows_shrinkage_up_to_the_threshold_and_not_past_it():
    stored = {EntityType.PERSON: {"a", "b", "c", "d"}}
    check_deletion_guard({EntityType.PERSON: {"a", "b", "c"}}, stored, 0.25)  # 25%: allowed
    with pytest.raises(DeletionGuardTripped, match="2 of 4 person records vanished"):
        check_deletion_guard({EntityType.PERSON: {"a", "b"}}, stored, 0.25)


def test_every_source_record_ends_in_exactly_one_action():
    config = account()
    plan = plan_changes(config, StoreView(), SyncOptions(services=["checkout"]), run_id="r")
    source = {(k, r.source_id) for k, recs in entity_records(config).items() for r in recs}
    planned = [(c.entity_type, c.source_id) for c in plan.changes]
    assert sorted(planned) == sorted(source)


def test_a_partial_snapshot_tombstones_nothing_and_skips_the_guard():
    config = account()
    half = config.model_copy(update={"schedules": config.schedules[:1], "people": ()})
    plan = plan_changes(half, store_of(config), SyncOptions(partial_source=True), run_id="r")
    assert Action.TOMBSTONE not in {c.action for c in plan.changes}


def test_store_form_keeps_a_representation_difference_from_looking_like_a_change():
    config = account()
    store = store_of(config)

    def upper_names(kind, data):  # a stand-in for the store's own representation
        return {**data, "name": data["name"].upper()} if kind is EntityType.TEAM else data

    for rec in store.records[EntityType.TEAM].values():
        rec.data = upper_names(EntityType.TEAM, rec.data)  # type: ignore[attr-defined]
    plan = plan_changes(config, store, SyncOptions(), run_id="r", store_form=upper_names)
    assert set(actions(plan, EntityType.TEAM).values()) == {Action.UNCHANGED}


def test_a_create_carries_its_record_but_no_diff_repeating_it():
    plan = plan_changes(account(), StoreView(), SyncOptions(), run_id="r")
    created = [c for c in plan.changes if c.action is Action.CREATE]
    assert created and all(c.record and not c.diff for c in created)

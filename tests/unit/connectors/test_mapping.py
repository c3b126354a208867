"""transform: raw OpsGenie payloads (shapes from reference/opsgenie-api.md) into the canonical
model, with fidelity notes, skipped and failed records."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, time
from typing import Any

import pytest

from oncall_sync.connectors.opsgenie.mapping import MappingResult, map_snapshot
from oncall_sync.model import (
    NOBODY,
    Condition,
    ContactKind,
    EntityType,
    Fidelity,
    FidelityNote,
    MemberType,
    SchedulePick,
    TargetType,
    TeamAudience,
    TurnUnit,
    WindowKind,
    entity_records,
    record_hash,
)
from tests.raw_payloads import ESCALATION, JANE, JOHN, ROTATION, SCHEDULE, TEAM, raw_snapshot


def user(uid: str, username: str, **extra: Any) -> dict[str, Any]:
    return {
        "blocked": False,
        "verified": False,
        "id": uid,
        "username": username,
        "fullName": "jane doe",
        "role": {"id": "Admin", "name": "Admin"},
        "timeZone": "Europe/Moscow",
        "locale": "en_GB",
        "tags": ["tag1", "tag3"],
        "userAddress": {"country": "", "state": "", "city": "", "line": "", "zipCode": ""},
        "createdAt": "2017-05-12T09:39:14.41Z",
        **extra,
    }


def rule(notify: str, minutes: int, recipient: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "condition": "if-not-acked",
        "notifyType": notify,
        "delay": {"timeAmount": minutes, "timeUnit": "minutes"},
        "recipient": recipient,
        **extra,
    }


SCHEDULE_REF = {"id": SCHEDULE, "name": "Engineering_schedule", "type": "schedule"}
TEAM_REF = {"id": TEAM, "name": "Engineering", "type": "team"}
JOHN_REF = {"id": JOHN, "type": "user", "username": "John.Smith@OpsGenie.com"}

WEEKDAYS_10_TO_18 = [
    {
        "startDay": day,
        "endDay": day,
        "startHour": 10,
        "endHour": 18,
        "startMin": 0,
        "endMin": 0,
    }
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
]


def raw_account() -> dict[str, Any]:
    return {
        "manifest": {"format": 1, "source_system": "opsgenie", "source_account": "acme"},
        "users": [
            user(JANE, "jane.doe@opsgenie.com"),
            user(
                JOHN,
                "John.Smith@OpsGenie.com",
                fullName='<i>Zoë</i> & "Quote" O\'Brien',
                timeZone="US/Pacific",
                role={"id": "User", "name": "User"},
                verified=True,
                blocked=True,
            ),
        ],
        "contacts": {
            JANE: [
                {
                    "id": "c-1",
                    "method": "email",
                    "to": "jane.doe@opsgenie.com",
                    "status": {"enabled": True, "disabledReason": ""},
                    "applyOrder": 0,
                },
                {
                    "id": "c-2",
                    "method": "sms",
                    "to": "1-4155552671",
                    "status": {"enabled": False, "disabledReason": "Invalid phone number"},
                    "applyOrder": 1,
                },
            ]
        },
        "teams": [
            {
                "id": TEAM,
                "name": "<b>Ops</b> & Ünïcode",
                "description": "Engineering",
                "members": [
                    {"user": {"id": JANE, "username": "jane.doe@opsgenie.com"}, "role": "admin"},
                    {"user": {"id": JOHN, "username": "John.Smith@OpsGenie.com"}},
                ],
                "links": {"web": "https://acme.app.opsgenie.com/teams/x", "api": "https://x"},
            }
        ],
        "schedules": [
            {
                "id": SCHEDULE,
                "name": "Engineering_schedule",
                "description": "",
                "timezone": "Europe/London",
                "enabled": True,
                "ownerTeam": {"id": TEAM, "name": "Engineering"},
                "rotations": [
                    {
                        "id": ROTATION,
                        "name": "Business hours",
                        "startDate": "2019-07-24T09:00:00Z",
                        "type": "weekly",
                        "length": 2,
                        "participants": [
                            {"type": "user", "id": JANE, "username": "jane.doe@opsgenie.com"},
                            {"type": "none"},
                            {"type": "team", "id": TEAM, "name": "Engineering"},
                            {"type": "escalation", "id": ESCALATION, "name": "Eng_escalation"},
                            {"type": "user", "id": JANE, "username": "jane.doe@opsgenie.com"},
                        ],
                        "timeRestriction": {
                            "type": "weekday-and-time-of-day",
                            "restrictions": copy.deepcopy(WEEKDAYS_10_TO_18),
                        },
                    },
                    {
                        "id": "r-night",
                        "name": "Nights",
                        "startDate": "2019-07-24T19:00:00Z",
                        "endDate": "2027-01-01T19:00:00Z",
                        "type": "daily",
                        "participants": [{"type": "user", "id": JOHN, "username": "j"}],
                        "timeRestriction": {
                            "type": "time-of-day",
                            "restriction": {
                                "startHour": 19,
                                "startMin": 0,
                                "endHour": 11,
                                "endMin": 0,
                            },
                        },
                    },
                ],
            },
            {
                "id": "s-global",
                "name": "Équipe Nuit 夜",
                "description": "",
                "timezone": "PST",
                "enabled": False,
                "rotations": [],
            },
        ],
        "overrides": {
            SCHEDULE: [
                {
                    "_parent": {"id": SCHEDULE, "name": "Engineering_schedule", "enabled": True},
                    "alias": "cover-jane",
                    "user": {"type": "user", "id": JOHN, "username": "John.Smith@OpsGenie.com"},
                    "startDate": "2026-11-27T08:00:00Z",
                    "endDate": "2026-11-27T16:00:00Z",
                    "rotations": [{"name": "Nights"}],
                },
                {
                    "alias": "nobody",
                    "user": {"type": "none"},
                    "startDate": "2026-11-28T08:00:00Z",
                    "endDate": "2026-11-28T16:00:00Z",
                    "rotations": [],
                },
            ]
        },
        "escalations": [
            {
                "id": ESCALATION,
                "name": "Engineering_escalation",
                "description": "",
                "ownerTeam": {"id": TEAM, "name": "Engineering"},
                "rules": [
                    rule("default", 0, SCHEDULE_REF),
                    rule("next", 5, SCHEDULE_REF),
                    rule("default", 5, JOHN_REF),
                    rule("all", 10, TEAM_REF),
                ],
            }
        ],
        "services": [
            {
                "id": "svc-1",
                "name": "<Checkout> & Café",
                "description": "Customer facing",
                "teamId": TEAM,
                "tags": ["tier-1", "customer"],
                "isExternal": False,
            }
        ],
    }


@pytest.fixture(scope="module")
def mapped() -> MappingResult:
    return map_snapshot(raw_account())


def notes_for(result: MappingResult, source_id: str) -> list[FidelityNote]:
    return [n for n in result.notes if n.source_id == source_id]


# --- people, contacts, teams ----------------------------------------------------------------


def test_users_become_people_with_normalised_email_and_canonical_zone(
    mapped: MappingResult,
) -> None:
    jane, john = mapped.config.people
    assert jane.email == "jane.doe@opsgenie.com"
    assert (jane.time_zone, jane.time_zone_raw, jane.role, jane.locale) == (
        "Europe/Moscow",
        "Europe/Moscow",
        "Admin",
        "en_GB",
    )
    assert (jane.verified, jane.blocked) == (False, False)
    assert john.email == "john.smith@opsgenie.com"
    assert john.email_raw == "John.Smith@OpsGenie.com"
    assert (john.time_zone, john.time_zone_raw) == ("America/Los_Angeles", "US/Pacific")
    assert (john.verified, john.blocked) == (True, True)


def test_unicode_and_html_names_are_kept_verbatim(mapped: MappingResult) -> None:
    assert mapped.config.people[1].display_name == '<i>Zoë</i> & "Quote" O\'Brien'
    assert mapped.config.teams[0].name == "<b>Ops</b> & Ünïcode"
    assert mapped.config.schedules[1].name == "Équipe Nuit 夜"
    assert mapped.config.services[0].name == "<Checkout> & Café"


def test_display_name_falls_back_to_username() -> None:
    raw = raw_account()
    raw["users"][0]["fullName"] = ""
    assert map_snapshot(raw).config.people[0].display_name == "jane.doe@opsgenie.com"


def test_converted_zones_are_noted_as_exact_conversions(mapped: MappingResult) -> None:
    (note,) = [n for n in notes_for(mapped, JOHN) if n.feature.startswith("time zone")]
    assert note.fidelity is Fidelity.EXACT
    assert "US/Pacific" in note.detail and "America/Los_Angeles" in note.detail
    schedule = mapped.config.schedules[1]
    assert (schedule.time_zone, schedule.time_zone_raw) == ("America/Los_Angeles", "PST")
    assert any(n.feature == "time zone (java_short)" for n in notes_for(mapped, "s-global"))
    assert not notes_for(mapped, JANE)  # plain IANA: nothing to say


def test_unknown_user_zone_keeps_the_raw_value_and_says_so() -> None:
    raw = raw_account()
    raw["users"][0]["timeZone"] = "Mars/Olympus_Mons"
    result = map_snapshot(raw)
    jane = result.config.people[0]
    assert (jane.time_zone, jane.time_zone_raw) == (None, "Mars/Olympus_Mons")
    assert [n.fidelity for n in notes_for(result, JANE)] == [Fidelity.APPROXIMATED]


def test_contacts_keep_method_address_state_and_order(mapped: MappingResult) -> None:
    email, sms = mapped.config.contact_methods
    assert (email.kind, email.address, email.enabled, email.position) == (
        ContactKind.EMAIL,
        "jane.doe@opsgenie.com",
        True,
        0,
    )
    assert email.disabled_reason is None
    assert (sms.kind, sms.enabled, sms.disabled_reason, sms.person_source_id) == (
        ContactKind.SMS,
        False,
        "Invalid phone number",
        JANE,
    )


def test_expand_shape_contacts_are_read_when_the_contacts_file_is_absent() -> None:
    raw = raw_account()
    del raw["contacts"]
    raw["users"][1]["userContacts"] = [
        {
            "id": "x-1",
            "to": "john@x.com",
            "contactMethod": "email",
            "disabledReason": "",
            "enabled": False,
        }
    ]
    (only,) = map_snapshot(raw).config.contact_methods
    assert (only.source_id, only.person_source_id, only.kind, only.enabled) == (
        "x-1",
        JOHN,
        ContactKind.EMAIL,
        False,
    )


def test_teams_and_members_keep_roles(mapped: MappingResult) -> None:
    (team,) = mapped.config.teams
    assert team.description == "Engineering"
    assert [(m.person_source_id, m.role) for m in mapped.config.team_members] == [
        (JANE, "admin"),
        (JOHN, "user"),  # no role given: the API's default
    ]


def test_a_member_listed_twice_is_kept_once_and_the_repeat_skipped() -> None:
    raw = raw_account()
    members = raw["teams"][0]["members"]
    members.append({**members[0], "role": "user"})
    result = map_snapshot(raw)
    assert [m.role for m in result.config.team_members] == ["admin", "user"]
    (skipped,) = result.skipped
    assert skipped["source_id"] == f"{TEAM}:{JANE}" and "twice" in skipped["reason"]


# --- schedules and rotations ----------------------------------------------------------------


def test_rotation_maps_cadence_anchor_members_and_position(mapped: MappingResult) -> None:
    schedule = mapped.config.schedules[0]
    assert schedule.owner_team_source_id == TEAM
    first, second = schedule.rotations
    assert (first.turn_unit, first.turn_count, first.position) == (TurnUnit.WEEK, 2, 0)
    assert first.anchor_at == datetime(2019, 7, 24, 9, tzinfo=UTC)
    assert first.ends_at is None
    assert [m.member_type for m in first.members] == [
        MemberType.USER,
        MemberType.NONE,
        MemberType.TEAM,
        MemberType.ESCALATION,
        MemberType.USER,  # repeats are kept: they are the turn order
    ]
    assert first.members[0].ref_name == "jane.doe@opsgenie.com"
    assert first.members[1] == NOBODY
    assert first.members[2].ref_name == "Engineering"
    assert (second.turn_unit, second.turn_count, second.position) == (TurnUnit.DAY, 1, 1)
    assert second.ends_at == datetime(2027, 1, 1, 19, tzinfo=UTC)


def test_non_user_participants_are_kept_and_noted(mapped: MappingResult) -> None:
    features = {n.feature for n in notes_for(mapped, ROTATION)}
    assert {
        "rotation participant of type none",
        "rotation participant of type team",
        "rotation participant of type escalation",
    } <= features
    assert all(n.fidelity is Fidelity.EXACT for n in notes_for(mapped, ROTATION))


def test_weekday_restrictions_become_one_weekly_window_each(mapped: MappingResult) -> None:
    windows = mapped.config.schedules[0].rotations[0].windows
    assert [(w.kind, w.start_weekday, w.end_weekday) for w in windows] == [
        (WindowKind.WEEKLY, day, day) for day in range(1, 6)
    ]
    assert {(w.start_time, w.end_time) for w in windows} == {(time(10), time(18))}


def test_time_of_day_restriction_wrapping_midnight_is_one_daily_window(
    mapped: MappingResult,
) -> None:
    (window,) = mapped.config.schedules[0].rotations[1].windows
    assert (window.kind, window.start_time, window.end_time) == (
        WindowKind.DAILY,
        time(19),
        time(11),
    )
    assert window.duration_minutes == 16 * 60


def test_weekday_window_wrapping_the_week_is_kept() -> None:
    raw = raw_account()
    raw["schedules"][0]["rotations"][0]["timeRestriction"]["restrictions"] = [
        {
            "startDay": "friday",
            "endDay": "monday",
            "startHour": 18,
            "endHour": 10,
            "startMin": 0,
            "endMin": 0,
        }
    ]
    (window,) = map_snapshot(raw).config.schedules[0].rotations[0].windows
    assert (window.start_weekday, window.end_weekday) == (5, 1)
    assert window.duration_minutes == (2 * 24 + 16) * 60


def test_end_hour_24_is_midnight_of_the_next_day() -> None:
    raw = raw_account()
    raw["schedules"][0]["rotations"][0]["timeRestriction"]["restrictions"] = [
        {"startDay": "sunday", "endDay": "sunday", "startHour": 9, "endHour": 24}
    ]
    result = map_snapshot(raw)
    (window,) = result.config.schedules[0].rotations[0].windows
    assert (window.start_weekday, window.start_time, window.end_weekday, window.end_time) == (
        7,
        time(9),
        1,
        time(0),
    )
    assert any(n.feature == "time restriction ending at 24:00" for n in result.notes)


def test_shuffled_restrictions_give_the_same_record_hash() -> None:
    raw = raw_account()
    shuffled = copy.deepcopy(raw)
    restrictions = shuffled["schedules"][0]["rotations"][0]["timeRestriction"]["restrictions"]
    random.Random(4).shuffle(restrictions)
    restrictions.append(copy.deepcopy(restrictions[0]))  # a repeat adds nothing
    first = map_snapshot(raw).config.schedules[0].rotations[0]
    second = map_snapshot(shuffled).config.schedules[0].rotations[0]
    assert record_hash(first) == record_hash(second)


def test_mapping_is_deterministic(mapped: MappingResult) -> None:
    again = map_snapshot(raw_account())
    assert again.config == mapped.config
    assert [r.hash for r in entity_records(again.config)[EntityType.ROTATION]] == [
        r.hash for r in entity_records(mapped.config)[EntityType.ROTATION]
    ]


def test_schedule_without_owner_team_is_global(mapped: MappingResult) -> None:
    schedule = mapped.config.schedules[1]
    assert schedule.owner_team_source_id is None
    assert schedule.enabled is False
    assert schedule.rotations == ()


def test_rotation_minutes_off_the_half_hour_are_kept_and_noted() -> None:
    raw = raw_account()
    raw["schedules"][0]["rotations"][0]["startDate"] = "2019-07-24T09:15:00Z"
    result = map_snapshot(raw)
    assert result.config.schedules[0].rotations[0].anchor_at.minute == 15
    assert any(n.feature == "rotation time not on :00 or :30" for n in notes_for(result, ROTATION))


def test_open_ended_rotation_without_restriction_or_length() -> None:
    raw = raw_account()
    rotation = raw["schedules"][0]["rotations"][0]
    for key in ("timeRestriction", "length"):
        rotation.pop(key)
    mapped_rotation = map_snapshot(raw).config.schedules[0].rotations[0]
    assert (mapped_rotation.turn_count, mapped_rotation.windows) == (1, ())


# --- overrides --------------------------------------------------------------------------------


def test_overrides_are_keyed_by_schedule_and_alias_with_rotation_names_resolved(
    mapped: MappingResult,
) -> None:
    cover, nobody = mapped.config.schedules[0].overrides
    assert cover.source_id == f"{SCHEDULE}:cover-jane"
    assert cover.participant.ref_source_id == JOHN
    assert cover.rotation_source_ids == ("r-night",)
    assert cover.starts_at == datetime(2026, 11, 27, 8, tzinfo=UTC)
    assert nobody.participant == NOBODY
    assert nobody.rotation_source_ids == ()


def test_override_scoped_only_to_unknown_rotations_is_skipped_with_reason() -> None:
    raw = raw_account()
    raw["overrides"][SCHEDULE][0]["rotations"] = [{"id": "r-gone", "name": "Gone"}]
    result = map_snapshot(raw)
    assert [o.alias for o in result.config.schedules[0].overrides] == ["nobody"]
    (skipped,) = [s for s in result.skipped if s["entity_type"] == "override"]
    assert skipped["source_id"] == f"{SCHEDULE}:cover-jane"
    assert "r-gone" in skipped["reason"]


def test_override_keeps_the_rotations_it_can_and_notes_the_rest() -> None:
    raw = raw_account()
    raw["overrides"][SCHEDULE][0]["rotations"] = [{"id": ROTATION}, {"id": "r-gone"}]
    result = map_snapshot(raw)
    assert result.config.schedules[0].overrides[0].rotation_source_ids == (ROTATION,)
    (note,) = notes_for(result, f"{SCHEDULE}:cover-jane")
    assert note.fidelity is Fidelity.APPROXIMATED and "r-gone" in note.detail


# --- escalations ------------------------------------------------------------------------------


def test_rules_with_the_same_delay_share_a_level_and_timeouts_are_derived(
    mapped: MappingResult,
) -> None:
    (policy,) = mapped.config.escalation_policies
    assert [(lv.offset_seconds, lv.timeout_seconds) for lv in policy.levels] == [
        (0, 300),
        (300, 300),
        (600, None),  # no repeat: nothing follows the last level
    ]
    assert [len(lv.targets) for lv in policy.levels] == [1, 2, 1]
    assert policy.repeat is None
    assert policy.owner_team_source_id == TEAM


def test_last_level_waits_for_the_repeat() -> None:
    raw = raw_account()
    raw["escalations"][0]["repeat"] = {
        "waitInterval": 10,
        "count": 2,
        "resetRecipientStates": True,
        "closeAlertAfterAll": False,
    }
    policy = map_snapshot(raw).config.escalation_policies[0]
    assert policy.levels[-1].timeout_seconds == 600
    assert policy.repeat is not None
    assert (policy.repeat.count, policy.repeat.wait_minutes) == (2, 10)
    assert (policy.repeat.reset_recipients, policy.repeat.close_after_all) == (True, False)


def test_repeat_with_count_zero_leaves_the_last_timeout_open() -> None:
    raw = raw_account()
    raw["escalations"][0]["repeat"] = {"waitInterval": 10, "count": 0}
    policy = map_snapshot(raw).config.escalation_policies[0]
    assert policy.levels[-1].timeout_seconds is None
    assert policy.repeat is not None and policy.repeat.count == 0


def test_notify_types_map_to_picks_and_audiences(mapped: MappingResult) -> None:
    levels = mapped.config.escalation_policies[0].levels
    current, following, user_target, team = (
        levels[0].targets[0],
        levels[1].targets[0],
        levels[1].targets[1],
        levels[2].targets[0],
    )
    assert (current.target_type, current.schedule_pick) == (
        TargetType.SCHEDULE,
        SchedulePick.CURRENT,
    )
    assert following.schedule_pick is SchedulePick.NEXT
    assert (user_target.target_type, user_target.ref_source_id) == (TargetType.USER, JOHN)
    assert user_target.ref_name == "John.Smith@OpsGenie.com"
    assert (team.target_type, team.team_audience) == (TargetType.TEAM, TeamAudience.ALL)
    assert not [n for n in mapped.notes if n.fidelity is not Fidelity.EXACT]


@pytest.mark.parametrize(
    ("notify", "recipient", "pick", "audience"),
    [
        ("next", TEAM_REF, None, TeamAudience.DEFAULT),
        ("admins", SCHEDULE_REF, SchedulePick.CURRENT, None),
        ("random", JOHN_REF, None, None),
    ],
)
def test_notify_type_without_meaning_for_the_recipient_is_approximated(
    notify: str,
    recipient: dict[str, Any],
    pick: SchedulePick | None,
    audience: TeamAudience | None,
) -> None:
    raw = raw_account()
    raw["escalations"][0]["rules"] = [rule(notify, 0, recipient)]
    result = map_snapshot(raw)
    (target,) = result.config.escalation_policies[0].levels[0].targets
    assert (target.schedule_pick, target.team_audience) == (pick, audience)
    (note,) = [n for n in notes_for(result, ESCALATION) if n.feature.startswith("notifyType")]
    assert note.fidelity is Fidelity.APPROXIMATED
    assert notify in note.detail


def test_delay_units_become_seconds_and_conditions_split_levels() -> None:
    raw = raw_account()
    raw["escalations"][0]["rules"] = [
        rule("default", 1, JOHN_REF, delay={"timeAmount": 1, "timeUnit": "hours"}),
        rule("default", 0, JOHN_REF, delay={"timeAmount": 90, "timeUnit": "seconds"}),
        rule("all", 0, TEAM_REF, delay={"timeAmount": 90000, "timeUnit": "miliseconds"}),
        rule("default", 0, SCHEDULE_REF, delay={"timeAmount": 90}, condition="if-not-closed"),
        rule("default", 0, SCHEDULE_REF, delay={"timeAmount": 1, "timeUnit": "days"}),
    ]
    levels = map_snapshot(raw).config.escalation_policies[0].levels
    assert [(lv.offset_seconds, lv.condition, len(lv.targets)) for lv in levels] == [
        (90, Condition.NOT_ACKED, 2),
        (3600, Condition.NOT_ACKED, 1),
        (5400, Condition.NOT_CLOSED, 1),
        (86400, Condition.NOT_ACKED, 1),
    ]
    assert [lv.timeout_seconds for lv in levels] == [3510, 1800, 81000, None]
    assert [lv.position for lv in levels] == [0, 1, 2, 3]


def test_rules_at_0_5_5_10_minutes_make_three_levels() -> None:
    raw = raw_account()
    raw["escalations"][0]["rules"] = [
        rule("default", 0, SCHEDULE_REF),
        rule("default", 5, JOHN_REF),
        rule("all", 5, TEAM_REF),
        rule("next", 10, SCHEDULE_REF),
    ]
    raw["escalations"][0]["repeat"] = {"waitInterval": 15, "count": 1}
    levels = map_snapshot(raw).config.escalation_policies[0].levels
    assert [(lv.offset_seconds, lv.timeout_seconds) for lv in levels] == [
        (0, 300),
        (300, 300),
        (600, 900),
    ]


def test_recipient_type_we_cannot_express_is_left_out_with_a_note() -> None:
    raw = raw_account()
    raw["escalations"][0]["rules"].append(rule("default", 15, {"id": "g", "type": "group"}))
    result = map_snapshot(raw)
    assert len(result.config.escalation_policies[0].levels) == 3
    assert any(n.fidelity is Fidelity.UNSUPPORTED for n in notes_for(result, ESCALATION))


# --- services ---------------------------------------------------------------------------------


def test_services_keep_owner_team_and_sorted_tags(mapped: MappingResult) -> None:
    (service,) = mapped.config.services
    assert service.owner_team_source_id == TEAM
    assert service.tags == ("customer", "tier-1")
    assert service.description == "Customer facing"


# --- quarantine, failures, counts ---------------------------------------------------------------


def test_quarantined_user_takes_contacts_and_memberships_but_rotation_slot_stays() -> None:
    result = map_snapshot(
        raw_account(),
        quarantine=[{"entity_type": "person", "source_id": JANE, "rule": "x", "reason": "y"}],
    )
    config = result.config
    assert [p.source_id for p in config.people] == [JOHN]
    assert config.contact_methods == ()
    assert [m.person_source_id for m in config.team_members] == [JOHN]
    assert config.schedules[0].rotations[0].members[0].ref_source_id == JANE
    slot_notes = [n for n in notes_for(result, ROTATION) if n.fidelity is Fidelity.APPROXIMATED]
    assert slot_notes and JANE in slot_notes[0].detail
    reasons = {(s["entity_type"], s["reason"]) for s in result.skipped}
    assert ("person", "quarantined") in reasons
    assert ("contact_method", f"its person {JANE} is quarantined") in reasons
    assert ("team_member", f"its person {JANE} is quarantined") in reasons


def test_quarantined_schedule_takes_its_rotations_and_overrides() -> None:
    from oncall_sync.quality import QuarantineItem

    item = QuarantineItem(
        entity_type=EntityType.SCHEDULE, source_id=SCHEDULE, rule="r", reason="bad"
    )
    result = map_snapshot(raw_account(), quarantine=[item])
    assert [s.source_id for s in result.config.schedules] == ["s-global"]
    skipped = count_by_type(result.skipped)
    assert skipped == {"schedule": 1, "rotation": 2, "override": 2}


def count_by_type(items: list[dict[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in items:
        counts[entry["entity_type"]] = counts.get(entry["entity_type"], 0) + 1
    return counts


def test_quarantined_rotation_alone_is_left_out() -> None:
    result = map_snapshot(
        raw_account(), quarantine=[{"entity_type": "rotation", "source_id": "r-night"}]
    )
    (rotation,) = result.config.schedules[0].rotations
    assert rotation.source_id == ROTATION
    # the override scoped to the left-out rotation cannot be placed
    assert [o.alias for o in result.config.schedules[0].overrides] == ["nobody"]


def test_malformed_records_fail_alone() -> None:
    raw = raw_account()
    raw["users"].insert(0, {"id": "u-broken", "fullName": "No username"})
    raw["users"].append("not an object")
    raw["schedules"][0]["rotations"].insert(1, {"id": "r-bad", "type": "monthly"})
    raw["schedules"].insert(0, {"id": "s-bad", "name": "Bad", "timezone": "Mars/Base"})
    raw["escalations"].append({"id": "e-bad", "name": "Bad", "rules": [{"condition": "maybe"}]})
    raw["services"].append({"id": "svc-bad"})
    raw["teams"].append({"id": "t-bad", "members": [{"user": {"id": JANE}, "role": "user"}]})
    result = map_snapshot(raw)
    failed = {(f["entity_type"], f["source_id"]) for f in result.failed}
    assert failed == {
        ("person", "u-broken"),
        ("person", ""),
        ("rotation", "r-bad"),
        ("schedule", "s-bad"),
        ("escalation_policy", "e-bad"),
        ("service", "svc-bad"),
        ("team", "t-bad"),
    }
    assert result.skipped == [
        {
            "entity_type": "team_member",
            "source_id": f"t-bad:{JANE}",
            "name": "",
            "reason": "its team t-bad failed",
        }
    ]
    reasons = {f["source_id"]: f["reason"] for f in result.failed}
    assert "username" in reasons["u-broken"]
    assert "monthly" in reasons["r-bad"]
    assert "Mars/Base" in reasons["s-bad"]
    assert result.counts["person"] == 2
    assert result.counts["rotation"] == 2
    assert result.counts["schedule"] == 2
    assert result.counts["escalation_policy"] == 1


def test_counts_add_up_to_the_source(mapped: MappingResult) -> None:
    assert mapped.counts == {
        "person": 2,
        "contact_method": 2,
        "team": 1,
        "team_member": 2,
        "schedule": 2,
        "rotation": 2,
        "override": 2,
        "escalation_policy": 1,
        "service": 1,
    }
    assert mapped.failed == [] and mapped.skipped == []
    assert list(mapped.config.notes) == mapped.notes


def test_exact_constructs_are_summarised_as_counts(mapped: MappingResult) -> None:
    summary = {n.feature: n.detail for n in mapped.notes if n.source_id == "*"}
    assert summary["user"].startswith("2 mapped exactly")
    assert summary["rotation"].startswith("2 mapped exactly")
    assert "schedule without an owner team" in summary


def test_source_account_comes_from_the_manifest_unless_given(mapped: MappingResult) -> None:
    assert mapped.config.source_account == "acme"
    assert mapped.config.source_system == "opsgenie"
    assert map_snapshot(raw_account(), source_account="other").config.source_account == "other"
    raw = raw_account()
    del raw["manifest"]
    with pytest.raises(ValueError, match="source_account"):
        map_snapshot(raw)


def test_entity_types_not_extracted_are_simply_absent() -> None:
    raw = {"manifest": {"source_account": "acme"}, "schedules": raw_account()["schedules"]}
    result = map_snapshot(raw)
    assert result.counts["schedule"] == 2 and result.counts["person"] == 0
    # references to types that were not extracted cannot be judged: no notes about them
    assert not [n for n in result.notes if n.fidelity is Fidelity.APPROXIMATED]


def test_generated_account_maps_without_failures() -> None:
    from oncall_sync.emulator.generator import generate_account

    account = generate_account("demo")
    raw = raw_snapshot(account)
    result = map_snapshot(raw)
    assert result.failed == []
    assert result.counts["person"] == len(account.users)
    assert result.counts["rotation"] == sum(len(s["rotations"]) for s in account.schedules)
    assert result.counts["override"] + len(result.skipped) == sum(
        len(v) for v in account.overrides.values()
    )


def test_validated_account_maps_and_every_record_is_accounted_for() -> None:
    """Source count = mapped + skipped + failed, per entity type, after validate's quarantine."""
    from oncall_sync.emulator.generator import generate_account
    from oncall_sync.quality import validate_snapshot

    account = generate_account("tiny", seed=11)
    raw = raw_snapshot(account)
    raw["users"].append(user("u-dup", account.users[0]["username"].upper()))
    raw["contacts"][account.users[0]["id"]].append(
        {"id": "c-bad", "method": "sms", "to": "1-1", "status": {"enabled": True}}
    )
    report = validate_snapshot(raw)
    assert {i.rule for i in report.quarantine} >= {"user.email_unique", "contact.value_valid"}
    result = map_snapshot(raw, quarantine=report.quarantine)
    source = {
        "person": len(raw["users"]),
        "contact_method": sum(len(v) for v in raw["contacts"].values()),
        "team": len(raw["teams"]),
        "team_member": sum(len(t["members"]) for t in raw["teams"]),
        "schedule": len(raw["schedules"]),
        "rotation": sum(len(s["rotations"]) for s in raw["schedules"]),
        "override": sum(len(v) for v in raw["overrides"].values()),
        "escalation_policy": len(raw["escalations"]),
        "service": len(raw["services"]),
    }
    skipped = count_by_type(result.skipped)
    failed = count_by_type(result.failed)
    for kind, total in source.items():
        assert result.counts[kind] + skipped.get(kind, 0) + failed.get(kind, 0) == total, kind
    assert skipped["person"] == 2  # both users sharing the email
    assert account.users[0]["id"] not in {p.source_id for p in result.config.people}


ODD_VALUES: list[Any] = [None, 0, -1, 1.5, "", "x", [], {}, True, [None], {"a": 1}, 24, "monday"]


def mutated(raw: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy of raw with a few values anywhere replaced by something the API should not send."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if len(path) > 1:
            paths.append(path)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))

    copied = copy.deepcopy(raw)
    walk(copied, ())
    for path in rng.sample(paths, 4):
        parent = copied
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = rng.choice(ODD_VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement took this path away
    return copied


def test_odd_values_anywhere_never_abort_the_mapping() -> None:
    rng = random.Random(20261127)
    base = raw_account()
    for _ in range(150):
        result = map_snapshot(mutated(base, rng), source_account="acme")
        assert sum(result.counts.values()) + len(result.failed) + len(result.skipped) > 0

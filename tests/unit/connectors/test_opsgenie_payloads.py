"""The payload models accept the API's real shapes and quirks and reject what we cannot use."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oncall_sync.connectors.opsgenie import payloads


def test_schedule_listed_without_expand_has_empty_rotations() -> None:
    listed = {
        "id": "b8e9",
        "name": "ooh_second_line",
        "description": "",
        "timezone": "Europe/London",
        "enabled": True,
        "ownerTeam": {"id": "72c9", "name": "support_team"},
        "rotations": [],
    }

    assert payloads.Schedule.model_validate(listed).rotations == []


def test_schedule_zone_is_passed_through_unchanged() -> None:
    for zone in ("Africa/Monrovia", "PST", "GMT-8:00", "US/Pacific"):
        schedule = payloads.Schedule.model_validate({"id": "s", "name": "n", "timezone": zone})
        assert schedule.timezone == zone


def test_contact_endpoint_uses_method_not_contact_method() -> None:
    contact = payloads.Contact.model_validate(
        {
            "id": "c",
            "method": "sms",
            "to": "+1",
            "status": {"enabled": False, "disabledReason": "x"},
        }
    )
    assert contact.method == "sms"
    assert contact.status.enabled is False
    with pytest.raises(ValidationError, match="method"):
        payloads.Contact.model_validate({"id": "c", "contactMethod": "sms", "to": "+1"})


def test_escalation_without_repeat_is_accepted() -> None:
    escalation = payloads.Escalation.model_validate(
        {
            "id": "e",
            "name": "Engineering_escalation",
            "rules": [
                {
                    "condition": "if-not-closed",
                    "notifyType": "random",
                    "delay": {"timeAmount": 5, "timeUnit": "minutes"},
                    "recipient": {"type": "user", "id": "u", "username": "a@b.c"},
                }
            ],
        }
    )
    assert escalation.repeat is None
    assert escalation.rules[0].notify_type == "random"


def test_team_list_item_without_members_is_accepted_and_team_member_role_is_a_string() -> None:
    item = payloads.TeamListItem.model_validate(
        {"id": "t", "name": "Eng", "description": "", "links": {"web": "w", "api": "a"}}
    )
    team = payloads.Team.model_validate(
        {
            "id": "t",
            "name": "Eng",
            "members": [{"user": {"id": "u", "username": "a@b"}, "role": "admin"}],
        }
    )
    assert item.name == "Eng"
    assert team.members[0].role == "admin"


def test_unknown_fields_are_ignored() -> None:
    user = payloads.User.model_validate(
        {"id": "u", "username": "a@b.c", "fullName": "A", "somethingNew": {"x": 1}}
    )
    assert user.full_name == "A"


def test_rotation_with_wrapping_weekday_window_and_none_participant() -> None:
    rotation = payloads.Rotation.model_validate(
        {
            "id": "r",
            "startDate": "2019-07-24T09:00:00Z",
            "type": "weekly",
            "participants": [{"type": "none"}, {"type": "team", "id": "t", "name": "Eng"}],
            "timeRestriction": {
                "type": "weekday-and-time-of-day",
                "restrictions": [
                    {
                        "startDay": "friday",
                        "endDay": "monday",
                        "startHour": 18,
                        "endHour": 10,
                        "startMin": 0,
                        "endMin": 0,
                    }
                ],
            },
        }
    )
    assert rotation.time_restriction is not None
    assert rotation.time_restriction.restrictions is not None
    assert rotation.time_restriction.restrictions[0].start_day == "friday"


def test_rotation_with_unknown_type_is_rejected() -> None:
    with pytest.raises(ValidationError, match="type"):
        payloads.Rotation.model_validate(
            {"id": "r", "startDate": "2019-07-24T09:00:00Z", "type": "monthly"}
        )


def test_override_needs_its_dates() -> None:
    with pytest.raises(ValidationError, match="endDate"):
        payloads.ScheduleOverride.model_validate(
            {"alias": "a", "user": {"type": "none"}, "startDate": "2026-01-01T00:00:00Z"}
        )


def test_user_zone_is_time_zone_with_a_capital_z_and_schedule_zone_is_lower_case() -> None:
    user = payloads.User.model_validate({"id": "u", "username": "a@b.c", "timeZone": "PST"})
    schedule = payloads.Schedule.model_validate({"id": "s", "name": "n", "timezone": "IST"})
    confused = payloads.User.model_validate({"id": "u", "username": "a@b.c", "timezone": "PST"})

    assert user.time_zone == "PST"
    assert schedule.timezone == "IST"
    assert confused.time_zone is None

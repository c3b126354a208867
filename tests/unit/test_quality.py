"""validate: Great Expectations over raw OpsGenie payloads, quarantine granularity, the summary
and the threshold error. Payload shapes follow reference/opsgenie-api.md (real captures)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from oncall_sync.model import EntityType
from oncall_sync.quality import (
    QualityReport,
    QuarantineItem,
    QuarantineThresholdExceeded,
    check_threshold,
    validate_snapshot,
)
from tests.raw_payloads import ESCALATION, JANE, JOHN, ROTATION, SCHEDULE, TEAM, raw_snapshot


def user(uid: str, username: str, zone: str = "Europe/Moscow", **extra: Any) -> dict[str, Any]:
    """The users-list item of the API docs (AIR/dxw fixtures)."""
    return {
        "blocked": False,
        "verified": False,
        "id": uid,
        "username": username,
        "fullName": "jane doe",
        "role": {"id": "Admin", "name": "Admin"},
        "timeZone": zone,
        "locale": "en_GB",
        "tags": ["tag1", "tag3"],
        "userAddress": {
            "country": "US",
            "state": "Indiana",
            "city": "Terre Haute",
            "line": "567 Stratford Park",
            "zipCode": "47802",
        },
        "createdAt": "2017-05-12T09:39:14.41Z",
        **extra,
    }


def contact(cid: str, method: str, to: str, order: int = 0) -> dict[str, Any]:
    return {
        "id": cid,
        "method": method,
        "to": to,
        "status": {"enabled": True, "disabledReason": ""},
        "applyOrder": order,
    }


def rotation(rid: str = ROTATION, **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "name": "Primary",
        "startDate": "2019-07-24T09:00:00Z",
        "type": "weekly",
        "length": 1,
        "participants": [
            {"type": "user", "id": JANE, "username": "jane.doe@opsgenie.com"},
            {"type": "none"},
            {"type": "team", "id": TEAM, "name": "Engineering"},
        ],
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
        **extra,
    }


def good_raw() -> dict[str, Any]:
    """A small, clean account in the API's own shapes."""
    return {
        "manifest": {"format": 1, "source_system": "opsgenie", "source_account": "acme"},
        "users": [
            user(JANE, "jane.doe@opsgenie.com"),
            user(JOHN, "John.Smith@OpsGenie.com", zone="America/New_York"),
        ],
        "contacts": {
            JANE: [
                contact("c-1", "email", "jane.doe@opsgenie.com"),
                contact("c-2", "sms", "1-4155552671", 1),
                contact("c-3", "voice", "44-7400123456", 2),
                contact("c-4", "mobile", "Jane's iPhone 15", 3),
            ],
            JOHN: [],
        },
        "teams": [
            {
                "id": TEAM,
                "name": "Engineering",
                "description": "Engineering",
                "members": [
                    {"user": {"id": JANE, "username": "jane.doe@opsgenie.com"}, "role": "admin"},
                    {"user": {"id": JOHN, "username": "John.Smith@OpsGenie.com"}, "role": "user"},
                ],
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
                "rotations": [rotation()],
            }
        ],
        "overrides": {
            SCHEDULE: [
                {
                    "_parent": {"id": SCHEDULE, "name": "Engineering_schedule", "enabled": True},
                    "alias": "cover-jane",
                    "user": {"type": "user", "id": JOHN, "username": "John.Smith@OpsGenie.com"},
                    "startDate": "2026-11-27T08:00:00Z",
                    "endDate": "2026-11-27T16:00:00Z",
                    "rotations": [{"id": ROTATION, "name": "Primary"}],
                }
            ]
        },
        "escalations": [
            {
                "id": ESCALATION,
                "name": "Engineering_escalation",
                "description": "",
                "ownerTeam": {"id": TEAM, "name": "Engineering"},
                "rules": [
                    {
                        "condition": "if-not-acked",
                        "notifyType": "default",
                        "delay": {"timeAmount": 0, "timeUnit": "minutes"},
                        "recipient": {
                            "id": SCHEDULE,
                            "name": "Engineering_schedule",
                            "type": "schedule",
                        },
                    },
                    {
                        "condition": "if-not-acked",
                        "notifyType": "all",
                        "delay": {"timeAmount": 10, "timeUnit": "minutes"},
                        "recipient": {"id": TEAM, "name": "Engineering", "type": "team"},
                    },
                ],
            }
        ],
        "services": [
            {
                "id": "6aa8c0a1-0000-4c2d-9e0f-1a2b3c4d5e6f",
                "name": "Checkout",
                "description": "",
                "teamId": TEAM,
                "tags": [],
                "isExternal": False,
                "links": {"web": "https://acme.app.opsgenie.com/service/x", "api": "https://x"},
            }
        ],
    }


def time_of_day(start_hour: int, start_min: int, end_hour: int, end_min: int) -> dict[str, Any]:
    """A rotation's daily time restriction, as the API sends it."""
    return {
        "type": "time-of-day",
        "restriction": {
            "startHour": start_hour,
            "startMin": start_min,
            "endHour": end_hour,
            "endMin": end_min,
        },
    }


def bad_raw() -> dict[str, Any]:
    """The clean account plus one record breaking each rule."""
    raw = good_raw()
    raw["users"] += [
        user("u-bad-shape", "not-an-email"),
        user("u-bad-strict", "john..doe@example.com"),
        user("u-dup-1", "Dup@Example.com"),
        user("u-dup-2", "dup@example.COM"),
        user("u-mars", "mars@example.com", zone="Mars/Olympus_Mons"),
        user("u-legacy", "legacy@example.com", zone="US/Pacific"),
        user("u-java", "java@example.com", zone="PST"),
        user(JANE, "jane.twin@opsgenie.com"),
        {k: v for k, v in user("x", "noid@example.com").items() if k != "id"},
    ]
    raw["contacts"][JANE] += [
        contact("c-bad-mail", "email", "jane at opsgenie"),
        contact("c-bad-sms", "sms", "1-123", 5),
        contact("c-bad-method", "pager", "12345", 6),
    ]
    raw["contacts"]["u-ghost"] = [contact("c-ghost", "email", "ghost@example.com")]
    raw["teams"].append(
        {
            "id": "t-2",
            "name": None,
            "members": [{"user": {"id": "u-ghost", "username": "ghost@x.com"}, "role": "user"}],
        }
    )
    bad_rotations = [
        rotation("r-type", type="monthly"),
        rotation("r-length", length=0),
        rotation("r-length-text", length="two"),
        rotation("r-start", startDate="yesterday"),
        rotation("r-ends-early", endDate="2019-07-01T09:00:00Z"),
        rotation("r-hour", timeRestriction=time_of_day(25, 0, 17, 0)),
        rotation("r-24-ok", timeRestriction=time_of_day(9, 0, 24, 0)),
        rotation("r-24-bad", timeRestriction=time_of_day(9, 0, 24, 30)),
        rotation("r-minute", timeRestriction=time_of_day(9, 60, 17, 0)),
        rotation(
            "r-day",
            timeRestriction={
                "type": "weekday-and-time-of-day",
                "restrictions": [
                    {
                        "startDay": "funday",
                        "endDay": "monday",
                        "startHour": 9,
                        "endHour": 17,
                        "startMin": 0,
                        "endMin": 0,
                    }
                ],
            },
        ),
        rotation("r-no-restrictions", timeRestriction={"type": "weekday-and-time-of-day"}),
        rotation("r-dangling", participants=[{"type": "user", "id": "u-ghost", "username": "g"}]),
        rotation("r-group", participants=[{"type": "group", "id": TEAM, "name": "Engineering"}]),
    ]
    raw["schedules"] += [
        {
            "id": "s-bad",
            "name": "Holds bad rotations",
            "timezone": "Europe/Berlin",
            "enabled": True,
            "rotations": bad_rotations,
        },
        {"id": "s-no-zone", "name": "No zone", "enabled": True, "rotations": []},
        {"id": "s-mars", "name": "Mars", "timezone": "Mars/Olympus_Mons", "rotations": []},
        {
            "id": "s-orphan",
            "name": "Orphan",
            "timezone": "GMT-8:00",
            "ownerTeam": {"id": "t-ghost", "name": "Gone"},
            "rotations": [],
        },
    ]
    raw["overrides"][SCHEDULE] += [
        {
            "alias": "ghost-cover",
            "user": {"type": "user", "id": "u-ghost", "username": "ghost@example.com"},
            "startDate": "2026-11-27T08:00:00Z",
            "endDate": "2026-11-27T16:00:00Z",
            "rotations": [],
        },
        {
            "alias": "backwards",
            "user": {"type": "none"},
            "startDate": "2026-11-27T16:00:00Z",
            "endDate": "2026-11-27T08:00:00Z",
        },
    ]
    raw["overrides"]["s-gone"] = [
        {
            "alias": "lost",
            "user": {"type": "none"},
            "startDate": "2026-11-27T08:00:00Z",
            "endDate": "2026-11-27T16:00:00Z",
        }
    ]
    base_rule = raw["escalations"][0]["rules"][0]
    raw["escalations"] += [
        {
            "id": "e-dangling",
            "name": "Dangling",
            "rules": [{**base_rule, "recipient": {"id": "s-gone", "type": "schedule"}}],
        },
        {
            "id": "e-unit",
            "name": "Odd unit",
            "rules": [{**base_rule, "delay": {"timeAmount": 2, "timeUnit": "fortnights"}}],
        },
        {"id": "e-cond", "name": "Odd condition", "rules": [{**base_rule, "condition": "maybe"}]},
        {
            "id": "e-owner",
            "name": "Orphan",
            "ownerTeam": {"id": "t-ghost"},
            "rules": [base_rule],
            "repeat": {"waitInterval": 5, "count": -1},
        },
    ]
    raw["services"].append({"id": "svc-orphan", "name": "Orphan", "teamId": "t-ghost"})
    return raw


@pytest.fixture(scope="module")
def clean() -> QualityReport:
    return validate_snapshot(good_raw())


@pytest.fixture(scope="module")
def dirty() -> QualityReport:
    return validate_snapshot(bad_raw())


def rules_for(report: QualityReport, source_id: str) -> set[str]:
    return {item.rule for item in report.quarantine if item.source_id == source_id}


def item(report: QualityReport, source_id: str, rule: str) -> QuarantineItem:
    return next(i for i in report.quarantine if i.source_id == source_id and i.rule == rule)


# --- clean data -------------------------------------------------------------------------------


def test_a_clean_account_quarantines_nothing(clean: QualityReport) -> None:
    assert clean.quarantine == []
    assert clean.summary["checks_failed"] == 0
    assert clean.summary["checks_errored"] == []
    assert clean.summary["success_percent"] == 100.0
    assert clean.summary["threshold_exceeded"] == []
    check_threshold(clean, 0.0)  # nothing to exceed


def test_summary_counts_rows_per_entity_type_and_gx_checks(clean: QualityReport) -> None:
    summary = clean.summary
    assert summary["rows_checked"] == {
        "person": 2,
        "contact_method": 4,
        "team": 1,
        "team_member": 2,
        "schedule": 1,
        "rotation": 1,
        "override": 1,
        "escalation_policy": 1,
        "service": 1,
    }
    assert summary["checks_run"] == sum(s["checks"] for s in summary["suites"].values())
    assert summary["checks_run"] >= 50
    assert set(summary["suites"]) >= {"users", "contacts", "rotation_participants", "services"}
    assert len(json.dumps(summary)) < 4000  # XCom-sized


def test_gx_results_are_full_json_results_per_suite(clean: QualityReport) -> None:
    results = json.loads(json.dumps(clean.gx_results))
    users = results["users"]
    assert users["success"] is True
    assert users["statistics"]["evaluated_expectations"] == 7
    types = {r["expectation_config"]["type"] for r in users["results"]}
    assert "expect_column_values_to_match_regex" in types
    assert "expect_column_values_to_be_unique" in types


# --- users --------------------------------------------------------------------------------------


def test_malformed_emails_are_quarantined_by_shape_and_by_strict_syntax(
    dirty: QualityReport,
) -> None:
    assert "user.email_format" in rules_for(dirty, "u-bad-shape")
    strict = item(dirty, "u-bad-strict", "user.email_valid")
    assert rules_for(dirty, "u-bad-strict") == {"user.email_valid"}  # the loose regex passes it
    assert "two periods" in strict.reason
    assert strict.entity_type is EntityType.PERSON
    assert strict.name == "john..doe@example.com"


def test_every_user_of_a_case_insensitive_duplicate_email_is_quarantined(
    dirty: QualityReport,
) -> None:
    for uid in ("u-dup-1", "u-dup-2"):
        reason = item(dirty, uid, "user.email_unique").reason
        assert "u-dup-1" in reason and "u-dup-2" in reason
    assert "user.email_unique" not in rules_for(dirty, JOHN)  # mixed case alone is fine


def test_duplicate_and_missing_user_ids_are_quarantined(dirty: QualityReport) -> None:
    assert "user.id_unique" in rules_for(dirty, JANE)
    assert any(i.rule == "user.id_present" for i in dirty.quarantine)


def test_unresolvable_user_zone_is_quarantined_and_legacy_zones_are_converted(
    dirty: QualityReport,
) -> None:
    assert "Mars/Olympus_Mons" in item(dirty, "u-mars", "user.time_zone_resolvable").reason
    assert rules_for(dirty, "u-legacy") == set()
    assert rules_for(dirty, "u-java") == set()
    conversions = {(c["source_id"], c["kind"], c["canonical"]) for c in dirty.timezone_conversions}
    assert ("u-legacy", "link", "America/Los_Angeles") in conversions
    assert ("u-java", "java_short", "America/Los_Angeles") in conversions
    assert ("s-orphan", "custom_offset", "Etc/GMT+8") in conversions
    assert not any(c["source_id"] == JANE for c in dirty.timezone_conversions)  # plain IANA


# --- contacts -----------------------------------------------------------------------------------


def test_bad_contacts_quarantine_only_that_contact(dirty: QualityReport) -> None:
    assert "jane at opsgenie" in item(dirty, "c-bad-mail", "contact.value_valid").reason
    assert "not a valid phone number" in item(dirty, "c-bad-sms", "contact.value_valid").reason
    assert "pager" in item(dirty, "c-bad-method", "contact.method_known").reason
    assert item(dirty, "c-bad-sms", "contact.value_valid").entity_type is EntityType.CONTACT_METHOD
    for fine in ("c-1", "c-2", "c-3", "c-4"):  # email, sms, voice, and mobile's free text
        assert rules_for(dirty, fine) == set()
    assert "user.email_format" not in rules_for(dirty, JANE)


def test_contacts_of_a_user_not_in_the_snapshot_are_quarantined(dirty: QualityReport) -> None:
    assert "u-ghost" in item(dirty, "c-ghost", "contact.user_resolvable").reason


def test_expand_shape_contacts_are_validated_too() -> None:
    raw = good_raw()
    del raw["contacts"]
    raw["users"][1]["userContacts"] = [
        {"id": "x-1", "to": "nope", "contactMethod": "sms", "disabledReason": "", "enabled": True}
    ]
    report = validate_snapshot(raw)
    assert rules_for(report, "x-1") == {"contact.value_valid"}


# --- teams, schedules, rotations --------------------------------------------------------------


def test_team_without_name_and_dangling_member_are_quarantined(dirty: QualityReport) -> None:
    assert rules_for(dirty, "t-2") == {"team.name_present"}
    member = item(dirty, "t-2:u-ghost", "team_member.user_resolvable")
    assert member.entity_type is EntityType.TEAM_MEMBER
    assert "ghost@x.com" in member.reason


def test_schedule_zone_and_owner_problems_quarantine_the_schedule(dirty: QualityReport) -> None:
    assert rules_for(dirty, "s-no-zone") == {"schedule.time_zone_present"}
    assert rules_for(dirty, "s-mars") == {"schedule.time_zone_resolvable"}
    assert "t-ghost" in item(dirty, "s-orphan", "schedule.owner_team_resolvable").reason


@pytest.mark.parametrize(
    ("rotation_id", "rule", "words"),
    [
        ("r-type", "rotation.type_known", "monthly"),
        ("r-length", "rotation.length_positive", "length 0"),
        ("r-length-text", "rotation.length_whole", "'two'"),
        ("r-start", "rotation.start_parses", "yesterday"),
        ("r-ends-early", "rotation.end_after_start", "2019-07-01T09:00:00Z"),
        ("r-hour", "rotation.restriction_start_hour", "startHour 25"),
        ("r-24-bad", "rotation.restriction_end_at_24", "endMin 0"),
        ("r-minute", "rotation.restriction_start_minute", "startMin 60"),
        ("r-day", "rotation.restriction_start_day", "funday"),
        ("r-no-restrictions", "rotation.restriction_shape", "restrictions"),
        ("r-dangling", "rotation.participant_resolvable", "participant 1 (user g (u-ghost))"),
        ("r-group", "rotation.participant_type_known", "group"),
    ],
)
def test_bad_rotations_are_quarantined_with_rule_and_reason(
    dirty: QualityReport, rotation_id: str, rule: str, words: str
) -> None:
    found = item(dirty, rotation_id, rule)
    assert found.entity_type is EntityType.ROTATION
    assert words in found.reason
    assert found.name.startswith("Holds bad rotations / ")


def test_a_bad_rotation_does_not_quarantine_its_schedule(dirty: QualityReport) -> None:
    assert rules_for(dirty, "s-bad") == set()
    assert rules_for(dirty, ROTATION) == set()


def test_end_hour_24_at_minute_zero_is_accepted(dirty: QualityReport) -> None:
    assert rules_for(dirty, "r-24-ok") == set()


# --- overrides, escalations, services -----------------------------------------------------------


def test_bad_overrides_are_quarantined_by_schedule_and_alias(dirty: QualityReport) -> None:
    assert "u-ghost" in item(dirty, f"{SCHEDULE}:ghost-cover", "override.user_resolvable").reason
    assert rules_for(dirty, f"{SCHEDULE}:backwards") == {"override.end_after_start"}
    assert rules_for(dirty, "s-gone:lost") == {"override.schedule_resolvable"}
    assert rules_for(dirty, f"{SCHEDULE}:cover-jane") == set()


def test_escalation_problems_quarantine_the_escalation(dirty: QualityReport) -> None:
    assert "s-gone" in item(dirty, "e-dangling", "escalation.rule_recipient_resolvable").reason
    assert "fortnights" in item(dirty, "e-unit", "escalation.rule_delay_unit_known").reason
    assert rules_for(dirty, "e-cond") == {"escalation.rule_condition_known"}
    assert rules_for(dirty, "e-owner") == {
        "escalation.owner_team_resolvable",
        "escalation.repeat_sane",
    }
    assert item(dirty, "e-unit", "escalation.rule_delay_unit_known").entity_type is (
        EntityType.ESCALATION_POLICY
    )
    assert rules_for(dirty, ESCALATION) == set()


def test_service_with_unknown_owner_team_is_quarantined(dirty: QualityReport) -> None:
    assert "t-ghost" in item(dirty, "svc-orphan", "service.owner_team_resolvable").reason


def test_summary_counts_quarantined_rows_per_type_and_rule(dirty: QualityReport) -> None:
    summary = dirty.summary
    ids = {i.source_id for i in dirty.quarantine if i.entity_type is EntityType.ROTATION}
    assert summary["rows_quarantined"]["rotation"] == len(ids) == 12
    assert summary["quarantined_by_rule"]["user.email_unique"] == 2
    assert summary["checks_failed"] > 0
    assert summary["success_percent"] < 100.0
    assert summary["rows_checked"]["rotation"] == 14


def test_references_to_types_not_extracted_are_not_checked() -> None:
    raw = good_raw()
    del raw["users"], raw["teams"]
    report = validate_snapshot(raw)
    assert report.quarantine == []


def test_nulls_and_missing_optional_keys_are_accepted() -> None:
    raw = good_raw()
    schedule = raw["schedules"][0]
    del schedule["ownerTeam"]
    schedule["rotations"][0].pop("timeRestriction")
    schedule["rotations"][0].pop("length")
    schedule["rotations"].append({**rotation("r-2"), "endDate": None, "rotations": []})
    raw["escalations"][0].pop("ownerTeam")
    raw["escalations"][0]["repeat"] = {
        "waitInterval": None,
        "count": None,
        "resetRecipientStates": None,
        "closeAlertAfterAll": None,
    }
    raw["escalations"][0]["rules"][0].pop("condition")
    raw["escalations"][0]["rules"][0]["delay"] = {"timeAmount": 5}
    raw["schedules"].append({**copy.deepcopy(schedule), "id": "s-2", "rotations": []})
    raw["users"][0]["extra"] = {"new": "field"}
    assert validate_snapshot(raw).quarantine == []


# --- threshold ----------------------------------------------------------------------------------


def test_threshold_error_names_types_rules_counts_and_example_ids(dirty: QualityReport) -> None:
    with pytest.raises(QuarantineThresholdExceeded) as caught:
        check_threshold(dirty, 0.2)
    message = str(caught.value)
    assert "rotation: 12 of 14 quarantined" in message
    assert "rotation.type_known: 1 (e.g. r-type)" in message
    assert "person:" in message
    assert "quarantine.json" in message
    assert "max_quarantine_share" in message
    assert "team_member" in message  # 1 of 3 is above 20 %


def test_threshold_is_per_entity_type_and_inclusive(dirty: QualityReport) -> None:
    check_threshold(dirty, 1.0)
    assert set(dirty.summary["threshold_exceeded"]) >= {"person", "rotation"}


def test_odd_values_anywhere_are_quarantined_not_crashed_on() -> None:
    import random

    rng = random.Random(7)
    odd: list[Any] = [None, 0, -1, 1.5, "", [], {}, True, [None], {"a": 1}, 24]
    base = bad_raw()
    for _ in range(4):
        raw = copy.deepcopy(base)
        for collection in ("users", "schedules", "escalations"):
            record = rng.choice(raw[collection])
            record[rng.choice(sorted(record))] = rng.choice(odd)
        rule_holder = rng.choice(raw["schedules"][1]["rotations"])
        rule_holder[rng.choice(sorted(rule_holder))] = rng.choice(odd)
        report = validate_snapshot(raw)
        assert report.summary["checks_errored"] == []
        assert report.quarantine


@pytest.mark.slow
def test_the_large_generated_account_validates_and_maps_completely() -> None:
    """10,000 users: the GX run and the mapping finish, and every record is accounted for."""
    from oncall_sync.connectors.opsgenie.mapping import map_snapshot
    from oncall_sync.emulator.generator import generate_account

    account = generate_account("large")
    raw = raw_snapshot(account)
    report = validate_snapshot(raw)
    assert report.summary["rows_checked"]["person"] == 10_000
    assert report.summary["checks_errored"] == []
    result = map_snapshot(raw, quarantine=report.quarantine)
    assert result.failed == []
    quarantined = len({i.source_id for i in report.quarantine})
    assert result.counts["person"] + result.counts["contact_method"] + quarantined == len(
        account.users
    ) + sum(len(c) for c in account.contacts.values())

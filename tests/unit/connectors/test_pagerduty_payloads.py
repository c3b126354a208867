"""The PagerDuty payload models: every answer the emulator gives fits them without a single
`Invalid`, and odd values degrade only the element that holds them."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from oncall_sync.connectors.pagerduty import payloads as pd
from oncall_sync.emulator.pagerduty.account import SECRET_MARK, Account
from oncall_sync.emulator.pagerduty.app import create_app
from oncall_sync.emulator.pagerduty.calls import TEST_API_KEY, PagerDutyConfig
from oncall_sync.emulator.pagerduty.generator import generate_account

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

WINDOW = {"since": "2026-09-24T00:00:00Z", "until": "2026-10-15T00:00:00Z"}


@pytest.fixture(scope="module")
def account() -> Account:
    return generate_account("demo")


@pytest.fixture(scope="module")
def client(account: Account) -> TestClient:
    app = create_app(account, PagerDutyConfig(rate_limits_enabled=False))
    return TestClient(app, headers={"Authorization": f"Token token={TEST_API_KEY}"})


def every_page(client: TestClient, path: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        body = client.get(path, params={**params, "limit": 100, "offset": offset}).json()
        pd.Page.model_validate(body)
        yield from body[key]
        offset += len(body[key])
        if not body["more"]:
            return


def clean(model: type[BaseModel], item: dict[str, Any]) -> BaseModel:
    parsed = model.model_validate(item)
    assert list(pd.invalid_parts(parsed)) == [], (model.__name__, item.get("id"))
    return parsed


def test_every_list_answer_fits_its_model(account: Account, client: TestClient) -> None:
    users = ["contact_methods", "notification_rules", "teams"]
    for user in every_page(client, "/users", "users", **{"include[]": users}):
        clean(pd.User, user)
    for team in every_page(client, "/teams", "teams"):
        clean(pd.Team, team)
        for member in every_page(client, f"/teams/{team['id']}/members", "members"):
            clean(pd.TeamMember, member)
    rendered = ["schedule_layers", "overrides_subschedule", "final_schedule"]
    for sched in every_page(client, "/schedules", "schedules", **{"include[]": rendered}, **WINDOW):
        clean(pd.Schedule, sched)
    includes = ["targets", "escalation_rule_assignment_strategies", "services", "teams"]
    for policy in every_page(
        client, "/escalation_policies", "escalation_policies", **{"include[]": includes}
    ):
        clean(pd.EscalationPolicy, policy)
    includes = ["integrations", "escalation_policies", "teams"]
    for service in every_page(client, "/services", "services", **{"include[]": includes}):
        clean(pd.Service, service)
    for oncall in every_page(
        client,
        "/oncalls",
        "oncalls",
        **{"include[]": ["users", "schedules", "escalation_policies"]},
    ):
        clean(pd.Oncall, oncall)
    for extension in every_page(
        client, "/extensions", "extensions", **{"include[]": "extension_objects"}
    ):
        clean(pd.Extension, extension)
    for hook in every_page(client, "/webhook_subscriptions", "webhook_subscriptions"):
        clean(pd.WebhookSubscription, hook)
    for v3 in client.get("/v3/schedules").json()["schedules"]:
        clean(pd.Reference, v3)
    clean(pd.Abilities, client.get("/abilities").json())


def test_every_single_object_answer_fits_its_model(account: Account, client: TestClient) -> None:
    for sched in account.schedules[:10]:
        body = client.get(f"/schedules/{sched['id']}", params=WINDOW).json()["schedule"]
        parsed = clean(pd.Schedule, body)
        assert isinstance(parsed, pd.Schedule) and isinstance(parsed.http_cal_url, SecretStr)
        for override in client.get(f"/schedules/{sched['id']}/overrides", params=WINDOW).json()[
            "overrides"
        ]:
            clean(pd.Override, override)
    for user in account.users[:20]:
        uid = user["id"]
        clean(
            pd.User,
            client.get(f"/users/{uid}", params={"include[]": "calendar_urls"}).json()["user"],
        )
        for rule in client.get(
            f"/users/{uid}/notification_rules",
            params={"urgency": "all", "include[]": "contact_methods"},
        ).json()["notification_rules"]:
            clean(pd.NotificationRule, rule)
        for rule in client.get(f"/users/{uid}/oncall_handoff_notification_rules").json()[
            "oncall_handoff_notification_rules"
        ]:
            clean(pd.HandoffNotificationRule, rule)
    for service in account.services[:10]:
        for integration in account.integrations[service["id"]]:
            body = client.get(f"/services/{service['id']}/integrations/{integration['id']}")
            clean(pd.Integration, body.json()["integration"])


@pytest.mark.parametrize("shape", ["standard", "errors_string", "errors_map", "error_array"])
def test_every_error_shape_fits_and_reads_as_a_list_of_details(
    account: Account, shape: str
) -> None:
    app = create_app(account, PagerDutyConfig(rate_limits_enabled=False, error_shape=shape))  # type: ignore[arg-type]
    client = TestClient(app, headers={"Authorization": f"Token token={TEST_API_KEY}"})
    parsed = pd.ErrorResponse.model_validate(client.get("/users", params={"offset": 10_000}).json())
    if isinstance(parsed.error, pd.ErrorDetail):
        assert parsed.error.code == 2002
        assert parsed.error.details()[0].endswith(
            "Offset+limit exceeds maximum allowed value of 10000. Please try to refine your"
            " search to reduce the number of results."
        )
    else:
        assert parsed.error == [
            "Arguments Caused Error",
            "Offset+limit exceeds maximum allowed value of 10000. Please try to refine your"
            " search to reduce the number of results.",
        ]


# -- leniency --------------------------------------------------------------------------------------


def test_an_odd_contact_method_degrades_itself_not_its_user() -> None:
    user = pd.User.model_validate(
        {
            "id": "PUSER01",
            "type": "user",
            "email": "ann@example.com",
            "contact_methods": [
                {"id": "PC1", "type": "sms_contact_method", "country_code": "one", "address": "5"},
                {"id": "PC2", "type": "slack_contact_method", "address": "#oncall"},
                "not an object",
            ],
        }
    )
    sms, slack, junk = user.contact_methods
    assert isinstance(sms, pd.PhoneContactMethod) and isinstance(sms.country_code, pd.Invalid)
    assert sms.address == "5"
    assert type(slack) is pd.ContactMethod and slack.address == "#oncall"  # unknown, kept
    assert isinstance(junk, pd.Invalid) and junk.value == "not an object"
    assert [path for path, _ in pd.invalid_parts(user)] == [
        "contact_methods.0.country_code",
        "contact_methods.2",
    ]


def test_an_odd_restriction_or_layer_degrades_itself_not_its_schedule() -> None:
    schedule = pd.Schedule.model_validate(
        {
            "id": "PSCHED1",
            "time_zone": "Eastern Time (US & Canada)",
            "schedule_layers": [
                {
                    "id": "PL1",
                    "rotation_turn_length_seconds": 86400,
                    "restrictions": [
                        {"type": "weekly_restriction", "start_day_of_week": 9},
                        {"type": "daily_restriction", "start_time_of_day": "08:00:00"},
                    ],
                },
                {"id": "PL2", "rotation_turn_length_seconds": "a day"},
                {"name": "no id"},
            ],
        }
    )
    paths = [path for path, _ in pd.invalid_parts(schedule)]
    assert paths == [
        "schedule_layers.0.restrictions.0.start_day_of_week",
        "schedule_layers.1.rotation_turn_length_seconds",
        "schedule_layers.2",
    ]
    first = schedule.schedule_layers[0]
    assert isinstance(first, pd.ScheduleLayer)
    assert str(first.restrictions[1].start_time_of_day) == "08:00:00"  # type: ignore[union-attr]


def test_unknown_fields_are_kept_and_the_api_names_are_accepted() -> None:
    policy = pd.EscalationPolicy.model_validate(
        {
            "id": "PPOL001",
            "self": "https://api.pagerduty.com/escalation_policies/PPOL001",
            "repeat_enabled": True,
            "escalation_rules": [
                {
                    "id": "PR1",
                    "escalation_delay_in_minutes": 5,
                    "targets": [
                        {"id": "PU1", "type": "user_reference"},
                        {"id": "PS1", "type": "schedule", "name": "Ops", "time_zone": "UTC"},
                        {"id": "PV3", "type": "schedule_v3_reference"},
                    ],
                    "escalation_rule_assignment_strategy": {"type": "round_robin"},
                }
            ],
        }
    )
    assert policy.self_url == "https://api.pagerduty.com/escalation_policies/PPOL001"
    assert policy.model_extra == {"repeat_enabled": True}
    rule = policy.escalation_rules[0]
    assert isinstance(rule, pd.EscalationRule)
    assert [type(t).__name__ for t in rule.targets] == ["Reference", "Schedule", "Reference"]
    assert rule.escalation_rule_assignment_strategy == pd.AssignmentStrategy(type="round_robin")


def test_an_object_without_an_id_is_not_that_object() -> None:
    with pytest.raises(ValidationError):
        pd.User.model_validate({"type": "user", "name": "Nobody"})


def test_secrets_are_masked_and_named() -> None:
    integration = pd.Integration.model_validate(
        {
            "id": "PI1",
            "type": "events_api_v2_inbound_integration",
            "integration_key": f"{SECRET_MARK}abc",
        }
    )
    assert SECRET_MARK not in repr(integration)
    assert isinstance(integration.integration_key, SecretStr)
    assert integration.integration_key.get_secret_value() == f"{SECRET_MARK}abc"
    for model, names in pd.SECRET_FIELDS.items():
        fields = {info.alias or name for name, info in model.model_fields.items()}
        assert names <= fields, model.__name__

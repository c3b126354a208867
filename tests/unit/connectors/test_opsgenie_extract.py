"""The extract: fewest requests, failed items instead of aborts, reach and plan errors, staging."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_opsgenie import KEY, FakeOpsGenie, envelope, make_account, respond, user

from oncall_sync.connectors.opsgenie.client import OpsGenieClient, RetryPolicy
from oncall_sync.connectors.opsgenie.errors import AuthenticationError, PagingError
from oncall_sync.connectors.opsgenie.extract import (
    ENTITY_TYPES,
    extract_snapshot,
    extract_to_staging,
    minimum_requests,
)
from oncall_sync.ratelimit import DomainLimits
from oncall_sync.staging import Staging, load_snapshot

FAST_LIMITS = {
    d: DomainLimits(per_second=10_000, per_minute=600_000)
    for d in ("configuration", "search", "schedule-oncalls")
}
ALL = set(ENTITY_TYPES)


def client_for(fake: FakeOpsGenie) -> OpsGenieClient:
    return OpsGenieClient(
        KEY,
        transport=fake.transport(),
        seed=1,
        rate_limits=FAST_LIMITS,
        retry=RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01),
    )


def extract(fake: FakeOpsGenie, entity_types: set[str] = ALL, contacts: bool = True) -> Any:
    async def run() -> Any:
        async with client_for(fake) as client:
            snapshot = await extract_snapshot(
                client, entity_types=entity_types, sync_contact_details=contacts
            )
            return snapshot, client.stats

    return asyncio.run(run())


def test_minimum_requests_counts_one_page_for_an_empty_account() -> None:
    assert minimum_requests(0, 0, 0, 0, with_contacts=True) == 2 + 1 + 0 + 1 + 0 + 1 + 0 + 1 + 1
    assert minimum_requests(101, 3, 4, 1, with_contacts=True) == 2 + 2 + 101 + 1 + 3 + 1 + 4 + 1 + 1
    assert minimum_requests(101, 3, 4, 1, with_contacts=False) == 2 + 2 + 1 + 3 + 1 + 4 + 1 + 1


@pytest.mark.parametrize("with_contacts", [True, False])
def test_extract_uses_exactly_the_minimum_number_of_requests(with_contacts: bool) -> None:
    fake = FakeOpsGenie(make_account(n_users=101, n_teams=3, n_schedules=4))

    snapshot, stats = extract(fake, contacts=with_contacts)

    assert stats.total == minimum_requests(101, 3, 4, 1, with_contacts)
    assert stats.by_endpoint["GET /v2/schedules"] == 1
    assert stats.by_endpoint.get("GET /v2/users/{id}/contacts", 0) == (101 if with_contacts else 0)
    assert "GET /v2/schedules/{id}" not in stats.by_endpoint
    assert snapshot.manifest["requests"]["total"] == stats.total


def test_snapshot_holds_the_raw_payloads_of_the_account() -> None:
    account = make_account(n_users=5, n_teams=2, n_schedules=2)
    fake = FakeOpsGenie(account)

    snapshot, _ = extract(fake)

    assert snapshot.users == account.users
    assert snapshot.contacts == account.contacts
    assert [{k: v for k, v in t.items() if k != "links"} for t in snapshot.teams] == account.teams
    assert all("links" in t for t in snapshot.teams)
    assert snapshot.schedules == account.schedules
    assert snapshot.overrides == account.overrides
    assert snapshot.escalations == account.escalations
    assert snapshot.services == account.services
    assert snapshot.manifest["counts"]["contacts"] == 10
    assert snapshot.failed == []


def test_schedules_are_listed_with_rotations_expanded() -> None:
    fake = FakeOpsGenie(make_account(n_users=1, n_teams=1, n_schedules=2))

    snapshot, _ = extract(fake, {"schedules"})

    listing = next(r for r in fake.requests if r.url.path == "/v2/schedules")
    assert listing.url.params["expand"] == "rotation"
    assert all(s["rotations"] for s in snapshot.schedules)


def test_schedule_zone_africa_monrovia_is_kept_as_sent() -> None:
    fake = FakeOpsGenie(make_account(n_users=1, n_teams=1, n_schedules=1))

    snapshot, _ = extract(fake, {"schedules", "users"})

    assert snapshot.schedules[0]["timezone"] == "Africa/Monrovia"
    assert snapshot.users[1 - 1]["timeZone"] == "America/Los_Angeles"


def test_a_record_failing_its_model_goes_to_failed_and_the_rest_is_kept() -> None:
    account = make_account(n_users=3, n_teams=1, n_schedules=1)
    account.users[1] = {"id": "u-bad", "fullName": "no username"}
    account.contacts["u-00000"].append({"id": "c-x", "contactMethod": "email", "to": "x@y"})
    fake = FakeOpsGenie(account)

    snapshot, _ = extract(fake)

    assert [u["id"] for u in snapshot.users] == ["u-00000", "u-00002"]
    failed = {(f.entity_type, f.source_id): f for f in snapshot.failed}
    assert "username" in failed[("users", "u-bad")].reason
    assert failed[("users", "u-bad")].record == account.users[1]
    assert "method" in failed[("contacts", "c-x")].reason
    assert snapshot.manifest["counts"]["failed"] == 2


def test_a_team_out_of_the_keys_reach_is_a_failed_item_listed_in_out_of_reach() -> None:
    fake = FakeOpsGenie(make_account(n_users=1, n_teams=3, n_schedules=2))
    body = {"code": 40301, "message": "Api key is not authorized to access the team"}
    fake.before.append(lambda r: respond(403, body) if r.url.path == "/v2/teams/t-1" else None)
    fake.before.append(
        lambda r: respond(403, body) if r.url.path == "/v2/schedules/s-0/overrides" else None
    )

    snapshot, _ = extract(fake)

    assert [t["id"] for t in snapshot.teams] == ["t-0", "t-2"]
    assert snapshot.manifest["out_of_reach"] == {"teams": ["t-1"], "schedules": ["s-0"]}
    reasons = {(f.entity_type, f.source_id): f.reason for f in snapshot.failed}
    assert "out of the key's reach" in reasons[("teams", "t-1")]
    assert "out of the key's reach" in reasons[("overrides", "s-0")]
    assert "s-0" not in snapshot.overrides


def test_a_parent_that_vanishes_or_is_out_of_reach_loses_only_its_own_children() -> None:
    fake = FakeOpsGenie(make_account(n_users=3, n_teams=1, n_schedules=2))
    gone = {"code": 40401, "message": "not found"}
    denied = {"code": 40301, "message": "Api key is not authorized"}
    answers = {
        "/v2/users/u-00000/contacts": respond(403, denied),
        "/v2/users/u-00001/contacts": respond(404, gone),
        "/v2/schedules/s-1/overrides": respond(404, gone),
    }
    fake.before.append(lambda r: answers.get(r.url.path))

    snapshot, _ = extract(fake)

    assert snapshot.contacts is not None and list(snapshot.contacts) == ["u-00002"]
    assert list(snapshot.overrides) == ["s-0"]
    assert snapshot.manifest["out_of_reach"] == {"users": ["u-00000"]}
    reasons = {(f.entity_type, f.source_id): f.reason for f in snapshot.failed}
    assert set(reasons) == {("contacts", "u-00000"), ("contacts", "u-00001"), ("overrides", "s-1")}
    assert "out of the key's reach" in reasons[("contacts", "u-00000")]
    assert reasons[("contacts", "u-00001")].startswith("user vanished while reading contacts: 404")
    assert reasons[("overrides", "s-1")].startswith("schedule vanished: 404")


@pytest.mark.parametrize("status", [402, 403])
def test_services_missing_from_the_plan_are_skipped_with_the_reason(status: int) -> None:
    fake = FakeOpsGenie(make_account(n_users=1, n_teams=1, n_schedules=1))
    fake.before.append(
        lambda r: (
            respond(status, {"message": "not in your plan"})
            if r.url.path == "/v1/services"
            else None
        )
    )

    snapshot, _ = extract(fake)

    assert snapshot.manifest["skipped"]["services"].startswith(f"{status}:")
    assert "services" not in snapshot.manifest["entity_types"]


def test_users_list_that_shifts_while_paging_is_read_again_from_the_start() -> None:
    account = make_account(n_users=150, n_teams=0, n_schedules=0)
    fake = FakeOpsGenie(account)
    shifted = {"done": False}

    def insert_a_user_once(request: httpx.Request) -> httpx.Response | None:
        # A user created after page 1 pushes the second page by one: one id repeats.
        second_page = request.url.params.get("offset") == "100"
        if request.url.path == "/v2/users" and second_page and not shifted["done"]:
            shifted["done"] = True
            account.users.insert(0, user(99_999) | {"username": "aaa@example.com"})
        return None

    fake.before.append(insert_a_user_once)

    snapshot, stats = extract(fake, {"users"}, contacts=False)

    ids = [u["id"] for u in snapshot.users]
    assert len(ids) == len(set(ids)) == 151
    assert stats.by_endpoint["GET /v2/users"] == 4


def test_users_list_that_never_settles_fails_clearly() -> None:
    account = make_account(n_users=150, n_teams=0, n_schedules=0)
    fake = FakeOpsGenie(account)
    counter = {"n": 0}

    def keep_inserting(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/v2/users" and request.url.params.get("offset") == "100":
            counter["n"] += 1
            account.users.insert(0, user(90_000 + counter["n"]))
        return None

    fake.before.append(keep_inserting)

    with pytest.raises(PagingError, match="kept changing"):
        extract(fake, {"users"}, contacts=False)


def test_unknown_entity_type_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown entity types"):
        extract(FakeOpsGenie(make_account()), {"alerts"})


def test_extract_to_staging_writes_a_replayable_snapshot(tmp_path: Path) -> None:
    fake = FakeOpsGenie(make_account(n_users=4, n_teams=2, n_schedules=2))
    staging = Staging(str(tmp_path))
    run_dir = staging.run_path("opsgenie_sync", "manual__2026-11-27T01:00:00+00:00")

    manifest = extract_to_staging(
        lambda: client_for(fake),
        staging,
        run_dir,
        entity_types=ALL,
        sync_contact_details=True,
    )

    replayed = load_snapshot(manifest["snapshot_uri"])
    again, _ = extract(FakeOpsGenie(make_account(n_users=4, n_teams=2, n_schedules=2)))
    assert replayed.users == again.users
    assert replayed.contacts == again.contacts
    assert replayed.teams == again.teams
    assert replayed.schedules == again.schedules
    assert replayed.overrides == again.overrides
    assert replayed.manifest["counts"] == manifest["counts"]
    assert load_snapshot(run_dir).users == again.users
    assert sorted(staging.list(manifest["snapshot_uri"])) == sorted(
        [
            "manifest.json",
            "users.json",
            "contacts.json",
            "teams.json",
            "schedules.json",
            "overrides.json",
            "escalations.json",
            "services.json",
            "failed.json",
        ]
    )


def test_contacts_file_is_absent_when_contact_details_are_off(tmp_path: Path) -> None:
    fake = FakeOpsGenie(make_account(n_users=2))
    staging = Staging(str(tmp_path))

    manifest = extract_to_staging(
        lambda: client_for(fake),
        staging,
        staging.run_path("d", "r"),
        entity_types={"users"},
        sync_contact_details=False,
    )

    assert manifest["entity_types"] == ["users"]
    assert "contacts.json" not in staging.list(manifest["snapshot_uri"])
    assert load_snapshot(manifest["snapshot_uri"]).contacts is None


def test_api_key_appears_nowhere_after_a_run_and_after_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeOpsGenie(make_account(n_users=3))
    flaky = {"left": 2}

    def echo_key_then_fail(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/v2/escalations" and flaky["left"]:
            flaky["left"] -= 1
            return respond(503, {"message": f"upstream saw {request.headers['Authorization']}"})
        return None

    fake.before.append(echo_key_then_fail)
    staging = Staging(str(tmp_path))
    progress: list[str] = []
    manifest = extract_to_staging(
        lambda: client_for(fake),
        staging,
        staging.run_path("d", "ok"),
        entity_types=ALL,
        sync_contact_details=True,
        progress=progress.append,
    )

    bad = FakeOpsGenie(make_account(n_users=1))
    bad.before.append(
        lambda r: (
            respond(403, {"code": 40301, "message": f"key {KEY} may not"})
            if r.url.path == "/v2/escalations"
            else None
        )
    )
    bad.before.append(
        lambda r: respond(400, {"message": f"bad {KEY}"}) if "teams" in r.url.path else None
    )
    with pytest.raises(Exception) as raised:
        extract_to_staging(
            lambda: client_for(bad),
            staging,
            staging.run_path("d", "bad"),
            entity_types=ALL,
            sync_contact_details=True,
        )
    unauthorised = FakeOpsGenie(make_account(n_users=1), key="other")
    with pytest.raises(AuthenticationError) as rejected:
        extract(unauthorised)

    texts = [
        json.dumps(manifest),
        *progress,
        caplog.text,
        str(raised.value),
        repr(raised.value),
        str(rejected.value),
        repr(client_for(fake)),
    ]
    texts += [p.read_text() for p in tmp_path.rglob("*") if p.is_file()]
    assert not [t for t in texts if KEY in t]
    assert manifest["retries"] == 2


def test_wrong_key_fails_on_the_first_request_with_the_region_hint() -> None:
    fake = FakeOpsGenie(make_account(n_users=1), key="eu-key")

    with pytest.raises(AuthenticationError, match="region"):
        extract(fake)
    assert len(fake.requests) == 1


def test_progress_is_reported_per_entity_type() -> None:
    fake = FakeOpsGenie(make_account(n_users=2))
    lines: list[str] = []

    async def run() -> None:
        async with client_for(fake) as client:
            await extract_snapshot(
                client, entity_types=ALL, sync_contact_details=True, progress=lines.append
            )

    asyncio.run(run())
    for entity in ("users", "contacts", "teams", "schedules", "overrides", "escalations"):
        assert any(line.startswith(f"{entity}:") and "requests so far" in line for line in lines)


def test_unpaged_list_without_data_is_an_empty_list() -> None:
    fake = FakeOpsGenie(make_account(n_users=1, n_teams=0, n_schedules=0))
    fake.before.append(
        lambda r: respond(200, envelope([])) if r.url.path == "/v2/escalations" else None
    )

    snapshot, _ = extract(fake, {"escalations"})

    assert snapshot.escalations == []
    assert snapshot.manifest["counts"]["escalations"] == 0

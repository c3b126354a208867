"""The extract against the real emulator: the snapshot equals the generated account, every fault
kind ends in that same snapshot or in a clear error, keys and regions fail in words."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oncall_sync.connectors.opsgenie.client import OpsGenieClient, RetryPolicy
from oncall_sync.connectors.opsgenie.errors import (
    AuthenticationError,
    KeyFormatError,
    RetryBudgetExhausted,
)
from oncall_sync.connectors.opsgenie.extract import (
    ENTITY_TYPES,
    extract_snapshot,
    extract_to_staging,
    minimum_requests,
)
from oncall_sync.connectors.opsgenie.hook import client_from_connection_fields
from oncall_sync.emulator.app import (
    TEST_API_KEY,
    TEST_EU_API_KEY,
    TEST_TEAM_API_KEY,
    EmulatorConfig,
)
from oncall_sync.emulator.server import RunningEmulator, run_emulator
from oncall_sync.staging import Snapshot, Staging, load_snapshot

ALL = set(ENTITY_TYPES)
FAST_RETRY = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with run_emulator(size="tiny", seed=7) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults_left(emulator: RunningEmulator) -> Iterator[None]:
    emulator.faults.reset()
    yield
    emulator.faults.reset()


def client(emulator: RunningEmulator, key: str | None = None, **options: Any) -> OpsGenieClient:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("timeout", 2.0)
    return OpsGenieClient(key or emulator.api_key, base_url=emulator.base_url, seed=3, **options)


def extract(
    emulator: RunningEmulator,
    entity_types: set[str] = ALL,
    contacts: bool = True,
    **options: Any,
) -> tuple[Snapshot, OpsGenieClient]:
    async def run() -> tuple[Snapshot, OpsGenieClient]:
        async with client(emulator, **options) as c:
            snapshot = await extract_snapshot(
                c, entity_types=entity_types, sync_contact_details=contacts
            )
            return snapshot, c

    return asyncio.run(run())


def data_of(snapshot: Snapshot) -> dict[str, Any]:
    """Everything but the manifest (timings differ between runs)."""
    return snapshot.model_dump(exclude={"manifest"})


@pytest.fixture(scope="module")
def fault_free(emulator: RunningEmulator) -> Snapshot:
    snapshot, _ = extract(emulator)
    return snapshot


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in records}


def test_snapshot_equals_the_generated_account_entity_by_entity(
    fault_free: Snapshot, emulator: RunningEmulator
) -> None:
    account = emulator.account

    assert by_id(fault_free.users) == by_id(account.users)
    assert len(fault_free.users) == len(account.users)
    assert fault_free.contacts is not None
    assert set(fault_free.contacts) == {u["id"] for u in account.users}
    assert {k: v for k, v in fault_free.contacts.items() if v} == {
        k: v for k, v in account.contacts.items() if v
    }
    assert fault_free.teams == account.teams
    assert all("members" in t for t in fault_free.teams)
    assert fault_free.schedules == account.schedules
    assert any(s["rotations"] for s in fault_free.schedules)
    assert set(fault_free.overrides) == {s["id"] for s in account.schedules}
    assert {k: v for k, v in fault_free.overrides.items() if v} == {
        k: v for k, v in account.overrides.items() if v
    }
    assert fault_free.escalations == account.escalations
    assert fault_free.services == account.services
    assert fault_free.failed == []


def test_extract_uses_the_minimum_number_of_requests(emulator: RunningEmulator) -> None:
    account = emulator.account
    snapshot, c = extract(emulator)

    expected = minimum_requests(
        len(account.users), len(account.teams), len(account.schedules), len(account.services), True
    )
    assert c.stats.total == expected
    assert snapshot.manifest["requests"]["total"] == expected
    assert snapshot.manifest["rate_limit_source"] == "GET /v2/request-limits/"
    assert snapshot.manifest["key_scope"] == "account"
    assert snapshot.manifest["rate_limits"]["configuration"]["per_second"] == 50


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "drop", "malformed", "timeout"])
def test_a_burst_of_faults_ends_in_exactly_the_fault_free_snapshot(
    kind: str, emulator: RunningEmulator, fault_free: Snapshot
) -> None:
    # Spread over every endpoint: three consecutive requests fail, whatever they are.
    emulator.faults.add(kind, times=3, delay_s=1.0)  # type: ignore[arg-type]
    timeout = 0.3 if kind == "timeout" else 2.0

    snapshot, c = extract(emulator, timeout=timeout)

    assert data_of(snapshot) == data_of(fault_free)
    assert emulator.faults.injected[kind] == 3
    assert c.stats.retries == 3
    assert snapshot.manifest["retries"] == 3
    assert snapshot.manifest["throttled_429"] == (3 if kind == "429" else 0)


def test_a_429_storm_on_contacts_is_absorbed(
    emulator: RunningEmulator, fault_free: Snapshot
) -> None:
    emulator.faults.add("429", probability=0.3, path="/v2/users/*/contacts")

    snapshot, c = extract(
        emulator, retry=RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.02)
    )

    assert data_of(snapshot) == data_of(fault_free)
    assert c.stats.throttled_429 == emulator.faults.injected["429"] > 0


@pytest.mark.parametrize("kind", ["503", "drop", "malformed", "429"])
def test_faults_beyond_the_retry_budget_fail_with_a_clear_error(
    kind: str, emulator: RunningEmulator
) -> None:
    emulator.faults.add(kind, path="/v2/escalations")  # type: ignore[arg-type]

    with pytest.raises(RetryBudgetExhausted) as raised:
        extract(emulator)

    message = str(raised.value)
    assert "GET /v2/escalations" in message
    assert f"failed {FAST_RETRY.max_attempts} times" in message
    assert TEST_API_KEY not in message


def test_501_is_not_retried(emulator: RunningEmulator) -> None:
    emulator.faults.add("501", times=1, path="/v2/escalations")

    with pytest.raises(Exception, match="501"):
        extract(emulator)
    assert emulator.faults.injected["501"] == 1


@pytest.mark.parametrize(("mode", "pages"), [("insert", 3 + 3), ("remove", 2 + 2)])
def test_users_pages_shifting_are_read_again_and_never_drop_or_duplicate(
    mode: str, pages: int
) -> None:
    with run_emulator(size="demo", seed=7) as emulator:
        emulator.faults.add("shift_users", times=2, path="/v2/users", mode=mode)  # type: ignore[arg-type]
        shifted, c = extract(emulator, {"users"}, contacts=False)
        emulator.faults.clear()
        settled, _ = extract(emulator, {"users"}, contacts=False)

    ids = [u["id"] for u in shifted.users]
    assert len(ids) == len(set(ids))
    assert by_id(shifted.users) == by_id(settled.users)
    assert len(ids) == len(emulator.account.users) + (2 if mode == "insert" else -2)
    # 200 users: the first read sees the shift, the second reads the settled list again.
    assert c.stats.by_endpoint["GET /v2/users"] == pages


def test_users_pages_that_keep_shifting_fail_clearly() -> None:
    with run_emulator(size="demo", seed=7) as emulator:
        emulator.faults.add("shift_users", path="/v2/users")
        with pytest.raises(Exception, match="kept changing"):
            extract(emulator, {"users"}, contacts=False)


def test_eu_key_against_the_us_region_names_the_region_setting(
    emulator: RunningEmulator,
) -> None:
    with pytest.raises(AuthenticationError) as raised:
        extract(emulator, key=TEST_EU_API_KEY)

    assert 'extra.region="eu"' in str(raised.value)
    assert TEST_EU_API_KEY not in str(raised.value)


def test_malformed_key_is_reported_as_such(emulator: RunningEmulator) -> None:
    with pytest.raises(KeyFormatError, match="malformed"):
        extract(emulator, key="not-a-key")


def test_team_key_reads_its_team_and_falls_back_to_default_limits(
    emulator: RunningEmulator,
) -> None:
    snapshot, _ = extract(emulator, key=TEST_TEAM_API_KEY)

    team_id = emulator.account.teams[0]["id"]
    assert [t["id"] for t in snapshot.teams] == [team_id]
    assert snapshot.schedules  # the team owns schedules, so the next line checks something
    assert all((s.get("ownerTeam") or {}).get("id") == team_id for s in snapshot.schedules)
    assert "defaults" in snapshot.manifest["rate_limit_source"]
    assert snapshot.manifest["key_scope"] == "team"


def test_eu_emulator_with_the_eu_key_extracts() -> None:
    with run_emulator(size="tiny", seed=7, config=EmulatorConfig(region="eu")) as emulator:
        c = client_from_connection_fields(
            TEST_EU_API_KEY,
            host=emulator.base_url,
            extra={"region": "eu"},
            retry=FAST_RETRY,
        )

        async def run() -> Snapshot:
            async with c:
                return await extract_snapshot(c, entity_types={"users"}, sync_contact_details=False)

        snapshot = asyncio.run(run())
    assert snapshot.manifest["region"] == "eu"
    assert len(snapshot.users) == len(emulator.account.users)


def test_services_on_a_plan_without_them_are_skipped() -> None:
    config = EmulatorConfig(services_enabled=False)
    with run_emulator(size="tiny", seed=7, config=config) as emulator:
        snapshot, _ = extract(emulator)

    assert snapshot.manifest["skipped"]["services"].startswith("402")
    assert "services" not in snapshot.manifest["entity_types"]
    assert len(snapshot.users) == len(emulator.account.users)


def test_snapshot_replays_from_staging_without_the_api(
    emulator: RunningEmulator, fault_free: Snapshot, tmp_path: Path
) -> None:
    staging = Staging(str(tmp_path))
    run_dir = staging.run_path("opsgenie_sync", "manual__2026-11-27T01:00:00+00:00")

    manifest = extract_to_staging(
        lambda: client(emulator), staging, run_dir, entity_types=ALL, sync_contact_details=True
    )

    replayed = load_snapshot(manifest["snapshot_uri"])
    assert data_of(replayed) == data_of(fault_free)
    assert replayed.manifest["counts"]["users"] == len(emulator.account.users)
    assert replayed.manifest["api_base"] == emulator.base_url


def test_api_key_is_nowhere_after_runs_and_errors(
    emulator: RunningEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    staging = Staging(str(tmp_path))
    progress: list[str] = []
    emulator.faults.add("503", times=2)
    manifest = extract_to_staging(
        lambda: client(emulator),
        staging,
        staging.run_path("d", "ok"),
        entity_types=ALL,
        sync_contact_details=True,
        progress=progress.append,
    )
    errors: list[BaseException] = []
    emulator.faults.add("drop", path="/v2/teams")
    for key in (TEST_API_KEY, TEST_EU_API_KEY, TEST_TEAM_API_KEY):
        try:
            extract_to_staging(
                lambda k=key: client(emulator, key=k),  # type: ignore[misc]
                staging,
                staging.run_path("d", f"bad-{key[:4]}"),
                entity_types=ALL,
                sync_contact_details=True,
            )
        except Exception as error:
            errors.append(error)
    assert len(errors) == 3

    texts = [json.dumps(manifest), *progress, caplog.text, repr(client(emulator))]
    texts += [f"{e!s} {e!r} {e.__cause__!r} {e.__context__!r}" for e in errors]
    texts += [p.read_text() for p in tmp_path.rglob("*") if p.is_file()]
    for key in (TEST_API_KEY, TEST_EU_API_KEY, TEST_TEAM_API_KEY):
        assert not [t for t in texts if key in t], key


def test_airflow_connection_test_reaches_the_hook(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.connection import Connection

    conn = Connection(
        conn_id="opsgenie_default",
        conn_type="opsgenie_sync",
        password=emulator.api_key,
        host=emulator.base_url,
        extra=json.dumps({"region": "us"}),
    )
    # The API server's Test button exports the connection to the environment the same way.
    monkeypatch.setenv("AIRFLOW_CONN_OPSGENIE_DEFAULT", conn.as_json())

    ok, message = conn.test_connection()

    assert ok, message
    assert emulator.account.name in message

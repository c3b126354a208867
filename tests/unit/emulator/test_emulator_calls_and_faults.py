"""Against a real server: every call is recorded (so a test can prove an extract changed nothing),
the heartbeat ping is a recorded write, and faults and limits reach the extended endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from oncall_sync.emulator.app import EmulatorConfig
from oncall_sync.emulator.calls import CallLog, RecordedCall
from oncall_sync.emulator.generator import generate_account
from oncall_sync.emulator.paging import Alert, who_is_paged
from oncall_sync.emulator.server import RunningEmulator, run_emulator

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(rate_limits_enabled=False, now=NOW)
    with run_emulator(generate_account("tiny"), config) as running:
        yield running


@pytest.fixture
def client(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    emulator.faults.reset()
    emulator.app.calls.clear()
    headers = {"Authorization": f"GenieKey {emulator.api_key}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=5) as http:
        yield http
    emulator.faults.reset()


def test_every_call_is_recorded_with_its_method_and_path(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    user = emulator.account.users[0]
    paths = ["/v2/account", f"/v2/users/{user['id']}/notification-rules", "/v2/heartbeats"]
    for path in paths:
        client.get(path)
    client.get("/v2/integrations", params={"type": "API"})
    calls = emulator.app.calls.calls
    assert [(c.method, c.path) for c in calls] == [("GET", p) for p in [*paths, "/v2/integrations"]]
    assert calls[-1].query == "type=API"
    assert emulator.app.calls.state_changing() == []
    assert emulator.app.calls.total == 4


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_are_refused_and_recorded_as_state_changing(
    emulator: RunningEmulator, client: httpx.Client, method: str
) -> None:
    team = emulator.account.teams[0]
    response = client.request(method, f"/v2/teams/{team['id']}/routing-rules", json={})
    assert response.status_code == 405
    assert emulator.app.calls.state_changing() == [
        RecordedCall(method, f"/v2/teams/{team['id']}/routing-rules")
    ]


def test_a_heartbeat_ping_is_a_get_that_changes_state(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    name = "queue worker"
    before = client.get(f"/v2/heartbeats/{name}").json()["data"]
    assert before["expired"] is True
    pong = client.get(f"/v2/heartbeats/{name}/ping")
    assert pong.status_code == 202
    assert set(pong.json()) == {"result", "took", "requestId"}
    assert pong.json()["result"] == "PONG - Heartbeat received"
    after = client.get(f"/v2/heartbeats/{name}").json()["data"]
    assert after["expired"] is False and after["lastPingTime"] == "2026-11-01T12:00:00.000Z"
    changing = emulator.app.calls.state_changing()
    assert [(c.method, c.path) for c in changing] == [("GET", "/v2/heartbeats/queue%20worker/ping")]
    for verb in ("POST", "PUT", "PATCH"):
        assert client.request(verb, "/v2/heartbeats/db-backup/ping").status_code == 202
    # Pings are asynchronous in OpsGenie: an unknown name still gets its PONG.
    assert client.get("/v2/heartbeats/never-created/ping").status_code == 202
    assert len(emulator.app.calls.state_changing()) == 5
    emulator.app.extended.pings.clear()


def test_emulator_only_calls_are_not_recorded_and_report_the_log(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    client.get("/v2/heartbeats")
    client.post("/v2/heartbeats/db-backup/ping")
    emulator.app.extended.pings.clear()
    log = client.get("/_emulator/calls").json()["data"]
    assert log["total"] == 2 and [c["method"] for c in log["calls"]] == ["GET", "POST"]
    changing = client.get("/_emulator/calls", params={"stateChanging": "true"}).json()["data"]
    assert changing["calls"] == [
        {"method": "POST", "path": "/v2/heartbeats/db-backup/ping", "query": ""}
    ]
    assert emulator.app.calls.total == 2
    assert client.get("/_emulator/calls", headers={"Authorization": ""}).status_code == 401
    assert client.get("/_emulator/nothing-here").status_code == 404


def test_the_call_log_keeps_every_state_changing_call_past_its_window() -> None:
    log = CallLog(keep=3)
    log.record("DELETE", "/v2/teams/x")
    for n in range(10):
        log.record("GET", f"/v2/users/{n}")
    assert len(log.calls) == 3 and log.total == 11
    assert log.state_changing() == [RecordedCall("DELETE", "/v2/teams/x")]


# -- faults on the extended endpoints --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v2/forwarding-rules",
        "/v2/heartbeats",
        "/v1/maintenance",
        "/v2/policies/alert",
        "/v2/roles",
    ],
)
def test_server_errors_can_target_an_extended_endpoint(
    emulator: RunningEmulator, client: httpx.Client, path: str
) -> None:
    emulator.faults.add("503", times=2, path=path)
    assert client.get("/v2/teams").status_code == 200  # other paths are untouched
    assert [client.get(path).status_code for _ in range(3)] == [503, 503, 200]
    assert emulator.faults.injected["503"] == 2
    assert [c.path for c in emulator.app.calls.calls].count(path) == 3  # faulted calls recorded


def test_faults_match_notification_rule_paths_by_pattern(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    user = emulator.account.users[0]
    rule = emulator.account.notification_rules[user["id"]][0]
    emulator.faults.add("429", times=1, period=60, path="/v2/users/*/notification-rules/*")
    throttled = client.get(f"/v2/users/{user['id']}/notification-rules/{rule['id']}")
    assert throttled.status_code == 429 and throttled.headers["X-RateLimit-Period-In-Sec"] == "60"
    assert client.get(f"/v2/users/{user['id']}/notification-rules").status_code == 200
    assert client.get(f"/v2/users/{user['id']}/notification-rules/{rule['id']}").status_code == 200


def test_malformed_and_dropped_answers_on_extended_endpoints(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    integration = emulator.account.integrations[0]
    emulator.faults.add("malformed", times=1, path="/v2/integrations/*")
    broken = client.get(f"/v2/integrations/{integration['id']}")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)
    emulator.faults.add("drop", times=1, path="/v1/incident-templates")
    with pytest.raises(httpx.TransportError):
        client.get("/v1/incident-templates")
    assert client.get("/v1/incident-templates").status_code == 200


def test_a_malformed_fault_spoils_the_ping_answer_too(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    emulator.faults.add("malformed", times=1, path="/v2/heartbeats/*/ping")
    broken = client.get("/v2/heartbeats/db-backup/ping")
    assert broken.status_code == 202
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)
    emulator.app.extended.pings.clear()


def test_faults_never_reach_the_emulator_only_endpoints(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    emulator.faults.add("503")  # every path, until cleared
    assert client.get("/v2/heartbeats").status_code == 503
    team = emulator.account.teams[0]
    answer = client.get("/_emulator/paging", params={"team": team["id"], "at": NOW.isoformat()})
    assert answer.status_code == 200
    expected = who_is_paged(emulator.account, Alert(created_at=NOW, team_id=team["id"]), 60)
    assert answer.json()["data"] == expected.model_dump(mode="json") and expected.pages
    assert client.get("/_emulator/calls").status_code == 200

"""Faults as a real client sees them, against a real uvicorn server; and the server's lifecycle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from oncall_sync.emulator.app import TEST_EU_API_KEY, EmulatorConfig
from oncall_sync.emulator.faults import FaultPlan
from oncall_sync.emulator.generator import generate_account
from oncall_sync.emulator.server import RunningEmulator, run_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(rate_limits_enabled=False)
    with run_emulator(generate_account("tiny"), config) as running:
        yield running


@pytest.fixture
def client(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    emulator.faults.reset()
    headers = {"Authorization": f"GenieKey {emulator.api_key}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=5) as http:
        yield http
    emulator.faults.reset()


def test_injected_429_carries_the_message_and_period(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    emulator.faults.add("429", times=1, period=60)
    throttled = client.get("/v2/teams")
    assert throttled.status_code == 429
    assert throttled.headers["X-RateLimit-Period-In-Sec"] == "60"
    assert throttled.json()["message"].startswith("You are making too many requests!")
    assert client.get("/v2/teams").status_code == 200
    assert emulator.faults.injected["429"] == 1


@pytest.mark.parametrize("status", ["500", "501", "502", "503"])
def test_injected_server_errors(
    emulator: RunningEmulator, client: httpx.Client, status: str
) -> None:
    emulator.faults.add(status, times=2, path="/v2/schedules*")  # type: ignore[arg-type]
    assert client.get("/v2/teams").status_code == 200  # other paths are untouched
    assert [client.get("/v2/schedules").status_code for _ in range(3)] == [
        int(status),
        int(status),
        200,
    ]
    assert emulator.faults.injected[status] == 2


def test_timeout_outlasts_the_client(emulator: RunningEmulator, client: httpx.Client) -> None:
    emulator.faults.add("timeout", times=1, delay_s=2)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/v2/account", timeout=0.3)
    assert client.get("/v2/account").status_code == 200


def test_dropped_connection_is_a_transport_error(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    emulator.faults.add("drop", times=1)
    with pytest.raises(httpx.TransportError):
        client.get("/v2/users")
    assert client.get("/v2/users").status_code == 200  # the client reconnects
    assert emulator.faults.injected["drop"] == 1


def test_malformed_body_is_truncated_json_with_200(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    emulator.faults.add("malformed", times=1, path="/v2/escalations")
    response = client.get("/v2/escalations")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert client.get("/v2/escalations").json()["data"]


def test_users_page_shifts_between_requests(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    first = client.get("/v2/users", params={"limit": 5}).json()
    emulator.faults.add("shift_users", times=1, path="/v2/users")
    second = client.get("/v2/users", params={"limit": 5, "offset": 5}).json()
    assert second["totalCount"] == first["totalCount"] + 1
    # a user was inserted at the front, so the last user of page one comes again on page two
    assert second["data"][0]["id"] == first["data"][-1]["id"]


def test_users_removed_at_the_front_skip_one(
    emulator: RunningEmulator, client: httpx.Client
) -> None:
    everyone = client.get("/v2/users", params={"limit": 100}).json()["data"]
    emulator.faults.add("shift_users", times=1, path="/v2/users", mode="remove")
    page = client.get("/v2/users", params={"limit": 5, "offset": 5}).json()["data"]
    assert page[0]["id"] == everyone[6]["id"]


def test_probabilistic_faults_are_seeded() -> None:
    def injected(seed: int) -> list[bool]:
        plan = FaultPlan(seed=seed)
        plan.add("503", probability=0.3)
        return [plan.pick("/v2/users") is not None for _ in range(200)]

    assert injected(1) == injected(1)
    assert 30 < sum(injected(1)) < 90


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultPlan().add("418")  # type: ignore[arg-type]


def test_latency_is_added_per_request() -> None:
    config = EmulatorConfig(latency_ms=150, rate_limits_enabled=False)
    with run_emulator(generate_account("tiny"), config) as running:
        headers = {"Authorization": f"GenieKey {running.api_key}"}
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{running.base_url}/v2/account", headers=headers, timeout=0.05)
        assert (
            httpx.get(f"{running.base_url}/v2/account", headers=headers, timeout=5).status_code
            == 200
        )


def test_eu_emulator_hands_out_the_eu_key_and_stops_cleanly() -> None:
    with run_emulator(generate_account("tiny"), EmulatorConfig(region="eu")) as running:
        assert running.api_key == TEST_EU_API_KEY
        response = httpx.get(
            f"{running.base_url}/v2/account",
            headers={"Authorization": f"GenieKey {running.api_key}"},
        )
        assert response.status_code == 200
        url = running.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v2/account", timeout=1)


def test_command_prints_url_and_key_then_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "oncall_sync.emulator", "--size", "tiny", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("OPSGENIE_EMULATOR_URL=")
        key = process.stdout.readline().strip().removeprefix("OPSGENIE_EMULATOR_KEY=")
        response = httpx.get(
            f"{url}/v2/account", headers={"Authorization": f"GenieKey {key}"}, timeout=10
        )
        assert response.json()["data"]["userCount"] == 12
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()

"""Rate limits and faults as a real client sees them, against a real uvicorn server on
127.0.0.1; and the command line's lifecycle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from oncall_sync.emulator.pagerduty.calls import PagerDutyConfig
from oncall_sync.emulator.pagerduty.generator import generate_account
from oncall_sync.emulator.pagerduty.server import RunningPagerDuty, run_pagerduty_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningPagerDuty]:
    config = PagerDutyConfig(rate_limits_enabled=False)
    with run_pagerduty_emulator(generate_account("tiny"), config) as running:
        yield running


@pytest.fixture
def client(emulator: RunningPagerDuty) -> Iterator[httpx.Client]:
    emulator.faults.reset()
    headers = {"Authorization": f"Token token={emulator.api_key}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=5) as http:
        yield http
    emulator.faults.reset()
    emulator.config.throttle_headers = True


def test_injected_429_carries_code_2020_and_the_reset(
    emulator: RunningPagerDuty, client: httpx.Client
) -> None:
    emulator.faults.add("429", times=1, period=60)
    throttled = client.get("/users")
    assert throttled.status_code == 429
    assert throttled.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    assert throttled.headers["ratelimit-reset"] == "60"
    assert throttled.headers["ratelimit-remaining"] == "0"
    assert client.get("/users").status_code == 200
    assert emulator.faults.injected["429"] == 1


def test_a_429_can_come_bare(emulator: RunningPagerDuty, client: httpx.Client) -> None:
    emulator.config.throttle_headers = False
    emulator.faults.add("429", times=1)
    throttled = client.get("/users")
    assert throttled.status_code == 429
    assert not any(h.startswith("ratelimit-") for h in throttled.headers)


@pytest.mark.parametrize("status", ["500", "501", "503"])
def test_injected_server_errors_on_matching_paths_only(
    emulator: RunningPagerDuty, client: httpx.Client, status: str
) -> None:
    emulator.faults.add(status, times=2, path="/schedules*")  # type: ignore[arg-type]
    assert client.get("/users").status_code == 200
    answers = [client.get("/schedules") for _ in range(3)]
    assert [a.status_code for a in answers] == [int(status), int(status), 200]
    assert answers[0].json()["error"]["code"] == int(status)
    assert emulator.faults.injected[status] == 2


def test_a_502_is_a_gateways_html(emulator: RunningPagerDuty, client: httpx.Client) -> None:
    emulator.faults.add("502", times=1)
    response = client.get("/abilities")
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html"
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_timeout_outlasts_the_client(emulator: RunningPagerDuty, client: httpx.Client) -> None:
    emulator.faults.add("timeout", times=1, delay_s=2)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/abilities", timeout=0.3)
    assert client.get("/abilities").status_code == 200


def test_dropped_connection_is_a_transport_error(
    emulator: RunningPagerDuty, client: httpx.Client
) -> None:
    emulator.faults.add("drop", times=1)
    with pytest.raises(httpx.TransportError):
        client.get("/teams")
    assert client.get("/teams").status_code == 200


def test_malformed_body_is_truncated_json_with_200(
    emulator: RunningPagerDuty, client: httpx.Client
) -> None:
    emulator.faults.add("malformed", times=1)
    response = client.get("/escalation_policies")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_redirect_points_elsewhere_and_is_not_followed(
    emulator: RunningPagerDuty, client: httpx.Client
) -> None:
    emulator.faults.add("redirect", times=1, location="http://pagerduty.invalid/users")
    response = client.get("/users")
    assert response.status_code == 302
    assert response.headers["location"] == "http://pagerduty.invalid/users"


@pytest.mark.parametrize(("mode", "lost"), [("insert", 0), ("remove", 1)])
def test_users_shifting_between_pages(
    emulator: RunningPagerDuty, client: httpx.Client, mode: str, lost: int
) -> None:
    first = client.get("/users", params={"limit": 5}).json()["users"]
    emulator.faults.add("shift_users", times=1, path="/users", mode=mode)  # type: ignore[arg-type]
    client.get("/users", params={"limit": 5, "offset": 100})  # the request that shifts the list
    second = client.get("/users", params={"limit": 5, "offset": 5}).json()["users"]
    everyone = client.get("/users", params={"limit": 100}).json()["users"]
    if mode == "insert":
        assert everyone[0]["name"].startswith("Aaron New Hire")
        assert second[0]["id"] == first[-1]["id"]  # read again: the page moved down one
    else:
        assert everyone[0]["id"] == first[1]["id"]
        assert second[0]["id"] != everyone[4]["id"]  # one user skipped over
    assert len(everyone) == 12 + (1 if mode == "insert" else -lost)


def test_latency_is_added_to_every_request(
    emulator: RunningPagerDuty, client: httpx.Client
) -> None:
    emulator.config.latency_ms = 300
    try:
        started = time.monotonic()
        client.get("/abilities")
        assert time.monotonic() - started >= 0.3
    finally:
        emulator.config.latency_ms = 0


# -- rate limits -----------------------------------------------------------------------------------


def test_the_key_bucket_throttles_and_recovers() -> None:
    config = PagerDutyConfig(rate_limit_per_minute=6000, rate_limit_scale=0.001)  # 6 per minute
    with run_pagerduty_emulator(generate_account("tiny"), config) as running:
        headers = {"Authorization": f"Token token={running.api_key}"}
        with httpx.Client(base_url=running.base_url, headers=headers, timeout=5) as http:
            answers = [http.get("/abilities") for _ in range(7)]
        assert [a.status_code for a in answers] == [200] * 6 + [429]
        assert [a.headers["ratelimit-remaining"] for a in answers[:6]] == list("543210")
        throttled = answers[-1]
        assert throttled.json()["error"]["code"] == 2020
        assert throttled.headers["ratelimit-limit"] == "6"
        assert 1 <= int(throttled.headers["ratelimit-reset"]) <= 10
        running.app.limiter.reset()
        assert httpx.get(f"{running.base_url}/abilities", headers=headers).status_code == 200


def test_oncalls_have_a_limit_of_their_own_and_the_headers_name_the_nearest() -> None:
    config = PagerDutyConfig(operation_limits={"oncalls": 2})
    with run_pagerduty_emulator(generate_account("tiny"), config) as running:
        headers = {"Authorization": f"Token token={running.api_key}"}
        with httpx.Client(base_url=running.base_url, headers=headers, timeout=5) as http:
            first = http.get("/oncalls")
            assert (first.status_code, first.headers["ratelimit-limit"]) == (200, "2")
            assert http.get("/oncalls").status_code == 200
            assert http.get("/oncalls").status_code == 429
            other = http.get("/abilities")
            assert (other.status_code, other.headers["ratelimit-limit"]) == (200, "960")


# -- the command line ------------------------------------------------------------------------------


def test_the_command_line_prints_its_url_and_keys_and_stops_cleanly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "oncall_sync.emulator.pagerduty", "--size", "tiny", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().strip().split("=", 1) for _ in range(6))
        assert lines["PAGERDUTY_EMULATOR_REGION"] == "us"
        url, key = lines["PAGERDUTY_EMULATOR_URL"], lines["PAGERDUTY_EMULATOR_KEY"]
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(
            f"{url}/users", headers={"Authorization": f"Token token={key}"}, timeout=10
        )
        assert len(response.json()["users"]) == 12
        user_key = lines["PAGERDUTY_EMULATOR_USER_KEY"]
        me = httpx.get(f"{url}/users/me", headers={"Authorization": f"Token token={user_key}"})
        assert me.json()["user"]["role"] == "owner"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

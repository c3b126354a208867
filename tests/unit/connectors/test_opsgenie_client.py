"""The client's one request function, retry policy and paging loop, against an in-memory API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fake_opsgenie import BASE, KEY, FakeOpsGenie, envelope, make_account, respond, user

from oncall_sync.connectors.opsgenie.client import (
    OpsGenieClient,
    RetryPolicy,
    base_url_for,
    rate_limit_domain,
)
from oncall_sync.connectors.opsgenie.errors import (
    AuthenticationError,
    KeyFormatError,
    NotInPlanError,
    OutOfReachError,
    PagingError,
    RequestError,
    RetryBudgetExhausted,
    UnsafeRedirectError,
)
from oncall_sync.ratelimit import DomainLimits

FAST_LIMITS = {
    domain: DomainLimits(per_second=10_000, per_minute=600_000)
    for domain in ("configuration", "search", "schedule-oncalls")
}
THROTTLED = {"message": "You are making too many requests! Slow down."}
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01)


def client_for(fake: FakeOpsGenie, **options: Any) -> OpsGenieClient:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("rate_limits", FAST_LIMITS)
    return OpsGenieClient(KEY, transport=fake.transport(), seed=1, **options)


async def read_users(client: OpsGenieClient) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    params = {"limit": 100, "offset": 0, "sort": "username", "order": "asc"}
    async with client:
        async for page in client.pages("GET /v2/users", params=params):
            users.extend(page.items)
    return users


@pytest.mark.parametrize(("n_users", "pages"), [(0, 1), (1, 1), (100, 1), (101, 2)])
def test_users_are_paged_by_100_until_next_is_absent(n_users: int, pages: int) -> None:
    fake = FakeOpsGenie(make_account(n_users))
    client = client_for(fake)

    users = asyncio.run(read_users(client))

    assert [u["id"] for u in users] == [u["id"] for u in fake.account.users]
    assert client.stats.by_endpoint["GET /v2/users"] == pages
    assert all(r.url.params["limit"] == "100" for r in fake.requests)
    assert fake.requests[0].url.params["sort"] == "username"  # `sort`, not OAS's `sortField`


def test_paging_follows_links_with_trailing_slash_and_upper_case_order() -> None:
    fake = FakeOpsGenie(make_account(150))

    def with_trailing_slash(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/v2/users" and request.url.params.get("offset") == "0":
            page = fake.account.users[:100]
            nxt = f"{BASE}/v2/users/?limit=100&offset=100&order=ASC&sort=username"
            return respond(200, envelope(page, totalCount=150, paging={"next": nxt}))
        return None

    fake.before.append(with_trailing_slash)
    users = asyncio.run(read_users(client_for(fake)))

    assert len(users) == 150
    second = fake.requests[-1]
    assert second.url.path == "/v2/users/"
    assert second.url.params["order"] == "ASC"
    assert second.url.params["offset"] == "100"


def test_paging_link_to_another_host_is_not_followed() -> None:
    fake = FakeOpsGenie(make_account(3))
    evil = "https://evil.example.com/v2/users?limit=100&offset=100"
    fake.before.append(
        lambda r: respond(200, envelope([user(1)], totalCount=5, paging={"next": evil}))
    )

    with pytest.raises(PagingError, match="another host"):
        asyncio.run(read_users(client_for(fake)))
    assert all(r.url.host == "api.opsgenie.com" for r in fake.requests)


def test_paging_link_pointing_back_to_a_read_page_stops_the_loop() -> None:
    fake = FakeOpsGenie(make_account(3))
    same = f"{BASE}/v2/users?limit=100&offset=0"
    fake.before.append(
        lambda r: respond(200, envelope([user(1)], totalCount=5, paging={"next": same}))
    )

    with pytest.raises(PagingError, match="already read"):
        asyncio.run(read_users(client_for(fake)))
    assert len(fake.requests) == 1


def test_genie_key_header_is_sent_and_never_shown_in_repr() -> None:
    fake = FakeOpsGenie(make_account(1))
    client = client_for(fake)

    asyncio.run(read_users(client))

    assert fake.requests[0].headers["Authorization"] == f"GenieKey {KEY}"
    assert KEY not in repr(client)
    assert "api.opsgenie.com" in repr(client)


def test_region_selects_the_base_url_and_an_override_wins() -> None:
    assert base_url_for("us") == "https://api.opsgenie.com"
    assert base_url_for("eu") == "https://api.eu.opsgenie.com"
    assert base_url_for("eu", "http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    with pytest.raises(ValueError, match=r'extra\.region to "us" or "eu"'):
        base_url_for("apac")


def test_endpoints_map_to_their_rate_limit_domains() -> None:
    assert rate_limit_domain("GET /v2/users") == "search"
    assert rate_limit_domain("GET /v2/users/") == "search"
    assert rate_limit_domain("GET /v2/users/{id}/contacts") == "configuration"
    assert rate_limit_domain("GET /v2/schedules/{id}/on-calls") == "schedule-oncalls"
    assert rate_limit_domain("GET /v1/services") == "configuration"


def flaky(fake: FakeOpsGenie, failures: list[Any]) -> None:
    """Answer the next requests with `failures` (statuses, bodies or exceptions) in order."""
    pending = list(failures)

    def hook(request: httpx.Request) -> httpx.Response | None:
        if not pending:
            return None
        failure = pending.pop(0)
        if isinstance(failure, Exception):
            raise failure
        if isinstance(failure, httpx.Response):
            return failure
        return respond(failure, {"message": "boom"})

    fake.before.append(hook)


@pytest.mark.parametrize(
    "failure",
    [
        503,
        500,
        respond(
            429,
            {"message": "You are making too many requests!"},
            {"X-RateLimit-Period-In-Sec": "1"},
        ),
        httpx.Response(200, content=b'{"data": [', headers={}),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
    ids=["503", "500", "429", "malformed-json", "timeout", "dropped-connection"],
)
def test_transient_failures_are_retried_until_the_answer_comes(failure: Any) -> None:
    fake = FakeOpsGenie(make_account(2))
    flaky(fake, [failure, failure])
    client = client_for(fake)

    users = asyncio.run(read_users(client))

    assert len(users) == 2
    assert client.stats.retries == 2
    assert client.stats.by_endpoint["GET /v2/users"] == 3


def test_429_is_counted_and_pauses_the_window_the_header_names() -> None:
    fake = FakeOpsGenie(make_account(2))
    throttled = respond(
        429, {"message": "You are making too many requests!"}, {"X-RateLimit-Period-In-Sec": "60"}
    )
    flaky(fake, [throttled])
    client = client_for(fake, retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.02))

    asyncio.run(read_users(client))

    assert client.stats.throttled_429 == 1
    assert client.stats.retries == 1


def test_501_is_not_retried() -> None:
    fake = FakeOpsGenie(make_account(2))
    flaky(fake, [501])
    client = client_for(fake)

    with pytest.raises(RequestError, match="501"):
        asyncio.run(read_users(client))
    assert client.stats.retries == 0


def test_retry_budget_exhausted_names_the_endpoint_and_the_last_failure() -> None:
    fake = FakeOpsGenie(make_account(2))
    flaky(fake, [503] * 10)
    client = client_for(fake)

    with pytest.raises(RetryBudgetExhausted) as raised:
        asyncio.run(read_users(client))
    assert "GET /v2/users" in str(raised.value)
    assert "503" in str(raised.value)
    assert client.stats.by_endpoint["GET /v2/users"] == FAST_RETRY.max_attempts


def test_unknown_key_names_the_region_setting() -> None:
    fake = FakeOpsGenie(make_account(1), key="another-key-entirely")
    client = client_for(fake, region="us")

    with pytest.raises(AuthenticationError) as raised:
        asyncio.run(read_users(client))
    message = str(raised.value)
    assert 'extra.region="eu"' in message
    assert "opsgenie_default" in message
    assert KEY not in message


def test_malformed_key_says_so() -> None:
    fake = FakeOpsGenie(make_account(1))
    fake.before.append(lambda r: respond(422, {"message": "Key format is not valid!"}))

    with pytest.raises(KeyFormatError, match="malformed"):
        asyncio.run(read_users(client_for(fake)))


def test_team_scoped_key_gets_a_reach_error_naming_the_endpoint() -> None:
    fake = FakeOpsGenie(make_account(1))
    body = {"code": 40301, "message": "Api key is not authorized to access the schedule"}
    fake.before.append(lambda r: respond(403, body))

    async def read() -> None:
        async with client_for(fake) as client:
            await client.get("GET /v2/schedules/{id}/overrides", ids={"id": "s-1"})

    with pytest.raises(OutOfReachError) as raised:
        asyncio.run(read())
    assert "GET /v2/schedules/{id}/overrides" in str(raised.value)
    assert "team-scoped" in str(raised.value)


def test_plan_without_services_is_a_plan_error() -> None:
    fake = FakeOpsGenie(make_account(1))
    fake.before.append(lambda r: respond(402, {"message": "Plan does not allow"}))

    async def read() -> None:
        async with client_for(fake) as client:
            await client.get("GET /v1/services")

    with pytest.raises(NotInPlanError, match="plan"):
        asyncio.run(read())


def test_redirect_to_another_host_is_refused_and_same_host_is_followed() -> None:
    fake = FakeOpsGenie(make_account(1))
    fake.before.append(
        lambda r: (
            httpx.Response(302, headers={"Location": "https://evil.example.com/v2/account"})
            if r.url.path == "/v2/account"
            else None
        )
    )
    fake.before.append(
        lambda r: (
            httpx.Response(301, headers={"Location": "/v2/teams"})
            if r.url.path == "/v2/old-account"
            else None
        )
    )

    async def get(template: str) -> Any:
        async with client_for(fake) as client:
            return await client.get_data(template)

    assert [t["id"] for t in asyncio.run(get("GET /v2/old-account"))] == ["t-0", "t-1"]
    with pytest.raises(UnsafeRedirectError, match=r"evil\.example\.com"):
        asyncio.run(get("GET /v2/account"))
    assert all(r.url.host == "api.opsgenie.com" for r in fake.requests)


def test_request_limits_configure_the_buckets_and_a_team_key_falls_back_to_defaults() -> None:
    fake = FakeOpsGenie(make_account(1))
    client = client_for(fake)

    async def load(c: OpsGenieClient) -> dict[str, DomainLimits]:
        async with c:
            return await c.load_rate_limits()

    limits = asyncio.run(load(client))
    assert limits["configuration"] == DomainLimits(per_second=200, per_minute=6000)
    assert client.rate_limit_source == "GET /v2/request-limits/"

    team_key = FakeOpsGenie(make_account(1))
    team_key.before.append(
        lambda r: (
            respond(403, {"code": 40301, "message": "no"})
            if "request-limits" in r.url.path
            else None
        )
    )
    fallback = client_for(team_key)
    assert asyncio.run(load(fallback))["configuration"] == FAST_LIMITS["configuration"]
    assert "defaults" in fallback.rate_limit_source


def test_path_identifiers_are_escaped() -> None:
    fake = FakeOpsGenie(make_account(1))

    async def get() -> None:
        async with client_for(fake) as client:
            await client.get("GET /v2/users/{id}/contacts", ids={"id": "a/b c"})

    asyncio.run(get())
    assert fake.requests[-1].url.raw_path.startswith(b"/v2/users/a%2Fb%20c/contacts")


def test_requests_waiting_for_their_domains_token_hold_no_slot_another_domain_needs() -> None:
    # Thousands of contact GETs queue on the configuration bucket; the users pages (search
    # domain) must not wait behind them for one of the `concurrency` slots.
    fake = FakeOpsGenie(make_account(3))
    slow = {**FAST_LIMITS, "configuration": DomainLimits(per_second=20, per_minute=1200)}
    client = client_for(fake, rate_limits=slow, concurrency=1)
    finished: list[str] = []

    async def get(template: str, name: str) -> None:
        await client.get_data(template, params={"limit": 100, "offset": 0})
        finished.append(name)

    async def run() -> None:
        async with client:
            queued = [asyncio.create_task(get("GET /v2/account", f"account {i}")) for i in range(8)]
            await asyncio.sleep(0)  # the account reads are all waiting before the users page
            await get("GET /v2/users", "users")
            await asyncio.gather(*queued)

    asyncio.run(run())

    assert len(finished) == 9
    assert finished.index("users") < 4, finished

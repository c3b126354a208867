"""The OpsGenie REST client: one request function, one retry policy, one paging loop and one
rate limiter per OpsGenie rate-limit domain, shared by every endpoint. Knows nothing of Airflow."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from oncall_sync.connectors.opsgenie.errors import (
    CONNECTION_ID,
    AuthenticationError,
    KeyFormatError,
    NotFoundError,
    NotInPlanError,
    OpsGenieError,
    OutOfReachError,
    PagingError,
    RequestError,
    RetryBudgetExhausted,
    UnsafeRedirectError,
    authentication_message,
    out_of_reach_message,
    redact,
)
from oncall_sync.ratelimit import DEFAULT_LIMITS, DomainLimits, RateLimiter, parse_request_limits

log = logging.getLogger(__name__)

REGION_BASE_URLS: dict[str, str] = {
    "us": "https://api.opsgenie.com",
    "eu": "https://api.eu.opsgenie.com",
}
USERS_PAGE_SIZE = 100
# In-flight requests. The token buckets, not this, pace us under the rate limits; it only has to
# cover latency: 16 in flight keep 50 req/s going up to ~300 ms round trips.
DEFAULT_CONCURRENCY = 16
MAX_REDIRECTS = 3
MAX_PAGES = 100_000


def base_url_for(region: str, override: str | None = None) -> str:
    """The API base: an explicit override (emulator, proxy) wins over the region's host."""
    if override:
        return override.rstrip("/")
    if region not in REGION_BASE_URLS:
        raise ValueError(
            f'Unknown OpsGenie region "{region}": set extra.region to "us" or "eu" '
            f"on connection {CONNECTION_ID}"
        )
    return REGION_BASE_URLS[region]


def rate_limit_domain(template: str) -> str:
    """The OpsGenie rate-limit domain an endpoint counts against (reference section 1.6)."""
    method, path = template.split(" ", 1)
    if method == "GET" and path.rstrip("/") == "/v2/users":
        return "search"
    if "on-calls" in path or path.endswith("/timeline"):
        return "schedule-oncalls"
    return "configuration"


@dataclass
class RequestStats:
    """What the extract cost: requests per endpoint template, retries, 429s, wall time."""

    by_endpoint: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    throttled_429: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def total(self) -> int:
        return sum(self.by_endpoint.values())

    @property
    def wall_seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started


@dataclass(frozen=True)
class Page:
    """One page of a paged list: its items and the server's totalCount."""

    items: list[dict[str, Any]]
    total_count: int | None
    offset: int


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped attempts; delays configurable for tests."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class _Transient(Exception):
    """A failure worth retrying; `wait` overrides the backoff (429 with a known period)."""

    def __init__(self, reason: str, status: int | None = None, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.wait = wait


def _server_message(response: httpx.Response, secret: str) -> tuple[str, int | None]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return redact(response.text[:200], secret), None
    if not isinstance(body, dict):
        return "", None
    code = body.get("code")
    message = str(body.get("message", ""))[:300]
    return redact(message, secret), code if isinstance(code, int) else None


class OpsGenieClient:
    """Async client for the OpsGenie REST API (US or EU region, or an explicit base URL)."""

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        region: str = "us",
        base_url: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        rate_limits: Mapping[str, DomainLimits] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        seed: int | None = None,
    ) -> None:
        self._key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        if not self._key.get_secret_value().strip():
            raise ValueError(
                f"No OpsGenie API key: put the key in the password of connection {CONNECTION_ID}"
            )
        self.region = region
        self.custom_host = bool(base_url)
        self.base_url = base_url_for(region, base_url)
        if self.base_url.startswith("http://"):
            log.warning("OpsGenie base URL %s is plain http: use it only locally", self.base_url)
        self.retry = retry or RetryPolicy()
        self.concurrency = concurrency
        self.limiter = RateLimiter(rate_limits or DEFAULT_LIMITS)
        self.rate_limit_source = "configured defaults"
        # Team-owned keys may not read /v2/request-limits/: the one sign of a team-scoped key.
        self.team_scoped_key = False
        self.stats = RequestStats()
        self._rng = random.Random(seed)
        self._semaphore = asyncio.Semaphore(concurrency)
        self._base = httpx.URL(self.base_url)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Authorization": f"GenieKey {self._key.get_secret_value()}",
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            verify=True,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"OpsGenieClient(base_url={self.base_url!r}, region={self.region!r})"

    async def __aenter__(self) -> OpsGenieClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the one request function ------------------------------------------------------------

    async def get(
        self,
        template: str,
        *,
        ids: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> dict[str, Any]:
        """GET an endpoint named by its template ("GET /v2/users/{id}/contacts"); the envelope."""
        return await self._request(template, self._path(template, ids), params)

    async def get_data(
        self,
        template: str,
        *,
        ids: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        return (await self.get(template, ids=ids, params=params)).get("data")

    @staticmethod
    def _path(template: str, ids: Mapping[str, str] | None) -> str:
        _, path = template.split(" ", 1)
        quoted = {name: quote(value, safe="") for name, value in (ids or {}).items()}
        return path.format(**quoted)

    async def _request(
        self, template: str, path: str, params: Mapping[str, str | int] | None
    ) -> dict[str, Any]:
        domain = rate_limit_domain(template)
        last = "no attempt"
        for attempt in range(1, self.retry.max_attempts + 1):
            if attempt > 1:
                self.stats.retries += 1
            try:
                # The token first, then a slot: a request waiting for its domain's token must
                # not hold one of the `concurrency` slots, or a throttled domain (thousands of
                # queued contact GETs) starves the others (the sequential users pages).
                await self.limiter.acquire(domain)
                async with self._semaphore:
                    self.stats.by_endpoint[template] += 1
                    response = await self._send(template, path, params)
                return self._accept(template, domain, response)
            except _Transient as transient:
                last = transient.reason
                if attempt == self.retry.max_attempts:
                    break
                delay = transient.wait
                if delay is None:
                    delay = self.retry.backoff(attempt, self._rng)
                log.info(
                    "%s: %s, retry %d/%d in %.2fs",
                    template,
                    transient.reason,
                    attempt,
                    self.retry.max_attempts - 1,
                    delay,
                )
                await asyncio.sleep(delay)
        raise RetryBudgetExhausted(
            f"OpsGenie request {template} to {self.base_url} failed {self.retry.max_attempts} "
            f"times (last: {last}); the API is throttling or unreachable: check the connection's "
            "host and region, or re-run the task later",
            endpoint=template,
        )

    async def _send(
        self, template: str, path: str, params: Mapping[str, str | int] | None
    ) -> httpx.Response:
        url: httpx.URL | str = path
        query = dict(params or {})
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = await self._http.get(url, params=query)
            except httpx.TimeoutException as error:
                raise _Transient(f"timeout ({type(error).__name__})") from None
            except httpx.ConnectError:
                raise _Transient(f"could not connect to {self.base_url}") from None
            except httpx.TransportError as error:
                raise _Transient(f"connection dropped ({type(error).__name__})") from None
            if not response.is_redirect:
                return response
            target = response.url.join(response.headers.get("location", ""))
            if not self._same_origin(target):
                raise UnsafeRedirectError(
                    f"OpsGenie redirected {template} to another host ({target.host}); refusing "
                    "to send the API key there. Check the connection's host and region.",
                    endpoint=template,
                    status=response.status_code,
                )
            url, query = target, {}
        raise RequestError(f"Too many redirects on {template}", endpoint=template)

    def _accept(self, template: str, domain: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 200:
            try:
                body = json.loads(response.content)
            except ValueError:
                raise _Transient("malformed JSON in a 200 answer", status) from None
            if not isinstance(body, dict):
                raise _Transient("a 200 answer without a JSON object", status)
            return body
        if status == 429:
            self.stats.throttled_429 += 1
            period = _period_seconds(response.headers.get("X-RateLimit-Period-In-Sec"))
            wait = min(period, self.retry.max_delay) + self._rng.uniform(0, 0.05)
            self.limiter.throttled(domain, period, wait)
            raise _Transient(f"429 throttled ({period:g}s window)", status, wait)
        if status >= 500 and status != 501:
            raise _Transient(f"{status} server error", status)
        self._raise_for(template, response)
        raise AssertionError("unreachable")

    def _raise_for(self, template: str, response: httpx.Response) -> None:
        status = response.status_code
        secret = self._key.get_secret_value()
        message, code = _server_message(response, secret)
        if status == 401:
            raise AuthenticationError(
                authentication_message(template, self.region, self.custom_host),
                endpoint=template,
                status=status,
            )
        if status == 422 and "key format" in message.lower():
            raise KeyFormatError(
                f"OpsGenie says the API key is malformed (422 on {template}: {message}): put "
                f"the key of an API integration in the password of connection {CONNECTION_ID}",
                endpoint=template,
                status=status,
            )
        if status == 402:
            raise NotInPlanError(
                f"402 on {template}: the account's plan does not include this API ({message})",
                endpoint=template,
                status=status,
            )
        if status == 403:
            raise OutOfReachError(
                out_of_reach_message(template, message or f"code {code}"),
                endpoint=template,
                status=status,
            )
        if status == 404:
            raise NotFoundError(
                f"404 on {template}: {message or 'not found'}", endpoint=template, status=status
            )
        raise RequestError(
            f"OpsGenie answered {status} on {template}: {message}", endpoint=template, status=status
        )

    # -- the one paging loop -----------------------------------------------------------------

    async def pages(
        self, template: str, *, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[Page]:
        """Yield every page of a paged list, following `paging.next` until it is absent."""
        path = self._path(template, None)
        query: dict[str, str | int] = dict(params or {})
        seen: set[tuple[tuple[str, str], ...]] = set()
        offset = _offset(query)
        for _ in range(MAX_PAGES):
            seen.add(tuple(sorted((k, str(v)) for k, v in query.items())))
            body = await self._request(template, path, query)
            data = body.get("data")
            items = data if isinstance(data, list) else []
            total = body.get("totalCount")
            yield Page(
                items=items,
                total_count=total if isinstance(total, int) else None,
                offset=offset or 0,
            )
            paging = body.get("paging")
            next_link = paging.get("next") if isinstance(paging, dict) else None
            if not next_link:
                return
            path, query = self._follow(template, path, str(next_link))
            key = tuple(sorted((k, str(v)) for k, v in query.items()))
            next_offset = _offset(query)
            # Paging must move forward: a link back to a read page would loop forever.
            if key in seen or (
                offset is not None and next_offset is not None and next_offset <= offset
            ):
                raise PagingError(
                    f"{template}: paging.next points back to a page already read ({dict(key)})",
                    endpoint=template,
                )
            offset = next_offset
        raise PagingError(f"{template}: more than {MAX_PAGES} pages", endpoint=template)

    def _same_origin(self, url: httpx.URL) -> bool:
        """Whether `url` is on our API's scheme, host and port (the only place the key may go)."""
        return (url.scheme, url.host, url.port) == (
            self._base.scheme,
            self._base.host,
            self._base.port,
        )

    def _follow(self, template: str, path: str, link: str) -> tuple[str, dict[str, str | int]]:
        """Check a `paging.next` link points at our API and the same list; return its query."""
        url = self._base.join(link)
        if not self._same_origin(url):
            raise PagingError(
                f"{template}: paging.next points to another host ({url.host}); not following it",
                endpoint=template,
            )
        if url.path.rstrip("/") != path.rstrip("/"):
            raise PagingError(
                f"{template}: paging.next points to another list ({url.path})", endpoint=template
            )
        return url.path, dict(url.params.items())

    # -- account-level endpoints -------------------------------------------------------------

    async def account(self) -> dict[str, Any]:
        data = await self.get_data("GET /v2/account")
        return data if isinstance(data, dict) else {}

    async def load_rate_limits(self) -> dict[str, DomainLimits]:
        """Pace by the account's own limits when the key may read them, else by the defaults."""
        try:
            data = await self.get_data("GET /v2/request-limits/")
        except (OutOfReachError, NotFoundError, NotInPlanError) as error:
            self.rate_limit_source = f"configured defaults ({error.status} on request-limits)"
            self.team_scoped_key = isinstance(error, OutOfReachError)
            return dict(self.limiter.limits)
        limits = parse_request_limits(data)
        if limits:
            self.limiter.configure(limits)
            self.rate_limit_source = "GET /v2/request-limits/"
        return dict(self.limiter.limits)


def _offset(query: Mapping[str, str | int]) -> int | None:
    try:
        return int(query["offset"])
    except (KeyError, ValueError):
        return None


def _period_seconds(header: str | None) -> float:
    try:
        period = float(header) if header else 1.0
    except ValueError:
        period = 1.0
    return period if period > 0 else 1.0


__all__ = [
    "REGION_BASE_URLS",
    "USERS_PAGE_SIZE",
    "OpsGenieClient",
    "OpsGenieError",
    "Page",
    "RequestStats",
    "RetryPolicy",
    "base_url_for",
    "rate_limit_domain",
]

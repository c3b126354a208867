"""Client-side token buckets, one per rate-limit domain and window, so that we pace requests
below the server's limits instead of learning them from 429s."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateLimit:
    """A server limit: at most `limit` requests per `period_seconds` (OpsGenie uses 1 and 60)."""

    limit: int
    period_seconds: float

    @property
    def per_second(self) -> float:
        return self.limit / self.period_seconds


@dataclass(frozen=True)
class DomainLimits:
    """The two windows OpsGenie evaluates for one request domain."""

    per_second: int
    per_minute: int

    def windows(self) -> tuple[RateLimit, RateLimit]:
        return RateLimit(self.per_second, 1.0), RateLimit(self.per_minute, 60.0)

    @property
    def sustained_per_second(self) -> float:
        """The rate one can keep up for minutes: the tighter of the two windows."""
        return min(float(self.per_second), self.per_minute / 60.0)


# Used until GET /v2/request-limits/ answers (or for keys that may not call it).
DEFAULT_LIMITS: dict[str, DomainLimits] = {
    "configuration": DomainLimits(per_second=50, per_minute=3000),
    "search": DomainLimits(per_second=10, per_minute=600),
    "schedule-oncalls": DomainLimits(per_second=10, per_minute=600),
}


# Two tokens at least: with one, a waiter that wakes a little late (event-loop timer slack) loses
# that time for good; a second token absorbs it.
MIN_BURST = 2.0


def bucket_shape(limit: RateLimit, safety: float, burst_share: float) -> tuple[float, float]:
    """Capacity and refill rate of a client bucket that conforms to `limit`.

    The server may count with a token bucket or with a rolling window. A client bucket of
    capacity C refilled at r sends at most C + r*P in any window P, so C + r*P <= N keeps us
    under both kinds; `safety` leaves room for latency jitter compressing our spacing.
    """
    usable = max(1.0, limit.limit * safety)
    capacity = max(1.0, min(MIN_BURST, usable / 2), math.ceil(usable * burst_share))
    # Tiny limits (1 or 2 a window) cannot keep C + r*P <= N with C >= 1: halve the rate instead.
    refill = max(usable - capacity, usable / 2) / limit.period_seconds
    return capacity, refill


@dataclass
class TokenBucket:
    """A token bucket with FIFO waiters: `acquire` returns once a token was taken."""

    capacity: float
    refill_per_second: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _updated: float = field(init=False)
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _paused_until: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._tokens = self.capacity
        self._updated = self.clock()

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.refill_per_second)
        self._updated = now

    def wait_time(self) -> float:
        """Seconds until a token is available (0 when one is there now)."""
        now = self.clock()
        self._refill(now)
        pause = max(0.0, self._paused_until - now)
        if self._tokens >= 1.0:
            return pause
        return max(pause, (1.0 - self._tokens) / self.refill_per_second)

    def take(self) -> None:
        self._refill(self.clock())
        self._tokens -= 1.0

    def pause(self, seconds: float) -> None:
        """The server said this window is exhausted: hold every request for `seconds`."""
        now = self.clock()
        self._refill(now)
        self._tokens = 0.0
        self._paused_until = max(self._paused_until, now + seconds)

    async def acquire(self) -> None:
        async with self._lock:
            while (delay := self.wait_time()) > 0:
                await asyncio.sleep(delay)
            self.take()


class RateLimiter:
    """One pair of buckets (per second, per minute) per OpsGenie rate-limit domain."""

    def __init__(
        self,
        limits: Mapping[str, DomainLimits] | None = None,
        *,
        safety: float = 0.99,
        burst_share: float = 0.02,
    ) -> None:
        self.safety = safety
        self.burst_share = burst_share
        self.limits: dict[str, DomainLimits] = {}
        self._buckets: dict[str, tuple[TokenBucket, TokenBucket]] = {}
        self.configure(dict(limits or DEFAULT_LIMITS))

    def configure(self, limits: Mapping[str, DomainLimits]) -> None:
        """Replace the limits of the named domains (others keep theirs)."""
        for domain, domain_limits in limits.items():
            self.limits[domain] = domain_limits
            second, minute = (
                TokenBucket(*bucket_shape(window, self.safety, self.burst_share))
                for window in domain_limits.windows()
            )
            self._buckets[domain] = (second, minute)

    def _pair(self, domain: str) -> tuple[TokenBucket, TokenBucket]:
        if domain not in self._buckets:
            self.configure({domain: DEFAULT_LIMITS.get(domain, DEFAULT_LIMITS["configuration"])})
        return self._buckets[domain]

    async def acquire(self, domain: str) -> None:
        second, minute = self._pair(domain)
        # The minute bucket first: a long wait there must not hold a per-second token.
        await minute.acquire()
        await second.acquire()

    def throttled(self, domain: str, period_seconds: float, wait_seconds: float) -> None:
        """Honour a 429: pause the window the server named (X-RateLimit-Period-In-Sec)."""
        second, minute = self._pair(domain)
        (minute if period_seconds >= 60 else second).pause(wait_seconds)


def parse_request_limits(data: object) -> dict[str, DomainLimits]:
    """Read `data` of GET /v2/request-limits/ into limits per domain; unknown shapes are skipped."""
    result: dict[str, DomainLimits] = {}
    if not isinstance(data, dict):
        return result
    for entry in data.get("rateLimits") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("domain"), str):
            continue
        domain = entry["domain"].strip().lower().replace("_", "-").replace(" ", "-")
        per_second: int | None = None
        per_minute: int | None = None
        for window in entry.get("limits") or []:
            if not isinstance(window, dict):
                continue
            limit, period = window.get("limit"), window.get("periodInSeconds")
            if not isinstance(limit, int) or not isinstance(period, int | float) or limit <= 0:
                continue
            if period <= 1:
                per_second = limit
            elif period == 60:
                per_minute = limit
        if per_second is None and per_minute is None:
            continue
        fallback = DEFAULT_LIMITS.get(domain, DEFAULT_LIMITS["configuration"])
        result[domain] = DomainLimits(
            per_second=per_second if per_second is not None else fallback.per_second,
            per_minute=per_minute if per_minute is not None else fallback.per_minute,
        )
    return result

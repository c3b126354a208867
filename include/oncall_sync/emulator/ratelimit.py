"""OpsGenie's per-domain rate limits: a token bucket per second and one per minute per domain.

Default limits (OpsGenie does not publish its numbers; these are of the right order and
configurable through `EmulatorConfig.rate_limits` and `rate_limit_scale`):

| domain | which requests | per second | per minute |
|---|---|---|---|
| configuration | teams, schedules, escalations, services, one user, contacts, account | 50 | 3000 |
| search | the users list (`GET /v2/users`) | 20 | 1200 |
| schedule-oncalls | on-calls and timelines | 20 | 1200 |
| heartbeat | `/v2/heartbeats...` (reads and pings) | 20 | 1200 |
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pydantic import BaseModel, Field

CONFIGURATION = "configuration"
SEARCH = "search"
SCHEDULE_ONCALLS = "schedule-oncalls"
HEARTBEAT = "heartbeat"


class RateLimit(BaseModel):
    """The limits of one domain, in requests."""

    per_second: int = Field(gt=0)
    per_minute: int = Field(gt=0)


DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    CONFIGURATION: RateLimit(per_second=50, per_minute=3000),
    SEARCH: RateLimit(per_second=20, per_minute=1200),
    SCHEDULE_ONCALLS: RateLimit(per_second=20, per_minute=1200),
    HEARTBEAT: RateLimit(per_second=20, per_minute=1200),
}


class TokenBucket:
    """`capacity` tokens, refilled continuously over `period_s`; a request takes one."""

    def __init__(self, capacity: float, period_s: float, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self.rate = capacity / period_s
        self.tokens = capacity
        self.clock = clock
        self.stamp = clock()

    def refill(self) -> float:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens


class RateLimiter:
    """All domains' buckets. `take(domain)` returns None when allowed, else the tripped period."""

    def __init__(
        self,
        limits: dict[str, RateLimit],
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {
            domain: RateLimit(
                per_second=max(1, round(limit.per_second * scale)),
                per_minute=max(1, round(limit.per_minute * scale)),
            )
            for domain, limit in limits.items()
        }
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Fill every bucket again (tests call this between cases)."""
        self._buckets = {
            domain: (
                TokenBucket(limit.per_second, 1.0, self._clock),
                TokenBucket(limit.per_minute, 60.0, self._clock),
            )
            for domain, limit in self.limits.items()
        }

    def take(self, domain: str) -> int | None:
        buckets = self._buckets.get(domain)
        if buckets is None:
            return None
        second, minute = buckets
        with self._lock:
            if second.refill() < 1:
                return 1
            if minute.refill() < 1:
                return 60
            second.tokens -= 1
            minute.tokens -= 1
        return None

    def describe(self) -> list[dict[str, object]]:
        """The `rateLimits` list of GET /v2/request-limits/."""
        return [
            {
                "domain": domain,
                "limits": [
                    {"limit": limit.per_minute, "periodInSeconds": 60},
                    {"limit": limit.per_second, "periodInSeconds": 1},
                ],
            }
            for domain, limit in self.limits.items()
        ]

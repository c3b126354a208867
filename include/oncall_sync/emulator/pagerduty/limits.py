"""PagerDuty's rate limits as the emulator applies them: one token bucket per API key, plus one per
key for each operation with its own limit, described by `ratelimit-*` headers (reference §1.6).

Decisions:
- 960 requests per minute per key (DEV-RATE), as a bucket of 960 refilled continuously over 60 s
  (PagerDuty does not say whether it counts in a bucket or a window; a client that stays under
  960 in any rolling minute passes either way).
- `GET /oncalls` has an operation limit of its own (OAS); its number is UNCONFIRMED, so it is a
  setting (default 600 per minute). A request takes a token from the key's bucket and from its
  operation's; the headers describe whichever has fewer left ("the nearest limit").
- `ratelimit-reset`: on a 429, whole seconds until one request is allowed again (at least 1); on
  success, whole seconds until the nearest bucket is full again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from oncall_sync.emulator.ratelimit import TokenBucket

PER_KEY_PER_MINUTE = 960
DEFAULT_OPERATION_LIMITS: dict[str, int] = {"oncalls": 600}


@dataclass(frozen=True)
class LimitState:
    """What the `ratelimit-*` headers say after a request: allowed or not, and the nearest limit."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(self.remaining),
            "ratelimit-reset": str(self.reset_seconds),
        }


class KeyRateLimiter:
    """Buckets per (key, scope), created on first use; thread-safe."""

    def __init__(
        self,
        per_minute: int = PER_KEY_PER_MINUTE,
        operation_limits: dict[str, int] | None = None,
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = max(1, round(per_minute * scale))
        limits = DEFAULT_OPERATION_LIMITS if operation_limits is None else operation_limits
        self.operation_limits = {op: max(1, round(n * scale)) for op, n in limits.items()}
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def reset(self) -> None:
        """Forget every bucket (all full again)."""
        with self._lock:
            self._buckets.clear()

    def _bucket(self, key: str, scope: str, capacity: int) -> TokenBucket:
        bucket = self._buckets.get((key, scope))
        if bucket is None:
            bucket = self._buckets[(key, scope)] = TokenBucket(capacity, 60.0, self._clock)
        return bucket

    def take(self, key: str, operation: str | None = None) -> LimitState:
        """Spend one request of `key` (and of its `operation` bucket, if that has a limit)."""
        with self._lock:
            buckets = [self._bucket(key, "", self.per_minute)]
            if operation in self.operation_limits:
                limit = self.operation_limits[operation]
                buckets.append(self._bucket(key, f"op:{operation}", limit))
            levels = [b.refill() for b in buckets]
            allowed = all(level >= 1 for level in levels)
            if allowed:
                for bucket in buckets:
                    bucket.tokens -= 1
            nearest = min(buckets, key=lambda b: b.tokens)
            if allowed:
                reset = (nearest.capacity - nearest.tokens) / nearest.rate
            else:
                reset = (1 - nearest.tokens) / nearest.rate
            return LimitState(
                allowed=allowed,
                limit=int(nearest.capacity),
                remaining=max(0, math.floor(nearest.tokens)),
                reset_seconds=max(1 if not allowed else 0, math.ceil(reset)),
            )

"""Client-side token buckets stay under both token-bucket and rolling-window server limits."""

from __future__ import annotations

import pytest

from oncall_sync.ratelimit import (
    DEFAULT_LIMITS,
    DomainLimits,
    RateLimit,
    RateLimiter,
    TokenBucket,
    bucket_shape,
    parse_request_limits,
)


@pytest.mark.parametrize(
    "limit", [RateLimit(4, 1), RateLimit(10, 1), RateLimit(50, 1), RateLimit(3000, 60)]
)
def test_bucket_never_sends_more_than_the_limit_in_any_window(limit: RateLimit) -> None:
    capacity, refill = bucket_shape(limit, safety=0.99, burst_share=0.02)

    assert capacity >= 1
    assert capacity + refill * limit.period_seconds <= limit.limit
    assert refill * limit.period_seconds >= 0.9 * limit.limit - capacity


@pytest.mark.parametrize("limit", [RateLimit(1, 1), RateLimit(2, 1)])
def test_tiny_limits_still_give_tokens_at_a_lower_rate(limit: RateLimit) -> None:
    capacity, refill = bucket_shape(limit, safety=0.99, burst_share=0.02)

    assert capacity >= 1
    assert 0 < refill < limit.per_second


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(capacity=2, refill_per_second=4, clock=clock)

    bucket.take()
    bucket.take()
    assert bucket.wait_time() == pytest.approx(0.25)
    clock.now = 0.25
    assert bucket.wait_time() == 0


def test_pause_holds_the_bucket_for_the_period() -> None:
    clock = FakeClock()
    bucket = TokenBucket(capacity=10, refill_per_second=100, clock=clock)

    bucket.pause(1.0)

    assert bucket.wait_time() == pytest.approx(1.0)
    clock.now = 1.0
    assert bucket.wait_time() == 0


def test_request_limits_payload_is_read_per_domain() -> None:
    data = {
        "rateLimits": [
            {
                "domain": "Configuration",
                "limits": [
                    {"limit": 3000, "periodInSeconds": 60},
                    {"limit": 50, "periodInSeconds": 1},
                ],
            },
            {"domain": "schedule_oncalls", "limits": [{"limit": 20, "periodInSeconds": 1}]},
            {"domain": "broken", "limits": "nope"},
        ]
    }

    limits = parse_request_limits(data)

    assert limits["configuration"] == DomainLimits(per_second=50, per_minute=3000)
    assert limits["schedule-oncalls"].per_second == 20
    assert "broken" not in limits
    assert parse_request_limits(None) == {}


def test_sustained_rate_is_the_tighter_window() -> None:
    assert DomainLimits(per_second=50, per_minute=2000).sustained_per_second == pytest.approx(
        2000 / 60
    )
    assert DomainLimits(per_second=50, per_minute=6000).sustained_per_second == 50


def test_limiter_configures_unknown_domains_with_defaults() -> None:
    limiter = RateLimiter({"configuration": DomainLimits(10, 100)})

    limiter.throttled("search", 1, 0.5)
    limiter.throttled("elsewhere", 60, 0.5)

    assert limiter.limits["search"] == DEFAULT_LIMITS["search"]
    assert limiter.limits["elsewhere"] == DEFAULT_LIMITS["configuration"]
    second, minute = limiter._buckets["search"]
    assert second.wait_time() > 0 and minute.wait_time() == 0

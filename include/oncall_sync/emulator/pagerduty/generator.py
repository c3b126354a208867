"""A seeded generator of PagerDuty accounts (tiny -> demo -> large, times a scale factor), in the
API's own payload shapes, with the hard cases in every size. Same seed and `now`, same account.

The hard cases are built by hand first (hard_cases.py; docs/emulator-pagerduty.md lists them):
multi-layer schedules where a higher layer replaces the lower ones, daily and weekly restrictions
wrapping midnight and the week, layers that start and end, overrides (overlapping, across a DST
change, for a deleted user), DST and odd zones, users in several teams, policies with user and
schedule targets, repeats and relative delays, absent users and schedules referenced, every team
role. Seeded random fill (builder.py) brings each size up to its counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from oncall_sync.emulator.pagerduty.account import Account
from oncall_sync.emulator.pagerduty.builder import Builder
from oncall_sync.emulator.pagerduty.hard_cases import build_hard_cases

# The moment the generated account is "now": two weeks either side of it hold the southern
# hemisphere's spring changes (Chatham and Auckland 27 Sep, Sydney and Lord Howe 4 Oct 2026);
# the eight weeks after it, Europe's (25 Oct) and the USA's (1 Nov) autumn changes.
DEFAULT_NOW = datetime(2026, 10, 1, tzinfo=UTC)

# (users, teams, schedules, escalation policies, services) per size; `scale` multiplies them,
# never below what the hard cases need (the tiny counts).
SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "tiny": (12, 4, 10, 7, 4),
    "demo": (250, 20, 40, 30, 60),
    "large": (10_000, 500, 2_000, 1_500, 3_000),
}
HARD_MINIMUM = SIZES["tiny"]


def generate_account(
    size: str = "demo",
    seed: int = 7,
    *,
    scale: float = 1.0,
    now: datetime = DEFAULT_NOW,
    region: str = "us",
) -> Account:
    """Build the `size` account ("tiny", "demo", "large") for `seed`, counts times `scale`."""
    if size not in SIZES:
        raise ValueError(f"unknown account size {size!r}; choose one of {', '.join(SIZES)}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale}")
    if region not in ("us", "eu"):
        raise ValueError(f"unknown region {region!r}; choose 'us' or 'eu'")
    counts = tuple(
        max(minimum, round(n * scale)) for n, minimum in zip(SIZES[size], HARD_MINIMUM, strict=True)
    )
    builder = Builder(seed, now.astimezone(UTC), counts, region)
    build_hard_cases(builder)
    builder.random_fill()
    return builder.finish()

"""Faults the emulator injects on demand: throttling, 5xx, timeouts, cut connections, bad JSON.

Tests switch them on at runtime on a running app (`app.state.faults`, `RunningEmulator.faults`):

    faults.add("503", times=2, path="/v2/users*")       # the next two matching requests
    faults.add("drop", probability=0.05)                 # 5 % of all requests, seeded
    faults.add("shift_users", times=3)                   # users pages move under the client

Kinds: "429" (throttled, `X-RateLimit-Period-In-Sec` from `period`), "500", "502", "503", "501"
(must not be retried), "timeout" (sleeps `delay_s` before answering), "drop" (closes the
connection without a response), "malformed" (200 with a truncated JSON body), "shift_users" (each
hit inserts a user at the front of the users list, or removes the first one with mode="remove",
so offsets move between page requests), "redirect" (302 to `location`, another host by default: a
client must not follow it with its key). `injected` counts what was injected, per kind.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

FaultKind = Literal[
    "429", "500", "501", "502", "503", "timeout", "drop", "malformed", "shift_users", "redirect"
]
FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "501",
    "502",
    "503",
    "timeout",
    "drop",
    "malformed",
    "shift_users",
    "redirect",
)


@dataclass
class FaultRule:
    """One fault: what, on which paths (fnmatch pattern), and how often."""

    kind: FaultKind
    path: str = "*"
    probability: float = 1.0
    remaining: int | None = None  # None: no count limit; otherwise the next N matching requests
    period: int = 1  # for "429": the bucket that tripped, 1 or 60 seconds
    delay_s: float = 30.0  # for "timeout": longer than any sane client timeout
    mode: Literal["insert", "remove"] = "insert"  # for "shift_users"
    location: str = "http://opsgenie.invalid/"  # for "redirect": where the 302 points


class FaultPlan:
    """The faults switched on for an emulator; thread-safe (tests add, the server thread picks)."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.injected: Counter[str] = Counter()
        # Net users added (>0) or removed (<0) at the front of the users list by "shift_users".
        self.user_shift = 0

    def add(
        self,
        kind: FaultKind,
        *,
        path: str = "*",
        probability: float | None = None,
        times: int | None = None,
        period: int = 1,
        delay_s: float = 30.0,
        mode: Literal["insert", "remove"] = "insert",
        location: str = "http://opsgenie.invalid/",
    ) -> FaultRule:
        """Switch a fault on: for the next `times` matching requests, or with `probability`.

        With neither, every matching request gets it until `clear()`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        if period not in (1, 60):
            raise ValueError("period must be 1 or 60 (seconds), as OpsGenie's buckets are")
        rule = FaultRule(
            kind=kind,
            path=path,
            probability=1.0 if probability is None else probability,
            remaining=times,
            period=period,
            delay_s=delay_s,
            mode=mode,
            location=location,
        )
        with self._lock:
            self.rules = [*self.rules, rule]
        return rule

    def clear(self) -> None:
        """Switch every fault off (counters and the users shift stay, for the report)."""
        with self._lock:
            self.rules = []

    def reset(self) -> None:
        """Switch every fault off and forget what was injected."""
        with self._lock:
            self.rules = []
            self.injected.clear()
            self.user_shift = 0

    @property
    def active(self) -> bool:
        return bool(self.rules)

    def pick(self, path: str) -> FaultRule | None:
        """The fault to inject on this request, if any; counts it. First matching rule wins."""
        if not self.rules:
            return None
        with self._lock:
            for rule in self.rules:
                if rule.remaining == 0 or not fnmatchcase(path, rule.path):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                self.injected[rule.kind] += 1
                if rule.kind == "shift_users":
                    self.user_shift += 1 if rule.mode == "insert" else -1
                return rule
        return None

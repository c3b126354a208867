"""Seeded alerts to ask a paging computation about, aimed at where answers go wrong: instants
around DST changes (the account's zone, the users' and the routing rules' zones), at and inside
forwarding and maintenance windows, on weekends and nights; payloads that hit the generated
routing rules, integration actions, policies and notification-rule criteria.

Used by the emulator's paging tests and by the comparison of the core's paging with the
emulator's (the same seed gives the same alerts).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from oncall_sync.emulator.account import UNSUPPORTED_INTEGRATIONS, Account, Payload
from oncall_sync.emulator.constructs.base import dst_change_after
from oncall_sync.emulator.generator import DEFAULT_NOW
from oncall_sync.emulator.paging import Alert
from oncall_sync.emulator.timeline import parse_instant, resolve_zone

MESSAGES = [
    "disk full on db-1",
    "database replication lag",
    "checkout failing",
    "[test] synthetic probe",
    "[heartbeat] ok",
    "outage in eu-west",
    "[noop] nightly",
    "latency above SLO",
]
TAGS = [
    "prod",
    "noise",
    "database",
    "critical",
    "flaky",
    "transient",
    "non-urgent",
    "weekly",
    "ignore-me",
    "network",
    "payments",
]
SOURCES = ["", "datadog", "api", "prometheus"]
DST_ZONES = ["America/New_York", "Europe/Berlin", "Europe/London", "Australia/Sydney"]


def _dst_changes(account: Account, now: datetime) -> list[datetime]:
    zones = {account.time_zone, *DST_ZONES}
    found = []
    for zone_id in sorted(zones):
        zone = resolve_zone(zone_id)
        moment = now - timedelta(days=200)
        for _ in range(4):
            change = dst_change_after(zone, moment)
            if change is None:
                break
            found.append(change)
            moment = change + timedelta(days=1)
    return found


def _window_edges(account: Account) -> list[datetime]:
    edges = []
    for rule in account.forwarding_rules:
        edges += [parse_instant(rule["startDate"]), parse_instant(rule["endDate"])]
    for window in account.maintenance:
        span = window.get("time") or {}
        edges += [parse_instant(span[k]) for k in ("startDate", "endDate") if span.get(k)]
    return edges


def sample_instants(account: Account, count: int, seed: int, now: datetime) -> list[datetime]:
    """`count` instants: near DST changes, at window edges (and a minute either side), and
    spread over the weeks around `now`."""
    rng = random.Random(f"paging-instants-{seed}")
    changes, edges = _dst_changes(account, now), _window_edges(account)
    instants = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.3 and changes:
            base = rng.choice(changes)
            offset = rng.choice([0, -60, 60, -1, 1, rng.randint(-4320, 4320)])
            instants.append(base + timedelta(minutes=offset))
        elif roll < 0.6 and edges:
            base = rng.choice(edges)
            offset = rng.choice([0, -1, 1, -30, rng.randint(-600, 600)])
            instants.append(base + timedelta(minutes=offset))
        else:
            minutes = rng.randint(-14 * 1440, 60 * 1440)
            instants.append(now + timedelta(minutes=minutes, seconds=rng.choice([0, 0, 17])))
    return instants


def sample_alerts(
    account: Account, count: int, seed: int = 0, *, now: datetime = DEFAULT_NOW
) -> list[Alert]:
    """`count` alerts for `account` (for teams, through integrations, or both)."""
    rng = random.Random(f"paging-alerts-{seed}")
    incoming: list[Payload] = [
        i for i in account.integrations if i["type"] not in UNSUPPORTED_INTEGRATIONS
    ]
    alerts = []
    for at in sample_instants(account, count, seed, now):
        roll = rng.random()
        team = rng.choice(account.teams)["id"] if roll < 0.6 or not incoming else None
        integration = rng.choice(incoming)["id"] if roll >= 0.5 and incoming else None
        extra = {"env": rng.choice(["prod", "staging"])} if rng.random() < 0.6 else {}
        alerts.append(
            Alert(
                created_at=at,
                team_id=team,
                integration_id=integration,
                message=rng.choice(MESSAGES),
                tags=tuple(rng.sample(TAGS, rng.randint(0, 3))),
                priority=rng.choice(["P1", "P2", "P3", "P4", "P5"]),
                source=rng.choice(SOURCES),
                extra_properties=extra,
            )
        )
    return alerts

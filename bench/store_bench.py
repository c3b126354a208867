"""Store benchmark: write a large account into an empty store, then re-apply it unchanged.

    python bench/store_bench.py                     # SQLite, and PostgreSQL when a DSN is set
    python bench/store_bench.py --engine sqlite --json

Each engine runs in its own process so that peak RSS is that engine's. PostgreSQL uses a scratch
database created next to ONCALL_SYNC_TEST_PG_DSN (or --pg-dsn) and dropped afterwards.
Targets on a 2-core machine: first write under 10 s, unchanged re-apply under 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time as clock
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from oncall_sync.model import (
    Action,
    Condition,
    ContactKind,
    ContactMethod,
    EscalationLevel,
    EscalationPolicy,
    EscalationRepeat,
    EscalationTarget,
    MemberType,
    OnCallConfig,
    Override,
    Participant,
    Person,
    Plan,
    PlannedChange,
    Rotation,
    Schedule,
    SchedulePick,
    Service,
    TargetType,
    Team,
    TeamAudience,
    TeamMember,
    TimeWindow,
    TurnUnit,
    WindowKind,
    entity_records,
)
from oncall_sync.store.config import make_engine
from oncall_sync.store.migrate import migrate
from oncall_sync.store.repo import apply_plan, read_state

FIRST_WRITE_TARGET_S = 10.0
REAPPLY_TARGET_S = 3.0
ROLES = ("user", "admin")
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Sydney")


def large_config(seed: int = 7, *, people: int = 10_000, teams: int = 1_000) -> OnCallConfig:
    """A synthetic `large` account (until the emulator's generator feeds the bench)."""
    rnd = random.Random(seed)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    persons = [
        Person(
            source_id=f"u-{i}",
            email=f"user{i}@example.com",
            email_raw=f"User{i}@Example.com",
            display_name=f"User {i}",
            time_zone=(zone := rnd.choice(ZONES)),
            time_zone_raw=zone,
            role=rnd.choice(("User", "Admin", "Owner")),
        )
        for i in range(people)
    ]
    kinds = list(ContactKind)
    contacts = [
        ContactMethod(
            source_id=f"c-{i}-{k}",
            person_source_id=f"u-{i}",
            kind=kinds[k % len(kinds)],
            address=f"user{i}@example.com" if k % 4 == 0 else f"49-170-{i:06d}{k}",
            position=k,
        )
        for i in range(people)
        for k in range(rnd.randint(1, 4))
    ]
    team_list = [Team(source_id=f"t-{i}", name=f"Team {i}") for i in range(teams)]
    members = [
        TeamMember(team_source_id=f"t-{t}", person_source_id=f"u-{p}", role=rnd.choice(ROLES))
        for t in range(teams)
        for p in rnd.sample(range(people), rnd.randint(8, 12))
    ]

    def user(p: int) -> Participant:
        return Participant(
            member_type=MemberType.USER, ref_source_id=f"u-{p}", ref_name=f"user{p}@example.com"
        )

    def participant() -> Participant:
        roll = rnd.random()
        if roll < 0.05:
            return Participant(member_type=MemberType.NONE)
        if roll < 0.1:
            t = rnd.randrange(teams)
            return Participant(
                member_type=MemberType.TEAM, ref_source_id=f"t-{t}", ref_name=f"Team {t}"
            )
        return user(rnd.randrange(people))

    def windows() -> tuple[TimeWindow, ...]:
        roll = rnd.random()
        if roll < 0.2:
            return (TimeWindow(kind=WindowKind.DAILY, start_time=time(22), end_time=time(6)),)
        if roll < 0.35:
            return (
                TimeWindow(
                    kind=WindowKind.WEEKLY,
                    start_weekday=5,
                    start_time=time(18),
                    end_weekday=1,
                    end_time=time(9),
                ),
                TimeWindow(
                    kind=WindowKind.WEEKLY,
                    start_weekday=3,
                    start_time=time(12),
                    end_weekday=3,
                    end_time=time(13),
                ),
            )
        return ()

    schedules = []
    for i in range(2 * teams):
        sid = f"s-{i}"
        rotations = tuple(
            Rotation(
                source_id=f"r-{i}-{r}",
                schedule_source_id=sid,
                position=r,
                name=f"Rotation {r}",
                turn_unit=rnd.choice(list(TurnUnit)),
                turn_count=rnd.randint(1, 3),
                anchor_at=start + timedelta(days=rnd.randrange(60)),
                members=tuple(participant() for _ in range(rnd.randint(2, 6))),
                windows=windows(),
            )
            for r in range(rnd.randint(1, 3))
        )
        overrides = tuple(
            Override(
                source_id=f"{sid}:ov-{o}",
                schedule_source_id=sid,
                alias=f"ov-{o}",
                participant=user(rnd.randrange(people)),
                starts_at=start + timedelta(days=o),
                ends_at=start + timedelta(days=o, hours=12),
                rotation_source_ids=(rotations[0].source_id,) if o % 2 else (),
            )
            for o in range(rnd.choice((0, 0, 0, 1, 2)))
        )
        zone = rnd.choice(ZONES)
        schedules.append(
            Schedule(
                source_id=sid,
                name=f"Schedule {i}",
                time_zone=zone,
                time_zone_raw=zone,
                owner_team_source_id=f"t-{i % teams}" if i % 10 else None,
                rotations=rotations,
                overrides=overrides,
            )
        )

    def target() -> EscalationTarget:
        roll = rnd.random()
        if roll < 0.4:
            s = rnd.randrange(len(schedules))
            return EscalationTarget(
                target_type=TargetType.SCHEDULE,
                ref_source_id=f"s-{s}",
                schedule_pick=SchedulePick.CURRENT,
            )
        if roll < 0.7:
            return EscalationTarget(
                target_type=TargetType.TEAM,
                ref_source_id=f"t-{rnd.randrange(teams)}",
                team_audience=TeamAudience.ALL,
            )
        return EscalationTarget(
            target_type=TargetType.USER, ref_source_id=f"u-{rnd.randrange(people)}"
        )

    policies = [
        EscalationPolicy(
            source_id=f"e-{i}",
            name=f"Escalation {i}",
            owner_team_source_id=f"t-{i % teams}",
            levels=tuple(
                EscalationLevel(
                    position=lvl,
                    condition=Condition.NOT_ACKED,
                    offset_seconds=lvl * 300,
                    timeout_seconds=300,
                    targets=tuple(target() for _ in range(rnd.randint(1, 3))),
                )
                for lvl in range(rnd.randint(3, 4))
            ),
            repeat=EscalationRepeat(count=2, wait_minutes=10) if i % 2 else None,
        )
        for i in range(2 * teams)
    ]
    services = [
        Service(
            source_id=f"v-{i}",
            name=f"Service {i}",
            owner_team_source_id=f"t-{i % teams}",
            tags=("tier-1",),
        )
        for i in range(teams // 2)
    ]
    return OnCallConfig(
        source_system="opsgenie",
        source_account="bench",
        people=tuple(persons),
        contact_methods=tuple(contacts),
        teams=tuple(team_list),
        team_members=tuple(members),
        schedules=tuple(schedules),
        escalation_policies=tuple(policies),
        services=tuple(services),
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plan(config: OnCallConfig, engine: Any, run_id: str) -> Plan:
    """Compare the source with the store by hash, as the planner does: create, update, unchanged."""
    with engine.connect() as conn:
        state = read_state(conn, config.source_system, config.source_account)
    changes = []
    for kind, records in entity_records(config).items():
        stored_of_kind = state[kind]
        for rec in records:
            stored = stored_of_kind.get(rec.source_id)
            if stored is not None and stored.source_hash == rec.hash:
                action, record = Action.UNCHANGED, None
            else:
                action = Action.CREATE if stored is None else Action.UPDATE
                record = rec.data
            changes.append(
                PlannedChange(
                    entity_type=kind,
                    source_id=rec.source_id,
                    name=rec.name,
                    action=action,
                    record=record,
                    store_id=stored.store_id if stored else None,
                )
            )
    return Plan(
        source_system=config.source_system,
        source_account=config.source_account,
        run_id=run_id,
        changes=tuple(changes),
    )


def run_store_bench(engine_url: str, config: OnCallConfig) -> dict[str, Any]:
    """Write `config` into the (empty) store at engine_url, then re-apply it unchanged."""
    engine = make_engine(engine_url)
    migrate(engine)
    records = sum(len(r) for r in entity_records(config).values())

    load_before = os.getloadavg()[0]
    started, cpu = clock.perf_counter(), clock.process_time()
    plan = _plan(config, engine, "bench/first")
    planned = clock.perf_counter()
    written = apply_plan(engine, plan)
    first_s = clock.perf_counter() - started
    first_cpu_s = clock.process_time() - cpu
    first_apply_s = clock.perf_counter() - planned
    rss_after_first = _peak_rss_mb()

    started, cpu = clock.perf_counter(), clock.process_time()
    again = _plan(config, engine, "bench/again")
    replanned = clock.perf_counter()
    rewritten = apply_plan(engine, again)
    reapply_s = clock.perf_counter() - started
    reapply_cpu_s = clock.process_time() - cpu
    unchanged = sum(c.action is Action.UNCHANGED for c in again.changes)
    engine.dispose()

    rows = sum(written.values())
    return {
        "engine": make_url(engine_url).get_backend_name(),
        "records": records,
        "first_write": {
            "seconds": round(first_s, 2),
            "cpu_seconds_this_process": round(first_cpu_s, 2),
            "read_and_plan_seconds": round(first_s - first_apply_s, 2),
            "apply_seconds": round(first_apply_s, 2),
            "rows_written": rows,
            "rows_per_second": round(rows / first_s),
            "rows_by_table": written,
            "target_seconds": FIRST_WRITE_TARGET_S,
            "met": first_s < FIRST_WRITE_TARGET_S,
        },
        "unchanged_reapply": {
            "seconds": round(reapply_s, 2),
            "cpu_seconds_this_process": round(reapply_cpu_s, 2),
            "read_and_compare_seconds": round(replanned - started, 2),
            "apply_seconds": round(reapply_s - (replanned - started), 2),
            "records_compared": len(again.changes),
            "records_unchanged": unchanged,
            "records_per_second": round(len(again.changes) / reapply_s),
            "rows_written": sum(rewritten.values()),
            "target_seconds": REAPPLY_TARGET_S,
            "met": reapply_s < REAPPLY_TARGET_S,
        },
        "load_average_before": round(load_before, 2),  # the machine is shared: context for wall
        "peak_rss_mb": {"after_first_write": round(rss_after_first), "end": round(_peak_rss_mb())},
    }


@contextmanager
def scratch_database(pg_dsn: str) -> Iterator[str]:
    """A new PostgreSQL database next to the one `pg_dsn` names, dropped afterwards: its URL."""
    admin_url = make_url(pg_dsn).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"oncall_sync_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run_one(engine: str, pg_dsn: str | None) -> dict[str, Any]:
    config = large_config()
    if engine == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            return run_store_bench(f"sqlite:///{Path(folder) / 'bench.db'}", config)
    if not pg_dsn:
        raise SystemExit("PostgreSQL bench needs --pg-dsn or ONCALL_SYNC_TEST_PG_DSN")
    with scratch_database(pg_dsn) as url:
        return run_store_bench(url, config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"))
    parser.add_argument("--pg-dsn", default=os.environ.get("ONCALL_SYNC_TEST_PG_DSN"))
    parser.add_argument("--json", action="store_true", help="print one JSON result and exit")
    args = parser.parse_args(argv)
    if args.engine:
        result = _run_one(args.engine, args.pg_dsn)
        print(json.dumps(result, indent=None if args.json else 2))
        return 0
    engines = ["sqlite"] + (["postgresql"] if args.pg_dsn else [])
    results = []
    for engine in engines:  # one process per engine: its own peak RSS
        out = subprocess.run(
            [sys.executable, __file__, "--engine", engine, "--json"],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "ONCALL_SYNC_TEST_PG_DSN": args.pg_dsn or ""},
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps(results, indent=2))
    return (
        0 if all(r["first_write"]["met"] and r["unchanged_reapply"]["met"] for r in results) else 1
    )


if __name__ == "__main__":
    sys.exit(main())

"""Shared by the store tests: an account with every construct, plans, and stores on both engines.

PostgreSQL runs when ONCALL_SYNC_TEST_PG_DSN is set: each session gets its own database
(oncall_sync_test_<random>), dropped at the end, so runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from oncall_sync.model import (
    Action,
    Condition,
    ContactKind,
    ContactMethod,
    EntityType,
    EscalationLevel,
    EscalationPolicy,
    EscalationRepeat,
    EscalationTarget,
    Invitation,
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
from oncall_sync.store import schema
from oncall_sync.store.config import make_engine
from oncall_sync.store.migrate import migrate

PG_DSN_VAR = "ONCALL_SYNC_TEST_PG_DSN"
SYSTEM, ACCOUNT = "opsgenie", "acme-eu"
CET = timezone(timedelta(hours=1))


def _user(source_id: str, email: str) -> Participant:
    return Participant(member_type=MemberType.USER, ref_source_id=source_id, ref_name=email)


def full_config() -> OnCallConfig:
    """One account with every construct the store must keep."""
    people = (
        Person(
            source_id="u-alice",
            email="alice@example.com",
            email_raw="Alice@Example.com",
            display_name="Alice Adams",
            time_zone="Europe/Berlin",
            time_zone_raw="Europe/Berlin",
            locale="de_DE",
            role="Admin",
        ),
        Person(
            source_id="u-bob",
            email="bob@example.com",
            email_raw="bob@example.com",
            display_name="Bob Brown",
            time_zone="America/Los_Angeles",
            time_zone_raw="PST",
            role="User",
        ),
        Person(
            source_id="u-carol",
            email="carol@example.com",
            email_raw=" carol@example.com ",
            display_name="Carol Chen",
            blocked=True,
            verified=False,
        ),
    )
    contacts = (
        ContactMethod(
            source_id="c-1",
            person_source_id="u-alice",
            kind=ContactKind.EMAIL,
            address="alice@example.com",
            position=0,
        ),
        ContactMethod(
            source_id="c-2",
            person_source_id="u-alice",
            kind=ContactKind.SMS,
            address="49-1701234567",
            enabled=False,
            disabled_reason="unverified number",
            position=1,
        ),
        ContactMethod(
            source_id="c-3", person_source_id="u-bob", kind=ContactKind.VOICE, address="1-5551234"
        ),
    )
    teams = (
        Team(source_id="t-sre", name="SRE", description="Site reliability"),
        Team(source_id="t-pay", name="Payments"),
    )
    members = (
        TeamMember(team_source_id="t-sre", person_source_id="u-alice", role="admin"),
        TeamMember(team_source_id="t-sre", person_source_id="u-bob"),
        TeamMember(team_source_id="t-pay", person_source_id="u-carol"),
    )
    weekend = Rotation(
        source_id="r-weekend",
        schedule_source_id="s-sre",
        position=0,
        name="Weekend",
        turn_unit=TurnUnit.WEEK,
        turn_count=1,
        anchor_at=datetime(2026, 3, 6, 18, 0, tzinfo=CET),  # an offset, not UTC: kept as instant
        members=(
            _user("u-alice", "alice@example.com"),
            _user("u-bob", "bob@example.com"),
            Participant(member_type=MemberType.NONE),
            Participant(member_type=MemberType.TEAM, ref_source_id="t-pay", ref_name="Payments"),
            Participant(
                member_type=MemberType.ESCALATION, ref_source_id="e-sre", ref_name="SRE escalation"
            ),
        ),
        windows=(
            TimeWindow(
                kind=WindowKind.WEEKLY,
                start_weekday=5,
                start_time=time(18, 0),
                end_weekday=1,
                end_time=time(9, 0),
            ),
        ),
    )
    nights = Rotation(
        source_id="r-nights",
        schedule_source_id="s-sre",
        position=1,
        name="Nights",
        turn_unit=TurnUnit.DAY,
        turn_count=2,
        anchor_at=datetime(2026, 1, 1, 22, 0, tzinfo=UTC),
        ends_at=datetime(2027, 4, 5, tzinfo=UTC),
        members=(_user("u-carol", "carol@example.com"),),
        windows=(
            TimeWindow(kind=WindowKind.DAILY, start_time=time(22, 0), end_time=time(6, 0)),
            TimeWindow(kind=WindowKind.DAILY, start_time=time(12, 0), end_time=time(12, 30)),
        ),
    )
    hourly = Rotation(
        source_id="r-hourly",
        schedule_source_id="s-sre",
        position=2,
        turn_unit=TurnUnit.HOUR,
        turn_count=12,
        anchor_at=datetime(2026, 1, 1, tzinfo=UTC),
        members=(Participant(member_type=MemberType.NONE),),
        enabled=False,
    )
    sre = Schedule(
        source_id="s-sre",
        name="SRE primary",
        description="Primary on-call",
        time_zone="Europe/Berlin",
        time_zone_raw="Europe/Berlin",
        owner_team_source_id="t-sre",
        rotations=(weekend, nights, hourly),
        overrides=(
            Override(
                source_id="s-sre:ov-a",
                schedule_source_id="s-sre",
                alias="ov-a",
                participant=_user("u-bob", "bob@example.com"),
                starts_at=datetime(2026, 12, 24, 18, 0, tzinfo=UTC),
                ends_at=datetime(2026, 12, 27, 9, 0, tzinfo=UTC),
            ),
            Override(
                source_id="s-sre:ov-b",
                schedule_source_id="s-sre",
                alias="ov-b",
                participant=Participant(
                    member_type=MemberType.TEAM, ref_source_id="t-pay", ref_name="Payments"
                ),
                starts_at=datetime(2026, 12, 31, 18, 0, tzinfo=UTC),
                ends_at=datetime(2027, 1, 1, 9, 0, tzinfo=UTC),
                rotation_source_ids=("r-weekend", "r-nights"),
            ),
        ),
    )
    payments = Schedule(
        source_id="s-pay",
        name="Payments on-call",
        time_zone="America/New_York",
        time_zone_raw="US/Eastern",
        enabled=False,
        rotations=(
            Rotation(
                source_id="r-pay",
                schedule_source_id="s-pay",
                position=0,
                turn_unit=TurnUnit.WEEK,
                turn_count=2,
                anchor_at=datetime(2026, 1, 5, 14, 0, tzinfo=UTC),
                members=(_user("u-carol", "carol@example.com"),),
            ),
        ),
    )
    empty = Schedule(
        source_id="s-empty", name="Empty", time_zone="Etc/GMT+8", time_zone_raw="GMT-08:00"
    )
    sre_policy = EscalationPolicy(
        source_id="e-sre",
        name="SRE escalation",
        description="Page SRE",
        owner_team_source_id="t-sre",
        levels=(
            EscalationLevel(
                position=0,
                offset_seconds=0,
                timeout_seconds=300,
                targets=(
                    EscalationTarget(
                        target_type=TargetType.USER,
                        ref_source_id="u-alice",
                        ref_name="alice@example.com",
                    ),
                    EscalationTarget(
                        target_type=TargetType.SCHEDULE,
                        ref_source_id="s-sre",
                        ref_name="SRE primary",
                        schedule_pick=SchedulePick.CURRENT,
                    ),
                ),
            ),
            EscalationLevel(
                position=1,
                condition=Condition.NOT_CLOSED,
                offset_seconds=300,
                timeout_seconds=600,
                targets=(
                    EscalationTarget(
                        target_type=TargetType.TEAM,
                        ref_source_id="t-sre",
                        ref_name="SRE",
                        team_audience=TeamAudience.ALL,
                    ),
                    EscalationTarget(
                        target_type=TargetType.SCHEDULE,
                        ref_source_id="s-sre",
                        schedule_pick=SchedulePick.NEXT,
                    ),
                ),
            ),
            EscalationLevel(
                position=2,
                offset_seconds=900,
                targets=(
                    EscalationTarget(target_type=TargetType.TEAM, ref_source_id="t-pay"),
                    EscalationTarget(
                        target_type=TargetType.SCHEDULE,
                        ref_source_id="s-pay",
                        schedule_pick=SchedulePick.PREVIOUS,
                    ),
                    EscalationTarget(target_type=TargetType.USER, ref_source_id="u-gone"),
                ),
            ),
        ),
        repeat=EscalationRepeat(count=2, wait_minutes=10, reset_recipients=True),
    )
    pay_policy = EscalationPolicy(
        source_id="e-pay",
        name="Payments escalation",
        owner_team_source_id="t-pay",
        levels=(
            EscalationLevel(
                position=0,
                offset_seconds=60,
                targets=(
                    EscalationTarget(
                        target_type=TargetType.TEAM,
                        ref_source_id="t-pay",
                        team_audience=TeamAudience.RANDOM,
                    ),
                ),
            ),
        ),
    )
    bare_policy = EscalationPolicy(source_id="e-bare", name="No levels yet")
    services = (
        Service(
            source_id="v-checkout",
            name="checkout",
            description="Checkout API",
            owner_team_source_id="t-pay",
            tags=("payments", "tier-1"),
        ),
        Service(source_id="v-orphan", name="orphan"),
    )
    return OnCallConfig(
        source_system=SYSTEM,
        source_account=ACCOUNT,
        people=people,
        contact_methods=contacts,
        teams=teams,
        team_members=members,
        schedules=(sre, payments, empty),
        escalation_policies=(sre_policy, pay_policy, bare_policy),
        services=services,
    )


def create_plan(config: OnCallConfig, run_id: str = "opsgenie_sync/run-1", **extra: Any) -> Plan:
    """Every record of the config as a create."""
    changes = [
        PlannedChange(
            entity_type=kind,
            source_id=rec.source_id,
            name=rec.name,
            action=Action.CREATE,
            record=rec.data,
        )
        for kind, recs in entity_records(config).items()
        for rec in recs
    ]
    return Plan(
        source_system=config.source_system,
        source_account=config.source_account,
        run_id=run_id,
        changes=tuple(changes),
        **extra,
    )


def plan_of(
    changes: list[PlannedChange], run_id: str = "opsgenie_sync/run-2", **extra: Any
) -> Plan:
    return Plan(
        source_system=SYSTEM, source_account=ACCOUNT, run_id=run_id, changes=tuple(changes), **extra
    )


def record_of(config: OnCallConfig, kind: EntityType, source_id: str) -> dict[str, Any]:
    return next(r.data for r in entity_records(config)[kind] if r.source_id == source_id)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for before/after comparisons."""
    with engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in conn.execute(select(table))), key=str
            )
            for table in schema.metadata.sorted_tables
        }


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in schema.metadata.sorted_tables
        }


# --- stores on both engines -----------------------------------------------------------------


def pg_dsn() -> str | None:
    return os.environ.get(PG_DSN_VAR) or None


class PostgresServer:
    """Creates and drops scratch databases next to the DSN's database."""

    def __init__(self, dsn: str) -> None:
        self.url = make_url(dsn).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self) -> str:
        name = f"oncall_sync_test_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def skip_without_postgres() -> None:
    if pg_dsn() is None:
        pytest.skip(
            f"PostgreSQL store tests need {PG_DSN_VAR} "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it"
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    skip_without_postgres()
    server = PostgresServer(pg_dsn() or "")
    yield server
    server.admin.dispose()


@pytest.fixture(scope="session")
def postgres_store_url(postgres_server: PostgresServer) -> Iterator[str]:
    """One migrated database for the session; each test empties it first."""
    url = postgres_server.create()
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    postgres_server.drop(url)


def _empty_postgres(engine: Engine) -> None:
    names = ", ".join(t.name for t in schema.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store on each engine."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        migrate(engine)
    else:
        engine = make_engine(request.getfixturevalue("postgres_store_url"))
        _empty_postgres(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create()
    yield url
    server.drop(url)


__all__ = [
    "ACCOUNT",
    "SYSTEM",
    "Invitation",
    "create_plan",
    "empty_database_url",
    "full_config",
    "plan_of",
    "postgres_server",
    "postgres_store_url",
    "record_of",
    "row_counts",
    "snapshot",
    "store",
]

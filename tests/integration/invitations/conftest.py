"""Invitation fixtures: a store holding an account whose unmatched people are invited, on both
engines; a local SMTP sink; the mail and link connections pointed at them by environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from oncall_sync.invitations.sink import MailSink
from oncall_sync.model import (
    Invitation,
    MemberType,
    OnCallConfig,
    Participant,
    Person,
    Rotation,
    Schedule,
    Team,
    TeamMember,
    TurnUnit,
)
from oncall_sync.store import schema
from oncall_sync.store.repo import apply_plan
from tests.store_fixtures import (  # noqa: F401  (fixtures are found by name)
    ACCOUNT,
    SYSTEM,
    create_plan,
    postgres_server,
    postgres_store_url,
    store,
)

# Made per test session, as an operator makes theirs; kept in the environment so that every
# import of this module (pytest's conftest and the tests' own) sees the same key.
LINK_KEY = os.environ.setdefault("ONCALL_SYNC_TEST_LINK_KEY", secrets.token_urlsafe(48))
BOLD = "<b>Bold</b> Björk"


def account(invited: int) -> OnCallConfig:
    """An admin found in the store (active), and `invited` people to invite: all in team
    "SRE <ops>", taking turns on "Nights & Weekends"; person 0 is named like markup."""
    people = [
        Person(
            source_id="u-admin",
            email="ann.admin@example.com",
            email_raw="Ann.Admin@example.com",
            display_name="Ann Admin",
        )
    ]
    for i in range(invited):
        people.append(
            Person(
                source_id=f"u-{i}",
                email=f"person{i}@example.com",
                email_raw=f"person{i}@example.com",
                display_name=BOLD if i == 0 else f"Person {i}",
            )
        )
    members = [TeamMember(team_source_id="t-sre", person_source_id="u-admin", role="admin")]
    members += [
        TeamMember(team_source_id="t-sre", person_source_id=f"u-{i}") for i in range(invited)
    ]
    rotation = Rotation(
        source_id="r-nights",
        schedule_source_id="s-nights",
        position=0,
        turn_unit=TurnUnit.WEEK,
        turn_count=1,
        anchor_at=datetime(2026, 1, 5, 9, tzinfo=UTC),
        members=tuple(
            Participant(member_type=MemberType.USER, ref_source_id=f"u-{i}", ref_name=f"p{i}")
            for i in range(invited)
        ),
    )
    return OnCallConfig(
        source_system=SYSTEM,
        source_account=ACCOUNT,
        people=tuple(people),
        teams=(Team(source_id="t-sre", name="SRE <ops>"),),
        team_members=tuple(members),
        schedules=(
            Schedule(
                source_id="s-nights",
                name="Nights & Weekends",
                time_zone="Europe/Berlin",
                time_zone_raw="Europe/Berlin",
                owner_team_source_id="t-sre",
                rotations=(rotation,),
            ),
        ),
    )


def load_invited(engine: Engine, invited: int) -> list[str]:
    """Load the account; every person but the admin gets an invitation. Their emails."""
    config = account(invited)
    invitations = tuple(
        Invitation(email=p.email, person_source_id=p.source_id)
        for p in config.people
        if p.source_id != "u-admin"
    )
    apply_plan(engine, create_plan(config, invitations=invitations))
    return [i.email for i in invitations]


def invitation_rows(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.invitation).order_by(schema.invitation.c.id)).all()
    return {row.email: row for row in rows}


@pytest.fixture
def sink() -> Iterator[MailSink]:
    with MailSink() as running:
        yield running


def link_connection(base_url: str = "http://127.0.0.1:9") -> str:
    import json

    return json.dumps({"conn_type": "generic", "host": base_url, "password": LINK_KEY})


@pytest.fixture
def mail_env(sink: MailSink, monkeypatch: pytest.MonkeyPatch) -> MailSink:
    """Connections oncall_sync_mail (the sink, fast pace) and oncall_sync_invite_links."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONCALL_SYNC_MAIL", sink.connection(max_per_second=200, batch_size=4)
    )
    monkeypatch.setenv("AIRFLOW_CONN_ONCALL_SYNC_INVITE_LINKS", link_connection())
    return sink

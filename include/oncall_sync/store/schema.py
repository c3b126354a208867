"""The on-call store's tables (SQLAlchemy Core), readable with plain SQL on SQLite and PostgreSQL.

Typed columns with plain names; JSON only where a list has no natural table (service tags, run
params and stats, item diffs). Every synced table carries the same provenance block.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can refer to them on both engines.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

MANAGED_SYNCED = "synced"
MANAGED_DETACHED = "detached"


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always UTC and aware in Python; SQLite has no zone, so UTC is stored bare."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps instants in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# None is SQL NULL (not the JSON literal null): plainer to query, and no serialising to do.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _provenance() -> list[Any]:
    """Where a row came from and what the sync last did to it; NULL source for local rows."""
    return [
        Column("source_system", String(32)),
        Column("source_account", Text),
        Column("source_id", Text),
        Column("source_hash", String(64)),
        Column("applied_hash", String(64)),
        Column("last_synced_at", UTCDateTime()),
        Column("last_sync_run_id", String(512)),
        Column("local_modified", Boolean, nullable=False, default=False, server_default=false()),
        Column("local_modified_at", UTCDateTime()),
        Column("source_deleted_at", UTCDateTime()),
        Column("managed", String(16), nullable=False, default="synced", server_default="synced"),
        Column(
            "created_at", UTCDateTime(), nullable=False, server_default=func.current_timestamp()
        ),
        Column(
            "updated_at", UTCDateTime(), nullable=False, server_default=func.current_timestamp()
        ),
        UniqueConstraint("source_system", "source_account", "source_id"),
        CheckConstraint("managed IN ('synced', 'detached')", name="managed"),
    ]


def _fk(column: str, target: str, *, ondelete: str, nullable: bool = True) -> Column[int]:
    return Column(column, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


def _participant() -> list[Column[Any]]:
    """A `Participant` (a rotation slot or an override): its type, source ref and resolved row."""
    return [
        Column("member_type", String(16), nullable=False),
        _fk("person_id", "person.id", ondelete="SET NULL"),
        _fk("team_id", "team.id", ondelete="SET NULL"),
        _fk("escalation_policy_id", "escalation_policy.id", ondelete="SET NULL"),
        Column("ref_source_id", Text),
        Column("ref_name", Text),
    ]


person = Table(
    "person",
    metadata,
    _id(),
    Column("email_norm", Text, unique=True),
    Column("email_raw", Text),
    Column("display_name", Text, nullable=False),
    Column("time_zone", String(64)),
    Column("time_zone_raw", Text),
    Column("locale", Text),
    Column("role", Text),
    Column("blocked", Boolean, nullable=False, default=False),
    Column("verified", Boolean, nullable=False, default=True),
    Column("invite_status", String(16)),
    *_provenance(),
)

contact_method = Table(
    "contact_method",
    metadata,
    _id(),
    _fk("person_id", "person.id", ondelete="CASCADE", nullable=False),
    Column("person_source_id", Text),
    Column("kind", String(16), nullable=False),
    Column("address", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text),
    Column("position", Integer),
    *_provenance(),
)

team = Table(
    "team",
    metadata,
    _id(),
    Column("name", Text, nullable=False, index=True),
    Column("description", Text, nullable=False, default=""),
    *_provenance(),
)

team_member = Table(
    "team_member",
    metadata,
    _id(),
    _fk("team_id", "team.id", ondelete="CASCADE", nullable=False),
    _fk("person_id", "person.id", ondelete="CASCADE", nullable=False),
    Column("team_source_id", Text),
    Column("person_source_id", Text),
    Column("role", Text, nullable=False, default="user"),
    *_provenance(),
)

schedule = Table(
    "schedule",
    metadata,
    _id(),
    _fk("owner_team_id", "team.id", ondelete="SET NULL"),
    Column("owner_team_source_id", Text),
    Column("name", Text, nullable=False, index=True),
    Column("description", Text, nullable=False, default=""),
    Column("time_zone", String(64), nullable=False),
    Column("time_zone_raw", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    *_provenance(),
)

rotation = Table(
    "rotation",
    metadata,
    _id(),
    _fk("schedule_id", "schedule.id", ondelete="CASCADE", nullable=False),
    Column("schedule_source_id", Text),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("turn_unit", String(8), nullable=False),
    Column("turn_count", Integer, nullable=False),
    Column("anchor_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime()),
    Column("enabled", Boolean, nullable=False, default=True),
    *_provenance(),
)

rotation_member = Table(
    "rotation_member",
    metadata,
    _id(),
    _fk("rotation_id", "rotation.id", ondelete="CASCADE", nullable=False),
    Column("position", Integer, nullable=False),
    *_participant(),
    UniqueConstraint("rotation_id", "position"),
)

rotation_window = Table(
    "rotation_window",
    metadata,
    _id(),
    _fk("rotation_id", "rotation.id", ondelete="CASCADE", nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("start_weekday", Integer),
    Column("start_time", Time, nullable=False),
    Column("end_weekday", Integer),
    Column("end_time", Time, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    UniqueConstraint("rotation_id", "ordinal"),
)

schedule_override = Table(
    "schedule_override",
    metadata,
    _id(),
    _fk("schedule_id", "schedule.id", ondelete="CASCADE", nullable=False),
    Column("schedule_source_id", Text),
    Column("alias", Text, nullable=False),
    *_participant(),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    *_provenance(),
)

schedule_override_rotation = Table(
    "schedule_override_rotation",
    metadata,
    _id(),
    _fk("override_id", "schedule_override.id", ondelete="CASCADE", nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("rotation_source_id", Text, nullable=False),
    _fk("rotation_id", "rotation.id", ondelete="SET NULL"),
    UniqueConstraint("override_id", "ordinal"),
)

escalation_policy = Table(
    "escalation_policy",
    metadata,
    _id(),
    _fk("owner_team_id", "team.id", ondelete="SET NULL"),
    Column("owner_team_source_id", Text),
    Column("name", Text, nullable=False, index=True),
    Column("description", Text, nullable=False, default=""),
    Column("has_repeat", Boolean, nullable=False, default=False),
    Column("repeat_count", Integer),
    Column("repeat_wait_minutes", Integer),
    Column("repeat_reset_recipients", Boolean),
    Column("repeat_close_after_all", Boolean),
    *_provenance(),
)

escalation_level = Table(
    "escalation_level",
    metadata,
    _id(),
    _fk("policy_id", "escalation_policy.id", ondelete="CASCADE", nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("condition", String(16), nullable=False),
    Column("offset_seconds", Integer, nullable=False),
    Column("timeout_seconds", Integer),
    UniqueConstraint("policy_id", "ordinal"),
)

escalation_target = Table(
    "escalation_target",
    metadata,
    _id(),
    _fk("level_id", "escalation_level.id", ondelete="CASCADE", nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("target_type", String(16), nullable=False),
    Column("ref_source_id", Text, nullable=False),
    Column("ref_name", Text),
    _fk("person_id", "person.id", ondelete="SET NULL"),
    _fk("team_id", "team.id", ondelete="SET NULL"),
    _fk("schedule_id", "schedule.id", ondelete="SET NULL"),
    Column("schedule_pick", String(16)),
    Column("team_audience", String(16)),
    UniqueConstraint("level_id", "ordinal"),
)

service = Table(
    "service",
    metadata,
    _id(),
    _fk("owner_team_id", "team.id", ondelete="SET NULL"),
    Column("owner_team_source_id", Text),
    Column("name", Text, nullable=False, index=True),
    Column("description", Text, nullable=False, default=""),
    Column("tags", JSONType, nullable=False),
    *_provenance(),
)

sync_run = Table(
    "sync_run",
    metadata,
    Column("id", String(512), primary_key=True),  # the Airflow dag id and run id
    Column("source_system", String(32), nullable=False),
    Column("source_account", Text, nullable=False),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("status", String(32), nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("conflict_strategy", String(32)),
    Column("params", JSONType),
    Column("stats", JSONType),
    Index(None, "source_system", "source_account", "started_at"),
)

sync_run_item = Table(
    "sync_run_item",
    metadata,
    _id(),
    _fk("sync_run_id", "sync_run.id", ondelete="CASCADE", nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("source_id", Text, nullable=False),
    Column("store_id", Integer),
    Column("name", String(512), nullable=False, default=""),
    Column("action", String(32), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("diff", JSONType),
)


def _invitation_lifecycle() -> list[Any]:
    """Delivery and answer of an invitation: attempts, the mail in flight, when each step was."""
    return [
        Column("attempts", Integer, nullable=False, default=0, server_default="0"),
        Column("mails_sent", Integer, nullable=False, default=0, server_default="0"),
        Column("message_id", Text),
        Column("link_nonce", String(64)),
        Column("sending_started_at", UTCDateTime()),
        Column("handed_over_at", UTCDateTime()),
        Column(
            "delivery_unconfirmed", Boolean, nullable=False, default=False, server_default=false()
        ),
        Column("sent_at", UTCDateTime()),
        Column("last_sent_at", UTCDateTime()),
        Column("expires_at", UTCDateTime()),
        Column("accepted_at", UTCDateTime()),
        Column("expired_at", UTCDateTime()),
        Column("revoked_at", UTCDateTime()),
        Column("last_error", Text),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'accepted', 'expired', 'revoked', 'failed')",
            name="status",
        ),
    ]


invitation = Table(
    "invitation",
    metadata,
    _id(),
    _fk("person_id", "person.id", ondelete="SET NULL"),
    Column("email", Text, nullable=False, unique=True),
    Column("source_system", String(32)),
    Column("source_account", Text),
    Column("person_source_id", Text),
    Column("status", String(16), nullable=False, index=True),
    Column("invited_at", UTCDateTime(), nullable=False),
    _fk("sync_run_id", "sync_run.id", ondelete="SET NULL"),
    # The lifecycle (invitations/lifecycle.py): pending -> sending -> sent -> accepted | expired
    # | revoked; failed when the mail server refused the address.
    *_invitation_lifecycle(),
)

# The synced tables, in the order a load writes them (a table's references come before it).
SYNCED_TABLES: tuple[Table, ...] = (
    person,
    team,
    team_member,
    contact_method,
    schedule,
    rotation,
    schedule_override,
    escalation_policy,
    service,
)

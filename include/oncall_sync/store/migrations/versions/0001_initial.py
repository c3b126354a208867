"""The first store schema: people, teams, schedules, escalation, services, runs, invitations.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 09:20:23.352887
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email_norm", sa.Text(), nullable=True),
        sa.Column("email_raw", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("time_zone_raw", sa.Text(), nullable=True),
        sa.Column("locale", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("invite_status", sa.String(length=16), nullable=True),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.String(length=512), nullable=True),
        sa.Column("local_modified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("local_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed", sa.String(length=16), server_default="synced", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint("managed IN ('synced', 'detached')", name=op.f("ck_person_managed")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("email_norm", name=op.f("uq_person_email_norm")),
        sa.UniqueConstraint(
            "source_system",
            "source_account",
            "source_id",
            name=op.f("uq_person_source_system_source_account_source_id"),
        ),
    )
    op.create_table(
        "sync_run",
        sa.Column("id", sa.String(length=512), nullable=False),
        sa.Column("source_system", sa.String(length=32), nullable=False),
        sa.Column("source_account", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("conflict_strategy", sa.String(length=32), nullable=True),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "stats",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run")),
    )
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_run_source_system_source_account_started_at"),
            ["source_system", "source_account", "started_at"],
            unique=False,
        )

    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.String(length=512), nullable=True),
        sa.Column("local_modified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("local_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed", sa.String(length=16), server_default="synced", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint("managed IN ('synced', 'detached')", name=op.f("ck_team_managed")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint(
            "source_system",
            "source_account",
            "source_id",
            name=op.f("uq_team_source_system_source_account_source_id"),
        ),
    )
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_name"), ["name"], unique=False)

    op.create_table(
        "contact_method",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("person_source_id", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.String(length=512), nullable=True),
        sa.Column("local_modified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("local_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed", sa.String(length=16), server_default="synced", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "managed IN ('synced', 'detached')", name=op.f("ck_contact_method_managed")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_contact_method_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_method")),
        sa.UniqueConstraint(
            "source_system",
            "source_account",
            "source_id",
            name=op.f("uq_contact_method_source_system_source_account_source_id"),
        ),
    )
    with op.batch_alter_table("contact_method", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_method_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "escalation_policy",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_source_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("has_repeat", sa.Boolean(), nullable=False),
        sa.Column("repeat_count", sa.Integer(), nullable=True),
        sa.Column("repeat_wait_minutes", sa.Integer(), nullable=True),
        sa.Column("repeat_reset_recipients", sa.Boolean(), nullable=True),
        sa.Column("repeat_close_after_all", sa.Boolean(), nullable=True),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.String(length=512), nullable=True),
        sa.Column("local_modified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("local_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed", sa.String(length=16), server_default="synced", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "managed IN ('synced', 'detached')", name=op.f("ck_escalation_policy_managed")
        ),
        sa.ForeignKeyConstraint(
            ["owner_team_id"],
            ["team.id"],
            name=op.f("fk_escalation_policy_owner_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_policy")),
        sa.UniqueConstraint(
            "source_system",
            "source_account",
            "source_id",
            name=op.f("uq_escalation_policy_source_system_source_account_source_id"),
        ),
    )
    with op.batch_alter_table("escalation_policy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_policy_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_escalation_policy_owner_team_id"), ["owner_team_id"], unique=False
        )

    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("person_source_id", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sync_run_id", sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_invitation_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sync_run_id"],
            ["sync_run.id"],
            name=op.f("fk_invitation_sync_run_id_sync_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("email", name=op.f("uq_invitation_email")),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invitation_sync_run_id"), ["sync_run_id"], unique=False
        )

    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_source_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("time_zone_raw", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.String(length=512), nullable=True),
        sa.Column("local_modified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("local_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed", sa.String(length=16), server_default="synced", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint("managed IN ('synced', 'detached')", name=op.f("ck_schedule_managed")),
        sa.ForeignKeyConstraint(
            ["owner_team_id"],
            ["team.id"],
            name=op.f("fk_schedule_owner_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule")),
        sa.UniqueConstraint(
            "source_system",
            "source_account",
            "source_id",
            name=op.f("uq_schedule_source_system_source_account_source_id"),
        ),
    )
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedule_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_schedule_owner_team_id"), ["owner_team_id"], unique=False
        )

    op.create_table(
        "service",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_source_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.String(length=512), nullable=True),
        sa.Column("local_modified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("local_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed", sa.String(length=16), server_default="synced", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint("managed IN ('synced', 'detached')", name=op.f("ck_service_managed")),
        sa.ForeignKeyConstraint(
            ["owner_team_id"],
            ["team.id"],
            name=op.f("fk_service_owner_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service")),
        sa.UniqueConstraint(
            "source_system",
            "source_account",
            "source_id",
            name=op.f("uq_service_source_system_source_account_source_id"),
        ),
    )
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_name"), ["name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_owner_team_id"), ["owner_team_id"], unique=False
        )

    op.create_table(
        "sync_run_item",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sync_run_id", sa.String(length=512), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "diff",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["sync_run_id"],
            ["sync_run.id"],
            name=op.f("fk_sync_run_item_sync_run_id_sync_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run_item")),
    )
    with op.batch_alter_table("sync_run_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_run_item_sync_run_id"), ["sync_run_id"], unique=False
        )

    op.create_table(
        "team_member",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("team_source_id", sa.Text(), nullable=True),
        sa.Column("person_source_id", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.String(length=512), nullable=True),
        sa.Column("local_modified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("local_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed", sa.String(length=16), server_default="synced", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "managed IN ('synced', 'detached')", name=op.f("ck_team_member_managed")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_team_member_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_team_member_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_member")),
        sa.UniqueConstraint(
            "source_system",
            "source_account",
            "source_id",
            name=op.f("uq_team_member_source_system_source_account_source_id"),
        ),
    )
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_member_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_team_member_team_id"), ["team_id"], unique=False)

    op.create_table(
        "escalation_level",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=16), nullable=False),
        sa.Column("offset_seconds", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["escalation_policy.id"],
            name=op.f("fk_escalation_level_policy_id_escalation_policy"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_level")),
        sa.UniqueConstraint(
            "policy_id", "ordinal", name=op.f("uq_escalation_level_policy_id_ordinal")
        ),
    )
    with op.batch_alter_table("escalation_level", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_level_policy_id"), ["policy_id"], unique=False
        )

    op.create_table(
        "rotation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("schedule_source_id", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("turn_unit", sa.String(length=8), nullable=False),
        sa.Column("turn_count", sa.Integer(), nullable=False),
        sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.String(length=512), nullable=True),
        sa.Column("local_modified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("local_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed", sa.String(length=16), server_default="synced", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint("managed IN ('synced', 'detached')", name=op.f("ck_rotation_managed")),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedule.id"],
            name=op.f("fk_rotation_schedule_id_schedule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation")),
        sa.UniqueConstraint(
            "source_system",
            "source_account",
            "source_id",
            name=op.f("uq_rotation_source_system_source_account_source_id"),
        ),
    )
    with op.batch_alter_table("rotation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rotation_schedule_id"), ["schedule_id"], unique=False)

    op.create_table(
        "schedule_override",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("schedule_source_id", sa.Text(), nullable=True),
        sa.Column("alias", sa.Text(), nullable=False),
        sa.Column("member_type", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("escalation_policy_id", sa.Integer(), nullable=True),
        sa.Column("ref_source_id", sa.Text(), nullable=True),
        sa.Column("ref_name", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_system", sa.String(length=32), nullable=True),
        sa.Column("source_account", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("applied_hash", sa.String(length=64), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.String(length=512), nullable=True),
        sa.Column("local_modified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("local_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("managed", sa.String(length=16), server_default="synced", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "managed IN ('synced', 'detached')", name=op.f("ck_schedule_override_managed")
        ),
        sa.ForeignKeyConstraint(
            ["escalation_policy_id"],
            ["escalation_policy.id"],
            name=op.f("fk_schedule_override_escalation_policy_id_escalation_policy"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_schedule_override_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedule.id"],
            name=op.f("fk_schedule_override_schedule_id_schedule"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_schedule_override_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_override")),
        sa.UniqueConstraint(
            "source_system",
            "source_account",
            "source_id",
            name=op.f("uq_schedule_override_source_system_source_account_source_id"),
        ),
    )
    with op.batch_alter_table("schedule_override", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_override_escalation_policy_id"),
            ["escalation_policy_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_schedule_override_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_schedule_override_schedule_id"), ["schedule_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_schedule_override_team_id"), ["team_id"], unique=False)

    op.create_table(
        "escalation_target",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("level_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("ref_source_id", sa.Text(), nullable=False),
        sa.Column("ref_name", sa.Text(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("schedule_pick", sa.String(length=16), nullable=True),
        sa.Column("team_audience", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["level_id"],
            ["escalation_level.id"],
            name=op.f("fk_escalation_target_level_id_escalation_level"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_escalation_target_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedule.id"],
            name=op.f("fk_escalation_target_schedule_id_schedule"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_escalation_target_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_target")),
        sa.UniqueConstraint(
            "level_id", "ordinal", name=op.f("uq_escalation_target_level_id_ordinal")
        ),
    )
    with op.batch_alter_table("escalation_target", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_target_level_id"), ["level_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_escalation_target_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_escalation_target_schedule_id"), ["schedule_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_escalation_target_team_id"), ["team_id"], unique=False)

    op.create_table(
        "rotation_member",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rotation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("member_type", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("escalation_policy_id", sa.Integer(), nullable=True),
        sa.Column("ref_source_id", sa.Text(), nullable=True),
        sa.Column("ref_name", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["escalation_policy_id"],
            ["escalation_policy.id"],
            name=op.f("fk_rotation_member_escalation_policy_id_escalation_policy"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_rotation_member_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rotation_id"],
            ["rotation.id"],
            name=op.f("fk_rotation_member_rotation_id_rotation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_rotation_member_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation_member")),
        sa.UniqueConstraint(
            "rotation_id", "position", name=op.f("uq_rotation_member_rotation_id_position")
        ),
    )
    with op.batch_alter_table("rotation_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rotation_member_escalation_policy_id"),
            ["escalation_policy_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_rotation_member_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rotation_member_rotation_id"), ["rotation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rotation_member_team_id"), ["team_id"], unique=False)

    op.create_table(
        "rotation_window",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rotation_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("start_weekday", sa.Integer(), nullable=True),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_weekday", sa.Integer(), nullable=True),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rotation_id"],
            ["rotation.id"],
            name=op.f("fk_rotation_window_rotation_id_rotation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rotation_window")),
        sa.UniqueConstraint(
            "rotation_id", "ordinal", name=op.f("uq_rotation_window_rotation_id_ordinal")
        ),
    )
    with op.batch_alter_table("rotation_window", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rotation_window_rotation_id"), ["rotation_id"], unique=False
        )

    op.create_table(
        "schedule_override_rotation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("override_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("rotation_source_id", sa.Text(), nullable=False),
        sa.Column("rotation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["override_id"],
            ["schedule_override.id"],
            name=op.f("fk_schedule_override_rotation_override_id_schedule_override"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rotation_id"],
            ["rotation.id"],
            name=op.f("fk_schedule_override_rotation_rotation_id_rotation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_override_rotation")),
        sa.UniqueConstraint(
            "override_id", "ordinal", name=op.f("uq_schedule_override_rotation_override_id_ordinal")
        ),
    )
    with op.batch_alter_table("schedule_override_rotation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_override_rotation_override_id"), ["override_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_schedule_override_rotation_rotation_id"), ["rotation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("schedule_override_rotation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_override_rotation_rotation_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_override_rotation_override_id"))

    op.drop_table("schedule_override_rotation")
    with op.batch_alter_table("rotation_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rotation_window_rotation_id"))

    op.drop_table("rotation_window")
    with op.batch_alter_table("rotation_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rotation_member_team_id"))
        batch_op.drop_index(batch_op.f("ix_rotation_member_rotation_id"))
        batch_op.drop_index(batch_op.f("ix_rotation_member_person_id"))
        batch_op.drop_index(batch_op.f("ix_rotation_member_escalation_policy_id"))

    op.drop_table("rotation_member")
    with op.batch_alter_table("escalation_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_target_team_id"))
        batch_op.drop_index(batch_op.f("ix_escalation_target_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_escalation_target_person_id"))
        batch_op.drop_index(batch_op.f("ix_escalation_target_level_id"))

    op.drop_table("escalation_target")
    with op.batch_alter_table("schedule_override", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_override_team_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_override_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_override_person_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_override_escalation_policy_id"))

    op.drop_table("schedule_override")
    with op.batch_alter_table("rotation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rotation_schedule_id"))

    op.drop_table("rotation")
    with op.batch_alter_table("escalation_level", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_level_policy_id"))

    op.drop_table("escalation_level")
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_member_team_id"))
        batch_op.drop_index(batch_op.f("ix_team_member_person_id"))

    op.drop_table("team_member")
    with op.batch_alter_table("sync_run_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_run_item_sync_run_id"))

    op.drop_table("sync_run_item")
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_owner_team_id"))
        batch_op.drop_index(batch_op.f("ix_service_name"))

    op.drop_table("service")
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_owner_team_id"))
        batch_op.drop_index(batch_op.f("ix_schedule_name"))

    op.drop_table("schedule")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_sync_run_id"))
        batch_op.drop_index(batch_op.f("ix_invitation_person_id"))

    op.drop_table("invitation")
    with op.batch_alter_table("escalation_policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_policy_owner_team_id"))
        batch_op.drop_index(batch_op.f("ix_escalation_policy_name"))

    op.drop_table("escalation_policy")
    with op.batch_alter_table("contact_method", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_method_person_id"))

    op.drop_table("contact_method")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_name"))

    op.drop_table("team")
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_run_source_system_source_account_started_at"))

    op.drop_table("sync_run")
    op.drop_table("person")

"""Invitations get a lifecycle: attempts, the mail in flight, sent/accepted/expired/revoked times.

Revision ID: 0002_invitation_lifecycle
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_invitation_lifecycle"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'pending', 'sending', 'sent', 'accepted', 'expired', 'revoked', 'failed'"
INSTANTS = (
    "sending_started_at",
    "handed_over_at",
    "sent_at",
    "last_sent_at",
    "expires_at",
    "accepted_at",
    "expired_at",
    "revoked_at",
)


def upgrade() -> None:
    # Batch mode: SQLite adds a CHECK constraint only by copying the table.
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("mails_sent", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("message_id", sa.Text(), nullable=True))
        batch.add_column(sa.Column("link_nonce", sa.String(length=64), nullable=True))
        for name in INSTANTS[:2]:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "delivery_unconfirmed", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        for name in INSTANTS[2:]:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.create_check_constraint(op.f("ck_invitation_status"), f"status IN ({STATUSES})")
        batch.create_index(op.f("ix_invitation_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invitation") as batch:
        batch.drop_index(op.f("ix_invitation_status"))
        batch.drop_constraint(op.f("ck_invitation_status"), type_="check")
        for name in ("last_error", *reversed(INSTANTS), "delivery_unconfirmed"):
            batch.drop_column(name)
        for name in ("link_nonce", "message_id", "mails_sent", "attempts"):
            batch.drop_column(name)

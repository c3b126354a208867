"""Shared by the validate and transform tests: the ids their hand-written OpsGenie payloads use,
and a generated account laid out as extract stages it."""

from __future__ import annotations

from typing import Any

from oncall_sync.emulator.generator import Account

JANE = "e07c63f0-dd8c-4ad4-983e-4ee7dc600463"
JOHN = "154d7d2b-9e0e-4d2a-8a8f-3e2b1cc8a7b1"
TEAM = "51d69df5-c6c5-4b6a-9a0c-1c8b4b5a0e0e"
SCHEDULE = "7835e7a3-8a1b-4c2d-9e0f-1a2b3c4d5e6f"
ESCALATION = "9a441f12-1111-4c2d-9e0f-1a2b3c4d5e6f"
ROTATION = "3bd4d5e6-2222-4c2d-9e0f-1a2b3c4d5e6f"


def raw_snapshot(account: Account) -> dict[str, Any]:
    """The raw snapshot validate and transform read: one key per extracted collection."""
    return {
        "manifest": {"source_account": account.name},
        "users": account.users,
        "contacts": account.contacts,
        "teams": account.teams,
        "schedules": account.schedules,
        "overrides": account.overrides,
        "escalations": account.escalations,
        "services": account.services,
    }

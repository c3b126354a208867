"""The extended constructs of a generated account (reference/opsgenie-api-extended.md): notification
rules, routing and forwarding rules, integrations with actions, heartbeats, maintenance, policies,
roles, service incident rules and templates; every edge case on the first entities of each kind.

Decisions:
- They are drawn from their own random stream (seeded from the account seed) after every older
  entity exists, and only read those entities: users, teams, schedules, escalations and services
  stay byte-identical to what the generator built before these constructs existed (tests and the
  benchmark pin them). So no user holds a custom role and no member a custom team role: roles are
  inventory here.
- Default notification rules (reference 1.5 leaves them UNCONFIRMED): every user has "New Alert"
  (create-alert, an e-mail step at 0 minutes to the username's e-mail contact, no step when the
  user has no contact left) and "Renotified Alert" (renotified-alert, the same e-mail).
- Secrets (integration API keys, ingestion e-mail addresses, webhook URLs and headers, outgoing
  passwords) are deterministic and contain "secret", so a grep finds a leak at a glance;
  `oncall_sync.emulator.secrets.secret_values` lists them.
- DST: the forwarding rules that span a DST change are placed around the next change,
  as the first change of America/New_York and of Europe/Berlin after `now`, whatever `now` is.
"""

from __future__ import annotations

from datetime import datetime

from oncall_sync.emulator.account import Account
from oncall_sync.emulator.constructs.base import ACCOUNT_ZONES
from oncall_sync.emulator.constructs.config import ConfigConstructs
from oncall_sync.emulator.constructs.people import PeopleConstructs


class _Constructs(PeopleConstructs, ConfigConstructs):
    """Every construct builder over one account."""


def add_extended_constructs(account: Account, seed: int, now: datetime) -> None:
    """Add every extended construct to `account` (built from `seed` at `now`), in place."""
    if not account.users or not account.teams or not account.escalations or not account.schedules:
        return
    builder = _Constructs(account, seed, now)
    account.time_zone = builder.rng.choice(ACCOUNT_ZONES)
    builder.roles()
    builder.notification_rules()
    builder.routing_rules()
    builder.forwarding_rules()
    builder.integrations()
    builder.heartbeats()
    builder.policies()
    builder.maintenance()
    builder.services()

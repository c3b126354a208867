"""Every secret value a generated account's payloads carry, so tests can grep what a sync wrote
(staging, store, reports, XCom, logs) for any of them.

Decisions:
- A secret is any value under a field the reference names as one (opsgenie-api-extended.md 4.4):
  the ingest credentials (`apiKey`, `emailAddress`, `emailUsername`) and the outbound ones in
  callback fields (`url`, `headers`, passwords, tokens, keys). Only integrations carry them.
- Values are listed whole (a header map gives each of its values), never the field names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from oncall_sync.emulator.account import Account

SECRET_FIELDS = frozenset(
    {
        "apiKey",
        "emailAddress",
        "emailUsername",
        "url",
        "headers",
        "destinationApiKey",
        "jiraPassword",
        "servicenowPassword",
        "password",
        "statusPageApiKey",
        "zendeskApiToken",
        "token",
        "flowdockApiToken",
        "flowdockFlowToken",
        "planioApiKey",
        "consumerKey",
        "consumerKeySecret",
        "accessToken",
        "accessTokenSecret",
        "apiToken",
        "publicKey",
        "privateKey",
        "solarWindsWebHelpDeskApiKey",
        "stackdriverApiKey",
        "statusIoApiKey",
    }
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _secrets_in(payload: Any) -> Iterator[str]:
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in SECRET_FIELDS:
                yield from _strings(value)
            else:
                yield from _secrets_in(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from _secrets_in(item)


def secret_values(account: Account) -> frozenset[str]:
    """Every secret value in the account's payloads (integrations and their actions)."""
    return frozenset(
        _secrets_in([account.integrations, list(account.integration_actions.values())])
    )

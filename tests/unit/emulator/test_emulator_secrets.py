"""Secrets sit in the emulator's payloads exactly where the real API has them (integration GETs),
and `secret_values` lists every one of them, so later tests can grep a sync's outputs."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

from oncall_sync.emulator.app import TEST_API_KEY, EmulatorConfig, create_app
from oncall_sync.emulator.generator import Account, generate_account
from oncall_sync.emulator.secrets import SECRET_FIELDS, secret_values
from tests.unit.emulator.extended_crawl import crawl

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module", params=["tiny", "demo"])
def account(request: pytest.FixtureRequest) -> Account:
    return generate_account(request.param)


class Recorder:
    """A client that keeps every answer's text by URL."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.texts = client, {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = self.client.get(path, params=params)
        self.texts[str(response.request.url)] = response.text
        return response


def everything_served(account: Account) -> dict[str, str]:
    """The text of every GET a complete sync would make, base and extended."""
    app = create_app(account, EmulatorConfig(rate_limits_enabled=False))
    recorder = Recorder(TestClient(app, headers={"Authorization": f"GenieKey {TEST_API_KEY}"}))
    for path in ("/v2/account", "/v2/users", "/v2/teams", "/v2/escalations", "/v1/services"):
        recorder.get(path, params={"limit": 100} if "users" in path else None)
    recorder.get("/v2/schedules", params={"expand": "rotation"})
    for user in account.users:
        recorder.get(f"/v2/users/{user['id']}", params={"expand": "contact"})
        recorder.get(f"/v2/users/{user['id']}/contacts")
    for team in account.teams:
        recorder.get(f"/v2/teams/{team['id']}")
    for schedule in account.schedules:
        recorder.get(f"/v2/schedules/{schedule['id']}/overrides")
    users = [u["id"] for u in account.users]
    crawl(recorder, users, [t["id"] for t in account.teams], [s["id"] for s in account.services])
    return recorder.texts


def values_under(payload: Any, names: frozenset[str]) -> list[Any]:
    found = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            found += [value] if key in names else values_under(value, names)
    elif isinstance(payload, list):
        for item in payload:
            found += values_under(item, names)
    return found


def test_every_kind_of_secret_is_present(account: Account) -> None:
    fields = {key for i in account.integrations for key in i if key in SECRET_FIELDS}
    assert {"apiKey", "emailAddress", "emailUsername", "url", "headers", "jiraPassword"} <= fields


def test_secret_values_list_every_value_under_a_secret_field(account: Account) -> None:
    secrets = secret_values(account)
    leaves: list[str] = []
    for value in values_under([account.integrations, account.integration_actions], SECRET_FIELDS):
        leaves += list(value.values()) if isinstance(value, dict) else [value]
    assert leaves and set(leaves) == secrets


def test_secrets_are_recognisable_unique_and_seeded(account: Account) -> None:
    secrets = secret_values(account)
    assert all("secret" in s or s.startswith("5ec2e700-") for s in secrets)
    api_keys = [i["apiKey"] for i in account.integrations if "apiKey" in i]
    assert len(api_keys) == len(set(api_keys))
    assert all(
        re.fullmatch(r"5ec2e700-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}", k)
        for k in api_keys
    )
    assert secret_values(generate_account("tiny", 7)) == secret_values(generate_account("tiny", 7))
    assert not secret_values(generate_account("tiny", 7)) & secret_values(
        generate_account("tiny", 8)
    )


def test_secrets_are_served_only_by_integration_gets(account: Account) -> None:
    texts = everything_served(account)
    secrets = secret_values(account)
    carrying = {url for url, text in texts.items() if any(s in text for s in secrets)}
    assert carrying, "the integration GETs carry secrets"
    assert all(re.search(r"/v2/integrations/[0-9a-f-]{36}$", url) for url in carrying), carrying
    served = "\n".join(texts[url] for url in carrying)
    # The JSON encoder escapes "/" in nothing and keeps unicode: every secret appears verbatim.
    assert all(s in served for s in secrets)
    listing = next(text for url, text in texts.items() if url.endswith("/v2/integrations"))
    assert not any(s in listing for s in secrets)  # the list is meta only

"""The hook turns connection fields into a client and backs the UI's Test button."""

from __future__ import annotations

import json

import pytest
from fake_opsgenie import KEY, FakeOpsGenie, make_account

from oncall_sync.connectors.opsgenie.hook import (
    OpsGenieHook,
    base_url_from_fields,
    client_from_connection_fields,
    get_provider_info,
)


def test_region_in_extra_selects_the_eu_host() -> None:
    client = client_from_connection_fields(KEY, extra='{"region": "eu"}')

    assert client.base_url == "https://api.eu.opsgenie.com"
    assert client.region == "eu"


def test_region_defaults_to_us() -> None:
    assert client_from_connection_fields(KEY, extra=None).base_url == "https://api.opsgenie.com"
    assert client_from_connection_fields(KEY, extra="").base_url == "https://api.opsgenie.com"


def test_unknown_region_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"extra\.region"):
        client_from_connection_fields(KEY, extra={"region": "apac"})


def test_missing_key_says_where_it_goes() -> None:
    with pytest.raises(ValueError, match="password of connection opsgenie_default"):
        client_from_connection_fields(None)


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("127.0.0.1", "http", 8080, "http://127.0.0.1:8080"),
        ("http://127.0.0.1:9000", None, None, "http://127.0.0.1:9000"),
        ("proxy.internal/opsgenie", None, 8443, "https://proxy.internal:8443/opsgenie"),
        ("", "http", 80, None),
    ],
)
def test_host_schema_and_port_override_the_base_url(
    host: str, schema: str | None, port: int | None, expected: str | None
) -> None:
    assert base_url_from_fields(host, schema, port) == expected


def test_extra_may_tune_concurrency() -> None:
    client = client_from_connection_fields(KEY, extra={"region": "us", "concurrency": 3})

    assert client.concurrency == 3


def connection_env(monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    conn = {
        "conn_type": "opsgenie_sync",
        "password": password,
        "host": "https://api.opsgenie.com",
        "extra": {"region": "us"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_OPSGENIE_DEFAULT", json.dumps(conn))


def test_test_connection_reports_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    connection_env(monkeypatch, KEY)
    fake = FakeOpsGenie(make_account(2))

    ok, message = OpsGenieHook(transport=fake.transport()).test_connection()

    assert ok
    assert "acme" in message
    assert fake.requests[0].url.path == "/v2/account"


def test_test_connection_explains_a_rejected_key(monkeypatch: pytest.MonkeyPatch) -> None:
    connection_env(monkeypatch, "11111111-2222-3333-4444-555555555555")
    fake = FakeOpsGenie(make_account(2))

    ok, message = OpsGenieHook(transport=fake.transport()).test_connection()

    assert not ok
    assert "401" in message
    assert "11111111-2222-3333-4444-555555555555" not in message


def test_provider_info_maps_the_connection_type_to_the_hook() -> None:
    info = get_provider_info()

    assert info["package-name"] == "oncall-sync"
    (connection_type,) = info["connection-types"]
    assert connection_type["connection-type"] == OpsGenieHook.conn_type
    assert connection_type["hook-class-name"].endswith("hook.OpsGenieHook")

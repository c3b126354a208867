"""The Airflow hook for OpsGenie: the only module that knows Airflow Connections. It turns the
`opsgenie_default` connection into an OpsGenieClient and backs the UI's Test button."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Mapping
from typing import Any

from oncall_sync.connectors.opsgenie.client import REGION_BASE_URLS, OpsGenieClient, RetryPolicy
from oncall_sync.connectors.opsgenie.errors import CONNECTION_ID, OpsGenieError

CONN_TYPE = "opsgenie_sync"
DEFAULT_CONN_ID = CONNECTION_ID
HOOK_NAME = "OpsGenie (oncall-sync)"


def get_provider_info() -> dict[str, Any]:
    """Registers the `opsgenie_sync` connection type with Airflow (entry point
    `apache_airflow_provider` of the oncall-sync distribution), so that the UI offers it and
    its Test button and `airflow connections test` reach OpsGenieHook.test_connection."""
    return {
        "package-name": "oncall-sync",
        "name": "oncall-sync",
        "description": "One-way sync of on-call configuration from OpsGenie.",
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": "oncall_sync.connectors.opsgenie.hook.OpsGenieHook",
                "hook-name": HOOK_NAME,
            }
        ],
    }


# Imported after get_provider_info on purpose: the first import of airflow.sdk discovers the
# providers, which loads this very module's get_provider_info through the entry point.
from airflow.sdk import BaseHook  # noqa: E402


def base_url_from_fields(host: str | None, schema: str | None, port: int | None) -> str | None:
    """The base URL the connection's host/schema/port spell, or None to use the region's."""
    if not host:
        return None
    host = host.strip().rstrip("/")
    if "://" in host:
        scheme, rest = host.split("://", 1)
    else:
        scheme, rest = (schema or "https"), host
    if port and ":" not in rest.split("/", 1)[0]:
        name, _, path = rest.partition("/")
        rest = f"{name}:{port}" + (f"/{path}" if path else "")
    return f"{scheme}://{rest}"


def client_from_connection_fields(
    password: str | None,
    host: str | None = None,
    schema: str | None = None,
    port: int | None = None,
    extra: str | Mapping[str, Any] | None = None,
    **client_options: Any,
) -> OpsGenieClient:
    """Build a client from a connection's fields (testable without Airflow)."""
    if isinstance(extra, str):
        options: dict[str, Any] = json.loads(extra) if extra.strip() else {}
    else:
        options = dict(extra or {})
    region = str(options.get("region") or "us").strip().lower()
    if region not in REGION_BASE_URLS:
        raise ValueError(
            f'Connection {DEFAULT_CONN_ID}: extra.region is "{region}"; it must be "us" or "eu"'
        )
    for name in ("concurrency", "timeout"):
        if name in options and name not in client_options:
            client_options[name] = options[name]
    return OpsGenieClient(
        password or "",
        region=region,
        base_url=base_url_from_fields(host, schema, port),
        **client_options,
    )


async def probe_account(client: OpsGenieClient) -> tuple[bool, str]:
    """GET /v2/account and say in words whether the key works."""
    try:
        async with client:
            account = await client.account()
    except OpsGenieError as error:
        return False, str(error)
    name = account.get("name", "?")
    plan = (account.get("plan") or {}).get("name")
    users = account.get("userCount")
    details = ", ".join(
        part
        for part in (f"plan {plan}" if plan else "", f"{users} users" if users is not None else "")
        if part
    )
    return True, (
        f"Connected to OpsGenie account {name!r} at {client.base_url}"
        + (f" ({details})" if details else "")
    )


def _run(coroutine: Any) -> Any:
    """Run a coroutine from sync code, even when an event loop is already running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class OpsGenieHook(BaseHook):
    """Reads connection `opsgenie_default`: API key in the password, extra {"region": "us"|"eu"},
    an optional host (with schema and port) that overrides the region's base URL."""

    conn_name_attr = "opsgenie_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME

    def __init__(self, opsgenie_conn_id: str = DEFAULT_CONN_ID, **client_options: Any) -> None:
        super().__init__()
        self.opsgenie_conn_id = opsgenie_conn_id
        self.client_options = client_options

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["login"],
            "relabeling": {"password": "API key", "host": "Base URL override (optional)"},
            "placeholders": {
                "host": "leave empty for api.opsgenie.com / api.eu.opsgenie.com",
                "extra": '{"region": "us"}',
                "schema": "https",
            },
        }

    def get_conn(self) -> OpsGenieClient:
        return self.get_client()

    def get_client(self, **overrides: Any) -> OpsGenieClient:
        conn = self.get_connection(self.opsgenie_conn_id)
        return client_from_connection_fields(
            conn.password,
            conn.host,
            conn.schema,
            conn.port,
            conn.extra,
            **{**self.client_options, **overrides},
        )

    def test_connection(self) -> tuple[bool, str]:
        try:
            # A person is waiting on the Test button: two quick attempts, not the extract's budget.
            client = self.get_client(
                retry=RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0), timeout=10.0
            )
        except (ValueError, OpsGenieError) as error:
            return False, str(error)
        result: tuple[bool, str] = _run(probe_account(client))
        return result

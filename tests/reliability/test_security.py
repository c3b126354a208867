"""The client keeps its key to itself: TLS verification on for the real regions, requests only
to the region's host or the connection's explicit host, redirects to any other host refused
(before the key leaves); staging and report files owner-only."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from oncall_sync.connectors.opsgenie.client import OpsGenieClient, RetryPolicy
from oncall_sync.connectors.opsgenie.errors import UnsafeRedirectError
from oncall_sync.connectors.opsgenie.extract import extract_snapshot
from oncall_sync.connectors.opsgenie.hook import client_from_connection_fields
from oncall_sync.emulator.server import RunningEmulator, run_emulator
from tests.reliability.conftest import new_sqlite_store
from tests.reliability.harness import client_factory, note_faults, run_context, sync

KEY = "3f1c2a9e-5b7d-4e2f-9a0c-1d2e3f4a5b6c"


class Listener:
    """A socket on another port that records whatever reaches it (it should be nothing)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    self.received += conn.recv(65536)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with run_emulator(size="tiny", seed=7) as running:
        yield running


@pytest.fixture(autouse=True)
def faults_counted(emulator: RunningEmulator) -> Iterator[None]:
    emulator.faults.reset()
    yield
    note_faults(emulator)
    emulator.faults.reset()


@pytest.fixture
def elsewhere() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def test_the_emulator_redirect_fault_answers_302_to_another_host(
    emulator: RunningEmulator,
) -> None:
    emulator.faults.add("redirect", times=1, location="http://opsgenie.invalid/v2/account")

    answer = httpx.get(
        f"{emulator.base_url}/v2/account",
        headers={"Authorization": f"GenieKey {emulator.api_key}"},
    )

    assert answer.status_code == 302
    assert answer.headers["location"] == "http://opsgenie.invalid/v2/account"
    assert emulator.faults.injected["redirect"] == 1


@pytest.mark.parametrize("path", ["/v2/account", "/v2/teams", "/v2/users"])
def test_a_redirect_to_another_host_is_refused_and_the_key_never_sent_there(
    path: str, emulator: RunningEmulator, elsewhere: Listener
) -> None:
    emulator.faults.add("redirect", path=path, location=f"http://127.0.0.1:{elsewhere.port}{path}")

    async def run() -> None:
        async with client_factory(emulator)() as client:
            await extract_snapshot(
                client, entity_types={"users", "teams"}, sync_contact_details=False
            )

    with pytest.raises(UnsafeRedirectError) as refused:
        asyncio.run(run())

    assert "another host" in str(refused.value) and emulator.api_key not in str(refused.value)
    assert elsewhere.received == b""


def test_a_failed_sync_after_a_refused_redirect_writes_nothing(
    emulator: RunningEmulator, elsewhere: Listener, tmp_path: Path
) -> None:
    emulator.faults.add(
        "redirect", path="/v2/escalations", location=f"http://127.0.0.1:{elsewhere.port}/"
    )
    url = new_sqlite_store(tmp_path)

    with pytest.raises(UnsafeRedirectError):
        sync(run_context(tmp_path / "staging", "redirected"), url, client_factory(emulator))

    assert elsewhere.received == b""
    assert not (tmp_path / "staging" / "opsgenie_sync" / "redirected" / "raw").exists()


def _ssl_context(client: OpsGenieClient) -> ssl.SSLContext:
    transport = client._http._transport  # the default transport httpx built for this client
    return transport._pool._ssl_context  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize(
    ("region", "host"), [("us", "api.opsgenie.com"), ("eu", "api.eu.opsgenie.com")]
)
def test_real_regions_use_https_with_certificate_and_hostname_checks(
    region: str, host: str
) -> None:
    client = client_from_connection_fields(KEY, extra={"region": region})

    context = _ssl_context(client)

    assert client.base_url == f"https://{host}"
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    asyncio.run(client.aclose())


@pytest.mark.parametrize(
    ("region", "host"), [("us", "api.opsgenie.com"), ("eu", "api.eu.opsgenie.com")]
)
def test_the_client_talks_only_to_its_region_host(region: str, host: str) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.path == "/v2/account":
            return httpx.Response(200, json={"data": {"name": "acme", "userCount": 1}})
        if request.url.path.startswith("/v2/request-limits"):
            return httpx.Response(403, json={"message": "not for this key", "code": 40301})
        # The users list points its next page at another host: the client must not follow.
        body = {"data": [], "paging": {"next": "https://evil.example/v2/users?offset=100"}}
        return httpx.Response(200, json=body)

    async def run() -> None:
        client = OpsGenieClient(
            KEY,
            region=region,
            transport=httpx.MockTransport(answer),
            retry=RetryPolicy(max_attempts=1),
        )
        async with client:
            await extract_snapshot(client, entity_types={"users"}, sync_contact_details=False)

    with pytest.raises(Exception, match="another host"):
        asyncio.run(run())
    assert seen and set(seen) == {host}


def test_an_explicit_host_is_the_only_host_and_plain_http_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = client_from_connection_fields(
        KEY, host="http://opsgenie-proxy.internal:8080", extra={"region": "eu"}
    )

    assert client.base_url == "http://opsgenie-proxy.internal:8080"
    assert "plain http" in caplog.text and KEY not in caplog.text and KEY not in repr(client)
    asyncio.run(client.aclose())


def test_staging_and_report_files_are_owner_only(emulator: RunningEmulator, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    sync(run_context(staging, "private"), new_sqlite_store(tmp_path), client_factory(emulator))

    run_dir = staging / "opsgenie_sync"
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    folders = [run_dir, *(p for p in run_dir.rglob("*") if p.is_dir())]
    assert any(p.name == "report.html" for p in files) and len(files) > 10
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {"0o600"}
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in folders} == {"0o700"}

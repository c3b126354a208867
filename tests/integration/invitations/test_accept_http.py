"""The accept link over HTTP: the plugin's accept app served by uvicorn on a free port, against a
store on each engine. GET never changes anything; POST accepts once; expired, reused, tampered
and cross-site attempts are refused."""

from __future__ import annotations

import importlib.util
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, select

from oncall_sync.invitations.send import InviteOptions, run_invite
from oncall_sync.invitations.sink import MailSink
from oncall_sync.store import schema
from tests.integration.invitations.conftest import (
    ACCOUNT,
    SYSTEM,
    invitation_rows,
    link_connection,
    load_invited,
)

PLUGIN_FILE = Path(__file__).resolve().parents[3] / "plugins" / "oncall_sync_reports.py"


def plugin_accept_app():
    """The accept app exactly as the plugin registers it with Airflow."""
    spec = importlib.util.spec_from_file_location("oncall_sync_reports_for_accept", PLUGIN_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    entries = [e for e in module.OncallSyncReportsPlugin.fastapi_apps if "invitations" in e["name"]]
    assert len(entries) == 1
    return entries[0]


class Server:
    """uvicorn serving the plugin's accept app at its url_prefix, on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        from fastapi import FastAPI

        entry = plugin_accept_app()
        root = FastAPI()
        root.mount(entry["url_prefix"], entry["app"])  # as Airflow's API server mounts it
        self.prefix = entry["url_prefix"]
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(root, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def served(store: Engine, sink: MailSink, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The accept app on the store under test; invitations mailed with links pointing at it."""
    monkeypatch.setenv("ONCALL_SYNC_STORE_URL", store.url.render_as_string(hide_password=False))
    with Server() as server:
        monkeypatch.setenv("AIRFLOW_CONN_ONCALL_SYNC_MAIL", sink.connection(max_per_second=200))
        monkeypatch.setenv(
            "AIRFLOW_CONN_ONCALL_SYNC_INVITE_LINKS", link_connection(server.base_url)
        )
        yield server


def mail_links(store: Engine, sink: MailSink, **options: object) -> dict[str, str]:
    run_invite(
        store, source_system=SYSTEM, source_account=ACCOUNT, options=InviteOptions(**options)
    )
    found = {}
    for mail in sink.received:
        url = re.search(r"(http://\S+/accept\?t=\S+)", mail.body("plain"))
        assert url, mail.body("plain")
        found[mail.recipients[0]] = url.group(1)
    return found


def token_of(url: str) -> str:
    return url.split("?t=", 1)[1]


def status_of(store: Engine, email: str) -> tuple[str, str | None]:
    with store.connect() as conn:
        person = conn.execute(
            select(schema.person.c.invite_status).where(schema.person.c.email_norm == email)
        ).scalar_one()
    return invitation_rows(store)[email].status, person


def test_the_link_confirms_on_get_and_accepts_on_post_once(
    store: Engine, sink: MailSink, served: Server
) -> None:
    load_invited(store, 2)
    url = mail_links(store, sink)["person1@example.com"]
    assert url.startswith(f"{served.base_url}/oncall-sync-invitations/accept?t=")

    with httpx.Client(timeout=10) as http:
        # A mail scanner fetching the link, twice: a page, and nothing changes.
        for _ in range(2):
            page = http.get(url)
            assert page.status_code == 200
            assert "Accept the invitation" in page.text and 'method="post"' in page.text
            assert status_of(store, "person1@example.com") == ("sent", "pending")
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

        accepted = http.post(served.base_url + served.prefix + "/accept", data={"t": token_of(url)})
        assert accepted.status_code == 200 and "Welcome aboard" in accepted.text
        assert status_of(store, "person1@example.com") == ("accepted", "accepted")
        assert invitation_rows(store)["person1@example.com"].accepted_at is not None

        # The link is used up: a second POST (or GET) says so and changes nothing.
        again = http.post(served.base_url + served.prefix + "/accept", data={"t": token_of(url)})
        assert again.status_code == 409 and "Already accepted" in again.text
        assert http.get(url).status_code == 409
    # The other person is untouched.
    assert status_of(store, "person0@example.com") == ("sent", "pending")


def test_a_tampered_link_is_refused_and_changes_nothing(
    store: Engine, sink: MailSink, served: Server
) -> None:
    load_invited(store, 2)
    links = mail_links(store, sink)
    token = token_of(links["person0@example.com"])
    other = token_of(links["person1@example.com"])
    invitation_id, nonce, expiry, signature = token.split(".")
    tampered = [
        f"{invitation_id}.{nonce}.{int(expiry) + 86400}.{signature}",  # a later expiry
        f"{other.split('.')[0]}.{nonce}.{expiry}.{signature}",  # someone else's invitation
        f"{invitation_id}.{nonce}.{expiry}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        "1.2.3.4",
        "",
    ]
    endpoint = served.base_url + served.prefix + "/accept"
    with httpx.Client(timeout=10) as http:
        for bad in tampered:
            assert http.get(endpoint, params={"t": bad}).status_code == 400
            answer = http.post(endpoint, data={"t": bad})
            assert answer.status_code == 400 and "not valid" in answer.text
    assert {row.status for row in invitation_rows(store).values()} == {"sent"}


def test_an_expired_link_is_refused(store: Engine, sink: MailSink, served: Server) -> None:
    load_invited(store, 1)
    url = mail_links(store, sink)["person0@example.com"]
    # The link's expiry is signed into it: move the store's clock past it by rewinding the link's
    # invitation instead, and check the page answers "expired" from the token alone as well.
    from oncall_sync.invitations import links as signing
    from tests.integration.invitations.conftest import LINK_KEY

    row = invitation_rows(store)["person0@example.com"]
    past = signing.sign(
        LINK_KEY.encode(),
        signing.LinkToken(row.id, row.link_nonce, datetime.now(UTC) - timedelta(minutes=1)),
    )
    endpoint = served.base_url + served.prefix + "/accept"
    with httpx.Client(timeout=10) as http:
        for answer in (
            http.get(endpoint, params={"t": past}),
            http.post(endpoint, data={"t": past}),
        ):
            assert answer.status_code == 410 and "expired" in answer.text
        assert status_of(store, "person0@example.com") == ("sent", "pending")
        # Once the invite task expired it, the mailed link is refused too.
        run_invite(
            store,
            source_system=SYSTEM,
            source_account=ACCOUNT,
            options=InviteOptions(),
            now=lambda: datetime.now(UTC) + timedelta(days=15),
        )
        assert http.post(endpoint, data={"t": token_of(url)}).status_code == 410
    assert status_of(store, "person0@example.com") == ("expired", "expired")


def test_a_cross_site_post_is_refused(store: Engine, sink: MailSink, served: Server) -> None:
    load_invited(store, 1)
    token = token_of(mail_links(store, sink)["person0@example.com"])
    endpoint = served.base_url + served.prefix + "/accept"
    with httpx.Client(timeout=10) as http:
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            answer = http.post(endpoint, data={"t": token}, headers=headers)
            assert answer.status_code == 403
        assert status_of(store, "person0@example.com") == ("sent", "pending")
        same_site = http.post(endpoint, data={"t": token}, headers={"Origin": served.base_url})
        assert same_site.status_code == 200
    assert status_of(store, "person0@example.com") == ("accepted", "accepted")


def test_without_the_link_connection_the_page_says_invitations_are_unavailable(
    store: Engine, sink: MailSink, served: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_invited(store, 1)
    token = token_of(mail_links(store, sink)["person0@example.com"])
    monkeypatch.delenv("AIRFLOW_CONN_ONCALL_SYNC_INVITE_LINKS")
    endpoint = served.base_url + served.prefix + "/accept"
    with httpx.Client(timeout=10) as http:
        answer = http.post(endpoint, data={"t": token})
    assert answer.status_code == 503 and "not available" in answer.text
    assert status_of(store, "person0@example.com") == ("sent", "pending")

"""A local mail sink: a real SMTP server (aiosmtpd) on 127.0.0.1 and a free port, in its own
thread, that keeps every mail it accepts. `make demo MAIL=1` sends the invitations to it, and
the tests read what arrived.

Hooks let a test act at an exact point of the SMTP conversation: `on_rcpt` may refuse an
address (return a reply such as "550 5.1.1 no such user"); `on_data` runs when the end-of-data
dot has arrived, after the mail is kept and before the 250 goes back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    """One mail as the server accepted it."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return "" if part is None else str(part.get_content())  # type: ignore[attr-defined]


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.sink.on_rcpt is not None and (reply := self.sink.on_rcpt(address)):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        received = Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), raw)
        self.sink.keep(received)
        if self.sink.on_data is not None:
            self.sink.on_data(received)
        return "250 Message accepted for delivery"


class MailSink:
    """Start with `with MailSink() as sink:`; `sink.port`, `sink.received`, `sink.connection()`."""

    def __init__(
        self,
        folder: Path | None = None,
        on_rcpt: Callable[[str], str | None] | None = None,
        on_data: Callable[[Received], None] | None = None,
    ) -> None:
        self.folder, self.on_rcpt, self.on_data = folder, on_rcpt, on_data
        self.received: list[Received] = []
        self.port = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def keep(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / f"{len(self.received):05d}.eml").write_bytes(received.raw)

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if address in r.recipients]

    def __enter__(self) -> MailSink:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
        self._thread.start()

        async def serve() -> asyncio.Server:
            return await self._loop.create_server(
                lambda: SMTP(_Handler(self), hostname="oncall-sync-sink"), "127.0.0.1", 0
            )

        self._server = asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def connection(self, from_email: str = "invitations@oncall-sync.test", **extra: Any) -> str:
        """An Airflow connection (JSON, for AIRFLOW_CONN_<ID>) of type smtp pointing here."""
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "extra": {
                    "from_email": from_email,
                    "disable_ssl": True,
                    "disable_tls": True,
                    "timeout": 10,
                    **extra,
                },
            }
        )

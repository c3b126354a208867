"""Sending one invitation mail through Airflow's SMTP provider, in two stages around the
end-of-data dot, so that an interrupted send is known to be undelivered or possibly delivered.

Decisions:
- The provider's `SmtpHook` owns the connection: host, port, SSL or STARTTLS, login or OAuth2,
  connect retries, the `from_email` extra. Its `send_email_smtp` is not used for the send
  itself: it builds HTML-only messages (we send text and HTML) and retries a failed `sendmail`
  up to `retry_limit` times, which sends the same mail again when the server accepted it and
  only its answer was lost. We make exactly one attempt per claim.
- The send is smtplib's MAIL, RCPT and DATA; the message goes over without its final dot,
  then `before_dot` records the hand-over in the store, then the dot is sent and the answer
  read. A send cut before the dot is dropped by the server (RFC 5321 section 3.8); after it,
  the outcome is only known from the answer.
"""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook

_LEADING_DOT = re.compile(rb"(?m)^\.")


class Refused(Exception):
    """The server said no before taking the mail; `permanent` for a 5xx answer."""

    def __init__(self, code: int, text: str, stage: str) -> None:
        self.code, self.text, self.stage = code, text, stage
        super().__init__(f"{stage} refused with {code}: {text}")

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600


class OutcomeUnknown(Exception):
    """The mail was handed over (dot sent) and no answer came back."""


class NotHandedOver(Exception):
    """The connection failed before the dot: the server has not got the mail."""


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


class InvitationMailer(SmtpHook):
    """The SMTP provider's hook, plus a send of one prepared message with a hand-over point."""

    @property
    def client(self) -> smtplib.SMTP:
        if self._smtp_client is None:
            raise RuntimeError("open the mailer with `with InvitationMailer(conn_id) as mailer:`")
        client: Any = self._smtp_client
        return client  # get_conn builds smtplib.SMTP / SMTP_SSL; the async client is not used

    @property
    def sender(self) -> str:
        sender = self.from_email
        if not sender:
            raise smtplib.SMTPSenderRefused(
                0, b"no from_email", f"set extra.from_email on connection {self.smtp_conn_id!r}"
            )
        return sender

    def send_invitation(
        self, message: EmailMessage, recipient: str, before_dot: Callable[[], None]
    ) -> None:
        """Send `message` to `recipient`; `before_dot` runs after the content and before the
        dot. Raises Refused (the server said no), NotHandedOver (cut before the dot) or
        OutcomeUnknown (cut after it)."""
        client = self.client
        try:
            client.ehlo_or_helo_if_needed()
            if client.sock is not None:  # the content and the dot go as two writes: no Nagle wait
                client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code, reply = client.mail(self.sender)
            if code != 250:
                client.rset()
                raise smtplib.SMTPSenderRefused(code, reply, self.sender)
            code, reply = client.rcpt(recipient)
            if code not in (250, 251):
                client.rset()
                raise Refused(code, _text(reply), "RCPT")
            client.putcmd("data")
            code, reply = client.getreply()
            if code != 354:
                client.rset()
                raise Refused(code, _text(reply), "DATA")
            body = _LEADING_DOT.sub(b"..", message.as_bytes(policy=SMTP_POLICY))
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            client.send(body)
        except smtplib.SMTPSenderRefused:
            raise  # the sender address is wrong: no mail can go, the task stops
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            raise NotHandedOver(f"{type(error).__name__}: {error}") from error
        before_dot()
        try:
            client.send(b".\r\n")
            code, reply = client.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as error:  # timeouts too
            raise OutcomeUnknown(f"{type(error).__name__}: {error}") from error
        if code != 250:
            raise Refused(code, _text(reply), "end of data")

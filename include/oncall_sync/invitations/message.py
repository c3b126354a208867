"""The invitation mail: plain text and HTML from templates (the HTML autoescaped, so a name like
`<b>Bold</b>` shows as text), headers that cannot be injected, and a deterministic Message-ID.

Decisions:
- The Message-ID is derived from the invitation and the mail's number (1: the first mail, 2: the
  first reminder, ...), so a mail sent again after an interrupted attempt carries the same id as
  the one that may have gone out, and mail systems that deduplicate by Message-ID see one mail.
- Text parts are quoted-printable: the message is 7-bit clean whatever the names hold, so no
  server needs 8BITMIME, and SMTP dot-stuffing is all the transport has to do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from jinja2 import Environment, PackageLoader, select_autoescape

from oncall_sync.store.invitations import Recipient

SOURCE_NAMES = {"opsgenie": "OpsGenie", "pagerduty": "PagerDuty"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class MailContext:
    """Everything a mail says besides the person: the account, the link, who sends it."""

    source_system: str
    source_account: str
    from_email: str
    link: str
    expires_at: datetime
    reminder: bool
    contact: str | None = None  # fallback "who to ask" when the person's teams have no admin


def _one_line(value: str) -> str:
    """Header text from source data: control characters (CR, LF) become spaces."""
    return _CONTROL.sub(" ", value).strip()


def message_id(invitation_id: int, mail_number: int, email: str, from_email: str) -> str:
    seed = f"{invitation_id}|{mail_number}|{email}".encode()
    digest = hashlib.sha256(seed).hexdigest()[:20]
    domain = from_email.rpartition("@")[2] or "oncall-sync.invalid"
    return f"<invitation.{invitation_id}.{mail_number}.{digest}@{domain}>"


def subject_of(context: MailContext) -> str:
    source = SOURCE_NAMES.get(context.source_system, context.source_system)
    prefix = "Reminder: " if context.reminder else ""
    return _one_line(
        f"{prefix}You are invited to on-call ({source} account {context.source_account})"
    )


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("oncall_sync.invitations", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def build_message(
    *, email: str, recipient: Recipient, context: MailContext, message_id: str
) -> EmailMessage:
    """One invitation mail, ready for SMTP: multipart/alternative, text first, then HTML."""
    env = _environment()
    subject = subject_of(context)
    values = {
        "r": recipient,
        "name": _one_line(recipient.display_name),
        "email": email,
        "subject": subject,
        "reminder": context.reminder,
        "account": context.source_account,
        "source_name": SOURCE_NAMES.get(context.source_system, context.source_system),
        "link": context.link,
        "expires": context.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        "contact": context.contact,
    }
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(addr_spec=context.from_email)
    message["To"] = Address(display_name=_one_line(recipient.display_name), addr_spec=email)
    if context.contact and "@" in context.contact:
        message["Reply-To"] = _one_line(context.contact)
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(env.get_template("invitation.txt").render(values), cte="quoted-printable")
    message.add_alternative(
        env.get_template("invitation.html").render(values), subtype="html", cte="quoted-printable"
    )
    return message

"""Accept links: signed, expiring, single-use tokens, and the Airflow Connection that holds their
signing key and the public address of the accept page.

Decisions:
- A token is `<invitation id>.<nonce>.<expiry>.<HMAC-SHA256>`: URL-safe as it stands, checked in
  constant time. The key is the password of connection `oncall_sync_invite_links`, never code,
  staging or the store; the store keeps only the nonce, from which no link can be made without
  the key. Single use comes from the store: accepting clears the nonce.
- The same link goes out in a reminder (rebuilt from the stored nonce), so an older mail of the
  same invitation keeps working until the invitation expires.
- Rotating the key (a new password) invalidates every link out there: people then need a
  resend (docs/operating.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

LINK_CONNECTION_ID = "oncall_sync_invite_links"
ACCEPT_PREFIX = "/oncall-sync-invitations"  # where the plugin mounts the accept app
ACCEPT_PATH = "/accept"
MIN_KEY_LENGTH = 32
_DOMAIN = b"oncall-sync invitation accept link v1\x00"
_TOKEN = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{16,64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")


class LinkSetupError(RuntimeError):
    """The link connection is missing or unusable; the message says what to set."""


class BadToken(ValueError):
    """Not a link we made: malformed, or its signature does not match."""


class ExpiredToken(ValueError):
    """A link we made, past its expiry."""


@dataclass(frozen=True)
class LinkSettings:
    """The signing key and the public base URL of the Airflow UI that serves the accept page."""

    key: bytes
    base_url: str

    def __repr__(self) -> str:  # the key must never reach a log through a repr
        return f"LinkSettings(base_url={self.base_url!r}, key=***)"


@dataclass(frozen=True)
class LinkToken:
    invitation_id: int
    nonce: str
    expires_at: datetime


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _signature(key: bytes, body: str) -> str:
    digest = hmac.new(key, _DOMAIN + body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, token: LinkToken) -> str:
    body = f"{token.invitation_id}.{token.nonce}.{int(token.expires_at.timestamp())}"
    return f"{body}.{_signature(key, body)}"


def verify(key: bytes, raw: str, now: datetime) -> LinkToken:
    """The token's content if we signed it and it has not expired; BadToken or ExpiredToken."""
    match = _TOKEN.match(raw or "")
    if match is None:
        raise BadToken("this is not an invitation link")
    invitation_id, nonce, expiry, signature = match.groups()
    body = f"{invitation_id}.{nonce}.{expiry}"
    if not hmac.compare_digest(signature, _signature(key, body)):
        raise BadToken("this invitation link was changed or is not ours")
    token = LinkToken(int(invitation_id), nonce, datetime.fromtimestamp(int(expiry), tz=UTC))
    if token.expires_at <= now:
        raise ExpiredToken("this invitation link has expired")
    return token


def accept_url(settings: LinkSettings, token: str) -> str:
    return f"{settings.base_url}{ACCEPT_PREFIX}{ACCEPT_PATH}?t={quote(token, safe='')}"


def settings_from_connection(conn: object) -> LinkSettings:
    """Read key (password) and public URL (host, optionally with schema and port)."""
    password = getattr(conn, "password", None) or ""
    host = (getattr(conn, "host", None) or "").strip().rstrip("/")
    if len(password) < MIN_KEY_LENGTH:
        raise LinkSetupError(
            f"the password of connection {LINK_CONNECTION_ID!r} signs the accept links and must "
            f"be at least {MIN_KEY_LENGTH} random characters (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
    if not host:
        raise LinkSetupError(
            f"set host of connection {LINK_CONNECTION_ID!r} to the public address of the Airflow "
            "UI (e.g. https://airflow.example.com): the accept links point there"
        )
    if "://" not in host:
        schema = getattr(conn, "schema", None) or "https"
        port = getattr(conn, "port", None)
        host = f"{schema}://{host}{f':{port}' if port else ''}"
    return LinkSettings(key=password.encode(), base_url=host)


def load_link_settings() -> LinkSettings:
    """The link settings from Airflow (task, API server or any process with the env var)."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(LINK_CONNECTION_ID)
    except Exception as error:
        if "isn't defined" in str(error) or type(error).__name__.endswith("NotFoundException"):
            raise LinkSetupError(
                f"no Airflow connection {LINK_CONNECTION_ID!r}: it holds the key that signs the "
                "accept links (password) and the UI's public address (host); see "
                "docs/operating.md, 'Turning invitations on'"
            ) from None
        raise LinkSetupError(
            f"could not read connection {LINK_CONNECTION_ID!r}: {type(error).__name__}"
        ) from None
    return settings_from_connection(conn)

"""Accept links: what is signed verifies, anything changed or late does not, and the key is only
ever taken from a connection that holds a real one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from oncall_sync.invitations import links

KEY = b"k" * 48
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def token(**changes: object) -> links.LinkToken:
    values: dict = {"invitation_id": 42, "nonce": "n" * 22, "expires_at": NOW + timedelta(days=1)}
    return links.LinkToken(**(values | changes))


def test_a_signed_link_verifies_to_what_was_signed() -> None:
    raw = links.sign(KEY, token())
    parsed = links.verify(KEY, raw, NOW)
    assert (parsed.invitation_id, parsed.nonce) == (42, "n" * 22)
    assert parsed.expires_at == NOW + timedelta(days=1)


def test_another_key_or_a_changed_part_is_refused() -> None:
    raw = links.sign(KEY, token())
    with pytest.raises(links.BadToken):
        links.verify(b"x" * 48, raw, NOW)
    invitation_id, nonce, expiry, signature = raw.split(".")
    for changed in (f"43.{nonce}.{expiry}.{signature}", f"{invitation_id}.{nonce}.{expiry}.x"):
        with pytest.raises(links.BadToken):
            links.verify(KEY, changed, NOW)


def test_a_link_past_its_expiry_is_refused_as_expired() -> None:
    raw = links.sign(KEY, token(expires_at=NOW))
    with pytest.raises(links.ExpiredToken):
        links.verify(KEY, raw, NOW)


def test_the_key_must_be_long_and_the_public_address_set() -> None:
    with pytest.raises(links.LinkSetupError, match="at least 32"):
        links.settings_from_connection(SimpleNamespace(password="short", host="a.example"))
    with pytest.raises(links.LinkSetupError, match="public address"):
        links.settings_from_connection(SimpleNamespace(password="p" * 40, host=""))
    settings = links.settings_from_connection(
        SimpleNamespace(password="p" * 40, host="airflow.example.com", schema=None, port=8443)
    )
    assert settings.base_url == "https://airflow.example.com:8443"
    assert "p" * 40 not in repr(settings)
    assert links.accept_url(settings, "1.a.2.b").endswith(
        "/oncall-sync-invitations/accept?t=1.a.2.b"
    )

"""Errors the OpsGenie client raises, each worded for the person who has to act on it.

No message ever contains the API key: messages are built from the endpoint template, the status
and the server's `message`, and `redact` is applied to anything the server echoes back.
"""

from __future__ import annotations

CONNECTION_ID = "opsgenie_default"


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of `secret` in `text` (belt and braces for echoed bodies)."""
    if secret and secret in text:
        return text.replace(secret, "***")
    return text


class OpsGenieError(Exception):
    """Base of every error the connector raises; carries the endpoint template and status."""

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class AuthenticationError(OpsGenieError):
    """401: the key was rejected (unknown, disabled, or belongs to the other region)."""


class KeyFormatError(OpsGenieError):
    """422 "Key format is not valid!": the password field does not hold an API key."""


class OutOfReachError(OpsGenieError):
    """403 code 40301: the key (a team-scoped key, or a non-API integration) may not see this."""


class NotInPlanError(OpsGenieError):
    """402: the account's plan does not include this API."""


class NotFoundError(OpsGenieError):
    """404: the entity vanished between the list and the GET, or the handler does not exist."""


class RetryBudgetExhausted(OpsGenieError):
    """The request kept failing transiently (429, 5xx, timeouts) past the attempt budget."""


class UnsafeRedirectError(OpsGenieError):
    """The server redirected to another host; we never send the key elsewhere."""


class PagingError(OpsGenieError):
    """A paged list could not be read consistently (loop, foreign host, shifting pages)."""


class RequestError(OpsGenieError):
    """Any other non-success answer (400, 405, 409, ...)."""


def authentication_message(endpoint: str, region: str, custom_host: bool) -> str:
    other = "us" if region == "eu" else "eu"
    hint = (
        f"check the API key in the password of connection {CONNECTION_ID} (an enabled API "
        f"integration key); OpsGenie keys are bound to one region: if this key belongs to the "
        f'{other.upper()} region set extra.region="{other}" on connection {CONNECTION_ID}'
    )
    if custom_host:
        hint += " and make sure the connection's host override reaches that region's API"
    return f"OpsGenie rejected the API key (401 on {endpoint}, region {region}): {hint}"


def out_of_reach_message(endpoint: str, server_message: str) -> str:
    return (
        f"The API key may not read {endpoint} (403, code 40301: {server_message}). A team-scoped "
        "key only reaches its own team's entities; use a global API integration key with read "
        "access to configurations to extract the whole account."
    )

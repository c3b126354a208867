"""The accept page an invitation's link opens: served by the project's Airflow UI plugin, with no
login (the signed link is the credential), and safe against link scanners, cross-site posts and
framing.

Decisions:
- GET only shows a confirmation page and changes nothing: mail scanners and previews fetch
  links. The POST of that page accepts, in one compare-and-set (store.invitations.accept).
- No session and no cookie exist here, so there is no ambient authority for a cross-site
  request to ride; the token in the form is the authority. Still, a POST whose Origin (or
  Sec-Fetch-Site) says another site is refused, the page cannot be framed (clickjacking),
  and no page is cached or leaks its URL in a Referer.
- Answers are pages for people, with the status code saying the same: 400 a link that is not
  ours, 409 one already used, 410 one expired or withdrawn, 503 invitations not set up.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine

from oncall_sync.invitations import links
from oncall_sync.store import invitations as lifecycle

log = logging.getLogger(__name__)

URL_PREFIX = links.ACCEPT_PREFIX
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
STATUS = {
    lifecycle.Answer.ACCEPTED: 200,
    lifecycle.Answer.ALREADY_ACCEPTED: 409,
    lifecycle.Answer.EXPIRED: 410,
    lifecycle.Answer.REVOKED: 410,
    lifecycle.Answer.FAILED: 410,
    lifecycle.Answer.NOT_VALID: 400,
}


@functools.lru_cache(maxsize=1)
def _page() -> Any:
    env = Environment(
        loader=PackageLoader("oncall_sync.invitations", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("accept.html")


def _respond(state: str, status: int, **values: Any) -> HTMLResponse:
    html = _page().render(state=state, **values)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _store_engine() -> Engine:
    """The store the sync writes, with the one engine per URL the pipeline keeps."""
    from oncall_sync import pipeline

    engine: Engine = pipeline._store_engine()
    return engine


def _cross_site(request: Request) -> bool:
    """A browser says the form came from another site (Origin, or Sec-Fetch-Site)."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()


def create_accept_app(
    engine: Callable[[], Engine] = _store_engine,
    settings: Callable[[], links.LinkSettings] = links.load_link_settings,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    """The accept app; store and link settings are looked up per request (they may change)."""
    app = FastAPI(title="oncall-sync invitations", docs_url=None, redoc_url=None, openapi_url=None)

    def check(raw: str) -> tuple[HTMLResponse | None, links.LinkToken | None, Engine | None]:
        try:
            key = settings().key
            store = engine()
        except Exception as error:  # not set up: say so, and never show why in detail
            log.warning("invitation accept page unavailable: %s", type(error).__name__)
            return _respond("unavailable", 503), None, None
        try:
            token = links.verify(key, raw, clock())
        except links.ExpiredToken:
            return _respond(lifecycle.Answer.EXPIRED.value, 410), None, None
        except links.BadToken:
            return _respond(lifecycle.Answer.NOT_VALID.value, 400), None, None
        return None, token, store

    @app.get(links.ACCEPT_PATH, response_class=HTMLResponse)
    def confirm(t: str = "") -> HTMLResponse:
        refusal, token, store = check(t)
        if refusal is not None or token is None or store is None:
            return refusal or _respond("unavailable", 503)
        with store.connect() as conn:
            state = lifecycle.link_state(conn, token.invitation_id, token.nonce, clock())
        if state.answer is not None:
            return _respond(state.answer.value, STATUS[state.answer], about=state)
        return _respond("confirm", 200, about=state, token=t)

    @app.post(links.ACCEPT_PATH, response_class=HTMLResponse)
    async def accept(request: Request) -> HTMLResponse:
        if _cross_site(request):
            return _respond("cross_site", 403)
        form = parse_qs((await request.body()).decode(errors="replace"))
        raw = (form.get("t") or [""])[0]
        refusal, token, store = check(raw)
        if refusal is not None or token is None or store is None:
            return refusal or _respond("unavailable", 503)
        state = lifecycle.accept(store, token.invitation_id, token.nonce, clock())
        answer = state.answer or lifecycle.Answer.NOT_VALID
        if answer is lifecycle.Answer.ACCEPTED:
            log.info("invitation %d accepted", token.invitation_id)
        return _respond(answer.value, STATUS[answer], about=state)

    return app

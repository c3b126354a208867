"""The invite task: after load, mail the invitations that are due, through Airflow's SMTP
provider, at a paced rate, in batches, and record every step in the store.

Decisions:
- Opt-in twice: nothing is mailed unless the mail connection named by `invite_mail_connection`
  exists and `invite_users` is not `none`. Without it the run says plainly how many invitations
  are recorded and not sent. `dry_run` sends nothing and lists who would be mailed.
- The task works from the store, not from this run's plan: what an earlier run recorded (while
  no mail connection was set, say) is sent by the first run that can, and what a killed run
  left is settled first (store.invitations.reconcile).
- A bad address degrades only itself: a 5xx refusal marks that invitation failed, a 4xx one
  leaves it pending for the next run. A mail server that cannot be reached fails the task with
  the store untouched beyond the steps already recorded; clearing invite carries on from there.
- Pace and batch size belong to the mail server, so they live in the mail connection's extra
  (`max_per_second`, default 5; `batch_size`, default 50: one SMTP session per batch).
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Engine

from oncall_sync.invitations import links
from oncall_sync.store import invitations as lifecycle

log = logging.getLogger(__name__)

DEFAULT_MAIL_CONNECTION = "oncall_sync_mail"
GIVE_UP_AFTER_CONNECTION_FAILURES = 3
LISTED = 20  # addresses named in the log; the staged result has them all


class MailServerUnavailable(RuntimeError):
    """The mail server could not be reached or refused the sender: nothing more can be sent."""


class InviteOptions(BaseModel):
    """The DAG params the invite task reads."""

    invite_users: str | list[str] = "unmatched"
    mail_connection: str | None = DEFAULT_MAIL_CONNECTION
    resend_after_days: int = Field(default=7, ge=0)
    valid_days: int = Field(default=14, ge=1)
    dry_run: bool = False

    @property
    def emails(self) -> list[str] | None:
        """Only these addresses may be mailed; None: every due invitation."""
        return self.invite_users if isinstance(self.invite_users, list) else None


class MailPace(BaseModel):
    """From the mail connection's extra: how fast and in what batches its server takes mail."""

    max_per_second: float = Field(default=5.0, gt=0)
    batch_size: int = Field(default=50, ge=1)
    contact: str | None = None  # who to ask, when a person's teams have no admin


class InviteSummary(BaseModel):
    """The invite task's XCom: counts and one sentence for the report."""

    status: Literal["sent", "not_sent", "off", "dry_run"]
    reason: str = ""
    mail_connection: str | None = None
    sent: int = 0  # first mails the server accepted in this run
    reminders: int = 0  # reminders the server accepted
    recovered: int = 0  # found interrupted before hand-over by an earlier run, mailed again
    unconfirmed: int = 0  # handed over, answer lost: counted as sent, never sent twice
    refused: int = 0  # refused for good (failed)
    deferred: int = 0  # refused for now; the next run tries again
    expired: int = 0
    revoked: int = 0
    not_sent: int = 0  # recorded and still not mailed after this run
    would_mail: int = 0  # dry run
    message: str = ""


@dataclass
class InviteResult:
    """The summary plus the lists the report and the operator read from staging."""

    summary: InviteSummary
    would_mail: list[dict[str, str]] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)

    def staged(self) -> dict[str, Any]:
        return {
            "would_mail": self.would_mail,
            "refused": self.refused,
            "unconfirmed": self.unconfirmed,
        }


class Pace:
    """At most `per_second` mails a second, evenly spaced."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock, self.next_at = 1.0 / per_second, clock, 0.0

    def wait(self) -> None:
        now = self.clock()
        if self.next_at > now:
            time.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def mail_connection_extra(conn_id: str | None) -> dict[str, Any] | None:
    """The mail connection's extra, or None when there is no such connection."""
    if not conn_id:
        return None
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as error:
        if "isn't defined" in str(error) or type(error).__name__.endswith("NotFoundException"):
            return None
        raise
    return dict(conn.extra_dejson)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_invite(
    engine: Engine,
    *,
    source_system: str,
    source_account: str,
    options: InviteOptions,
    planned: Sequence[str] = (),
    now: Callable[[], datetime] = _utcnow,
    link_settings: Callable[[], links.LinkSettings] = links.load_link_settings,
    mailer_factory: Callable[[str], Any] | None = None,
) -> InviteResult:
    """Settle, then mail what is due. `planned`: this run's new invitations (for a dry run,
    which finds them in no store)."""
    extra = mail_connection_extra(options.mail_connection)
    if options.dry_run:
        return _dry_run(engine, source_system, source_account, options, planned, extra, now())
    with lifecycle.sender_lock(engine):
        settled = lifecycle.reconcile(engine, source_system, source_account, now())
        if settled.recovered or settled.unconfirmed:
            log.warning(
                "an earlier invite task stopped mid-send: %d invitations were cut before the "
                "mail server had them and are sent again; %d were handed over with no answer "
                "read and count as sent (never sent twice)",
                settled.recovered,
                settled.unconfirmed,
            )
        base = {
            "mail_connection": options.mail_connection if extra is not None else None,
            "expired": settled.expired,
            "revoked": settled.revoked,
            "unconfirmed": settled.unconfirmed,
        }
        if options.invite_users == "none" or extra is None:
            reason = "invite_users is none" if extra is not None else "no mail connection"
            with engine.connect() as conn:
                left = lifecycle.count_open_unsent(conn, source_system, source_account)
            summary = InviteSummary(status="off", reason=reason, not_sent=left, **base)
            summary.message = f"{left} invitations recorded, not sent: {reason}"
            log.info("%s", summary.message)
            return InviteResult(summary)
        sender = _Sender(
            engine,
            source_system,
            source_account,
            options,
            MailPace.model_validate(extra),
            link_settings(),
            now,
            mailer_factory or _provider_mailer,
        )
        result = sender.run(recovered=settled.recovered)
        result.summary = result.summary.model_copy(
            update=base
            | {
                "unconfirmed": settled.unconfirmed + result.summary.unconfirmed,
            }
        )
        result.summary.message = _sentence(result.summary)
        log.info("%s", result.summary.message)
        return result


def _provider_mailer(conn_id: str) -> Any:
    from oncall_sync.invitations.mailer import InvitationMailer

    return InvitationMailer(smtp_conn_id=conn_id)


# The parts of the report's sentence, in order, for the counts that are not zero.
_SENTENCE_PARTS = (
    ("reminders", "{} reminders"),
    ("recovered", "{} of them after an interrupted attempt"),
    ("unconfirmed", "{} handed over with no answer (not sent twice)"),
    ("refused", "{} refused by the mail server"),
    ("deferred", "{} deferred to the next run"),
    ("not_sent", "{} still not sent"),
)


def _sentence(summary: InviteSummary) -> str:
    parts = [f"{summary.sent} invitations mailed"]
    parts += [text.format(n) for key, text in _SENTENCE_PARTS if (n := getattr(summary, key))]
    return ", ".join(parts) + f" (through connection {summary.mail_connection})"


def _dry_run(
    engine: Engine,
    source_system: str,
    source_account: str,
    options: InviteOptions,
    planned: Sequence[str],
    extra: dict[str, Any] | None,
    at: datetime,
) -> InviteResult:
    """Who would be mailed: this run's new invitations and what the store has due. No write."""
    would: dict[str, str] = {}
    if options.invite_users != "none":
        for email in planned:
            would.setdefault(email, "new invitation")
        resend = timedelta(days=options.resend_after_days) if options.resend_after_days else None
        with engine.connect() as conn:
            for item in lifecycle.due(
                conn, source_system, source_account, at, resend_after=resend, emails=options.emails
            ):
                would.setdefault(item.email, "reminder" if item.reminder else "pending")
    how = (
        f"through connection {options.mail_connection}"
        if extra is not None
        else "but no mail connection is set, so none would go"
    )
    summary = InviteSummary(
        status="dry_run",
        reason="dry_run",
        mail_connection=options.mail_connection if extra is not None else None,
        would_mail=len(would),
        message=f"dry run: {len(would)} people would be mailed an invitation {how}",
    )
    listed = sorted(would)
    log.info(
        "%s: %s%s", summary.message, ", ".join(listed[:LISTED]), " ..." * (len(listed) > LISTED)
    )
    return InviteResult(summary, would_mail=[{"email": e, "why": would[e]} for e in listed])


class _Sender:
    """One run's sending: batches of claims, each mail handed over and recorded."""

    def __init__(
        self,
        engine: Engine,
        source_system: str,
        source_account: str,
        options: InviteOptions,
        pace: MailPace,
        settings: links.LinkSettings,
        now: Callable[[], datetime],
        mailer_factory: Callable[[str], Any],
    ) -> None:
        self.engine, self.options, self.pace, self.settings = engine, options, pace, settings
        self.source_system, self.source_account = source_system, source_account
        self.now, self.mailer_factory = now, mailer_factory
        self.counts: dict[str, int] = dict.fromkeys(
            ("sent", "reminders", "unconfirmed", "refused", "deferred"), 0
        )
        self.refused: list[dict[str, str]] = []
        self.unconfirmed: list[str] = []

    def run(self, *, recovered: int) -> InviteResult:
        from oncall_sync.invitations.message import MailContext, build_message, message_id

        conn_id = self.options.mail_connection or ""
        resend = (
            timedelta(days=self.options.resend_after_days)
            if self.options.resend_after_days
            else None
        )
        with self.engine.connect() as conn:
            due = lifecycle.due(
                conn,
                self.source_system,
                self.source_account,
                self.now(),
                resend_after=resend,
                emails=self.options.emails,
            )
        log.info(
            "invitations due: %d (batches of %d, at most %.1f a second)",
            len(due),
            self.pace.batch_size,
            self.pace.max_per_second,
        )
        pace = Pace(self.pace.max_per_second)
        failures, done = 0, 0
        queue = list(due)
        while queue:
            batch, queue = queue[: self.pace.batch_size], queue[self.pace.batch_size :]
            try:
                mailer = self.mailer_factory(conn_id)
                mailer.__enter__()
            except Exception as error:
                failures += 1
                if failures >= GIVE_UP_AFTER_CONNECTION_FAILURES:
                    raise MailServerUnavailable(
                        f"could not reach the mail server of connection {conn_id!r} "
                        f"({type(error).__name__}: {error}); the store is loaded and "
                        f"{len(batch) + len(queue)} invitations stay pending: clear invite to "
                        "try again"
                    ) from None
                queue = batch + queue
                time.sleep(2.0 * failures)
                continue
            try:
                with self.engine.connect() as conn:
                    people = lifecycle.recipients(
                        conn, [i.person_id for i in batch if i.person_id is not None]
                    )
                try:
                    sender = mailer.sender
                except smtplib.SMTPSenderRefused as error:
                    raise MailServerUnavailable(str(error.sender)) from None
                for position, item in enumerate(batch):
                    pace.wait()
                    outcome = self._send_one(
                        mailer, item, people, sender, MailContext, build_message, message_id
                    )
                    done += 1
                    if outcome == "connection":
                        queue = batch[position + 1 :] + queue
                        failures += 1
                        break
                    failures = 0
            finally:
                _close_quietly(mailer)
            log.info(
                "invitations: %d of %d handled (%d mailed, %d reminders, %d refused, %d deferred)",
                done,
                len(due),
                self.counts["sent"],
                self.counts["reminders"],
                self.counts["refused"],
                self.counts["deferred"],
            )
            if failures >= GIVE_UP_AFTER_CONNECTION_FAILURES:
                raise MailServerUnavailable(
                    f"the mail server of connection {conn_id!r} keeps dropping the connection; "
                    f"{len(queue)} invitations stay pending: clear invite to try again"
                )
        with self.engine.connect() as conn:
            left = lifecycle.count_open_unsent(conn, self.source_system, self.source_account)
        summary = InviteSummary(status="sent", recovered=recovered, not_sent=left, **self.counts)
        return InviteResult(summary, refused=self.refused, unconfirmed=self.unconfirmed)

    def _send_one(
        self,
        mailer: Any,
        item: lifecycle.Due,
        people: dict[int, lifecycle.Recipient],
        sender: str,
        context_type: Any,
        build: Any,
        make_id: Any,
    ) -> str:
        """Claim, build, hand over, record. Returns the outcome's name."""
        from oncall_sync.invitations.mailer import NotHandedOver, OutcomeUnknown, Refused

        at = self.now()
        reminder = item.mails_sent > 0
        expires = (
            item.expires_at
            if reminder and item.expires_at is not None
            else at + timedelta(days=self.options.valid_days)
        )
        claim = lifecycle.Claim(
            id=item.id,
            link_nonce=item.link_nonce or links.new_nonce(),
            expires_at=expires,
            message_id=make_id(item.id, item.mails_sent + 1, item.email, sender),
        )
        if not lifecycle.claim(self.engine, item, now=at, claim=claim):
            log.info("invitation %d changed since it was found due: left alone", item.id)
            return "changed"
        token = links.sign(
            self.settings.key, links.LinkToken(item.id, claim.link_nonce, claim.expires_at)
        )
        recipient = people.get(item.person_id or -1) or lifecycle.Recipient(0, item.email)
        context = context_type(
            source_system=self.source_system,
            source_account=self.source_account,
            from_email=sender,
            link=links.accept_url(self.settings, token),
            expires_at=claim.expires_at,
            reminder=reminder,
            contact=self.pace.contact,
        )
        message = build(
            email=item.email, recipient=recipient, context=context, message_id=claim.message_id
        )
        try:
            mailer.send_invitation(
                message, item.email, lambda: lifecycle.hand_over(self.engine, item.id, self.now())
            )
        except Refused as refusal:
            status = lifecycle.record_refused(
                self.engine,
                item.id,
                str(refusal),
                permanent=refusal.permanent,
                attempts=item.attempts + 1,
            )
            key = "refused" if status == lifecycle.FAILED else "deferred"
            self.counts[key] += 1
            self.refused.append({"email": item.email, "error": str(refusal), "status": status})
            log.warning("invitation to %s %s: %s", item.email, key, refusal)
            return key
        except smtplib.SMTPSenderRefused as error:
            lifecycle.record_refused(
                self.engine, item.id, str(error), permanent=False, attempts=item.attempts
            )
            raise MailServerUnavailable(
                f"the mail server refused the sender {sender!r} ({error.smtp_code}): set "
                f"extra.from_email on connection {self.options.mail_connection!r} to an address "
                "it accepts; the invitations stay pending"
            ) from None
        except NotHandedOver as error:
            lifecycle.record_refused(
                self.engine, item.id, str(error), permanent=False, attempts=item.attempts + 1
            )
            self.counts["deferred"] += 1
            log.warning(
                "the mail server dropped the connection before taking %s: %s", item.email, error
            )
            return "connection"
        except OutcomeUnknown as error:
            lifecycle.record_unconfirmed(self.engine, item.id)
            self.counts["unconfirmed"] += 1
            self.unconfirmed.append(item.email)
            log.warning(
                "no answer after handing over the mail to %s (%s): counted as sent, "
                "never sent twice",
                item.email,
                error,
            )
            return "connection"
        if lifecycle.record_sent(self.engine, item.id, self.now()):
            self.counts["reminders" if reminder else "sent"] += 1
            return "sent"
        log.warning("invitation %d was closed while its mail went out", item.id)
        return "closed"


def _close_quietly(mailer: Any) -> None:
    try:
        mailer.__exit__(None, None, None)
    except Exception:  # a connection already gone has nothing left to close
        log.debug("closing the SMTP session failed", exc_info=True)


def planned_emails(invitations: Collection[Any]) -> list[str]:
    return [getattr(i, "email", None) or i["email"] for i in invitations]

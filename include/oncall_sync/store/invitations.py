"""The invitation lifecycle in the store: pending -> sending -> sent -> accepted | expired | revoked
(or failed, when the mail server refuses the address), one small transaction per step.

Decisions:
- Every step is a compare-and-set on (id, status[, attempts]): two hands on one invitation (a
  sender and the accept page, say) never both win, and a step that lost does nothing.
- One sender per store at a time (`sender_lock`): PostgreSQL's session advisory lock, or an OS
  file lock beside a SQLite file. Both die with the process, so a sender killed with SIGKILL
  leaves no lock behind, and whoever holds the lock knows every row in `sending` was left by a
  dead sender: that is what makes reconciling them safe.
- A mail is handed over in two stages (see invitations/mailer.py): `handed_over_at` is
  committed before the SMTP end-of-data dot is sent. A `sending` row without it was certainly
  not delivered (a server drops a transaction cut before the dot, RFC 5321 section 3.8) and is
  sent again; one with it may have been, and is never sent twice: it counts as sent, flagged
  `delivery_unconfirmed`, and the reminder covers it if nobody answers.
- A person is active when `person.invite_status` is NULL (matched, never invited) or
  `accepted`; the invitation's closing states are mirrored there for plain SQL.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update
from sqlalchemy.engine import make_url

from oncall_sync.store import schema as s

PENDING, SENDING, SENT = "pending", "sending", "sent"
ACCEPTED, EXPIRED, REVOKED, FAILED = "accepted", "expired", "revoked", "failed"
OPEN = (PENDING, SENDING, SENT)
MAX_ATTEMPTS = 5  # transient refusals after which an address is given up on (status failed)
SENDER_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"oncall_sync.invitations.sender").digest()[:8], "big", signed=True
)

inv = s.invitation


class SenderBusy(RuntimeError):
    """Another invite task holds the sender lock of this store."""


@contextlib.contextmanager
def sender_lock(engine: Engine, *, wait_seconds: float = 300.0) -> Iterator[None]:
    """Hold the store's invitation-sender lock for the block; released when the process dies."""
    deadline = time.monotonic() + wait_seconds
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            while not conn.execute(select(func.pg_try_advisory_lock(SENDER_LOCK_KEY))).scalar():
                conn.rollback()
                _wait_or_give_up(deadline)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(select(func.pg_advisory_unlock(SENDER_LOCK_KEY)))
                conn.commit()
        return
    database = make_url(engine.url).database
    if not database or database == ":memory:":
        raise SenderBusy("an in-memory SQLite store cannot be shared with a sender")
    with open(f"{database}.invite-sender.lock", "a") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                _wait_or_give_up(deadline)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _wait_or_give_up(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise SenderBusy(
            "another invite task is sending invitations from this store; it sends this run's "
            "too. Clear invite when it is done if anything is left."
        )
    time.sleep(0.5)


def _of_account(source_system: str, source_account: str) -> Any:
    return and_(inv.c.source_system == source_system, inv.c.source_account == source_account)


def _mirror_person(conn: Connection, ids: Sequence[int], status: str) -> None:
    """Keep person.invite_status in step with the invitation's closing state."""
    person_ids = [
        pid
        for (pid,) in conn.execute(select(inv.c.person_id).where(inv.c.id.in_(ids)))
        if pid is not None
    ]
    if person_ids:
        conn.execute(
            update(s.person).where(s.person.c.id.in_(person_ids)).values(invite_status=status)
        )


# --- reconciling at the start of a run ---------------------------------------------------------


@dataclass(frozen=True)
class Reconciled:
    """What the invite task found and settled before sending anything."""

    recovered: int = 0  # interrupted before hand-over: certainly not delivered, sent again
    unconfirmed: int = 0  # interrupted after hand-over: counted as sent, never sent twice
    expired: int = 0
    revoked: int = 0


def reconcile(engine: Engine, source_system: str, source_account: str, now: datetime) -> Reconciled:
    """Settle what earlier runs left: revoke invitations of people gone from the source, settle
    rows a dead sender left in `sending`, expire links past their date. Call it holding
    `sender_lock`, so that no live sender owns a `sending` row."""
    account = _of_account(source_system, source_account)
    with engine.begin() as conn:
        gone = select(s.person.c.id).where(s.person.c.source_deleted_at.is_not(None))
        revoked = _ids(
            conn, and_(account, inv.c.status.in_(OPEN), inv.c.person_id.in_(gone.scalar_subquery()))
        )
        _close(conn, revoked, REVOKED, revoked_at=now)
        in_flight = and_(account, inv.c.status == SENDING)
        unconfirmed = _ids(conn, and_(in_flight, inv.c.handed_over_at.is_not(None)))
        if unconfirmed:
            _settle_unconfirmed(conn, unconfirmed)
        recovered = _ids(conn, and_(in_flight, inv.c.handed_over_at.is_(None)))
        if recovered:
            conn.execute(
                update(inv)
                .where(inv.c.id.in_(recovered))
                .values(status=PENDING, sending_started_at=None)
            )
        expired = _ids(conn, and_(account, inv.c.status == SENT, inv.c.expires_at <= now))
        _close(conn, expired, EXPIRED, expired_at=now)
    return Reconciled(len(recovered), len(unconfirmed), len(expired), len(revoked))


def _close(conn: Connection, ids: Sequence[int], status: str, **stamp: datetime) -> None:
    """Close invitations unanswered: the link stops working, the person's status follows."""
    if ids:
        conn.execute(
            update(inv).where(inv.c.id.in_(ids)).values(status=status, link_nonce=None, **stamp)
        )
        _mirror_person(conn, ids, status)


def _ids(conn: Connection, where: Any) -> list[int]:
    return list(conn.execute(select(inv.c.id).where(where).order_by(inv.c.id)).scalars())


def _settle_unconfirmed(conn: Connection, ids: Sequence[int]) -> None:
    """Handed over, answer never read: counted as sent at the hand-over, flagged."""
    conn.execute(
        update(inv)
        .where(inv.c.id.in_(ids))
        .values(
            status=SENT,
            delivery_unconfirmed=True,
            mails_sent=inv.c.mails_sent + 1,
            sent_at=func.coalesce(inv.c.sent_at, inv.c.handed_over_at),
            last_sent_at=inv.c.handed_over_at,
            handed_over_at=None,
            sending_started_at=None,
        )
    )


# --- who is due -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """An invitation to mail now: its first mail, or a reminder."""

    id: int
    email: str
    person_id: int | None
    status: str
    attempts: int
    mails_sent: int
    link_nonce: str | None
    expires_at: datetime | None

    @property
    def reminder(self) -> bool:
        return self.mails_sent > 0


def due(
    conn: Connection,
    source_system: str,
    source_account: str,
    now: datetime,
    *,
    resend_after: timedelta | None,
    emails: Collection[str] | None = None,
) -> list[Due]:
    """Pending invitations, then sent ones unanswered for `resend_after` whose link still holds;
    only `emails` when given. People gone from the source are never due."""
    wanted: Any = inv.c.status == PENDING
    if resend_after:
        reminder = and_(
            inv.c.status == SENT,
            inv.c.last_sent_at <= now - resend_after,
            inv.c.expires_at > now,
        )
        wanted = or_(wanted, reminder)
    query = (
        select(
            inv.c.id,
            inv.c.email,
            inv.c.person_id,
            inv.c.status,
            inv.c.attempts,
            inv.c.mails_sent,
            inv.c.link_nonce,
            inv.c.expires_at,
        )
        .select_from(inv.outerjoin(s.person, s.person.c.id == inv.c.person_id))
        .where(_of_account(source_system, source_account), wanted)
        .where(s.person.c.source_deleted_at.is_(None))
        .order_by(inv.c.status != PENDING, inv.c.id)
    )
    rows = [Due(**row._mapping) for row in conn.execute(query)]
    if emails is not None:
        wanted_emails = {e.strip().lower() for e in emails}
        rows = [row for row in rows if row.email in wanted_emails]
    return rows


def count_open_unsent(conn: Connection, source_system: str, source_account: str) -> int:
    """Invitations recorded and never mailed."""
    query = select(func.count()).where(
        _of_account(source_system, source_account), inv.c.status == PENDING
    )
    return int(conn.execute(query).scalar_one())


# --- one mail's steps --------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A claimed invitation: the link parts and the Message-ID its mail carries."""

    id: int
    link_nonce: str
    expires_at: datetime
    message_id: str


def claim(engine: Engine, item: Due, *, now: datetime, claim: Claim) -> bool:
    """Mark one invitation `sending` (attempt counted) before anything goes to the mail server.
    False when something else changed it since it was read as due."""
    with engine.begin() as conn:
        result = conn.execute(
            update(inv)
            .where(
                inv.c.id == item.id, inv.c.status == item.status, inv.c.attempts == item.attempts
            )
            .values(
                status=SENDING,
                attempts=inv.c.attempts + 1,
                sending_started_at=now,
                handed_over_at=None,
                link_nonce=claim.link_nonce,
                expires_at=claim.expires_at,
                message_id=claim.message_id,
            )
        )
        return result.rowcount == 1


def hand_over(engine: Engine, invitation_id: int, now: datetime) -> None:
    """Committed just before the end-of-data dot: from here the outcome may be unknown."""
    with engine.begin() as conn:
        result = conn.execute(
            update(inv)
            .where(inv.c.id == invitation_id, inv.c.status == SENDING)
            .values(handed_over_at=now)
        )
        if result.rowcount != 1:
            raise RuntimeError(
                f"invitation {invitation_id} is no longer being sent: not handed over"
            )


def record_sent(engine: Engine, invitation_id: int, now: datetime) -> bool:
    """The server accepted the mail. False when the invitation was closed meanwhile."""
    with engine.begin() as conn:
        result = conn.execute(
            update(inv)
            .where(inv.c.id == invitation_id, inv.c.status == SENDING)
            .values(
                status=SENT,
                mails_sent=inv.c.mails_sent + 1,
                sent_at=func.coalesce(inv.c.sent_at, now),
                last_sent_at=now,
                handed_over_at=None,
                sending_started_at=None,
                delivery_unconfirmed=False,
                last_error=None,
            )
        )
        return result.rowcount == 1


def record_unconfirmed(engine: Engine, invitation_id: int) -> None:
    """Handed over and the answer lost (a timeout, a cut connection): never sent twice."""
    with engine.begin() as conn:
        ids = _ids(conn, and_(inv.c.id == invitation_id, inv.c.status == SENDING))
        if ids:
            _settle_unconfirmed(conn, ids)


def record_refused(
    engine: Engine, invitation_id: int, error: str, *, permanent: bool, attempts: int
) -> str:
    """The server refused it before accepting: failed for good, or pending for the next run."""
    status = FAILED if permanent or attempts >= MAX_ATTEMPTS else PENDING
    with engine.begin() as conn:
        conn.execute(
            update(inv)
            .where(inv.c.id == invitation_id, inv.c.status == SENDING)
            .values(
                status=status,
                last_error=error[:2000],
                handed_over_at=None,
                sending_started_at=None,
            )
        )
    return status


# --- what a mail says ----------------------------------------------------------------------------


@dataclass
class Recipient:
    """What the mail tells one person: who they are in the store, their teams and schedules,
    and whom to ask."""

    person_id: int
    display_name: str
    teams: list[str] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    contacts: list[tuple[str, str]] = field(default_factory=list)  # (name, email)


def recipients(conn: Connection, person_ids: Sequence[int]) -> dict[int, Recipient]:
    """Names, teams, schedules and the active admins of their teams, for a batch of people."""
    p, tm, t = s.person, s.team_member, s.team
    found = {
        row.id: Recipient(row.id, row.display_name)
        for row in conn.execute(
            select(p.c.id, p.c.display_name).where(p.c.id.in_(list(person_ids)))
        )
    }
    if not found:
        return found
    team_rows = conn.execute(
        select(tm.c.person_id, t.c.id, t.c.name)
        .join(t, t.c.id == tm.c.team_id)
        .where(tm.c.person_id.in_(list(found)), t.c.source_deleted_at.is_(None))
        .where(tm.c.source_deleted_at.is_(None))
        .order_by(t.c.name)
    ).all()
    teams_of: dict[int, set[int]] = {}
    for person_id, team_id, name in team_rows:
        found[person_id].teams.append(name)
        teams_of.setdefault(person_id, set()).add(team_id)
    r, m, sc = s.rotation, s.rotation_member, s.schedule
    for person_id, name in conn.execute(
        select(m.c.person_id, sc.c.name)
        .distinct()
        .join(r, r.c.id == m.c.rotation_id)
        .join(sc, sc.c.id == r.c.schedule_id)
        .where(m.c.person_id.in_(list(found)))
        .where(r.c.source_deleted_at.is_(None), sc.c.source_deleted_at.is_(None))
        .order_by(sc.c.name)
    ):
        found[person_id].schedules.append(name)
    all_teams = sorted({team for teams in teams_of.values() for team in teams})
    if all_teams:
        active = or_(p.c.invite_status.is_(None), p.c.invite_status == ACCEPTED)
        admins = conn.execute(
            select(tm.c.team_id, p.c.id, p.c.display_name, p.c.email_raw)
            .join(p, p.c.id == tm.c.person_id)
            .where(tm.c.team_id.in_(all_teams), tm.c.role == "admin", active)
            .where(p.c.source_deleted_at.is_(None), tm.c.source_deleted_at.is_(None))
            .order_by(p.c.display_name)
        ).all()
        for person_id, teams in teams_of.items():
            seen: set[int] = set()
            for team_id, admin_id, name, email in admins:
                if team_id in teams and admin_id != person_id and admin_id not in seen:
                    seen.add(admin_id)
                    found[person_id].contacts.append((name, (email or "").strip()))
    return found


# --- the accept link ---------------------------------------------------------------------------


class Answer(StrEnum):
    ACCEPTED = "accepted"
    ALREADY_ACCEPTED = "already_accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NOT_VALID = "not_valid"  # unknown invitation, or a link that is not its current one
    FAILED = "failed"


@dataclass(frozen=True)
class LinkState:
    """What the accept page may say about an invitation, read without changing anything."""

    answer: Answer | None  # None: the link is good and can be accepted
    email: str = ""
    display_name: str = ""
    source_system: str = ""
    source_account: str = ""


def link_state(conn: Connection, invitation_id: int, nonce: str, now: datetime) -> LinkState:
    """Can this link be accepted now? Read only: a GET of the page never changes anything."""
    row = conn.execute(
        select(
            inv.c.status,
            inv.c.link_nonce,
            inv.c.expires_at,
            inv.c.email,
            inv.c.source_system,
            inv.c.source_account,
            s.person.c.display_name,
            s.person.c.source_deleted_at,
        )
        .select_from(inv.outerjoin(s.person, s.person.c.id == inv.c.person_id))
        .where(inv.c.id == invitation_id)
    ).first()
    if row is None:
        return LinkState(Answer.NOT_VALID)
    about = {
        "email": row.email,
        "display_name": row.display_name or "",
        "source_system": row.source_system or "",
        "source_account": row.source_account or "",
    }
    closed = {
        ACCEPTED: Answer.ALREADY_ACCEPTED,
        EXPIRED: Answer.EXPIRED,
        REVOKED: Answer.REVOKED,
        FAILED: Answer.FAILED,
    }
    if row.status in closed:
        return LinkState(closed[row.status], **about)
    if row.source_deleted_at is not None:
        return LinkState(Answer.REVOKED, **about)
    if row.link_nonce is None or row.link_nonce != nonce:
        return LinkState(Answer.NOT_VALID, **about)
    if row.expires_at is not None and row.expires_at <= now:
        return LinkState(Answer.EXPIRED, **about)
    return LinkState(None, **about)


def accept(engine: Engine, invitation_id: int, nonce: str, now: datetime) -> LinkState:
    """Accept with one compare-and-set: the invitation accepted, the person active, the link used
    up. A second use of the link finds it accepted and changes nothing."""
    with engine.begin() as conn:
        state = link_state(conn, invitation_id, nonce, now)
        if state.answer is not None:
            return state
        result = conn.execute(
            update(inv)
            .where(
                inv.c.id == invitation_id,
                inv.c.status.in_(OPEN),
                inv.c.link_nonce == nonce,
            )
            .values(status=ACCEPTED, accepted_at=now, link_nonce=None)
        )
        if result.rowcount != 1:  # someone else answered in between
            return link_state(conn, invitation_id, nonce, now)
        _mirror_person(conn, [invitation_id], ACCEPTED)
    return LinkState(Answer.ACCEPTED, **{k: getattr(state, k) for k in _ABOUT})


_ABOUT = ("email", "display_name", "source_system", "source_account")

"""docs/store.md's invitation queries answer rightly on both engines (the store docs test runs
every query; this one checks what these two say after invitations were mailed and answered)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from oncall_sync.invitations.send import InviteOptions, run_invite
from oncall_sync.invitations.sink import MailSink
from oncall_sync.store import invitations as lifecycle
from tests.integration.invitations.conftest import ACCOUNT, SYSTEM, invitation_rows, load_invited
from tests.integration.store.test_store_docs import _doc_queries


def query(first_line: str) -> str:
    return next(q for q in _doc_queries() if q.startswith(first_line))


def test_the_unanswered_query_lists_open_invitations_only(
    store: Engine, mail_env: MailSink
) -> None:
    load_invited(store, 3)
    run_invite(
        store,
        source_system=SYSTEM,
        source_account=ACCOUNT,
        options=InviteOptions(invite_users=["person0@example.com", "person1@example.com"]),
    )
    row = invitation_rows(store)["person0@example.com"]
    answer = lifecycle.accept(store, row.id, row.link_nonce, datetime.now(UTC))
    assert answer.answer is lifecycle.Answer.ACCEPTED

    with store.connect() as conn:
        open_rows = conn.execute(text(query("-- Invitations not answered yet"))).all()
        per_status = conn.execute(text(query("-- Invitations per status and account"))).all()

    assert [(r.email, r.status, r.mails_sent) for r in open_rows] == [
        ("person1@example.com", "sent", 1),
        ("person2@example.com", "pending", 0),
    ]
    assert {(r.status, r.invitations, r.mails) for r in per_status} == {
        ("accepted", 1, 1),
        ("pending", 1, 0),
        ("sent", 1, 1),
    }

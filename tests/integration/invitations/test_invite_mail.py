"""The invite task mails what is due to a real SMTP server (a local sink) and records each step,
on SQLite and PostgreSQL: what arrives, who is left out, what a re-run does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from oncall_sync.invitations import links
from oncall_sync.invitations.send import InviteOptions, run_invite
from oncall_sync.invitations.sink import MailSink
from oncall_sync.store import schema
from tests.integration.invitations.conftest import (
    ACCOUNT,
    BOLD,
    LINK_KEY,
    SYSTEM,
    invitation_rows,
    load_invited,
)


def invite(engine: Engine, **options: object) -> dict:
    result = run_invite(
        engine, source_system=SYSTEM, source_account=ACCOUNT, options=InviteOptions(**options)
    )
    return result.summary.model_dump()


def link_of(text: str) -> str:
    found = re.search(r"https?://\S+/oncall-sync-invitations/accept\?t=(\S+)", text)
    assert found, text
    return found.group(1)


def test_each_invited_person_gets_one_mail_with_their_teams_schedules_contact_and_link(
    store: Engine, mail_env: MailSink
) -> None:
    emails = load_invited(store, 6)

    summary = invite(store)

    assert summary["status"] == "sent" and summary["sent"] == 6 and summary["not_sent"] == 0
    assert sorted(r for m in mail_env.received for r in m.recipients) == sorted(emails)
    mail = mail_env.to("person0@example.com")[0]
    message = mail.message
    assert message["Subject"] == f"You are invited to on-call (OpsGenie account {ACCOUNT})"
    assert message["From"] == "invitations@oncall-sync.test"
    assert message.get_content_type() == "multipart/alternative"
    text, html = mail.body("plain"), mail.body("html")
    for body in (text, html):
        assert ACCOUNT in body and "Ann Admin" in body and "Ann.Admin@example.com" in body
    assert "Your teams: SRE <ops>" in text and "Nights & Weekends" in text
    # Names from the source are text in the HTML, never markup.
    assert "&lt;b&gt;Bold&lt;/b&gt; Björk" in html and "<b>Bold</b>" not in html
    assert "SRE &lt;ops&gt;" in html and "Nights &amp; Weekends" in html
    assert f"Hello {BOLD}," in text
    # The same signed link in both parts, for this invitation.
    token = link_of(text)
    assert link_of(html.replace("&amp;", "&")).startswith(token[:10])
    rows = invitation_rows(store)
    parsed = links.verify(LINK_KEY.encode(), token, datetime.now(UTC))
    assert parsed.invitation_id == rows["person0@example.com"].id
    assert parsed.nonce == rows["person0@example.com"].link_nonce
    for email in emails:
        row = rows[email]
        assert (row.status, row.attempts, row.mails_sent) == ("sent", 1, 1)
        assert row.sent_at is not None and row.expires_at > row.sent_at + timedelta(days=13)
        assert row.message_id == mail_env.to(email)[0].message["Message-ID"]


def test_a_rerun_mails_nobody_twice(store: Engine, mail_env: MailSink) -> None:
    load_invited(store, 3)
    invite(store)
    again = invite(store)
    assert again["sent"] == 0 and again["reminders"] == 0
    assert len(mail_env.received) == 3


def test_without_a_mail_connection_nothing_is_sent_and_the_run_says_so(
    store: Engine, sink: MailSink
) -> None:
    load_invited(store, 4)
    summary = invite(store)
    assert summary["status"] == "off"
    assert summary["message"] == "4 invitations recorded, not sent: no mail connection"
    assert sink.received == []
    assert {row.status for row in invitation_rows(store).values()} == {"pending"}


def test_invite_users_none_sends_nothing_even_with_a_mail_connection(
    store: Engine, mail_env: MailSink
) -> None:
    load_invited(store, 2)
    summary = invite(store, invite_users="none")
    assert summary["message"] == "2 invitations recorded, not sent: invite_users is none"
    assert mail_env.received == []


def test_a_list_of_emails_mails_only_those(store: Engine, mail_env: MailSink) -> None:
    load_invited(store, 3)
    summary = invite(store, invite_users=["Person2@Example.com"])
    assert summary["sent"] == 1 and summary["not_sent"] == 2
    assert [m.recipients for m in mail_env.received] == [("person2@example.com",)]


def test_dry_run_lists_who_would_be_mailed_and_sends_and_writes_nothing(
    store: Engine, mail_env: MailSink
) -> None:
    load_invited(store, 2)
    before = invitation_rows(store)
    result = run_invite(
        store,
        source_system=SYSTEM,
        source_account=ACCOUNT,
        options=InviteOptions(dry_run=True),
        planned=["new.person@example.com"],
    )
    assert result.summary.would_mail == 3
    assert [w["email"] for w in result.would_mail] == [
        "new.person@example.com",
        "person0@example.com",
        "person1@example.com",
    ]
    assert mail_env.received == []
    assert invitation_rows(store) == before


def test_a_refused_address_fails_alone_and_a_busy_one_waits_for_the_next_run(
    store: Engine, mail_env: MailSink
) -> None:
    load_invited(store, 4)
    mail_env.on_rcpt = lambda address: {
        "person1@example.com": "550 5.1.1 no such user",
        "person2@example.com": "451 4.3.0 try again later",
    }.get(address)

    summary = invite(store)

    assert (summary["sent"], summary["refused"], summary["deferred"]) == (2, 1, 1)
    rows = invitation_rows(store)
    assert rows["person1@example.com"].status == "failed"
    assert "550" in rows["person1@example.com"].last_error
    assert rows["person2@example.com"].status == "pending"
    mail_env.on_rcpt = None
    later = invite(store)
    assert later["sent"] == 1
    assert len(mail_env.to("person2@example.com")) == 1
    assert mail_env.to("person1@example.com") == []


def test_an_unanswered_invitation_is_reminded_with_the_same_link_then_expires(
    store: Engine, mail_env: MailSink
) -> None:
    load_invited(store, 1)
    start = datetime.now(UTC)
    options = InviteOptions(resend_after_days=3, valid_days=5)

    def at(days: float) -> dict:
        moment = start + timedelta(days=days)
        result = run_invite(
            store,
            source_system=SYSTEM,
            source_account=ACCOUNT,
            options=options,
            now=lambda: moment,
        )
        return result.summary.model_dump()

    assert at(0)["sent"] == 1
    assert at(2)["reminders"] == 0
    assert at(3.5)["reminders"] == 1
    first, reminder = mail_env.received
    assert reminder.message["Subject"].startswith("Reminder: ")
    assert reminder.message["Message-ID"] != first.message["Message-ID"]
    assert link_of(reminder.body("plain")) == link_of(first.body("plain"))
    assert at(4.5)["reminders"] == 0  # the link ends at day 5: too late for another
    assert at(5.5)["expired"] == 1
    row = invitation_rows(store)["person0@example.com"]
    assert (row.status, row.mails_sent, row.link_nonce) == ("expired", 2, None)
    with store.connect() as conn:
        status = conn.execute(
            select(schema.person.c.invite_status).where(
                schema.person.c.email_norm == "person0@example.com"
            )
        ).scalar_one()
    assert status == "expired"


def test_a_person_gone_from_the_source_has_the_invitation_revoked_and_is_not_mailed(
    store: Engine, mail_env: MailSink
) -> None:
    load_invited(store, 2)
    with store.begin() as conn:
        conn.execute(
            update(schema.person)
            .where(schema.person.c.source_id == "u-1")
            .values(source_deleted_at=datetime.now(UTC))
        )
    summary = invite(store)
    assert summary["revoked"] == 1 and summary["sent"] == 1
    assert [m.recipients for m in mail_env.received] == [("person0@example.com",)]
    row = invitation_rows(store)["person1@example.com"]
    assert row.status == "revoked" and row.revoked_at is not None


@pytest.mark.parametrize("rate", [20.0])
def test_sending_is_paced_to_the_connections_rate(
    store: Engine, sink: MailSink, monkeypatch: pytest.MonkeyPatch, rate: float
) -> None:
    from tests.integration.invitations.conftest import link_connection

    monkeypatch.setenv(
        "AIRFLOW_CONN_ONCALL_SYNC_MAIL", sink.connection(max_per_second=rate, batch_size=3)
    )
    monkeypatch.setenv("AIRFLOW_CONN_ONCALL_SYNC_INVITE_LINKS", link_connection())
    load_invited(store, 7)
    import time

    started = time.monotonic()
    assert invite(store)["sent"] == 7
    # Seven mails evenly spaced at 20 a second cannot take less than six intervals.
    assert time.monotonic() - started >= 6 / rate

"""Invitations through Airflow (`airflow dags test`), on SQLite and PostgreSQL: recorded and not
sent without a mail connection, mailed by the next run once there is one, never twice; the
signing key never leaves its connection."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from oncall_sync.invitations.sink import MailSink
from oncall_sync.store import schema
from tests.dags.test_opsgenie_sync_e2e import (  # noqa: F401  (fixtures are found by name)
    Sync,
    airflow_ready,
    emulator,
)
from tests.integration.invitations.conftest import LINK_KEY, link_connection
from tests.store_fixtures import (  # noqa: F401
    postgres_server,
    postgres_store_url,
    store,
)

pytestmark = pytest.mark.slow


class MailingSync(Sync):
    """A Sync whose Airflow processes get extra environment (the mail connections)."""

    extra: dict[str, str]

    def env(self, emulator: Any | None = None) -> dict[str, str]:  # noqa: F811
        return super().env(emulator) | self.extra


def test_invitations_are_recorded_without_mail_then_mailed_once_through_airflow(
    store: Engine,  # noqa: F811
    tmp_path: Path,
    emulator: Any,  # noqa: F811
    airflow_ready: None,  # noqa: F811
) -> None:
    sync = MailingSync(store.url.render_as_string(hide_password=False), tmp_path / "st", emulator)
    sync.extra = {}
    first = sync.run()
    invited = first["summary"]["invitations"]
    assert invited > 0
    assert first["summary"]["invitations_mailed"] == 0
    assert first["summary"]["invitation_delivery"] == (
        f"{invited} invitations recorded, not sent: no mail connection"
    )

    with MailSink() as sink:
        sync.extra = {
            "AIRFLOW_CONN_ONCALL_SYNC_MAIL": sink.connection(max_per_second=100),
            "AIRFLOW_CONN_ONCALL_SYNC_INVITE_LINKS": link_connection("https://airflow.example"),
        }
        second = sync.run()
        third = sync.run()

    assert second["summary"]["invitations_mailed"] == invited
    assert second["tasks"]["invite"]["sent"] == invited
    assert third["summary"]["invitations_mailed"] == 0
    recipients = [r for mail in sink.received for r in mail.recipients]
    assert len(recipients) == invited == len(set(recipients)), "one mail per invitation"
    with store.connect() as conn:
        statuses = set(conn.execute(select(schema.invitation.c.status)).scalars())
    assert statuses == {"sent"}
    mailed_cards = [
        path.read_text()
        for path in Path(sync.staging).glob("opsgenie_sync/*/report/report.html")
        if f"<b>{invited}</b><span>invitations mailed</span>" in path.read_text()
    ]
    assert len(mailed_cards) == 1, "the second run's report.html counts the mails"

    # The key that signs the links is in no file the runs wrote: staging, logs, the store.
    needle = LINK_KEY.encode()
    logs = Path(os.environ["AIRFLOW_HOME"], "logs")
    for folder in (Path(sync.staging), logs):
        for path in folder.rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), path
    with store.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                assert LINK_KEY not in " ".join(str(v) for v in row), table.name
    assert all(LINK_KEY not in mail.raw.decode(errors="replace") for mail in sink.received)

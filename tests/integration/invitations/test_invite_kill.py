"""The invite task SIGKILLed mid-batch, in a real child process, at the two points that matter
and at an arbitrary one: the re-run mails nobody twice and loses nobody. On both engines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from oncall_sync.invitations.sink import MailSink
from oncall_sync.model import Plan
from oncall_sync.staging import Staging
from tests.conftest import PROJECT
from tests.integration.invitations.conftest import (
    ACCOUNT,
    SYSTEM,
    invitation_rows,
    link_connection,
    load_invited,
)

INVITED = 10
KILL_AT = 4  # the fourth mail of the batch


class Task:
    """Runs the invite task for one staged run in a child process, as Airflow's worker would."""

    def __init__(self, store: Engine, sink: MailSink, tmp_path: Path) -> None:
        self.root = tmp_path / "staging"
        self.run_id = "manual__kill"
        staging = Staging(str(self.root))
        plan = Plan(
            source_system=SYSTEM, source_account=ACCOUNT, run_id=f"opsgenie_sync/{self.run_id}"
        )
        staging.write_json(
            Staging.join(staging.run_path("opsgenie_sync", self.run_id), "plan", "plan.json"),
            plan.model_dump(mode="json"),
        )
        self.env = os.environ | {
            "ONCALL_SYNC_STORE_URL": store.url.render_as_string(hide_password=False),
            "AIRFLOW_CONN_ONCALL_SYNC_MAIL": sink.connection(max_per_second=50, batch_size=4),
            "AIRFLOW_CONN_ONCALL_SYNC_INVITE_LINKS": link_connection(),
            "PYTHONPATH": os.pathsep.join([str(PROJECT / "include"), str(PROJECT)]),
        }

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.invitations.invite_worker",
                str(self.root),
                self.run_id,
            ],
            env=self.env,
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self) -> dict[str, Any]:
        process = self.start()
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        return dict(json.loads(out.strip().splitlines()[-1]))


def killer(holder: dict[str, subprocess.Popen[str]], at: int) -> Any:
    """A sink hook that SIGKILLs the worker on its `at`-th call, then lets the sink go on."""
    calls = Counter[str]()

    def hook(_: object) -> None:
        calls["n"] += 1
        if calls["n"] == at:
            os.kill(holder["worker"].pid, signal.SIGKILL)
            holder["worker"].wait(timeout=30)

    return hook


def delivered(sink: MailSink) -> Counter[str]:
    return Counter(r for mail in sink.received for r in mail.recipients)


def rerun_mails_everyone_once(task: Task, sink: MailSink, emails: list[str]) -> dict[str, Any]:
    """Run the task again, unhindered; every invited person then has exactly one mail."""
    sink.on_rcpt = sink.on_data = None
    rerun = task.run()
    counts = delivered(sink)
    assert sorted(counts) == sorted(emails), "nobody lost"
    assert set(counts.values()) == {1}, "nobody mailed twice"
    return rerun


def test_killed_before_the_mail_was_handed_over_the_rerun_sends_it_once(
    store: Engine, sink: MailSink, tmp_path: Path
) -> None:
    emails = load_invited(store, INVITED)
    task = Task(store, sink, tmp_path)
    holder: dict[str, subprocess.Popen[str]] = {}
    # The worker dies waiting for the answer to RCPT of the fourth mail: before the dot.
    kill = killer(holder, KILL_AT)

    def on_rcpt(address: str) -> str | None:
        kill(address)
        return None

    sink.on_rcpt = on_rcpt
    holder["worker"] = task.start()
    assert holder["worker"].wait(timeout=120) == -signal.SIGKILL
    assert sum(delivered(sink).values()) == KILL_AT - 1
    assert [r.status for r in invitation_rows(store).values()].count("sending") == 1

    rerun = rerun_mails_everyone_once(task, sink, emails)
    assert rerun["recovered"] == 1 and rerun["unconfirmed"] == 0
    assert rerun["sent"] == INVITED - (KILL_AT - 1)
    rows = invitation_rows(store)
    assert {r.status for r in rows.values()} == {"sent"}
    assert not any(r.delivery_unconfirmed for r in rows.values())
    # The recovered mail kept its Message-ID: the interrupted attempt had the same one.
    interrupted = emails[KILL_AT - 1]
    assert rows[interrupted].attempts == 2
    assert sink.to(interrupted)[0].message["Message-ID"] == rows[interrupted].message_id


def test_killed_after_the_server_took_the_mail_the_rerun_does_not_send_it_again(
    store: Engine, sink: MailSink, tmp_path: Path
) -> None:
    emails = load_invited(store, INVITED)
    task = Task(store, sink, tmp_path)
    holder: dict[str, subprocess.Popen[str]] = {}
    # The server keeps the fourth mail, and the worker dies before it reads the 250: the window
    # between the server accepting a mail and the store recording it.
    sink.on_data = killer(holder, KILL_AT)
    holder["worker"] = task.start()
    assert holder["worker"].wait(timeout=120) == -signal.SIGKILL
    assert sum(delivered(sink).values()) == KILL_AT

    rerun = rerun_mails_everyone_once(task, sink, emails)
    assert rerun["unconfirmed"] == 1 and rerun["recovered"] == 0
    assert rerun["sent"] == INVITED - KILL_AT
    rows = invitation_rows(store)
    flagged = [email for email, row in rows.items() if row.delivery_unconfirmed]
    assert flagged == [emails[KILL_AT - 1]]
    assert rows[flagged[0]].status == "sent" and rows[flagged[0]].mails_sent == 1


def test_killed_at_an_arbitrary_moment_nobody_is_mailed_twice_or_lost_unflagged(
    store: Engine, sink: MailSink, tmp_path: Path
) -> None:
    emails = load_invited(store, 12)
    task = Task(store, sink, tmp_path)
    worker = task.start()

    def kill_when_five_arrived() -> None:
        deadline = time.monotonic() + 120
        while len(sink.received) < 5 and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(worker.pid, signal.SIGKILL)

    watcher = threading.Thread(target=kill_when_five_arrived)
    watcher.start()
    assert worker.wait(timeout=150) == -signal.SIGKILL
    watcher.join()
    before_rerun = sum(delivered(sink).values())
    assert 5 <= before_rerun < 12, "killed mid-batch"

    task.run()

    counts = delivered(sink)
    assert set(counts.values()) == {1}, "nobody mailed twice"
    rows = invitation_rows(store)
    # Only a kill between recording the hand-over and the dot leaving could lose a mail, and
    # such an invitation is flagged for the reminder; anyone else must have their mail.
    missing = set(emails) - set(counts)
    assert all(rows[email].delivery_unconfirmed for email in missing)
    assert {r.status for r in rows.values()} == {"sent"}

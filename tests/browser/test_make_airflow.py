"""`make airflow`, as a developer uses it: it comes up, its UI answers in a browser with the sync
DAG in it, and Ctrl-C (SIGINT to the terminal's process group) stops everything it started."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import psutil
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.ui import PROJECT, new_page, sign_in
from tests.production.native import DAG_ID, ShapeError, free_port, leftover_processes, wait_for

pytestmark = pytest.mark.browser


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_airflow_comes_up_answers_and_stops_on_ctrl_c(
    browser: Browser, tmp_path: Path
) -> None:
    port = free_port()
    home = tmp_path / "airflow_home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ONCALL_SYNC_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            # The scheduler's and triggerer's log servers: free ports, not the fixed defaults.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "ONCALL_SYNC_STAGING": str(tmp_path / "staging"),
            "ONCALL_SYNC_STORE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        }
    )
    log_path = tmp_path / "make-airflow.log"
    with log_path.open("wb") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-C", str(PROJECT), "airflow"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives a command
        )
    started: list[int] = []
    try:

        def answers() -> bool:
            assert make.poll() is None, log_path.read_text()[-3000:]
            return httpx.get(f"http://127.0.0.1:{port}/api/v2/version", timeout=5).is_success

        wait_for("make airflow's API server", answers, timeout=300)
        passwords = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())
        page = new_page(browser)
        sign_in(page, f"http://127.0.0.1:{port}", "admin", passwords["admin"])
        page.goto(f"http://127.0.0.1:{port}/dags")
        expect(page.get_by_role("link", name=DAG_ID, exact=True).first).to_be_visible(
            timeout=120_000
        )
        page.context.close()
        output = log_path.read_text()
        assert f"UI on http://localhost:{port}" in output

        started = [p.pid for p in psutil.Process(make.pid).children(recursive=True)]
        # make, the demo, the emulator's host, `airflow standalone` and its four components
        # (process titles vary: Airflow renames its processes), with their own children.
        assert len(started) >= 6, [psutil.Process(p).cmdline() for p in started]
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        make.wait(timeout=120)
        try:
            wait_for("its processes to exit", lambda: not leftover_processes(started), 60)
        except ShapeError:
            left = [psutil.Process(pid).cmdline() for pid in leftover_processes(started)]
            raise AssertionError(f"still running a minute after Ctrl-C: {left}") from None
        assert not listening(port)
        # `airflow standalone` stopped its components itself ("Complete"), or, where Airflow's
        # scheduler hung, `make airflow` stopped what was left (the test fails on anything left).
        output = log_path.read_text()
        assert "standalone | Shutting down components" in output
    finally:
        for pid in [make.pid, *leftover_processes(started)]:
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                continue

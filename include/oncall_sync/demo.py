"""`make demo` and `make airflow`: the whole product on the embedded defaults, on a fresh machine.

Starts the OpsGenie emulator with the demo account on a free local port, points connection
`opsgenie_default` at it through an environment variable, keeps Airflow's metadata DB, the
store and staging in project-local folders, runs the DAG for real (`airflow dags test`), prints
the report's summary and where report.html is, and stops what it started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
DAG_ID = "opsgenie_sync"
MAIL_FOLDER = PROJECT / "var" / "mail"
LINK_KEY_FILE = PROJECT / "var" / "invite-link.key"


def demo_environment(emulator_url: str, api_key: str) -> dict[str, str]:
    """Everything the Airflow processes need, project-local, on top of the caller's env."""
    home = Path(os.environ.get("AIRFLOW_HOME", PROJECT / "airflow_home"))
    var = PROJECT / "var"
    var.mkdir(exist_ok=True)
    connection = {
        "conn_type": "opsgenie_sync",
        "host": emulator_url,
        "password": api_key,
        "extra": {"region": "us"},
    }
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get(
            "AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"
        ),
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT / "include"), os.environ.get("PYTHONPATH")])
        ),
        "AIRFLOW_CONN_OPSGENIE_DEFAULT": json.dumps(connection),
        # `airflow standalone` starts its components by the name `airflow`: this venv's first.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "ONCALL_SYNC_STORE_URL": os.environ.get(
            "ONCALL_SYNC_STORE_URL", f"sqlite:///{var / 'oncall_store.db'}"
        ),
        "ONCALL_SYNC_STAGING": os.environ.get("ONCALL_SYNC_STAGING", str(PROJECT / "staging")),
    }


def invitation_environment(mail_port: int | None) -> dict[str, str]:
    """The demo's invitation connections: links signed with a key made once for this checkout
    (var/invite-link.key, owner-only; no key lives in code) and pointing at `make airflow`'s UI;
    with `mail_port`, the SMTP connection to the local mail sink."""
    from oncall_sync.invitations.links import LINK_CONNECTION_ID

    if not LINK_KEY_FILE.exists():
        import secrets

        LINK_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        LINK_KEY_FILE.touch(mode=0o600)
        LINK_KEY_FILE.write_text(secrets.token_urlsafe(48))
    links = {
        "conn_type": "generic",
        "host": "http://localhost:8080",
        "password": LINK_KEY_FILE.read_text().strip(),
    }
    env = {f"AIRFLOW_CONN_{LINK_CONNECTION_ID.upper()}": json.dumps(links)}
    if mail_port is not None:
        from oncall_sync.invitations.send import DEFAULT_MAIL_CONNECTION

        mail = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": mail_port,
            "extra": {
                "from_email": "invitations@oncall-sync.demo",
                "disable_ssl": True,
                "disable_tls": True,
                "max_per_second": 100,
                "batch_size": 100,
            },
        }
        env[f"AIRFLOW_CONN_{DEFAULT_MAIL_CONNECTION.upper()}"] = json.dumps(mail)
    return env


def airflow(env: dict[str, str], *args: str, log_file: Path | None = None) -> None:
    """Run an `airflow` command from this virtualenv; its output goes to a log file."""
    command = [str(Path(sys.executable).with_name("airflow")), *args]
    if log_file is None:
        subprocess.run(command, env=env, check=True)
        return
    with log_file.open("a") as log:
        result = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log_file.read_text().splitlines()[-40:]
        raise SystemExit(
            f"`airflow {' '.join(args)}` failed (exit {result.returncode}); "
            f"last lines of {log_file}:\n" + "\n".join(tail)
        )


def run_until_interrupted(env: dict[str, str], *args: str, grace: float = 30.0) -> int:
    """Run an `airflow` command in the foreground until it ends or Ctrl-C stops it, and leave
    nothing it started running.

    Ctrl-C reaches the whole process group, the command included; `airflow standalone` then
    stops its components and waits for them. subprocess.run would SIGKILL it a quarter second
    after the interrupt, before that shutdown, so it gets `grace` seconds of its own. Airflow's
    scheduler does not always stop (the browser test of `make airflow` caught it hanging with its
    LocalExecutor workers): whatever of the command's process tree is left then is terminated,
    then killed, by PID.
    """
    import psutil

    command = [str(Path(sys.executable).with_name("airflow")), *args]
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        tree = psutil.Process(process.pid).children(recursive=True)
        try:
            return process.wait(timeout=grace)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            process.terminate()
            return process.wait()
        finally:
            _stop(tree)


def _stop(processes: list[Any]) -> None:
    """SIGTERM what is still running of `processes`, then SIGKILL what ignores it."""
    import psutil

    alive = [p for p in processes if p.is_running()]
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, stubborn = psutil.wait_procs(alive, timeout=10)
    for proc in stubborn:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(stubborn, timeout=10)


def latest_report(staging_root: Path) -> dict[str, Any] | None:
    runs = sorted(
        (staging_root / DAG_ID).glob("*/report/report.json"), key=lambda p: p.stat().st_mtime
    )
    return json.loads(runs[-1].read_text()) | {"_path": str(runs[-1])} if runs else None


def print_summary(report: dict[str, Any]) -> None:
    s = report["summary"]
    html = Path(report["_path"]).with_name("report.html")
    print()
    print(f"Sync of {s['source_system']} account '{s['source_account']}'  (run {s['run']})")
    print("-" * 72)
    print(
        f"{'entity':<20}"
        + "".join(f"{a:>10}" for a in ("create", "update", "unchanged", "skip", "tombstone"))
    )
    for kind, counts in report["entities"].items():
        cells = "".join(
            f"{counts.get(a, 0):>10}"
            for a in ("create", "update", "unchanged", "skip", "tombstone")
        )
        print(f"{kind:<20}{cells}")
    print("-" * 72)
    print(
        f"rows written {s['rows_written']} · conflicts {s['conflicts']} "
        f"({s['conflicts_needing_review']} to review) · invited {s['invitations']} "
        f"(mailed {s.get('invitations_mailed', 0)}) · "
        f"quarantined {s['quarantined']} · failed {s['failed']} · API requests {s['api_requests']}"
    )
    if s.get("invitation_delivery"):
        print(f"invitations: {s['invitation_delivery']}")
    print(f"report: {html}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--standalone", action="store_true", help="run `airflow standalone` (the UI) instead"
    )
    parser.add_argument("--size", default="demo", help="emulator account size (tiny, demo, large)")
    parser.add_argument("--conf", default="{}", help="DAG run conf (JSON) for the demo run")
    parser.add_argument(
        "--mail",
        action="store_true",
        help="mail the invitations to a local mail sink (kept in var/mail/); make demo MAIL=1",
    )
    args = parser.parse_args(argv)

    from oncall_sync.emulator.server import run_emulator
    from oncall_sync.invitations.sink import MailSink

    sink = MailSink(folder=MAIL_FOLDER) if args.mail else None
    with run_emulator(size=args.size) as emulator, sink or contextlib.nullcontext():
        env = demo_environment(emulator.base_url, emulator.api_key)
        if sink is not None or args.standalone:
            env |= invitation_environment(sink.port if sink is not None else None)
        if sink is not None:
            print(f"Mail sink (SMTP) at 127.0.0.1:{sink.port}; mails kept in {MAIL_FOLDER}")
        home = Path(env["AIRFLOW_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        log_file = home / "demo.log"
        print(f"OpsGenie emulator ({args.size} account) at {emulator.base_url}")
        print(f"Airflow home {home}; store {env['ONCALL_SYNC_STORE_URL']}; logs {log_file}")
        airflow(env, "db", "migrate", log_file=log_file)
        subprocess.run(
            [sys.executable, "-m", "oncall_sync.store", "migrate"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if args.standalone:
            port = env.get("AIRFLOW__API__PORT", "8080")
            print(f"Starting `airflow standalone`: UI on http://localhost:{port}, login 'admin',")
            passwords = home / "simple_auth_manager_passwords.json.generated"
            print(f"password in {passwords}. Ctrl-C stops.")
            return run_until_interrupted(env, "standalone")
        airflow(env, "dags", "reserialize", log_file=log_file)
        print("Running the opsgenie_sync DAG (airflow dags test) ...", flush=True)
        airflow(env, "dags", "test", DAG_ID, "-c", args.conf, log_file=log_file)
    report = latest_report(Path(env["ONCALL_SYNC_STAGING"]))
    if report is None:
        print("The DAG ran but wrote no report; see", log_file)
        return 1
    print_summary(report)
    if sink is not None:
        print(f"mail sink: {len(sink.received)} mails received this run, in {MAIL_FOLDER}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

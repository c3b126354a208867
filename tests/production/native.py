"""docker-compose.yaml's production shape run without Docker: the same services, started with the
same commands and the same settings, as processes on 127.0.0.1 of this machine.

Where each setting comes from:
- `deploy/airflow.env` (SETTINGS_FILE): compose's `env_file`, read here unchanged.
- HOST_SETTINGS: what compose's `environment` derives from the host it runs on (database and
  broker URLs, the API server's address, secrets, paths); the native run gives each its own
  value: scratch databases with random names on the local PostgreSQL, the local Redis under a key
  prefix of its own, fresh secrets, folders in a work directory.
- IMAGE_SETTINGS: what the image implies and compose never names (AIRFLOW_HOME=/opt/airflow).
- NATIVE_SETTINGS: what separate containers give for free and one host must set: a port per
  server, Celery keys no other run on the same Redis can touch.
- tuning: the caller's test settings (short heartbeat timeout, short retry delays); they may not
  override anything compose or the settings file sets (a test checks that too).

Decisions:
- Components are started from compose's own `command` and `airflow-init` script, so a change to
  docker-compose.yaml changes what runs here. The two adaptations to one host are flags:
  `--celery-hostname` (containers have distinct hostnames) and `--skip-serve-logs` (every
  component here shares one logs folder, which the API server reads directly, as the shared
  `airflow-logs` volume does in compose; the log servers would bind every interface).
- Each component runs in its own session; stopping one SIGTERMs it and then SIGKILLs, by PID,
  whatever of its process tree is left, so nothing outlives the shape.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
SETTINGS_FILE = ROOT / "deploy" / "airflow.env"
VENV_BIN = Path(sys.executable).parent
DAG_ID = "opsgenie_sync"
ADMIN = "admin"

# The Airflow services and the compose command each runs; the workers are scaled like
# `docker compose up --scale airflow-worker=N`.
API_SERVER, SCHEDULER, DAG_PROCESSOR, TRIGGERER, WORKER = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
AIRFLOW_SERVICES = (API_SERVER, SCHEDULER, DAG_PROCESSOR, TRIGGERER, WORKER)
INIT, EMULATOR = "airflow-init", "opsgenie-emulator"

HOST_SETTINGS = (
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    "PYTHONPATH",
    "AIRFLOW_CONN_OPSGENIE_DEFAULT",
    "ONCALL_SYNC_STORE_URL",
    "ONCALL_SYNC_STAGING",
    "ONCALL_SYNC_SCHEDULE",
)
IMAGE_SETTINGS = ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER")
NATIVE_SETTINGS = (
    "AIRFLOW__API__HOST",
    "AIRFLOW__API__PORT",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX",
    "PATH",
)
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"

T = TypeVar("T")


class ShapeError(RuntimeError):
    """The native shape did not come up, or a wait ran out; the message says which and why."""


# --- reading the compose file and the settings file ------------------------------------------


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE_FILE.read_text()))


def read_settings(path: Path = SETTINGS_FILE) -> dict[str, str]:
    """KEY=value lines of an env file, as compose reads them (comments and blanks skipped)."""
    settings: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=value, got {line!r}")
        settings[key.strip()] = value.strip()
    return settings


def compose_environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def service_command(name: str) -> list[str]:
    """The compose command of an Airflow service, as the `airflow` CLI's arguments."""
    command = compose()["services"][name]["command"]
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def init_script() -> str:
    """The script compose's one-shot `airflow-init` runs (`/bin/bash -c <script>`)."""
    service = compose()["services"][INIT]
    command = service["command"]
    if service.get("entrypoint") != "/bin/bash" or command[0] != "-c":
        raise ShapeError("airflow-init is no longer `/bin/bash -c <script>`: update native.py")
    return str(command[1])


def emulator_arguments(**overrides: str) -> list[str]:
    """compose's emulator command, with flags replaced (`port="0"`) or appended."""
    service = compose()["services"][EMULATOR]
    arguments = [str(a) for a in [*service["entrypoint"][1:], *service["command"]]]
    for flag, value in overrides.items():
        option = "--" + flag.replace("_", "-")
        if option in arguments:
            arguments[arguments.index(option) + 1] = value
        else:
            arguments += [option, value]
    return arguments


# --- small helpers ---------------------------------------------------------------------------


def free_port() -> int:
    """A port free on 127.0.0.1 now (Airflow's servers bind their own sockets, so port 0 cannot
    be handed to them)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str, probe: Callable[[], T | bool | None], timeout: float, every: float = 0.5
) -> T:
    """Poll `probe` until it returns something truthy, and return that; ShapeError on time."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = probe()
        except (httpx.HTTPError, OSError, ValueError) as error:
            last_error, value = error, None
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise ShapeError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(every)


@dataclass
class ScratchPostgres:
    """Creates and drops databases with random names on the test PostgreSQL server."""

    dsn: str  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test

    def _admin(self) -> Any:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(self.dsn)
        return psycopg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password,
            dbname=url.database or "postgres",
            autocommit=True,
        )

    def url(self, database: str, driver: str) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(self.dsn).set(drivername=driver, database=database)
        return url.render_as_string(hide_password=False)

    def create(self, prefix: str) -> str:
        name = f"{prefix}_{secrets.token_hex(5)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def exists(self, name: str) -> bool:
        with self._admin() as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None


@dataclass
class RedisNamespace:
    """A key prefix on the local Redis that no other run can share; cleaned up at the end."""

    url: str
    prefix: str = field(default_factory=lambda: f"oncall-sync-test-{secrets.token_hex(6)}:")

    def _client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)

    def keys_left(self) -> list[bytes]:
        client = self._client()
        try:
            return list(client.scan_iter(match=f"{self.prefix}*", count=1000))
        finally:
            client.close()

    def clean(self) -> int:
        client = self._client()
        try:
            keys = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            return len(keys)
        finally:
            client.close()


@dataclass
class Process:
    """One started process: its name, Popen and log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    _log_handle: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tree(self) -> list[psutil.Process]:
        """This process and every descendant still running."""
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def kill_tree(processes: list[psutil.Process], sig: int = signal.SIGKILL) -> None:
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.send_signal(sig)


def stop_process(process: Process, grace: float = 30.0) -> list[int]:
    """SIGTERM, wait for a clean exit, then SIGKILL what is left of its tree; the PIDs stopped."""
    tree = process.tree()
    pids = [p.pid for p in tree]
    if process.alive():
        with contextlib.suppress(ProcessLookupError):
            process.popen.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=grace)
    leftovers = [p for p in tree if p.pid in leftover_processes([p.pid])]
    kill_tree(leftovers)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.popen.wait(timeout=10)
    psutil.wait_procs(leftovers, timeout=10)
    if process._log_handle:
        process._log_handle.close()
    return pids


# --- the REST API ----------------------------------------------------------------------------


class AirflowApi:
    """The Airflow REST API (v2) as the admin, with a token from /auth/token."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30.0)
        answer = self.http.post("/auth/token", json={"username": username, "password": password})
        answer.raise_for_status()
        self.token = str(answer.json()["access_token"])
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: Any) -> Any:
        answer = self.http.get(f"/api/v2{path}", params=params)
        answer.raise_for_status()
        return answer.json()

    def unpause(self, dag_id: str) -> None:
        self.http.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()

    def trigger(self, dag_id: str, conf: Mapping[str, Any]) -> str:
        answer = self.http.post(
            f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf)}
        )
        if answer.status_code >= 400:
            raise ShapeError(f"triggering {dag_id} failed: {answer.status_code} {answer.text}")
        return str(answer.json()["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return dict(self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"))

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        answer = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries")
        return list(answer["task_instances"])

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        answer = self.http.get(
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"full_content": "true"},
            headers={"Accept": "application/json"},
        )
        answer.raise_for_status()
        content = answer.json().get("content", [])
        if isinstance(content, str):
            return content
        return "\n".join(
            str(item.get("event", "")) if isinstance(item, dict) else str(item) for item in content
        )

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float, states: tuple[str, ...] = ("success",)
    ) -> str:
        """Wait until the run ends; ShapeError if it ends in a state not in `states`."""
        finished = ("success", "failed")
        state = wait_for(
            f"run {run_id} of {dag_id} to finish",
            lambda: (s := self.run_state(dag_id, run_id)) in finished and s,
            timeout,
        )
        if state not in states:
            raise ShapeError(f"run {run_id} of {dag_id} ended {state}, expected {states}")
        return str(state)


# --- the shape -------------------------------------------------------------------------------


@dataclass
class Emulator:
    url: str
    api_key: str


class NativeShape:
    """Start the production shape natively; a context manager that stops all of it.

    `emulator`: an emulator already running (a test that switches faults on holds it in its own
    process); None starts compose's `opsgenie-emulator` command, with `emulator_flags` added.
    `schedule`: ONCALL_SYNC_SCHEDULE, as an operator sets it in .env (empty: the DAG's default).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        pg_dsn: str,
        redis_url: str = "redis://127.0.0.1:6379/0",
        workers: int = 2,
        emulator: Emulator | None = None,
        emulator_flags: Mapping[str, str] | None = None,
        tuning: Mapping[str, str] | None = None,
        schedule: str = "",
    ) -> None:
        self.workdir = workdir
        self.schedule = schedule
        self.postgres = ScratchPostgres(pg_dsn)
        self.redis = RedisNamespace(redis_url)
        self.worker_count = workers
        self.emulator = emulator
        self.emulator_flags = dict(emulator_flags or {})
        self.tuning = dict(tuning or {})
        self.token = secrets.token_hex(4)
        self.password = secrets.token_urlsafe(16)
        self.processes: list[Process] = []
        self.workers: list[Process] = []
        self.databases: list[str] = []
        self.stopped_pids: list[int] = []
        self.killed: list[Process] = []
        self.env: dict[str, str] = {}
        self.api: AirflowApi | None = None
        self.api_port = free_port()
        self.health_port = free_port()
        self.home = workdir / "airflow_home"
        self.staging = workdir / "staging"
        self.logs = workdir / "process_logs"
        self.metadata_db = ""
        self.store_db = ""

    # -- settings --

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def store_url(self) -> str:
        return self.postgres.url(self.store_db, "postgresql+psycopg")

    def host_settings(self) -> dict[str, str]:
        """This host's value of every setting compose derives from its host (HOST_SETTINGS)."""
        from cryptography.fernet import Fernet

        assert self.emulator is not None
        connection = {
            "conn_type": "opsgenie_sync",
            "host": self.emulator.url,
            "password": self.emulator.api_key,
            "extra": {"region": "us"},
        }
        return {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url(
                self.metadata_db, "postgresql+psycopg2"
            ),
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
            + self.postgres.url(self.metadata_db, "postgresql"),
            "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                self.workdir / "auth" / "passwords.json"
            ),
            "PYTHONPATH": str(ROOT / "include"),
            "AIRFLOW_CONN_OPSGENIE_DEFAULT": json.dumps(connection),
            "ONCALL_SYNC_STORE_URL": self.store_url,
            "ONCALL_SYNC_STAGING": str(self.staging),
            "ONCALL_SYNC_SCHEDULE": self.schedule,
        }

    def image_settings(self) -> dict[str, str]:
        return {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        }

    def native_settings(self) -> dict[str, str]:
        return {
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.health_port),
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": self.redis.prefix,
            "PATH": os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
        }

    def environment(self) -> dict[str, str]:
        """The environment of every Airflow component: the settings file, then the host's."""
        settings = read_settings()
        produced = {
            **self.host_settings(),
            **self.image_settings(),
            **self.native_settings(),
        }
        clash = set(self.tuning) & (set(settings) | set(produced))
        if clash:
            raise ShapeError(f"test tuning may not override the deployment's settings: {clash}")
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "ONCALL_SYNC_", "PYTEST_"))
        }
        return {**inherited, **settings, **produced, **self.tuning}

    # -- lifecycle --

    def __enter__(self) -> NativeShape:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        for folder in (self.home, self.staging, self.logs, self.workdir / "auth"):
            folder.mkdir(parents=True, exist_ok=True)
        self.metadata_db = self.postgres.create("oncall_airflow_meta")
        self.databases.append(self.metadata_db)
        self.store_db = self.postgres.create("oncall_store")
        self.databases.append(self.store_db)
        if self.emulator is None:
            self.emulator = self._start_emulator()
        self.env = self.environment()
        self._run_init()
        self._spawn(API_SERVER, service_command(API_SERVER))
        self._spawn(SCHEDULER, service_command(SCHEDULER))
        self._spawn(DAG_PROCESSOR, service_command(DAG_PROCESSOR))
        self._spawn(TRIGGERER, [*service_command(TRIGGERER), "--skip-serve-logs"])
        for number in range(1, self.worker_count + 1):
            self.add_worker(number)
        self.wait_healthy()

    def worker_name(self, number: int) -> str:
        return f"worker{number}-{self.token}@{socket.gethostname()}"

    def add_worker(self, number: int) -> Process:
        command = [
            *service_command(WORKER),
            "--celery-hostname",
            self.worker_name(number),
            "--skip-serve-logs",
        ]
        worker = self._spawn(f"{WORKER}-{number}", command)
        self.workers.append(worker)
        return worker

    def _spawn(self, name: str, arguments: list[str], executable: str = "airflow") -> Process:
        return self._launch(name, [str(VENV_BIN / executable), *arguments], self.env)

    def _launch(self, name: str, command: list[str], env: Mapping[str, str]) -> Process:
        """Start `command` in its own session, its output in process_logs/<name>.log."""
        log = self.logs / f"{name}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(
            command,
            env=dict(env),
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log, handle)
        self.processes.append(process)
        return process

    def _start_emulator(self) -> Emulator:
        arguments = emulator_arguments(port="0", host="127.0.0.1", **self.emulator_flags)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "include")}
        process = self._launch(EMULATOR, [sys.executable, *arguments], env)
        log = process.log

        def announced() -> Emulator | None:
            if not process.alive():
                raise ShapeError(f"the emulator exited:\n{process.tail()}")
            lines = dict(line.split("=", 1) for line in log.read_text().splitlines() if "=" in line)
            if "OPSGENIE_EMULATOR_URL" in lines and "OPSGENIE_EMULATOR_KEY" in lines:
                return Emulator(lines["OPSGENIE_EMULATOR_URL"], lines["OPSGENIE_EMULATOR_KEY"])
            return None

        return wait_for("the emulator to listen", announced, timeout=60, every=0.2)

    def _run_init(self) -> None:
        log = self.logs / f"{INIT}.log"
        env = {**self.env, "AIRFLOW_ADMIN_USERNAME": ADMIN, "AIRFLOW_ADMIN_PASSWORD": self.password}
        with log.open("ab") as handle:
            done = subprocess.run(
                ["/bin/bash", "-c", init_script()],
                env=env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise ShapeError(f"airflow-init failed (exit {done.returncode}):\n{tail}")

    def _check_alive(self) -> None:
        for process in self.processes:
            if not process.alive() and process not in self.killed:
                raise ShapeError(
                    f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}"
                )

    def wait_healthy(self, timeout: float = 300) -> None:
        """Each service's compose health check, natively: the API's version, the scheduler's
        /health, the dag-processor and triggerer jobs, a Celery ping of every worker; then the
        DAG parsed."""

        def api_up() -> bool:
            self._check_alive()
            return httpx.get(f"{self.api_url}/api/v2/version", timeout=5).status_code == 200

        wait_for("the API server", api_up, timeout)
        self.api = AirflowApi(self.api_url, ADMIN, self.password)

        def scheduler_up() -> bool:
            self._check_alive()
            url = f"http://127.0.0.1:{self.health_port}/health"
            return httpx.get(url, timeout=5).status_code == 200

        wait_for("the scheduler's health check", scheduler_up, timeout)

        def jobs_healthy() -> bool:
            self._check_alive()
            health = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
            return all(
                health[part]["status"] == "healthy"
                for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
            )

        wait_for("the dag-processor and triggerer jobs", jobs_healthy, timeout)
        self.wait_workers(self.workers, timeout)
        api = self.api
        wait_for(f"DAG {DAG_ID} to be parsed", lambda: api.get(f"/dags/{DAG_ID}"), timeout)

    def wait_workers(self, workers: list[Process], timeout: float = 180) -> None:
        names = [self.worker_name(int(w.name.rsplit("-", 1)[1])) for w in workers]

        def pong() -> bool:
            self._check_alive()
            done = subprocess.run(
                [
                    str(VENV_BIN / "celery"),
                    "--app",
                    CELERY_APP,
                    "inspect",
                    "ping",
                    "--timeout",
                    "5",
                    "-d",
                    ",".join(names),
                ],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            return done.returncode == 0 and all(f"{name}: OK" in done.stdout for name in names)

        wait_for("the Celery workers to answer a ping", pong, timeout, every=1.0)

    def kill_worker(self, worker: Process) -> list[int]:
        """SIGKILL a worker and its whole process tree at once, as a container or host dies."""
        tree = worker.tree()
        kill_tree(tree)
        psutil.wait_procs(tree, timeout=10)
        worker.popen.wait(timeout=10)
        self.killed.append(worker)
        return [p.pid for p in tree]

    def worker_running(self, pid: int) -> Process | None:
        """The worker whose process tree holds `pid` (a task's process), if any."""
        for worker in self.workers:
            if pid in {p.pid for p in worker.tree()}:
                return worker
        return None

    def stop(self) -> None:
        """Stop every process (reverse start order), drop the databases, clean Redis."""
        if self.api is not None:
            self.api.close()
            self.api = None
        for process in reversed(self.processes):
            self.stopped_pids += stop_process(process)
        self.processes = []
        for name in self.databases:
            self.postgres.drop(name)
        self.databases = []
        self.redis.clean()

    def reset_store(self) -> None:
        """Empty the store (every table, identities restarted), as a fresh database would be."""
        from sqlalchemy import create_engine, text

        from oncall_sync.store import schema

        engine = create_engine(self.store_url, isolation_level="AUTOCOMMIT")
        try:
            names = ", ".join(t.name for t in schema.metadata.sorted_tables)
            with engine.connect() as conn:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        finally:
            engine.dispose()


def leftover_processes(pids: list[int]) -> list[int]:
    """Which of `pids` still run (a zombie waiting for its parent does not count)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


@contextlib.contextmanager
def native_shape(workdir: Path, **options: Any) -> Iterator[NativeShape]:
    with NativeShape(workdir, **options) as shape:
        yield shape

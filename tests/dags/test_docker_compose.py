"""The production shape (docker-compose.yaml, Dockerfile, .env.example), checked by parsing them:
Docker cannot run here, so these tests pin what `docker compose up` relies on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.production import native

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yaml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
AIRFLOW_VERSION = "3.3.2"

AIRFLOW_COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
ONE_SHOT = {"airflow-init", "airflow-init-permissions"}
REQUIRED_SERVICES = {
    *AIRFLOW_COMPONENTS,
    "airflow-init",
    "postgres",
    "redis",
    "store-db",
    "opsgenie-emulator",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|API_?KEY|PRIVATE", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"://[^:/@\s]*:([^@\s]+)@")
LONG_TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{32,}")
# `$${VAR}` is compose's escape for a variable the container's shell expands: not ours.
ENV_REFERENCE = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?:[:?-][^}]*)?\}")


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- KEY=value` spelling
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _effective_environment(service: dict[str, Any]) -> dict[str, str]:
    """What a container of `service` sees: its env_file(s), then its `environment` on top."""
    env: dict[str, str] = {}
    for path in service.get("env_file") or []:
        env.update(native.read_settings(ROOT / path))
    return {**env, **_environment(service)}


def _is_reference(value: str) -> bool:
    """True when the whole value comes from the environment: one ${VAR...} and nothing else."""
    return bool(re.fullmatch(r"\$\{[A-Z0-9_]+(?:[:?-][^}]*)?\}", value.strip()))


def _looks_random(token: str) -> bool:
    """Keys mix letters and digits; long names (ENV_VARIABLE_NAMES, module_paths) do not."""
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


def literal_secrets(document: Any, path: str = "") -> list[str]:
    """Where a document holds something that looks like a secret and is not an env reference."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str | int) and SECRET_NAME.search(str(key)):
                text = str(value)
                # A file path names where a secret lives, not the secret.
                if text and not _is_reference(text) and not text.startswith("/"):
                    found.append(where)
                    continue
            found.extend(literal_secrets(value, where))
    elif isinstance(document, list):
        for index, item in enumerate(document):
            found.extend(literal_secrets(item, f"{path}[{index}]"))
    elif isinstance(document, str):
        for password in URL_CREDENTIALS.findall(document):
            if not _is_reference(password):
                found.append(f"{path}: credentials in a URL")
        without_references = ENV_REFERENCE.sub("", document)
        if any(_looks_random(token) for token in LONG_TOKEN.findall(without_references)):
            found.append(f"{path}: a long token")
    return found


def test_every_service_of_the_production_shape_is_defined() -> None:
    assert set(SERVICES) >= REQUIRED_SERVICES


def test_each_airflow_component_runs_its_own_command() -> None:
    for name, command in AIRFLOW_COMPONENTS.items():
        assert SERVICES[name]["command"] == command, name


def test_airflow_services_run_the_image_built_from_the_dockerfile() -> None:
    for name in [*AIRFLOW_COMPONENTS, *ONE_SHOT, "opsgenie-emulator"]:
        service = SERVICES[name]
        assert service["build"] == ".", name
        assert AIRFLOW_VERSION in service["image"], name


def test_databases_and_broker_use_pinned_official_images() -> None:
    assert SERVICES["postgres"]["image"] == "postgres:16"
    assert SERVICES["store-db"]["image"] == "postgres:16"
    assert re.fullmatch(r"redis:7\.\d+(-\w+)?", SERVICES["redis"]["image"])


def test_the_dockerfile_extends_airflow_3_3_2_with_the_pinned_requirements() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert froms == [f"apache/airflow:{AIRFLOW_VERSION}-python3.11"]
    assert re.search(r"pip install --no-cache-dir -r \S*requirements\.txt", dockerfile)
    assert "COPY --chown=airflow:0 include/ /opt/airflow/include/" in dockerfile
    # Editable and without deps: the metadata registers the connection type, the pins stay.
    assert "pip install --no-cache-dir --no-deps -e /opt/airflow" in dockerfile
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert f"apache-airflow=={AIRFLOW_VERSION}" in requirements


def test_long_running_services_have_health_checks() -> None:
    for name, service in SERVICES.items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no health check"
        assert check.get("interval") and check.get("retries"), name


def test_health_checks_probe_what_each_component_serves() -> None:
    def probe(name: str) -> str:
        test = SERVICES[name]["healthcheck"]["test"]
        return " ".join(test) if isinstance(test, list) else test

    assert "localhost:8080/api/v2/version" in probe("airflow-apiserver")
    assert "localhost:8974/health" in probe("airflow-scheduler")
    assert "--job-type DagProcessorJob" in probe("airflow-dag-processor")
    assert "--job-type TriggererJob" in probe("airflow-triggerer")
    assert "inspect ping" in probe("airflow-worker")
    assert "pg_isready" in probe("postgres")
    assert "pg_isready" in probe("store-db")
    assert "ping" in probe("redis")


def test_airflow_services_wait_for_healthy_databases_broker_and_init() -> None:
    for name in AIRFLOW_COMPONENTS:
        depends = SERVICES[name]["depends_on"]
        for dependency in ("postgres", "redis", "store-db"):
            assert depends[dependency]["condition"] == "service_healthy", (name, dependency)
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert SERVICES["airflow-worker"]["depends_on"]["airflow-apiserver"] == {
        "condition": "service_healthy"
    }


def test_dependencies_on_checked_services_wait_for_health() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert rule["condition"] == expected, (name, dependency)


def test_init_migrates_airflow_sets_the_login_and_migrates_the_store() -> None:
    script = " ".join(SERVICES["airflow-init"]["command"])
    steps = ["airflow db migrate", "AIRFLOW_ADMIN_PASSWORD", "python -m oncall_sync.store migrate"]
    positions = [script.index(step) for step in steps]
    assert positions == sorted(positions)
    assert script.startswith("-c set -euo pipefail")
    assert SERVICES["airflow-init"]["depends_on"]["store-db"]["condition"] == "service_healthy"


def test_the_common_environment_configures_celery_on_postgres_and_redis() -> None:
    env = _effective_environment(COMPOSE["x-airflow-common"])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert "@redis:6379/" in env["AIRFLOW__CELERY__BROKER_URL"]
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://airflow-apiserver:8080/execution/"
    )
    assert env["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"
    assert _is_reference(env["AIRFLOW__API_AUTH__JWT_SECRET"])
    assert _is_reference(env["AIRFLOW__CORE__FERNET_KEY"])
    assert "/opt/airflow/include" in env["PYTHONPATH"].split(":")


def test_the_common_environment_points_the_sync_at_its_store_staging_and_connection() -> None:
    env = _effective_environment(COMPOSE["x-airflow-common"])
    assert env["ONCALL_SYNC_STORE_URL"].startswith("postgresql+psycopg://")
    assert "@store-db:5432/" in env["ONCALL_SYNC_STORE_URL"]
    assert env["ONCALL_SYNC_STAGING"] == "${ONCALL_SYNC_STAGING:-/opt/airflow/staging}"
    assert env["AIRFLOW_CONN_OPSGENIE_DEFAULT"] == "${AIRFLOW_CONN_OPSGENIE_DEFAULT:-}"
    assert env["ONCALL_SYNC_SCHEDULE"] == "${ONCALL_SYNC_SCHEDULE:-}"


def test_every_airflow_component_gets_the_common_environment() -> None:
    common = _environment(COMPOSE["x-airflow-common"])
    for name in [*AIRFLOW_COMPONENTS, "airflow-init"]:
        env = _environment(SERVICES[name])
        assert common.items() <= env.items(), name


def test_dags_include_plugins_and_staging_are_mounted_in_every_airflow_component() -> None:
    for name in [*AIRFLOW_COMPONENTS, "airflow-init"]:
        targets = {volume.split(":")[1] for volume in SERVICES[name]["volumes"]}
        for folder in ("dags", "include", "plugins", "staging"):
            assert f"/opt/airflow/{folder}" in targets, (name, folder)


def test_only_the_api_server_and_init_see_the_password_file() -> None:
    holders = {
        name
        for name, service in SERVICES.items()
        if any(":/opt/airflow/auth" in volume for volume in service.get("volumes", []))
    }
    assert holders == {"airflow-apiserver", "airflow-init", "airflow-init-permissions"}


def test_the_emulator_is_optional_and_gets_no_airflow_secrets() -> None:
    emulator = SERVICES["opsgenie-emulator"]
    assert emulator["profiles"] == ["emulator"]
    assert [name for name, s in SERVICES.items() if s.get("profiles")] == ["opsgenie-emulator"]
    assert set(_environment(emulator)) == {"PYTHONPATH"}
    assert emulator["entrypoint"] == ["python", "-m", "oncall_sync.emulator"]


def test_the_emulator_command_uses_only_flags_the_emulator_accepts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from oncall_sync.emulator.__main__ import main

    with pytest.raises(SystemExit):
        main(["--help"])
    accepted = capsys.readouterr().out
    flags = [arg for arg in SERVICES["opsgenie-emulator"]["command"] if arg.startswith("--")]
    assert "--host" in flags  # in a container, 127.0.0.1 is unreachable from the workers
    assert [flag for flag in flags if flag not in accepted] == []


def test_the_file_holds_no_literal_secrets() -> None:
    assert literal_secrets(COMPOSE) == []


def test_the_secret_scan_catches_planted_secrets() -> None:
    planted = {
        "environment": {
            "AIRFLOW__CORE__FERNET_KEY": "x" * 44,
            "POSTGRES_PASSWORD": "airflow",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:hunter2@postgres/airflow",
        },
        "command": ["--token", "sk_live_0123456789abcdef0123456789abcdef"],
    }
    assert literal_secrets(planted) == [
        "environment.AIRFLOW__CORE__FERNET_KEY",
        "environment.POSTGRES_PASSWORD",
        "environment.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: credentials in a URL",
        "command[1]: a long token",
    ]
    assert literal_secrets({"POSTGRES_PASSWORD": "${PG_PASSWORD:?set it}"}) == []


def test_every_variable_the_file_reads_is_documented_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    used = set(ENV_REFERENCE.findall(COMPOSE_TEXT))
    assert used - documented == set()


def test_env_example_leaves_every_secret_blank() -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]+)=(.*)$", line)
        if match and SECRET_NAME.search(match.group(1)):
            assert match.group(2) == "", f"{match.group(1)} has a value in .env.example"


def test_the_build_context_leaves_out_env_files_and_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", ".git", "staging", "airflow_home"} <= ignored


def test_the_store_migration_init_runs_is_a_real_command() -> None:
    script = " ".join(SERVICES["airflow-init"]["command"])
    command = re.search(r"python -m (oncall_sync\.store) (migrate)", script)
    assert command
    done = subprocess.run(
        [sys.executable, "-m", command.group(1), command.group(2), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "--url" in done.stdout


# --- one source of truth for the settings: compose and the native run of tests/production ----


def test_every_airflow_service_reads_the_shared_settings_file() -> None:
    for name in [*AIRFLOW_COMPONENTS, "airflow-init"]:
        assert SERVICES[name]["env_file"] == ["deploy/airflow.env"], name
    assert "env_file" not in SERVICES["opsgenie-emulator"]


def test_the_settings_file_holds_plain_values_and_no_secret() -> None:
    settings = native.read_settings()
    assert settings["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert [k for k, v in settings.items() if "${" in v or "$" in v] == []
    assert [k for k in settings if SECRET_NAME.search(k)] == []
    assert literal_secrets(settings) == []


def test_compose_does_not_override_the_settings_file() -> None:
    settings = set(native.read_settings())
    for name in [*AIRFLOW_COMPONENTS, "airflow-init"]:
        assert settings & set(_environment(SERVICES[name])) == set(), name


def test_the_native_run_gives_its_own_value_to_exactly_what_compose_takes_from_its_host() -> None:
    assert set(_environment(COMPOSE["x-airflow-common"])) == set(native.HOST_SETTINGS)


def _native_shape(tmp_path: Path, **tuning: str) -> native.NativeShape:
    shape = native.NativeShape(
        tmp_path,
        pg_dsn="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        emulator=native.Emulator("http://127.0.0.1:9", "not-a-key"),
        tuning=tuning,
    )
    shape.metadata_db, shape.store_db = "meta_x", "store_x"
    return shape


def test_the_native_environment_is_the_settings_file_plus_the_hosts_values(
    tmp_path: Path,
) -> None:
    env = _native_shape(tmp_path).environment()
    for key, value in native.read_settings().items():
        assert env[key] == value, key
    for name in [*AIRFLOW_COMPONENTS, "airflow-init"]:
        missing = set(_effective_environment(SERVICES[name])) - set(env)
        # The worker's DUMB_INIT_SETSID and init's admin pair are container/one-shot details.
        assert missing <= {"DUMB_INIT_SETSID", "AIRFLOW_ADMIN_USERNAME", "AIRFLOW_ADMIN_PASSWORD"}
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("/meta_x")
    assert env["ONCALL_SYNC_STORE_URL"].endswith("/store_x")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")


def test_test_tuning_cannot_change_a_deployment_setting(tmp_path: Path) -> None:
    tuned = _native_shape(tmp_path, ONCALL_SYNC_RETRY_DELAY_SECONDS="2").environment()
    assert tuned["ONCALL_SYNC_RETRY_DELAY_SECONDS"] == "2"
    for key in ("AIRFLOW__CORE__EXECUTOR", "ONCALL_SYNC_STORE_URL", "AIRFLOW__API__PORT"):
        with pytest.raises(native.ShapeError, match="may not override"):
            _native_shape(tmp_path, **{key: "x"}).environment()


def test_the_native_run_starts_compose_own_commands() -> None:
    assert native.service_command(native.WORKER) == ["celery", "worker"]
    assert native.service_command(native.API_SERVER) == ["api-server"]
    script = native.init_script()
    assert script.startswith("set -euo pipefail") and "airflow db migrate" in script
    arguments = native.emulator_arguments(port="0", host="127.0.0.1", latency_ms="5")
    assert arguments[:2] == ["-m", "oncall_sync.emulator"]
    assert arguments[arguments.index("--port") + 1] == "0"
    assert arguments[arguments.index("--host") + 1] == "127.0.0.1"
    assert arguments[arguments.index("--latency-ms") + 1] == "5"
    assert arguments.count("--port") == 1


def test_a_malformed_settings_line_is_refused_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "airflow.env"
    bad.write_text("# fine\nAIRFLOW__CORE__EXECUTOR=CeleryExecutor\nnot a setting\n")
    with pytest.raises(ValueError, match=r"airflow.env:3: expected KEY=value"):
        native.read_settings(bad)

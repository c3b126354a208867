"""The one staging API every task uses: run-scoped JSON files on a local disk (atomic, owner-only)
or on any fsspec URI (s3://...), and the raw snapshot that can be replayed without the API."""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import tempfile
from pathlib import Path
from typing import Any

import fsspec
from pydantic import BaseModel, ConfigDict, Field

STAGING_ENV = "ONCALL_SYNC_STAGING"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
RAW_DIR = "raw"
MANIFEST = "manifest.json"

# File name per entity type in the raw snapshot (docs/snapshot.md).
SNAPSHOT_FILES: dict[str, str] = {
    "users": "users.json",
    "contacts": "contacts.json",
    "teams": "teams.json",
    "schedules": "schedules.json",
    "overrides": "overrides.json",
    "escalations": "escalations.json",
    "services": "services.json",
    "failed": "failed.json",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def path_component(name: str) -> str:
    """A run id or dag id as one safe path segment (Airflow run ids hold ':' and '+')."""
    cleaned = _UNSAFE.sub("_", name).strip(".")
    if not cleaned:
        raise ValueError(f"{name!r} cannot name a staging folder")
    return cleaned


def default_root() -> str:
    return os.environ.get(STAGING_ENV) or str(PROJECT_ROOT / "staging")


def _is_remote(uri: str) -> bool:
    protocol = uri.split("://", 1)[0] if "://" in uri else "file"
    return protocol not in ("file", "local")


def _local_path(uri: str) -> str:
    return uri.split("://", 1)[1] if uri.startswith(("file://", "local://")) else uri


class Staging:
    """Run-scoped files under one root (a local folder or an fsspec URI)."""

    def __init__(self, root: str | None = None) -> None:
        self.root = (root or default_root()).rstrip("/")

    def __repr__(self) -> str:
        return f"Staging({self.root!r})"

    def run_path(self, dag_id: str, run_id: str) -> str:
        return self.join(self.root, path_component(dag_id), path_component(run_id))

    @staticmethod
    def join(base: str, *parts: str) -> str:
        return posixpath.join(base.rstrip("/"), *parts)

    def write_json(self, uri: str, payload: Any) -> str:
        return self.write_text(uri, json.dumps(payload, ensure_ascii=False, separators=(",", ":")))

    def read_json(self, uri: str) -> Any:
        return json.loads(self.read_text(uri))

    def write_text(self, uri: str, text: str) -> str:
        """Write a UTF-8 text file (atomic and owner-only when local); returns `uri`."""
        if _is_remote(uri):
            fs, path = fsspec.core.url_to_fs(uri)
            fs.makedirs(posixpath.dirname(path), exist_ok=True)
            with fs.open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            return uri
        _write_local_atomic(Path(_local_path(uri)), text)
        return uri

    def read_text(self, uri: str) -> str:
        if _is_remote(uri):
            fs, path = fsspec.core.url_to_fs(uri)
            with fs.open(path, "r", encoding="utf-8") as handle:
                return str(handle.read())
        return Path(_local_path(uri)).read_text(encoding="utf-8")

    def exists(self, uri: str) -> bool:
        if _is_remote(uri):
            fs, path = fsspec.core.url_to_fs(uri)
            return bool(fs.exists(path))
        return Path(_local_path(uri)).exists()

    def list(self, uri: str) -> list[str]:
        """Names (not paths) of the entries directly under `uri`, sorted; [] when absent."""
        if not self.exists(uri):
            return []
        if _is_remote(uri):
            fs, path = fsspec.core.url_to_fs(uri)
            return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))
        return sorted(os.listdir(_local_path(uri)))


def _write_local_atomic(path: Path, text: str) -> None:
    """Write then rename, so a reader never sees half a file; 0600 files in 0700 folders."""
    _make_private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _make_private_dirs(folder: Path) -> None:
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for created in reversed(missing):
        created.mkdir(mode=0o700, exist_ok=True)
        os.chmod(created, 0o700)


class FailedItem(BaseModel):
    """A source record we could not take: why, and the raw record (when there was one)."""

    entity_type: str
    source_id: str | None
    reason: str
    record: Any = None


class Snapshot(BaseModel):
    """The raw payloads of one extract, unchanged, plus its manifest (docs/snapshot.md)."""

    model_config = ConfigDict(frozen=False)

    manifest: dict[str, Any] = Field(default_factory=dict)
    users: list[dict[str, Any]] = Field(default_factory=list)
    contacts: dict[str, list[dict[str, Any]]] | None = None
    teams: list[dict[str, Any]] = Field(default_factory=list)
    schedules: list[dict[str, Any]] = Field(default_factory=list)
    overrides: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    escalations: list[dict[str, Any]] = Field(default_factory=list)
    services: list[dict[str, Any]] = Field(default_factory=list)
    failed: list[FailedItem] = Field(default_factory=list)

    def entity_payload(self, entity_type: str) -> Any:
        if entity_type == "failed":
            return [item.model_dump(mode="json") for item in self.failed]
        return getattr(self, entity_type)


def write_snapshot(staging: Staging, run_dir: str, snapshot: Snapshot) -> str:
    """Write the raw files then the manifest (last, so its presence means complete)."""
    raw = Staging.join(run_dir, RAW_DIR)
    written = set(snapshot.manifest.get("entity_types", [])) | {"failed"}
    for entity_type, file_name in SNAPSHOT_FILES.items():
        if entity_type in written:
            staging.write_json(Staging.join(raw, file_name), snapshot.entity_payload(entity_type))
    staging.write_json(Staging.join(raw, MANIFEST), snapshot.manifest)
    return raw


def load_snapshot(uri: str) -> Snapshot:
    """Read a snapshot back from its `raw/` folder (or the run folder above it)."""
    staging = Staging(uri)
    raw = uri.rstrip("/")
    if not staging.exists(Staging.join(raw, MANIFEST)):
        raw = Staging.join(raw, RAW_DIR)
    manifest_uri = Staging.join(raw, MANIFEST)
    if not staging.exists(manifest_uri):
        raise FileNotFoundError(
            f"No snapshot at {uri}: {MANIFEST} is missing (was the extract task successful?)"
        )
    values: dict[str, Any] = {"manifest": staging.read_json(manifest_uri)}
    for entity_type, file_name in SNAPSHOT_FILES.items():
        file_uri = Staging.join(raw, file_name)
        if staging.exists(file_uri):
            values[entity_type] = staging.read_json(file_uri)
    return Snapshot.model_validate(values)

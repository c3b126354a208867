"""The runs with a report under a staging root: found, read once (cached by file identity),
filtered and paged for the Sync reports pages.

Layout: <root>/<dag_id>/<run folder>/report/report.json, with report.html beside it.

Decisions:
- A report.json is parsed once per change of its size or modification time: a nightly sync
  writes one new report a day, and the list page must not re-read a year of them per request.
- A report that cannot be read is listed with the reason, never hidden.
- Paths come from the staging root only: a URL segment that is not one plain folder name, or a
  symlink that leads out of a local root, is "no such run".
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import fsspec

from oncall_sync.reports_ui import reader
from oncall_sync.reports_ui.reader import ReportItem, RunDigest
from oncall_sync.staging import Staging, path_component

REPORT_DIR = "report"
REPORT_HTML = "report.html"
REPORT_JSON = "report.json"
RUNS_PER_PAGE = 25
ITEMS_PER_PAGE = 100

T = TypeVar("T")


class NoSuchRun(LookupError):
    """The URL names no run with a report under the staging root."""


@dataclass(frozen=True)
class RunFilter:
    """What the analyst narrowed the pages to; None: everything."""

    account: str | None = None
    entity_type: str | None = None
    outcome: str | None = None
    reason: str | None = None

    def admits(self, run: RunDigest) -> bool:
        if self.account is not None and run.account != self.account:
            return False
        if self.outcome is None and self.reason is None and self.entity_type is None:
            return True
        return any(
            (self.entity_type is None or kind == self.entity_type)
            and (self.outcome is None or outcome == self.outcome)
            and (self.reason is None or why == self.reason)
            and count > 0
            for (kind, outcome, why), count in run.facets.items()
        )

    def admits_item(self, item: ReportItem) -> bool:
        return (
            (self.entity_type is None or item.entity_type == self.entity_type)
            and (self.outcome is None or item.outcome == self.outcome)
            and (self.reason is None or reader._reason_key(item) == self.reason)
        )

    def counts(self, run: RunDigest) -> dict[str, int]:
        """The run's counts per outcome, narrowed to the filter's entity type and reason."""
        return run.counts(entity_type=self.entity_type, reason=self.reason)


@dataclass(frozen=True)
class Page:
    """One page of a longer list: its rows, and where it sits in the whole."""

    rows: list[Any]
    number: int
    pages: int
    total: int

    @classmethod
    def of(cls, rows: list[Any], number: int, size: int) -> Page:
        pages = max(1, -(-len(rows) // size))
        number = min(max(1, number), pages)
        start = (number - 1) * size
        return cls(rows[start : start + size], number, pages, len(rows))


class _StampedCache(Generic[T]):
    """Values keyed by a file's path, valid while its (size, mtime) stamp holds; a bounded LRU."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[tuple[Any, ...], T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str, stamp: tuple[Any, ...]) -> T | None:
        with self._lock:
            entry = self._entries.get(path)
            if entry is None or entry[0] != stamp:
                return None
            self._entries.move_to_end(path)
            return entry[1]

    def put(self, path: str, stamp: tuple[Any, ...], value: T) -> None:
        with self._lock:
            self._entries[path] = (stamp, value)
            self._entries.move_to_end(path)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


# Digests are small: a few years of nightly runs fit. Whole reports are not: the last few
# opened, so paging through one run's items does not parse it again per page.
_DIGESTS: _StampedCache[RunDigest] = _StampedCache(4096)
_REPORTS: _StampedCache[dict[str, Any]] = _StampedCache(4)


def _stamp(info: dict[str, Any]) -> tuple[Any, ...]:
    modified = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
    return (info.get("size"), str(modified))


def _modified(info: dict[str, Any]) -> datetime | None:
    stamp = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, tz=UTC)
    if isinstance(stamp, datetime):
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return None


class Catalog:
    """The reports under one staging root."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.staging = Staging(self.root)
        self.fs, _ = fsspec.core.url_to_fs(self.staging.root)

    def _run_dirs(self) -> Iterator[tuple[str, str, str]]:
        for dag_id in self.staging.list(self.staging.root):
            dag_dir = Staging.join(self.staging.root, dag_id)
            for run_folder in self.staging.list(dag_dir):
                yield dag_id, run_folder, Staging.join(dag_dir, run_folder, REPORT_DIR)

    def _digest(self, dag_id: str, run_folder: str, report_dir: str) -> RunDigest | None:
        uri = Staging.join(report_dir, REPORT_JSON)
        try:
            info = self.fs.info(self.fs._strip_protocol(uri))
        except (FileNotFoundError, OSError):
            return None
        stamp = _stamp(info)
        cached = _DIGESTS.get(uri, stamp)
        if cached is not None:
            return cached
        try:
            run = reader.digest(dag_id, run_folder, self.staging.read_json(uri))
        except (OSError, ValueError) as error:
            run = RunDigest(dag_id, run_folder, unreadable=f"report.json unreadable: {error}")
        if run.finished_at is None:
            run = _with_time(run, _modified(info))
        _DIGESTS.put(uri, stamp, run)
        return run

    def runs(self) -> list[RunDigest]:
        """Every run with a report.json, newest first."""
        found = [
            run
            for dag_id, folder, report_dir in self._run_dirs()
            if (run := self._digest(dag_id, folder, report_dir)) is not None
        ]
        oldest = datetime.min.replace(tzinfo=UTC)
        return sorted(found, key=lambda r: (r.finished_at or oldest, r.run_id), reverse=True)

    # -- one run --

    def report_dir(self, dag_id: str, run_id: str) -> str:
        """The report folder of a run named as Airflow names it (or by its staging folder)."""
        return _confined(self.root, _segment(dag_id), _segment(run_id), REPORT_DIR)

    def run(self, dag_id: str, run_id: str) -> RunDigest:
        report_dir = self.report_dir(dag_id, run_id)
        run = self._digest(_segment(dag_id), _segment(run_id), report_dir)
        if run is None:
            raise NoSuchRun(f"no report for run {run_id} of {dag_id}")
        return run

    def report(self, dag_id: str, run_id: str) -> dict[str, Any]:
        uri = Staging.join(self.report_dir(dag_id, run_id), REPORT_JSON)
        try:
            stamp = _stamp(self.fs.info(self.fs._strip_protocol(uri)))
        except (FileNotFoundError, OSError):
            raise NoSuchRun(f"no report for run {run_id} of {dag_id}") from None
        cached = _REPORTS.get(uri, stamp)
        if cached is None:
            document = self.staging.read_json(uri)
            cached = document if isinstance(document, dict) else {}
            _REPORTS.put(uri, stamp, cached)
        return cached

    def items(self, dag_id: str, run_id: str, where: RunFilter | None = None) -> list[ReportItem]:
        where = where or RunFilter()
        return [i for i in reader.items(self.report(dag_id, run_id)) if where.admits_item(i)]

    def report_html(self, dag_id: str, run_id: str) -> str | None:
        uri = Staging.join(self.report_dir(dag_id, run_id), REPORT_HTML)
        return self.staging.read_text(uri) if self.staging.exists(uri) else None


def _with_time(run: RunDigest, when: datetime | None) -> RunDigest:
    from dataclasses import replace

    return replace(run, finished_at=when)


def _segment(name: str) -> str:
    """The staging folder a URL segment names; NoSuchRun for anything not one plain segment."""
    if name in ("", ".", "..") or any(sep in name for sep in ("/", "\\", "\x00")):
        raise NoSuchRun("no such run")
    try:
        return path_component(name)
    except ValueError:
        raise NoSuchRun("no such run") from None


def _confined(root: str, *segments: str) -> str:
    """The path of `segments` under `root`; for a local root, symlinks may not lead outside."""
    target = Staging.join(root, *segments)
    if "://" in root and not root.startswith("file://"):
        return target
    local_root = os.path.realpath(root.removeprefix("file://"))
    resolved = os.path.realpath(target.removeprefix("file://"))
    if os.path.commonpath([local_root, resolved]) != local_root:
        raise NoSuchRun("no such run")
    return resolved


def choices(runs: Iterable[RunDigest]) -> dict[str, list[tuple[str, int]]]:
    """The values each filter offers, with how many records (runs, for accounts) have each."""
    accounts: dict[str, int] = {}
    kinds: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for run in runs:
        if run.account:
            accounts[run.account] = accounts.get(run.account, 0) + 1
        for (kind, outcome, why), count in run.facets.items():
            kinds[kind] = kinds.get(kind, 0) + count
            outcomes[outcome] = outcomes.get(outcome, 0) + count
            if why:
                reasons[why] = reasons.get(why, 0) + count
    ordered_outcomes = [o for o in reader.OUTCOMES if o in outcomes]
    return {
        "account": sorted(accounts.items()),
        "entity_type": sorted(kinds.items()),
        "outcome": [(o, outcomes[o]) for o in ordered_outcomes],
        # The most frequent first; a long tail of one-off reasons would make the list unusable.
        "reason": sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:60],
    }


def items_json(items: Iterable[ReportItem]) -> str:
    return json.dumps([item.as_row() for item in items], ensure_ascii=False, indent=1)

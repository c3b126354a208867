"""`make screenshots`: the browser journeys' screenshots (build/browser/, written by the journeys
of tests/browser/test_journeys.py) published into docs/images/journey/ for docs/operating.md,
with a manifest naming the UI they show, so a test can tell when they are out of date."""

from __future__ import annotations

import hashlib
import json
import re
import shutil

from tests.browser.ui import ARTIFACTS, PROJECT

DOCS_IMAGES = PROJECT / "docs" / "images" / "journey"
MANIFEST = DOCS_IMAGES / "MANIFEST.json"
JOURNEYS = ("operator", "analyst")
# What the screenshots show: the Sync reports pages and the journeys' steps. A change to any of
# them means `make screenshots` again. (Airflow's own UI is pinned by its version.)
UI_SOURCES = (
    "include/oncall_sync/reports_ui/*.py",
    "include/oncall_sync/templates/sync_*.html",
    "tests/browser/test_journeys.py",
)


def ui_fingerprint() -> str:
    digest = hashlib.sha256()
    for pattern in UI_SOURCES:
        for path in sorted(PROJECT.glob(pattern)):
            digest.update(path.relative_to(PROJECT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def airflow_version() -> str:
    pins = (PROJECT / "requirements.txt").read_text()
    match = re.search(r"^apache-airflow==(\S+)$", pins, flags=re.MULTILINE)
    assert match, "requirements.txt pins no apache-airflow"
    return match.group(1)


def publish() -> list[str]:
    """Copy every step's screenshot of both journeys; refuse a partial or failed set."""
    shots = {
        journey: sorted(p for p in (ARTIFACTS / journey).glob("*.png") if "FAILED" not in p.name)
        for journey in JOURNEYS
    }
    failed = sorted(ARTIFACTS.glob("*/*-FAILED.png"))
    if failed or not all(shots.values()):
        raise SystemExit(
            "run the journeys first, and to the end (make screenshots does): "
            f"missing {[j for j, s in shots.items() if not s]}, failed {failed}"
        )
    if DOCS_IMAGES.exists():
        shutil.rmtree(DOCS_IMAGES)
    DOCS_IMAGES.mkdir(parents=True)
    names = []
    for journey, paths in shots.items():
        for path in paths:
            name = f"{journey}-{path.name}"
            shutil.copyfile(path, DOCS_IMAGES / name)
            names.append(name)
    manifest = {"airflow": airflow_version(), "ui_sources": ui_fingerprint(), "images": names}
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    return names


if __name__ == "__main__":
    published = publish()
    print(f"{len(published)} screenshots in {DOCS_IMAGES.relative_to(PROJECT)}")

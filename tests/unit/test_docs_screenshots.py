"""docs/operating.md shows the journeys with screenshots `make screenshots` took of the current
UI: every picture it names exists, and the manifest matches today's pages and Airflow."""

from __future__ import annotations

import json
import re

from tests.browser.screenshots import (
    DOCS_IMAGES,
    MANIFEST,
    PROJECT,
    airflow_version,
    ui_fingerprint,
)

OPERATING = PROJECT / "docs" / "operating.md"


def test_the_screenshots_are_of_the_current_ui() -> None:
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["airflow"] == airflow_version()
    assert manifest["ui_sources"] == ui_fingerprint(), (
        "the Sync reports pages or the journeys changed since the screenshots were taken: "
        "run `make screenshots` and commit docs/images/journey/"
    )
    assert sorted(p.name for p in DOCS_IMAGES.glob("*.png")) == sorted(manifest["images"])


def test_every_picture_the_operating_guide_shows_was_taken_by_the_journeys() -> None:
    shown = re.findall(r"!\[[^\]]*\]\(images/journey/([^)]+)\)", OPERATING.read_text())
    manifest = json.loads(MANIFEST.read_text())
    assert len(shown) >= 10
    assert [name for name in shown if name not in manifest["images"]] == []

"""What the browser journeys share: headless Chromium from the system (no browser is downloaded),
a signed-in page, steps that keep a screenshot each, and the places people look in the Airflow UI.

Locators name what a person sees (roles, labels, visible text); waits are Playwright's expect
with a timeout, never sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WINDOW = {"width": 1400, "height": 900}
PROJECT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT / "build" / "browser"
RUN_TIMEOUT_MS = 300_000


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport=WINDOW, accept_downloads=True)
    context.set_default_timeout(30_000)
    return context.new_page()


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url)
    expect(page.get_by_text("Sign into Airflow")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()


@dataclass
class Journey:
    """Numbered steps; each leaves a screenshot `NN-<name>.png` in `folder`, and a failing step
    says which it was and leaves `NN-<name>-FAILED.png`."""

    page: Page
    folder: Path
    shots: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    @contextmanager
    def step(self, name: str, full_page: bool = False) -> Iterator[None]:
        number = len(self.shots) + 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.folder / f"{number:02}-{slug}.png"
        try:
            yield
        except BaseException as error:
            self.page.screenshot(path=path.with_name(path.stem + "-FAILED.png"), full_page=True)
            raise AssertionError(f"step {number} ({name}) failed: {error}") from error
        self.page.screenshot(path=path, full_page=full_page)
        self.shots.append(path)


# --- the Airflow UI, as a person finds their way around it ----------------------------------


def run_header(page: Page, run_id: str) -> Locator:
    """The top of a DAG run page: the run's id with its state beside it."""
    return page.get_by_role("heading", name=run_id).locator("xpath=..")


def open_dag(page: Page, base_url: str, dag_id: str) -> None:
    page.goto(f"{base_url}/dags/{dag_id}")
    expect(page.get_by_role("button", name="Trigger Dag")).to_be_visible()


def trigger_form(page: Page) -> Locator:
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=re.compile("^Trigger Dag"))).to_be_visible()
    return dialog


def set_switch(dialog: Locator, param: str, on: bool) -> None:
    """A boolean param's switch: click it (its input is hidden) until it shows `on`."""
    field_input = dialog.locator(f"input[name='element_{param}']")
    if field_input.is_checked() != on:
        dialog.locator(f"label[id='switch:element_{param}']").click()
    expect(field_input).to_be_checked(checked=on)


def submit_trigger(page: Page, dialog: Locator) -> str:
    """Trigger from the form; the UI opens the new run's page. Returns its run id."""
    dialog.get_by_role("button", name="Trigger").click()
    page.wait_for_url(re.compile(r"/runs/manual__"))
    # The path only: the UI carries the DAG list's search along as a query parameter.
    path = urlsplit(page.url).path
    return unquote(path.split("/runs/", 1)[1].split("/", 1)[0])


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()


def report_frame(page: Page) -> FrameLocator:
    """The Sync report plugin's frame inside the Airflow UI."""
    frame = page.frame_locator("iframe").first
    expect(frame.locator("h1")).to_be_visible()
    return frame


def frame_text(page: Page) -> str:
    return str(report_frame(page).locator("body").inner_text())


def cell_numbers(frame: FrameLocator, row_selector: str) -> list[int]:
    """The numbers in a table row of the plugin's pages, left to right."""
    texts = frame.locator(row_selector).first.locator("td.n").all_inner_texts()
    return [int(text.strip()) for text in texts]

"""Names from the source are data, never markup or SQL: the HTML report of a run over an account
full of script and markup shows them as text, and no SQL in include/ is built from strings."""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from oncall_sync.emulator.generator import Account, generate_account
from oncall_sync.emulator.server import run_emulator
from tests.reliability.conftest import new_sqlite_store
from tests.reliability.harness import PROJECT, client_factory, run_context, sync

HOSTILE = {
    "account": "<script>alert('account')</script>",
    "team": "<script>alert(1)</script>",
    "user": "<img src=x onerror=alert(2)>",
    "schedule": '"><svg onload=alert(3)>',
    "escalation": "</td></tr><script>alert(4)</script>",
    "service": "<iframe src=javascript:alert(5)></iframe>",
    "description": "{{ 7*7 }} {% raw %}<b>bold</b>",
    "bad email": "<a href=//evil.example>x</a>@example.com",
}


def hostile_account() -> Account:
    """The generator's account (already holding HTML names) with more injected everywhere."""
    account = copy.deepcopy(generate_account("tiny", 7))
    account.name = HOSTILE["account"]
    account.teams[1]["name"] = HOSTILE["team"]
    account.teams[1]["description"] = HOSTILE["description"]
    account.users[1]["fullName"] = HOSTILE["user"]
    account.users[2]["username"] = HOSTILE["bad email"]  # quarantined: its reason quotes it
    account.schedules[1]["name"] = HOSTILE["schedule"]
    account.escalations[1]["name"] = HOSTILE["escalation"]
    account.services[0]["name"] = HOSTILE["service"]
    return account


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("hostile")
    with run_emulator(hostile_account()) as emulator:
        summaries = sync(
            run_context(folder / "staging", "hostile", max_quarantine_share=1.0),
            new_sqlite_store(folder),
            client_factory(emulator),
        )
    yield Path(summaries["report"]["report_html"]).read_text(encoding="utf-8")


class Page(HTMLParser):
    """What a browser makes of the report: its elements and attributes, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}

    def handle_data(self, data: str) -> None:
        self.text.append(data)


# Where the report shows each name: the account in the title, teams and schedules in the created
# lists, the quarantined email in its reason. The others must at least never appear raw.
SHOWN = ("account", "team", "schedule", "bad email")


@pytest.mark.parametrize("where", HOSTILE)
def test_markup_from_the_source_renders_as_text_in_the_report(report_html: str, where: str) -> None:
    payload = HOSTILE[where]
    page = Page(report_html)

    assert payload not in report_html
    if where in SHOWN:
        assert str(escape(payload)) in report_html
        assert any(payload in text for text in page.text)


def test_the_report_holds_no_element_or_handler_from_the_source(report_html: str) -> None:
    page = Page(report_html)

    assert not page.tags & {"script", "img", "svg", "iframe", "a"}
    assert not {name for name in page.attributes if name.startswith("on")}
    # The generator's own HTML names came through as text too.
    assert "<b>Ops</b> & Ünïcode" in "".join(page.text)


# --- SQL built from strings --------------------------------------------------------------------

SQL_CALLS = {"text", "execute", "exec_driver_sql", "executescript", "executemany", "copy"}
# Reviewed: identifiers or settings from our own code, never from source data. Any new entry
# needs the same review. (path, enclosing function, start of the statement)
ALLOWED = {
    # A module constant (an int) in a PRAGMA.
    ("include/oncall_sync/store/config.py", "_on_connect", "PRAGMA busy_timeout"),
    # DEFERRED or IMMEDIATE, from an execution option only the store's own code sets.
    ("include/oncall_sync/store/config.py", "_on_begin", "BEGIN "),
    # Table and column names from the schema: table.c[name] has already rejected any other name.
    ("include/oncall_sync/store/repo.py", "_upsert", "CREATE TEMPORARY TABLE"),
    ("include/oncall_sync/store/repo.py", "_upsert", "DROP TABLE"),
    ("include/oncall_sync/store/repo.py", "_copy", "COPY "),
}


def _is_built(node: ast.expr) -> bool:
    """An f-string with values, %-formatting, + concatenation or .format() on a string."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("format", "join")
    )


def _statement_start(node: ast.expr) -> str:
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant):
            return str(first.value)
    return ast.unparse(node)


def string_built_sql(source: str, path: str) -> list[tuple[str, str, str]]:
    """(path, enclosing function, statement) for every SQL call whose statement is built."""
    found: list[tuple[str, str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if isinstance(child, ast.Call) and child.args:
                callee = child.func
                called = callee.attr if isinstance(callee, ast.Attribute) else None
                if isinstance(callee, ast.Name):
                    called = callee.id
                if called in SQL_CALLS and _is_built(child.args[0]):
                    found.append((path, function, _statement_start(child.args[0])))
            visit(child, name)

    visit(ast.parse(source), "<module>")
    return found


def test_the_scanner_catches_sql_built_from_strings() -> None:
    source = (
        "def find(conn, name):\n"
        "    conn.execute(text(f\"SELECT * FROM person WHERE name = '{name}'\"))\n"
        "    conn.execute('DELETE FROM team WHERE id = %s' % name)\n"
        "    conn.exec_driver_sql('SELECT ' + name)\n"
        "    conn.execute(text('SELECT 1'))\n"
    )

    found = string_built_sql(source, "x.py")

    assert [statement[:6] for _, _, statement in found] == ["SELECT", "'DELET", "'SELEC"]


def test_no_sql_in_include_is_built_from_strings() -> None:
    offenders = []
    for path in sorted((PROJECT / "include").rglob("*.py")):
        relative = str(path.relative_to(PROJECT))
        for where, function, statement in string_built_sql(path.read_text(), relative):
            if not any(
                (where, function) == (p, f) and statement.startswith(start)
                for p, f, start in ALLOWED
            ):
                offenders.append(f"{where} in {function}(): {statement[:80]!r}")

    assert offenders == [], "SQL built from strings:\n" + "\n".join(offenders)

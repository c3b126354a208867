"""Schema migrations for the store, run programmatically through Alembic (no alembic.ini).

`migrate` upgrades to the newest revision; a load calls `ensure_current` so a store that is
behind the code is brought up to date before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from oncall_sync.store.config import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the store is at; None for an empty store."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_behind(engine: Engine) -> bool:
    return current_revision(engine) != head_revision()


def migrate(engine_or_url: Engine | str | None = None) -> str:
    """Upgrade the store to the newest revision and return it; a no-op when already there."""
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return head_revision()


def ensure_current(engine: Engine) -> bool:
    """Migrate when the store is behind; True when a migration ran."""
    if not is_behind(engine):
        return False
    migrate(engine)
    return True

"""Store fixtures on both engines (see tests/store_fixtures.py)."""

from tests.store_fixtures import (  # noqa: F401  (fixtures are found by name)
    empty_database_url,
    postgres_server,
    postgres_store_url,
    store,
)

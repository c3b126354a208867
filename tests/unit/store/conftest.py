"""Store unit tests: the sample account lives in tests/store_fixtures.py."""

"""The campaign tests use the call-record tests' databases: SQLite, and Postgres when
TEST_POSTGRES_URL is set (tests/records/conftest.py)."""

from tests.records.conftest import database_url, postgres_url  # noqa: F401

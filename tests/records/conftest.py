"""Databases for the call-record tests: a SQLite file, and a real Postgres when there is one.

`TEST_POSTGRES_URL` (a role that may create databases, e.g.
postgresql://switchboard:switchboard@127.0.0.1:5432/switchboard, set by .ci/run) enables the
Postgres variants: each test gets a database of its own, created for it and dropped after
(tests run in parallel). Without it they skip, unless SWITCHBOARD_REQUIRE_POSTGRES=1, when
they fail: CI must not pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("SWITCHBOARD_REQUIRE_POSTGRES") == "1"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(sql: str) -> None:
    import asyncpg

    url = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_or_skip() -> str:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("SWITCHBOARD_REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
        pytest.skip("TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL)")
    return POSTGRES_URL


@pytest.fixture
async def postgres_url():
    """A fresh, empty Postgres database for this test (dropped afterwards)."""
    base = postgres_or_skip()
    name = f"sb_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(base, name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request, tmp_path):
    """A DATABASE_URL for each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/calls.db"
        return
    postgres_or_skip()
    name = f"sb_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""Shared fixtures. Every test gets its own fresh database, on SQLite and on PostgreSQL.

The PostgreSQL server is ``TRADEWIND_TEST_POSTGRES_URL`` (default: the local server).
When it cannot be reached the PostgreSQL variants are skipped, unless
``TRADEWIND_TEST_REQUIRE_POSTGRES=1`` (set by .ci/run), which makes them fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.config import Config
from tradewind.store import Database
from tradewind.testing import PostgresTemplate, SqliteTemplate, make_config, server_reachable

POSTGRES_URL = os.environ.get("TRADEWIND_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("TRADEWIND_TEST_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    if not server_reachable(POSTGRES_URL):
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_URL}")
        pytest.skip("PostgreSQL not reachable")
    template = PostgresTemplate(POSTGRES_URL)
    yield template
    template.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_template").new_url(tmp_path)
        return
    template: PostgresTemplate = request.getfixturevalue("postgres_template")
    with template.database() as url:
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Config:
    return make_config(tmp_path, core={"sql_alchemy_conn": db_url, "load_examples": False})

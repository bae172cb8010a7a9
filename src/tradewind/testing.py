"""Building blocks for tests, Tradewind's own and users': configs and throwaway databases."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tradewind.clock import FixedClock
from tradewind.config import Config, load_config
from tradewind.store import Database, normalize_url
from tradewind.store.migrate import init_db

__all__ = ["FixedClock", "PostgresTemplate", "SqliteTemplate", "make_config"]


def make_config(home: Path, **sections: Mapping[str, Any]) -> Config:
    """A config rooted at ``home`` that ignores the caller's environment and files."""
    config = load_config(home, environ={})
    return config.with_overrides(**sections) if sections else config


class SqliteTemplate:
    """A migrated SQLite file, copied for each test: much faster than migrating each time."""

    def __init__(self, folder: Path) -> None:
        self._template = folder / "template.db"
        db = Database(f"sqlite:///{self._template}")
        init_db(db)
        db.dispose()

    def new_url(self, folder: Path) -> str:
        target = folder / f"tradewind-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(self._template, target)
        return f"sqlite:///{target}"


class PostgresTemplate:
    """A migrated PostgreSQL database used as TEMPLATE for a fresh database per test."""

    def __init__(self, server_url: str) -> None:
        self._server = normalize_url(server_url)
        self._admin = create_engine(self._server, isolation_level="AUTOCOMMIT")
        self._template = f"tw_template_{uuid.uuid4().hex[:8]}"
        self._execute(f'CREATE DATABASE "{self._template}"')
        db = Database(self._url(self._template))
        init_db(db)
        db.dispose()

    def _url(self, name: str) -> str:
        return self._server.set(database=name).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(sql))

    @contextmanager
    def database(self) -> Iterator[str]:
        name = f"tw_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        try:
            yield self._url(name)
        finally:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')
        self._admin.dispose()


def server_reachable(url: str) -> bool:
    try:
        engine = create_engine(normalize_url(url), connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False

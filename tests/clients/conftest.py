"""One contract suite, three ways: the local client, the JSON client in process, and the JSON
client against a real webserver on loopback; each on SQLite and on PostgreSQL.

Local and in-process runs get a fresh database per test. The live webserver is shared by a
module (starting one per test would be slow), so tests name their DAGs and pools uniquely
(:meth:`Harness.name`) and never assume the database is otherwise empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.actions import factory
from tests.clients.bridge import ASGIBridge
from tests.clients.live import OPEN_BACKEND, live_webserver

from tradewind.api.app import create_app
from tradewind.clients.base import Client
from tradewind.clients.json import JsonClient
from tradewind.clients.local import LocalClient
from tradewind.store import Database
from tradewind.testing import PostgresTemplate, SqliteTemplate, make_config

KINDS = ["local", "inprocess", "live"]
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Harness:
    """A client under test and the database behind it, for seeding data the API cannot create."""

    kind: str
    client: Client
    db: Database
    dags: list[str] = field(default_factory=list)

    def name(self, prefix: str) -> str:
        return f"{prefix}_{uuid.uuid4().hex[:8]}"

    def add_dag(self, prefix: str = "dag", **extra: Any) -> str:
        """A DAG (extract >> transform >> load) with its own file, so deleting it spares others."""
        dag_id = self.name(prefix)
        factory.add_dag(self.db, dag_id, fileloc=f"/dags/{dag_id}.py", **extra)
        return dag_id


def fresh_db_url(request: pytest.FixtureRequest, kind: str, folder: Path, stack: ExitStack) -> str:
    if kind == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        return template.new_url(folder)
    postgres: PostgresTemplate = request.getfixturevalue("postgres_template")
    return stack.enter_context(postgres.database())


@dataclass
class LiveServer:
    url: str
    db: Database


class LiveServers:
    """Webservers started on first use, one per database kind, each on its own database."""

    def __init__(self, tmp: pytest.TempPathFactory, stack: ExitStack) -> None:
        self._tmp, self._stack = tmp, stack
        self._servers: dict[str, LiveServer] = {}

    def get(self, request: pytest.FixtureRequest, kind: str) -> LiveServer:
        if kind not in self._servers:
            folder = self._tmp.mktemp(f"live-{kind}")
            url = fresh_db_url(request, kind, folder, self._stack)
            base = self._stack.enter_context(live_webserver(folder / "home", url))
            db = Database(url)
            self._stack.callback(db.dispose)
            self._servers[kind] = LiveServer(base, db)
        return self._servers[kind]


@pytest.fixture(scope="module")
def live_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServers]:
    with ExitStack() as stack:
        yield LiveServers(tmp_path_factory, stack)


@pytest.fixture(params=DATABASES)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=KINDS)
def harness(request: pytest.FixtureRequest, db_kind: str, tmp_path: Path) -> Iterator[Harness]:
    with ExitStack() as stack:
        if request.param == "live":
            server = request.getfixturevalue("live_servers").get(request, db_kind)
            client: Client = stack.enter_context(JsonClient(server.url))
            yield Harness("live", client, server.db)
            return
        db = Database(fresh_db_url(request, db_kind, tmp_path, stack))
        stack.callback(db.dispose)
        if request.param == "local":
            yield Harness("local", stack.enter_context(LocalClient(db)), db)
            return
        yield Harness("inprocess", stack.enter_context(in_process_client(db, tmp_path)), db)


def in_process_client(db: Database, tmp_path: Path, **api: Any) -> JsonClient:
    """A JsonClient whose requests go to ``create_app`` in this process (no socket)."""
    config = make_config(tmp_path, core={"load_examples": False}, api={"auth_backend": OPEN_BACKEND, **api})
    return JsonClient("http://testserver", transport=ASGIBridge(create_app(config, db=db)), retries=0)

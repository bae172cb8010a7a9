"""Fixtures for the auth tests: users, Starlette requests, and a real uvicorn server on loopback."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.requests import Request

from tradewind.actions.users import create_user
from tradewind.api.app import create_app
from tradewind.clock import utcnow
from tradewind.config import Config
from tradewind.store import Database
from tradewind.testing import make_config

PASSWORD_AUTH = "tradewind.api.auth.backend.password_auth"
KERBEROS_AUTH = "tradewind.api.auth.backend.kerberos_auth"
POOLS = "/api/experimental/pools"
NEW_POOL = {"name": "reports", "slots": 3, "description": "for tests"}


def add_user(
    db: Database, username: str, role: str, password: str = "correct horse", *, active: bool = True
) -> None:
    with db.transaction() as store:
        create_user(store, username=username, role=role, password=password, now=utcnow())
        if not active:
            from tradewind.models import User

            store.session.query(User).filter_by(username=username).update({"is_active": False})


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def make_request(authorization: str | None = None, *, client: str = "10.0.0.1") -> Request:
    headers = [(b"authorization", authorization.encode("latin-1"))] if authorization is not None else []
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": POOLS,
        "query_string": b"",
        "headers": headers,
        "client": (client, 40000),
    }
    return Request(scope)


@pytest.fixture
def sqlite_db(sqlite_template: Any, tmp_path: Path) -> Iterator[Database]:
    """A fresh SQLite database, for tests that need not run on both databases."""
    database = Database(sqlite_template.new_url(tmp_path))
    yield database
    database.dispose()


def auth_config(tmp_path: Path, db: Database, backend: str, **sections: dict[str, Any]) -> Config:
    url = db.url.render_as_string(hide_password=False)
    api = {"auth_backend": backend, **sections.pop("api", {})}
    return make_config(tmp_path, core={"sql_alchemy_conn": url, "load_examples": False}, api=api, **sections)


@contextmanager
def live_server(config: Config, db: Database) -> Iterator[str]:
    """Serve ``create_app(config, db=db)`` with uvicorn on 127.0.0.1; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config, db=db), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()

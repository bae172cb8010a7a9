"""An app per test on a fresh database (SQLite and PostgreSQL), the open backend, a fixed clock.

Requests go through real HTTP semantics in-process: httpx's ASGITransport, driven from
synchronous tests by an anyio blocking portal (what Starlette's TestClient does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from tests.actions.factory import NOW

from tradewind.api.app import create_app
from tradewind.clock import FixedClock
from tradewind.config import Config
from tradewind.store import Database
from tradewind.testing import make_config

OPEN = "tradewind.api.auth.backend.default"


class AppClient:
    """A synchronous HTTP client for an ASGI app, in process."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._stack.close()

    def __enter__(self) -> AppClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def app_config(tmp_path: Path, db_url: str) -> Config:
    return make_config(
        tmp_path, core={"sql_alchemy_conn": db_url, "load_examples": False}, api={"auth_backend": OPEN}
    )


def make_client(config: Config, db: Database, clock: FixedClock | None = None, **api: Any) -> AppClient:
    if api:
        config = config.with_overrides(api=api)
    return AppClient(create_app(config, db=db, clock=clock or FixedClock(NOW)))


@pytest.fixture
def client(app_config: Config, db: Database, clock: FixedClock) -> Iterator[AppClient]:
    with make_client(app_config, db, clock) as app_client:
        yield app_client

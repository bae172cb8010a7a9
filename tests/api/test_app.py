"""What every route shares: error rendering, body limits, auth and roles, health, OpenAPI, logs."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.requests import Request
from tests.actions.factory import NOW, add_dag, add_scheduler_heartbeat
from tests.api.conftest import AppClient, make_client

from tradewind import __version__
from tradewind.api.app import create_app
from tradewind.api.auth.backend import load_auth_backend
from tradewind.api.auth.base import BaseAuthBackend, Identity
from tradewind.api.routes import API_PREFIX, API_ROUTES
from tradewind.config import Config
from tradewind.errors import PluginError, Unauthorized
from tradewind.store import Database


def test_test_and_info(client: AppClient) -> None:
    response = client.get("/api/experimental/test")
    assert (response.status_code, response.json()) == (200, {"status": "OK"})
    assert response.headers["content-type"] == "application/json"
    assert client.get("/api/experimental/info").json() == {"version": __version__}


@pytest.mark.parametrize(
    ("method", "url", "status", "body"),
    [
        ("GET", "/nope", 404, {"error": "Not found", "type": "NotFound"}),
        ("GET", "/api/experimental/test/", 404, {"error": "Not found", "type": "NotFound"}),
        ("GET", "/api/experimental/dags", 404, {"error": "Not found", "type": "NotFound"}),
        (
            "DELETE",
            "/api/experimental/test",
            405,
            {"error": "Method not allowed", "type": "MethodNotAllowed"},
        ),
        (
            "PATCH",
            "/api/experimental/pools",
            405,
            {"error": "Method not allowed", "type": "MethodNotAllowed"},
        ),
        (
            "GET",
            "/api/experimental/dags/a%00b/paused",
            400,
            {"error": "Request path must not contain NUL characters", "type": "BadRequest"},
        ),
    ],
)
def test_routing_errors_are_json(client: AppClient, method: str, url: str, status: int, body: object) -> None:
    response = client.request(method, url)
    assert (response.status_code, response.json()) == (status, body)
    assert response.headers["content-type"] == "application/json"


def test_405_lists_allowed_methods(client: AppClient) -> None:
    assert client.delete("/api/experimental/test").headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("PATCH", "/api/experimental/pools", "GET, HEAD, POST"),
        ("PUT", "/api/experimental/pools/etl", "DELETE, GET, HEAD"),
        ("PUT", "/api/experimental/dags/example/dag_runs", "GET, HEAD, POST"),
        ("POST", "/api/experimental/dags/example/paused", "GET, HEAD, PUT"),
    ],
)
def test_405_lists_the_methods_of_every_route_at_the_path(
    client: AppClient, method: str, url: str, allow: str
) -> None:
    """One path served by several routes (one per method): ``Allow`` names them all."""
    response = client.request(method, url)
    assert (response.status_code, response.headers["allow"]) == (405, allow)


def test_head_is_answered_like_get(client: AppClient) -> None:
    head, get = client.request("HEAD", "/api/experimental/test"), client.get("/api/experimental/test")
    assert head.status_code == get.status_code == 200
    assert head.headers["content-length"] == get.headers["content-length"]
    assert client.request("HEAD", "/api/experimental/pools/nope").status_code == 404


def test_body_too_large_by_content_length(app_config: Config, db: Database) -> None:
    add_dag(db)
    with make_client(app_config, db, max_body_size=100) as client:
        response = client.post("/api/experimental/dags/example/dag_runs", json={"conf": {"x": "y" * 200}})
        assert (response.status_code, response.json()) == (
            413,
            {"error": "Request body is larger than 100 bytes", "type": "PayloadTooLarge"},
        )
        assert client.post("/api/experimental/dags/example/dag_runs", json={"conf": {}}).status_code == 200


def test_body_too_large_when_streamed(app_config: Config, db: Database) -> None:
    add_dag(db)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"conf": {"x": "'
        yield b"y" * 200
        yield b'"}}'

    with make_client(app_config, db, max_body_size=100) as client:
        response = client.post("/api/experimental/dags/example/dag_runs", content=chunks())
    assert "content-length" not in response.request.headers
    assert (response.status_code, response.json()["type"]) == (413, "PayloadTooLarge")


def test_unexpected_error_is_a_bare_500_with_logged_traceback(
    client: AppClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    client.app.state.context.db.transaction = _broken_transaction
    client.app.state.context.db.read = _broken_transaction
    with caplog.at_level(logging.ERROR, logger="tradewind.api"):
        response = client.get("/api/experimental/pools")
    assert (response.status_code, response.content) == (500, b'{"error":"Internal error"}')
    assert "RuntimeError: secret internals" in caplog.text
    assert "secret" not in response.text


def _broken_transaction(**_: Any) -> Any:
    raise RuntimeError("secret internals")


def test_health(client: AppClient, db: Database) -> None:
    body = client.get("/health").json()
    assert body == {
        "metadatabase": {"status": "healthy"},
        "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": None},
        "schedulers": {"count": 0, "jobs": []},
        "workers": {"count": 0, "jobs": []},
    }
    add_scheduler_heartbeat(db, NOW - timedelta(seconds=10))
    body = client.get("/health").json()
    assert body["scheduler"] == {
        "status": "healthy",
        "latest_scheduler_heartbeat": "2024-05-06T07:07:59.123456+00:00",
    }
    assert body["schedulers"]["count"] == 1
    assert body["schedulers"]["jobs"][0]["latest_heartbeat"] == "2024-05-06T07:07:59.123456+00:00"
    assert body["workers"] == {"count": 0, "jobs": []}


def test_health_stale_scheduler_and_no_auth_needed(app_config: Config, db: Database) -> None:
    add_scheduler_heartbeat(db, NOW - timedelta(seconds=31))
    with make_client(app_config, db, auth_backend="tradewind.api.auth.backend.deny_all") as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["scheduler"]["status"] == "unhealthy"


def test_health_unreachable_database(client: AppClient) -> None:
    from tradewind.store import Database

    client.app.state.context = _replace_db(client, Database("sqlite:////nonexistent-dir/x/y.db"))
    body = client.get("/health").json()
    assert body["metadatabase"] == {"status": "unhealthy"}


def _replace_db(client: AppClient, db: Database) -> Any:
    import dataclasses

    return dataclasses.replace(client.app.state.context, db=db)


def test_openapi_and_docs(client: AppClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    # OpenAPI names a parameter without its converter: /pools/{name:path} is /pools/{name}.
    assert {API_PREFIX + route.path.replace(":path}", "}") for route in API_ROUTES} <= paths
    assert "/health" in paths
    trigger = schema["paths"]["/api/experimental/dags/{dag_id}/dag_runs"]["post"]
    assert "conf" in trigger["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert client.get("/docs").status_code == 200


# ---- auth -----------------------------------------------------------------------------


def test_deny_all_is_the_default(tmp_path: Any, db_url: str, db: Database) -> None:
    from tradewind.testing import make_config

    config = make_config(tmp_path, core={"sql_alchemy_conn": db_url})
    with make_client(config, db) as client:
        for method, url in [
            ("GET", "/api/experimental/test"),
            ("POST", "/api/experimental/pools"),
            ("GET", "/dags/x/graph"),
        ]:
            response = client.request(method, url)
            assert (response.status_code, response.json()) == (
                403,
                {"error": "Forbidden", "type": "Forbidden"},
            )


def test_airflow_alias_and_bad_backend() -> None:
    assert load_auth_backend("airflow.api.auth.backend.deny_all") is load_auth_backend(
        "tradewind.api.auth.backend.deny_all"
    )
    with pytest.raises(PluginError, match=r"tradewind\.errors is not a valid API auth backend"):
        load_auth_backend("tradewind.errors")
    with pytest.raises(PluginError):
        load_auth_backend("no.such.module")


class _RoleBackend(BaseAuthBackend):
    """A backend for tests: the role comes from a header; no header is 401 with a challenge."""

    def __init__(self) -> None:
        self.initialised = False

    def init(self, config: Config, db: Database) -> None:
        self.initialised = True

    async def authenticate(self, request: Request) -> Identity:
        role = request.headers.get("x-role")
        if role is None:
            raise Unauthorized("Unauthorized", headers={"WWW-Authenticate": "Basic"})
        return Identity(username=f"{role}-user", role=role)

    def response_headers(self, identity: Identity) -> dict[str, str]:
        return {"X-Checked-User": identity.username or ""}


backend = _RoleBackend()


@pytest.fixture
def role_client(app_config: Config, db: Database) -> Iterator[AppClient]:
    add_dag(db)
    with make_client(app_config, db, auth_backend=f"{__name__}") as client:
        yield client


def test_backend_init_hook_ran(role_client: AppClient) -> None:
    assert backend.initialised


def test_unauthorized_carries_challenge(role_client: AppClient) -> None:
    response = role_client.get("/api/experimental/test")
    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized", "type": "Unauthorized"})
    assert response.headers["www-authenticate"] == "Basic"


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [("viewer", 200, 403), ("op", 200, 200), ("admin", 200, 200), ("nobody", 403, 403)],
)
def test_roles(role_client: AppClient, db: Database, role: str, read: int, write: int) -> None:
    headers = {"x-role": role}
    assert role_client.get("/api/experimental/dags/example/paused", headers=headers).status_code == read
    response = role_client.post("/api/experimental/dags/example/dag_runs", headers=headers)
    assert response.status_code == write
    if write == 403:
        assert response.json()["type"] == "Forbidden"
    else:
        assert response.headers["x-checked-user"] == f"{role}-user"
        with db.transaction(write=False) as store:
            from sqlalchemy import select

            from tradewind.models import EventLog

            assert store.session.scalars(select(EventLog.owner)).all() == [f"{role}-user"]


def test_access_log(app_config: Config, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    config = app_config.with_overrides(webserver={"access_log": True})
    with (
        AppClient(create_app(config, db=db)) as client,
        caplog.at_level(logging.INFO, "tradewind.api.access"),
    ):
        client.get("/api/experimental/test?token=secret", headers={"Authorization": "Basic c2VjcmV0"})
    [record] = [r for r in caplog.records if r.name == "tradewind.api.access"]
    line = json.loads(record.getMessage())
    assert line.keys() == {"method", "path", "status", "duration_ms", "client", "user"}
    assert (line["method"], line["path"], line["status"], line["user"]) == (
        "GET",
        "/api/experimental/test",
        200,
        None,
    )
    assert "secret" not in record.getMessage() and "c2VjcmV0" not in record.getMessage()


def test_no_access_log_by_default(client: AppClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "tradewind.api.access"):
        client.get("/api/experimental/test")
    assert [r for r in caplog.records if r.name == "tradewind.api.access"] == []

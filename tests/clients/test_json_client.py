"""The JSON client's HTTP edge: error mapping, unreachable servers, retries, credentials."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.clients.live import always_401_server, free_port

from tradewind import errors
from tradewind.clients import make_client
from tradewind.clients.json import JsonClient
from tradewind.testing import make_config

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, **kwargs: Any) -> JsonClient:
    return JsonClient("http://server:8080", transport=httpx.MockTransport(handler), **kwargs)


def _answer(status: int, body: Any = None, **kwargs: Any) -> Handler:
    return lambda request: httpx.Response(status, json=body, **kwargs)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, {"error": "Dag id x not found", "type": "DagNotFound"}, errors.DagNotFound),
        (400, {"error": "dup", "type": "DagRunAlreadyExists"}, errors.DagRunAlreadyExists),
        (400, {"error": "Given execution date, x, …", "type": "InvalidDate"}, errors.InvalidDate),
        (404, {"error": "x", "type": "Forbidden"}, errors.NotFound),  # a type that disagrees: by status
        (404, {"error": "x", "type": "NoSuchClass"}, errors.NotFound),
        (400, {"error": "x"}, errors.BadRequest),
        (401, {"error": "x"}, errors.Unauthorized),
        (403, {"error": "x"}, errors.Forbidden),
        (405, {"error": "x", "type": "MethodNotAllowed"}, errors.BadRequest),
        (409, {"error": "x"}, errors.Conflict),
        (413, {"error": "x"}, errors.PayloadTooLarge),
        (418, {"error": "x"}, errors.BadRequest),
    ],
)
def test_error_responses_become_the_servers_exception(
    status: int, body: Any, expected: type[Exception]
) -> None:
    with _client(_answer(status, body)) as client, pytest.raises(expected) as caught:
        client.get_pool("p")
    assert type(caught.value) is expected
    assert caught.value.message == body["error"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            httpx.Response(500, json={"error": "Internal error"}),
            "Server error (500) from http://server:8080: Internal error",
        ),
        (
            httpx.Response(502, text="<html>Bad gateway</html>"),
            "Server error (502 Bad Gateway) from http://server:8080",
        ),
        (httpx.Response(200, text="<html>hello</html>"), "is not JSON"),
        (httpx.Response(200, json={"unexpected": True}), "Unexpected response from the server"),
        (httpx.Response(302, headers={"Location": "/login"}), "Server error (302 Found)"),
    ],
)
def test_server_failures_are_server_errors(response: httpx.Response, message: str) -> None:
    with (
        _client(lambda request: response) as client,
        pytest.raises(errors.ServerError, match=re.escape(message)) as caught,
    ):
        client.get_pool("p")
    assert caught.value.exit_code == 5


def test_unauthorized_keeps_www_authenticate() -> None:
    answer = _answer(401, {"error": "Unauthorized"}, headers={"WWW-Authenticate": "Basic"})
    with _client(answer) as client, pytest.raises(errors.Unauthorized) as caught:
        client.pools()
    assert caught.value.headers == {"www-authenticate": "Basic"}
    assert caught.value.exit_code == 4


def test_a_real_server_that_always_answers_401() -> None:
    with always_401_server() as url, JsonClient(url) as client, pytest.raises(errors.Unauthorized) as caught:
        client.trigger_dag("example")
    assert caught.value.message == f"The server at {url} answered 401 Unauthorized"


def test_unreachable_server_is_connection_failed_after_retries() -> None:
    waits: list[float] = []
    url = f"http://127.0.0.1:{free_port()}"
    with JsonClient(url, sleep=waits.append) as client, pytest.raises(errors.ConnectionFailed) as caught:
        client.pools()
    assert caught.value.message.startswith(f"Cannot reach the Tradewind webserver at {url}: ")
    assert caught.value.exit_code == 5
    assert waits == [0.2, 0.4]


def test_only_gets_are_retried() -> None:
    calls: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ConnectError("refused", request=request)

    with _client(refuse, sleep=lambda s: None) as client:
        with pytest.raises(errors.ConnectionFailed):
            client.create_or_update_pool("p", 1)
        assert calls == ["POST"]
        with pytest.raises(errors.ConnectionFailed):
            client.get_pool("p")
        assert calls == ["POST", "GET", "GET", "GET"]


def test_a_retry_that_succeeds_returns_the_answer() -> None:
    attempts: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) < 2:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"is_paused": True})

    with _client(flaky, sleep=lambda s: None) as client:
        assert client.paused_state("d").is_paused


def test_a_timeout_is_connection_failed() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with _client(slow) as client, pytest.raises(errors.ConnectionFailed, match=r"timed out$"):
        client.pools()


def test_a_url_without_scheme_is_a_config_error() -> None:
    with JsonClient("localhost:8080") as client, pytest.raises(errors.ConfigError, match="endpoint_url"):
        client.pools()


def test_requests_quote_path_segments_and_send_airflows_body() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"execution_date": "2024-01-01T00:00:00+05:00", "run_id": "r", "message": "Created"}
        return httpx.Response(200, json=body)

    from datetime import datetime, timedelta, timezone

    when = datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    with _client(record) as client:
        result = client.trigger_dag("my dag", run_id="r", conf={"a": 1}, execution_date=when)
    assert (result.dag_id, result.state, result.queued_at) == ("my dag", "queued", None)  # Airflow's answer
    assert seen[0].url.raw_path == b"/api/experimental/dags/my%20dag/dag_runs"
    assert json.loads(seen[0].content) == {
        "run_id": "r",
        "conf": {"a": 1},
        "execution_date": "2024-01-01T00:00:00+05:00",
    }


def test_make_client_sends_the_configured_credentials(tmp_path: Path) -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        return httpx.Response(200, json=[])

    config = make_config(
        tmp_path,
        cli={"api_client": "airflow.api.client.json_client", "api_user": "ann", "api_password": "s3cret"},
        api={"auth_backend": "tradewind.api.auth.backend.password_auth"},
    )
    with make_client(config, transport=httpx.MockTransport(record)) as client:  # type: ignore[attr-defined]
        assert client.pools() == []
    assert seen == ["Basic YW5uOnMzY3JldA=="]

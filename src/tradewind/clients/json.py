"""The HTTP client: the experimental REST API of a Tradewind (or Airflow) webserver, with httpx.

This is what ``[cli] api_client = tradewind.clients.json`` uses. Error responses become the
exceptions the local client raises: by the body's ``type`` when the server names one of
:mod:`tradewind.errors` consistent with the status, else by the status (400 BadRequest,
401 Unauthorized, 403 Forbidden, 404 NotFound, 409 Conflict, 413 PayloadTooLarge, other 4xx
BadRequest, 5xx ServerError). A server that cannot be reached is a ``ConnectionFailed``
naming the URL; GETs are retried a couple of times first, since they change nothing.

Imports only httpx and leaf modules: no database, no web framework.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx

from tradewind import __version__
from tradewind.clients import _wire
from tradewind.clients.base import aware
from tradewind.errors import (
    BadRequest,
    ConfigError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServerError,
    TradewindError,
    Unauthorized,
    error_class,
)
from tradewind.runconf import coerce_conf
from tradewind.timeutil import isoformat
from tradewind.values import (
    DagRunInfo,
    DagSource,
    DeleteResult,
    HealthInfo,
    LatestRun,
    LineageInfo,
    PauseState,
    PoolInfo,
    TaskInfo,
    TaskInstanceInfo,
    TriggerResult,
)

if TYPE_CHECKING:
    from tradewind.config import Config

__all__ = ["JsonClient", "create_client", "error_from_response"]

API_PREFIX = "/api/experimental"
T = TypeVar("T")

_BY_STATUS: dict[int, type[TradewindError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
}
# Failures where the request surely or harmlessly did not complete: worth another try for a GET.
_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError)


class JsonClient:
    """A :class:`~tradewind.clients.base.Client` over HTTP.

    ``base_url`` is the webserver's root (``http://host:8080``; a path prefix is kept).
    ``auth`` is any ``httpx.Auth`` (see :func:`tradewind.clients.auth.client_auth`).
    ``transport`` replaces the network, e.g. to talk to an in-process app. ``timeout`` is in
    seconds, per network operation. GETs that fail to connect are tried ``retries`` more
    times, waiting ``backoff``, then twice as long, and so on.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries, self.backoff, self._sleep = retries, backoff, sleep
        try:
            self._http = httpx.Client(
                base_url=self.base_url,
                auth=auth,
                transport=transport,
                timeout=timeout,
                follow_redirects=False,
                headers={"Accept": "application/json", "User-Agent": f"tradewind/{__version__}"},
            )
        except (httpx.InvalidURL, TypeError) as exc:
            raise ConfigError(f"Bad value for [cli] endpoint_url: {base_url!r} ({exc})") from None

    # ---- the contract -------------------------------------------------------------------

    def trigger_dag(
        self,
        dag_id: str,
        *,
        run_id: str | None = None,
        conf: Mapping[str, Any] | str | None = None,
        execution_date: datetime | None = None,
        replace_microseconds: bool | None = None,
    ) -> TriggerResult:
        if isinstance(conf, Mapping):
            conf = coerce_conf(conf)  # refused here as the server would, and before json.dumps chokes
        body = {
            "run_id": run_id or None,
            "conf": conf,
            "execution_date": None if execution_date is None else isoformat(aware(execution_date)),
            "replace_microseconds": replace_microseconds,
        }
        body = {key: value for key, value in body.items() if value is not None}
        data = self._json("POST", _path("dags", dag_id, "dag_runs"), json=body)
        return _read(_wire.trigger, dag_id, data)

    def dag_runs(
        self,
        dag_id: str,
        *,
        state: str | None = None,
        execution_date_gte: datetime | None = None,
        execution_date_lte: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[DagRunInfo]:
        query = {
            "state": state,
            "execution_date_gte": _iso_or_none(execution_date_gte),
            "execution_date_lte": _iso_or_none(execution_date_lte),
            "limit": limit,
            "offset": offset or None,
        }
        params = {key: str(value) for key, value in query.items() if value is not None}
        data = self._json("GET", _path("dags", dag_id, "dag_runs"), params=params)
        return [_read(_wire.dag_run, item) for item in _list(data)]

    def dag_run_state(self, dag_id: str, execution_date: datetime) -> str:
        data = self._json("GET", _path("dags", dag_id, "dag_runs", isoformat(aware(execution_date))))
        return str(_read(lambda d: d["state"], data))

    def task_info(self, dag_id: str, task_id: str) -> TaskInfo:
        data = self._json("GET", _path("dags", dag_id, "tasks", task_id))
        return TaskInfo(dag_id, task_id, {str(k): str(v) for k, v in _mapping(data).items()})

    def task_instance_info(self, dag_id: str, execution_date: datetime, task_id: str) -> TaskInstanceInfo:
        date = isoformat(aware(execution_date))
        data = self._json("GET", _path("dags", dag_id, "dag_runs", date, "tasks", task_id))
        return _read(_wire.task_instance, data)

    def set_paused(self, dag_id: str, is_paused: bool) -> PauseState:
        self._json("PUT", _path("dags", dag_id, "paused"), json={"is_paused": is_paused})
        return PauseState(dag_id, is_paused)

    def paused_state(self, dag_id: str) -> PauseState:
        data = self._json("GET", _path("dags", dag_id, "paused"))
        return PauseState(dag_id, bool(_read(lambda d: d["is_paused"], data)))

    def latest_runs(self) -> list[LatestRun]:
        data = self._json("GET", _path("latest_runs"))
        return [_read(_wire.latest_run, item) for item in _list(_read(lambda d: d["items"], data))]

    def pools(self) -> list[PoolInfo]:
        return [_read(_wire.pool, item) for item in _list(self._json("GET", _path("pools")))]

    def get_pool(self, name: str) -> PoolInfo:
        return _read(_wire.pool, self._json("GET", _path("pools", name)))

    def create_or_update_pool(
        self,
        name: str,
        slots: int | str,
        description: str | None = None,
        *,
        include_deferred: bool | None = None,
    ) -> PoolInfo:
        body: dict[str, Any] = {"name": name, "slots": slots, "description": description}
        if include_deferred is not None:
            body["include_deferred"] = include_deferred
        return _read(_wire.pool, self._json("POST", _path("pools"), json=body))

    def delete_pool(self, name: str) -> PoolInfo:
        return _read(_wire.pool, self._json("DELETE", _path("pools", name)))

    def delete_dag(self, dag_id: str) -> DeleteResult:
        return _read(_wire.delete_result, dag_id, self._json("DELETE", _path("dags", dag_id)))

    def dag_code(self, dag_id: str) -> DagSource:
        return DagSource(dag_id, self._request("GET", _path("dags", dag_id, "code")).text)

    def lineage(self, dag_id: str, execution_date: datetime) -> LineageInfo:
        date = aware(execution_date)
        data = self._json("GET", _path("lineage", dag_id, isoformat(date)))
        return _read(_wire.lineage, dag_id, date, data)

    def health(self) -> HealthInfo:
        return _read(_wire.health, self._json("GET", "/health"))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JsonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- HTTP -----------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ServerError(
                f"The server at {self.base_url} answered {path} with a body that is not JSON "
                "(is [cli] endpoint_url a Tradewind webserver?)"
            ) from None

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempts = 1 + (self.retries if method == "GET" else 0)
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except _RETRYABLE as exc:
                if attempt == attempts:
                    raise self._unreachable(exc) from None
                self._sleep(self.backoff * 2 ** (attempt - 1))
            except httpx.UnsupportedProtocol:
                raise ConfigError(
                    f"Bad value for [cli] endpoint_url: {self.base_url!r} (use http:// or https://)"
                ) from None
            except (httpx.TransportError, httpx.InvalidURL) as exc:
                raise self._unreachable(exc) from None
            else:
                if response.is_success:
                    return response
                raise error_from_response(response, self.base_url)
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, exc: Exception) -> ConnectionFailed:
        reason = "timed out" if isinstance(exc, httpx.TimeoutException) else (str(exc) or type(exc).__name__)
        return ConnectionFailed(f"Cannot reach the Tradewind webserver at {self.base_url}: {reason}")


def error_from_response(response: httpx.Response, base_url: str) -> TradewindError:
    """The error a non-2xx response stands for, with the server's message when it sent one."""
    status = response.status_code
    body = _error_body(response)
    given = body.get("error")
    status_text = f"{status} {response.reason_phrase}".rstrip()
    if status >= 500 or status < 400:
        detail = f"({status}) from {base_url}: {given}" if given else f"({status_text}) from {base_url}"
        return _make(ServerError, f"Server error {detail}", {})
    message = given or f"The server at {base_url} answered {status_text}"
    headers = {k: v for k, v in response.headers.items() if k.lower() == "www-authenticate"}
    return _make(_class_for(body.get("type"), status), message, headers)


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str) and v}


def _class_for(type_name: object, status: int) -> type[TradewindError]:
    """The named class when it agrees with the status; else the status's class."""
    named = error_class(type_name) if isinstance(type_name, str) else None
    if named is not None and named.status_code == status:
        return named
    return _BY_STATUS.get(status, BadRequest)


def _make(cls: type[TradewindError], message: str, headers: Mapping[str, str]) -> TradewindError:
    # Bypass subclasses' own __init__ (InvalidDate formats a value): the server's message is final.
    exc = cls.__new__(cls)
    TradewindError.__init__(exc, message, headers=headers)
    return exc


def _path(*segments: str) -> str:
    return API_PREFIX + "".join("/" + quote(segment, safe="") for segment in segments)


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else isoformat(aware(value))


def _read(reader: Callable[..., T], *args: Any) -> T:
    """Apply a response reader; a body of the wrong shape is the server's fault."""
    try:
        return reader(*args)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ServerError(f"Unexpected response from the server: {type(exc).__name__}: {exc}") from None


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise ServerError("Unexpected response from the server: expected a JSON array")
    return data


def _mapping(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ServerError("Unexpected response from the server: expected a JSON object")
    return data


def create_client(config: Config, *, transport: Any = None, db: Any = None) -> JsonClient:
    """The client for ``[cli] endpoint_url``, with the credentials of ``[api] auth_backend``."""
    from tradewind.clients.auth import client_auth

    return JsonClient(
        config.cli.endpoint_url,
        auth=client_auth(config),
        transport=transport,
        timeout=config.cli.timeout,
    )

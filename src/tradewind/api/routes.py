"""The route table: reads like API.md. Each API route names the role it needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from starlette.routing import compile_path

from tradewind.api import endpoints as ep
from tradewind.api import pages
from tradewind.api.auth.base import OP, VIEWER
from tradewind.api.security import authenticate, require_role

API_PREFIX = "/api/experimental"


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required or []}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": bool(required)}}


_TRIGGER_BODY = _body(
    {
        "run_id": {"type": ["string", "null"]},
        "conf": {"anyOf": [{"type": "object"}, {"type": "string"}, {"type": "null"}]},
        "execution_date": {"type": ["string", "null"], "example": "2016-11-16T11:34:15+00:00"},
        "replace_microseconds": {"anyOf": [{"type": "boolean"}, {"type": "string"}]},
    }
)
_POOL_BODY = _body(
    {
        "name": {"type": "string"},
        "slots": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
        "description": {"type": ["string", "null"]},
        "include_deferred": {"type": "boolean"},
    },
    ["name", "slots"],
)
_PAUSED_BODY = _body({"is_paused": {"type": "boolean"}}, ["is_paused"])


def _query(*names: str) -> dict[str, Any]:
    """Query parameters a handler reads itself (see ``endpoints.list_dag_runs``)."""
    optional = {"in": "query", "required": False, "schema": {"type": "string"}}
    return {"parameters": [{"name": name, **optional} for name in names]}


_RUN_LIST_QUERY = _query("state", "limit", "offset", "execution_date_gte", "execution_date_lte")


@dataclass(frozen=True, slots=True)
class ApiRoute:
    path: str
    endpoint: Callable[..., Any]
    methods: tuple[str, ...] = ("GET",)
    role: str = VIEWER
    summary: str = ""
    openapi_extra: dict[str, Any] = field(default_factory=dict)


API_ROUTES: list[ApiRoute] = [
    ApiRoute("/test", ep.test, summary="Check that the API answers"),
    ApiRoute("/info", ep.info, summary="Tradewind's version"),
    ApiRoute("/dags/{dag_id}/dag_runs", ep.trigger_dag, ("POST",), OP, "Trigger a DAG run", _TRIGGER_BODY),
    ApiRoute(
        "/dags/{dag_id}/dag_runs", ep.list_dag_runs, ("GET",), VIEWER, "List a DAG's runs", _RUN_LIST_QUERY
    ),
    ApiRoute("/dags/{dag_id}/dag_runs/{execution_date}", ep.dag_run_state, summary="A run's state"),
    ApiRoute("/dags/{dag_id}/tasks/{task_id}", ep.task_info, summary="A task's definition"),
    ApiRoute(
        "/dags/{dag_id}/dag_runs/{execution_date}/tasks/{task_id}",
        ep.task_instance_info,
        summary="A task instance",
    ),
    ApiRoute(
        "/dags/{dag_id}/paused/{value}", ep.set_paused_compat, ("GET",), OP, "Pause or unpause (compat)"
    ),
    ApiRoute("/dags/{dag_id}/paused", ep.set_paused, ("PUT",), OP, "Pause or unpause", _PAUSED_BODY),
    ApiRoute("/dags/{dag_id}/paused", ep.paused_state, summary="Whether a DAG is paused"),
    ApiRoute("/latest_runs", ep.latest_runs, summary="The newest run of every DAG"),
    ApiRoute("/pools", ep.list_pools, summary="List pools"),
    ApiRoute("/pools", ep.create_pool, ("POST",), OP, "Create or update a pool", _POOL_BODY),
    # ``:path``: a pool name may hold a slash (sent as %2F), and every pool must be reachable.
    ApiRoute("/pools/{name:path}", ep.get_pool, summary="A pool"),
    ApiRoute("/pools/{name:path}", ep.delete_pool, ("DELETE",), OP, "Delete a pool"),
    ApiRoute("/dags/{dag_id}", ep.delete_dag, ("DELETE",), OP, "Delete a DAG's records"),
    # The path Airflow 2's own json_client.delete_dag calls.
    ApiRoute("/dags/{dag_id}/delete_dag", ep.delete_dag, ("DELETE",), OP, "Delete a DAG's records (alias)"),
    ApiRoute("/dags/{dag_id}/code", ep.dag_code, summary="A DAG file's source"),
    ApiRoute("/lineage/{dag_id}/{execution_date}", ep.lineage, summary="Inlets and outlets of a run's tasks"),
]

PAGE_ROUTES: list[ApiRoute] = [
    ApiRoute("/dags/{dag_id}/graph", pages.run_graph, summary="A run's task instances (HTML)"),
]

PUBLIC_ROUTES: list[ApiRoute] = [
    ApiRoute("/health", ep.health, summary="Database and scheduler health"),
]


def _add(router: APIRouter | FastAPI, route: ApiRoute, *, authorize: bool) -> None:
    router.add_api_route(
        route.path,
        route.endpoint,
        methods=list(route.methods),
        summary=route.summary,
        dependencies=[Depends(require_role(route.role))] if authorize else None,
        openapi_extra=route.openapi_extra or None,
    )


def install_routes(app: FastAPI) -> None:
    """The experimental API (authenticated, one dependency on its router), the page, /health."""
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(authenticate)])
    for route in API_ROUTES:
        _add(api, route, authorize=True)
    app.include_router(api)
    for route in PAGE_ROUTES:
        _add(app, route, authorize=True)
    for route in PUBLIC_ROUTES:
        _add(app, route, authorize=False)
    # For the 405 handler's ``Allow`` header (see ``handlers.allowed_methods``).
    app.state.route_methods = [
        (compile_path(path)[0], frozenset(route.methods))
        for path, route in [(API_PREFIX + r.path, r) for r in API_ROUTES]
        + [(r.path, r) for r in PAGE_ROUTES + PUBLIC_ROUTES]
    ]

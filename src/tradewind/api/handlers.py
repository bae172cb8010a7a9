"""Error rendering, in one place: every error becomes ``{"error": …, "type": …}`` with its status.

Registered on the app for our errors, request-validation errors (never FastAPI's 422 body) and
routing errors (404, 405); :mod:`.middleware` uses :func:`error_response` for what happens
outside the app (body too large, unexpected exceptions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tradewind.errors import BadRequest, NotFound, TradewindError

INTERNAL_ERROR = b'{"error":"Internal error"}'
_ROUTING_ERRORS: dict[int, tuple[str, str]] = {
    404: ("Not found", NotFound.__name__),
    405: ("Method not allowed", "MethodNotAllowed"),
}


def json_error(
    status: int, message: str, type_name: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = json.dumps({"error": message, "type": type_name}, separators=(",", ":")).encode()
    return Response(body, status_code=status, headers=dict(headers or {}), media_type="application/json")


def error_response(exc: TradewindError) -> Response:
    return json_error(exc.status_code, exc.message, type(exc).__name__, exc.headers)


async def _tradewind_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TradewindError)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(BadRequest(_describe(exc)))


def _describe(exc: RequestValidationError) -> str:
    names = [".".join(str(part) for part in err.get("loc", ())) for err in exc.errors()]
    return f"Invalid request: {', '.join(names) or 'bad input'}"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message, type_name = _ROUTING_ERRORS.get(exc.status_code, (str(exc.detail), "HTTPError"))
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return json_error(exc.status_code, message, type_name, headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (``install_routes`` records them): one path
    may be served by several routes, and Starlette's own ``Allow`` names only the first one's."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] = getattr(request.app.state, "route_methods", [])
    methods = {
        m for pattern, route_methods in table if pattern.match(request.url.path) for m in route_methods
    }
    if "GET" in methods:
        methods.add("HEAD")  # answered as GET, headers only (see .middleware)
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TradewindError, _tradewind_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)

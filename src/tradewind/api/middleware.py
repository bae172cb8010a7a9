"""The one pure-ASGI middleware in front of the app (no BaseHTTPMiddleware: it is slow).

Per HTTP request it:
- refuses a NUL in the path (400; no database can store or look one up);
- answers HEAD as GET (the server then sends the headers only), as Airflow's Flask did;
- refuses a body larger than ``max_body_size``: by Content-Length before reading, and by
  counting streamed bytes while the app reads (413);
- adds the auth backend's response headers (``scope["state"]["response_headers"]``);
- turns an unexpected exception into a logged traceback and a bare 500 that reveals nothing;
- writes one structured access-log line when ``access_log`` is on (never headers or queries).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradewind.api.handlers import INTERNAL_ERROR, error_response
from tradewind.errors import BadRequest, PayloadTooLarge

logger = logging.getLogger("tradewind.api")
access_logger = logging.getLogger("tradewind.api.access")


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_size: int, access_log: bool = False) -> None:
        self.app = app
        self.max_body_size = max_body_size
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await error_response(refusal)(scope, receive, send)
            return
        exchange = _Exchange(scope, send, self.max_body_size, receive)
        if scope["method"] == "HEAD":
            scope.setdefault("state", {})  # shared with the copy: the exchange reads what the app puts there
            scope = {**scope, "method": "GET"}
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            logger.exception("Unhandled error answering %s %s", scope["method"], scope["path"])
            await exchange.fail()
        if self.access_log:
            exchange.log()

    def _refusal(self, scope: Scope) -> BadRequest | PayloadTooLarge | None:
        if "\x00" in scope["path"]:
            return BadRequest("Request path must not contain NUL characters")
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_body_size):
                return _too_large(self.max_body_size)
        return None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than {limit} bytes")


class _Exchange:
    """One request/response: counts body bytes, watches the response start."""

    __slots__ = ("_inner_receive", "_inner_send", "limit", "received", "scope", "started", "status", "t0")

    def __init__(self, scope: Scope, send: Send, limit: int, receive: Receive) -> None:
        self.scope, self._inner_send, self._inner_receive, self.limit = scope, send, receive, limit
        self.received = 0
        self.started = False
        self.status = 0
        self.t0 = time.perf_counter()

    async def receive(self) -> Message:
        message = await self._inner_receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise _too_large(self.limit)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started, self.status = True, message["status"]
            extra: dict[str, str] | None = self.scope.get("state", {}).get("response_headers")
            if extra:
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
                message = {**message, "headers": headers}
        await self._inner_send(message)

    async def fail(self) -> None:
        if self.started:
            return  # the response is under way: the server closes the connection
        self.status = 500
        await self._inner_send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await self._inner_send({"type": "http.response.body", "body": INTERNAL_ERROR})

    def log(self) -> None:
        identity: Any = self.scope.get("state", {}).get("identity")
        client = self.scope.get("client")
        line = {
            "method": self.scope["method"],
            "path": self.scope["path"],
            "status": self.status,
            "duration_ms": round((time.perf_counter() - self.t0) * 1000, 2),
            "client": f"{client[0]}:{client[1]}" if client else None,
            "user": getattr(identity, "username", None),
        }
        access_logger.info(json.dumps(line))

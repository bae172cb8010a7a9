"""Serve a worker's task logs over HTTP, read-only, so other machines can read them.

``GET /log/<dag_id>/<run_id>/<task_id>/<try>.log`` returns that file of the worker's
``[logging] base_log_folder`` (the layout of :func:`~tradewind.executors.base.log_path_for`,
whose escaped folder names are URL-quoted once more: folder ``a%2Fb`` is ``a%252Fb``),
as ``text/plain; charset=utf-8``; anything else is 404. Paths are resolved and must stay
inside the folder (no ``..``, no symlinks out). ``tradewind tasks logs`` and the UI read from
``http://<task_instance.hostname>:<port>/log/...`` when the file is not on their machine.

Logs can hold secrets, so every request carries ``Authorization: Bearer <expiry>.<hmac>``:
an HMAC-SHA256 of the expiry and the path under ``[logging] log_server_secret``, valid for a
minute (as Airflow signs its log requests). Without a secret the server does not start.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger("tradewind.celery.logserver")

PREFIX = "/log/"
TOKEN_TTL = 60


def sign(url_path: str, secret: str, *, now: float | None = None) -> str:
    """A bearer token for ``url_path``, valid for TOKEN_TTL seconds."""
    expires = int((time.time() if now is None else now) + TOKEN_TTL)
    return f"{expires}.{_mac(secret, expires, url_path)}"


def is_authorized(header: str | None, url_path: str, secret: str, *, now: float | None = None) -> bool:
    """Whether ``header`` is a valid, unexpired token for ``url_path`` (compared in constant time)."""
    if not secret or not header or not header.startswith("Bearer "):
        return False
    expires_text, _, mac = header[len("Bearer ") :].partition(".")
    if not expires_text.isdigit():
        return False
    expires, moment = int(expires_text), time.time() if now is None else now
    if not moment <= expires <= moment + TOKEN_TTL + 5:  # 5 s of clock skew
        return False
    return hmac.compare_digest(_mac(secret, expires, url_path), mac)


def _mac(secret: str, expires: int, url_path: str) -> str:
    return hmac.new(secret.encode(), f"{expires}:{url_path}".encode(), hashlib.sha256).hexdigest()


def log_url_path(relative: str) -> str:
    """The URL path of a log file given by its path relative to the log folder."""
    return PREFIX + urllib.parse.quote(relative)


def fetch_log(host: str, port: int, relative: str, secret: str, *, timeout: float = 10.0) -> str | None:
    """A worker's log file, or None if the worker does not have it; OSError if unreachable."""
    path = log_url_path(relative)
    request = urllib.request.Request(f"http://{host}:{port}{path}")
    request.add_header("Authorization", f"Bearer {sign(path, secret)}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bytes(response.read()).decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 404:
            return None
        raise OSError(f"the log server on {host}:{port} answered {exc.code}") from None


def resolve_log(folder: Path, url_path: str) -> Path | None:
    """The file ``url_path`` names inside ``folder``, or None if it is outside, missing or not a log."""
    if not url_path.startswith(PREFIX):
        return None
    relative = urllib.parse.unquote(url_path[len(PREFIX) :].split("?", 1)[0])
    if not relative.endswith(".log") or "\0" in relative:
        return None
    root = folder.resolve()
    try:
        path = (root / relative).resolve()
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


class LogServer:
    """A ThreadingHTTPServer on ``host:port`` in a daemon thread; ``port`` 0 picks a free one."""

    def __init__(self, folder: Path, host: str, port: int, *, secret: str) -> None:
        if not secret:
            raise ValueError("the log server needs [logging] log_server_secret")
        self.folder = folder
        handler = type("_Handler", (_Handler,), {"folder": folder, "secret": secret})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="tradewind-logs", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("Serving task logs from %s on port %d", self.folder, self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    folder: Path
    secret: str

    def do_GET(self) -> None:
        if not is_authorized(self.headers.get("Authorization"), self.path, self.secret):
            self.send_error(403, "Forbidden")
            return
        path = resolve_log(self.folder, self.path)
        if path is None:
            self.send_error(404, "No such log")
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

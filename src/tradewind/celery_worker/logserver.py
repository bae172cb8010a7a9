"""Serve a worker's task logs over HTTP, read-only, so other machines can read them.

``GET /log/<dag_id>/<run_id>/<task_id>/<try>.log`` returns that file of the worker's
``[logging] base_log_folder`` (the layout of :func:`~tradewind.executors.base.log_path_for`),
as ``text/plain; charset=utf-8``; anything else is 404. Paths are resolved and must stay
inside the folder (no ``..``, no symlinks out). ``tradewind tasks logs`` and the UI read from
``http://<task_instance.hostname>:<port>/log/...`` when the file is not on their machine.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger("tradewind.celery.logserver")

PREFIX = "/log/"


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

    def __init__(self, folder: Path, host: str, port: int) -> None:
        self.folder = folder
        handler = type("_Handler", (_Handler,), {"folder": folder})
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

    def do_GET(self) -> None:
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

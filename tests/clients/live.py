"""Real servers on loopback for client tests: the Tradewind webserver, and one that always says 401."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

OPEN_BACKEND = "tradewind.api.auth.backend.default"
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_environ(home: Path, db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``tradewind`` process on ``db_url``, ignoring the caller's settings."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
    environ.update(
        TRADEWIND_HOME=str(home),
        TRADEWIND__CORE__SQL_ALCHEMY_CONN=db_url,
        TRADEWIND__CORE__LOAD_EXAMPLES="False",
        TRADEWIND__API__AUTH_BACKEND=OPEN_BACKEND,
    )
    environ.update(extra)
    return environ


@contextmanager
def live_webserver(home: Path, db_url: str, **extra: str) -> Iterator[str]:
    """``tradewind webserver`` in a subprocess on a free loopback port; yields its URL."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "webserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tradewind", "webserver", "--host", "127.0.0.1", "--port", str(port)],
            env=server_environ(home, db_url, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"webserver exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"webserver at {url} did not start:\n{log.read_text()}")


class _Always401(BaseHTTPRequestHandler):
    def _refuse(self) -> None:
        body = b"<html><body>Unauthorized</body></html>"
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="test"')
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def always_401_server() -> Iterator[str]:
    """A little HTTP server on loopback that answers every request with 401 and an HTML body."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Always401)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

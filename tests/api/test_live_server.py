"""`tradewind webserver` as a real process on loopback: HTTP, SIGTERM, and the open-API guard."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.actions.factory import add_dag

from tradewind.store import Database

pytestmark = pytest.mark.slow
TRADEWIND = str(Path(sys.executable).with_name("tradewind"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_home(
    home: Path, db_url: str, backend: str = "tradewind.api.auth.backend.default"
) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "tradewind.cfg").write_text(
        f"[core]\nsql_alchemy_conn = {db_url}\nload_examples = False\n[api]\nauth_backend = {backend}\n"
    )
    return {**os.environ, "TRADEWIND_HOME": str(home)}


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            httpx.get(f"{base}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("webserver did not start")


@pytest.fixture
def live_server(tmp_path: Path, db_url: str, db: Database) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    add_dag(db)
    port = free_port()
    env = write_home(tmp_path / "home", db_url)
    process = subprocess.Popen(
        [TRADEWIND, "webserver", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_live_server_serves_the_api_and_stops_on_sigterm(
    live_server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, process = live_server
    with httpx.Client(base_url=base) as client:
        assert client.get("/api/experimental/test").json() == {"status": "OK"}
        triggered = client.post("/api/experimental/dags/example/dag_runs", json={"conf": '{"key":"value"}'})
        assert triggered.status_code == 200
        [run] = client.get("/api/experimental/dags/example/dag_runs").json()
        assert run["run_id"] == triggered.json()["run_id"]
        assert run["conf"] == {"key": "value"}
        assert client.get(run["dag_run_url"]).status_code == 200
        assert client.get("/nope").json() == {"error": "Not found", "type": "NotFound"}
        head = client.head("/api/experimental/test")  # headers only, as a real server sends them
        assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "15")
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    assert process.stderr is not None
    log = process.stderr.read().decode()
    assert "The API is open to anybody" in log


def test_open_backend_refused_on_public_interface(tmp_path: Path) -> None:
    env = write_home(tmp_path / "home", f"sqlite:///{tmp_path}/x.db")
    result = subprocess.run(
        [TRADEWIND, "webserver", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 78
    assert b"Refusing to serve the open API backend on 0.0.0.0" in result.stderr

"""`tradewind standalone` on a fresh home: one command, secure by default, stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(home: Path, port: int, **settings: str) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
    environ |= {
        "TRADEWIND_HOME": str(home),
        "TRADEWIND__WEBSERVER__PORT": str(port),
        "TRADEWIND__CORE__LOAD_EXAMPLES": "True",
    } | settings
    return subprocess.Popen(
        [sys.executable, "-m", "tradewind", "standalone"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], pattern: str, timeout: float = 60) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"never saw {pattern!r}; output so far: {lines}")


def _wait_for_api(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/health", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the webserver never answered")


def _trigger_and_wait(url: str, auth: tuple[str, str], home: Path) -> None:
    """An example DAG starts paused; unpaused and triggered, it runs to success and its task log holds the conf."""
    dag = f"{url}/api/experimental/dags/example_trigger_target_dag"
    api = f"{dag}/dag_runs"
    deadline = time.monotonic() + 60
    while True:  # the scheduler parses the examples right after the webserver starts
        answer = httpx.get(f"{dag}/paused", auth=auth)
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.json() == {"is_paused": True}, answer.text
    assert httpx.put(f"{dag}/paused", json={"is_paused": False}, auth=auth).status_code == 200
    answer = httpx.post(api, json={"conf": {"message": "hello"}}, auth=auth)
    assert answer.status_code == 200, answer.text
    date = answer.json()["execution_date"]
    state = ""
    while time.monotonic() < deadline and state not in ("success", "failed"):
        time.sleep(0.2)
        state = httpx.get(f"{api}/{date.replace('+', '%2B')}", auth=auth).json()["state"]
    assert state == "success"
    logs = list((home / "logs" / "example_trigger_target_dag").rglob("bash_task/1.log"))
    assert len(logs) == 1 and "Here is the conf: {message: hello}" in logs[0].read_text()


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()


def test_first_start_is_password_protected_and_the_password_is_shown_once(tmp_path: Path) -> None:
    home, port = tmp_path / "home", _free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(home, port)
    try:
        lines = _read_until(process, r"API login")
        password = re.search(r"password (\S+) \(shown once", lines[-1])
        assert password, lines
        secret = home / "standalone_admin_password.txt"
        assert secret.read_text().strip() == password.group(1)
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        _wait_for_api(url)
        assert httpx.get(f"{url}/api/experimental/pools").status_code == 401
        answer = httpx.get(f"{url}/api/experimental/pools", auth=("admin", password.group(1)))
        assert answer.status_code == 200
        assert [p["pool"] for p in answer.json()] == ["default_pool"]
        _trigger_and_wait(url, ("admin", password.group(1)), home)
    finally:
        assert _stop(process) == 0

    again = _start(home, port)
    try:
        lines = _read_until(again, r"API login")
        assert lines[-1] == f"API login: user admin, password in {home / 'standalone_admin_password.txt'}"
    finally:
        assert _stop(again) == 0


def test_exits_non_zero_when_a_peer_declares_its_scheduler_dead(tmp_path: Path) -> None:
    """What another scheduler does to a frozen one: its job is ended; standalone must not exit 0."""
    from sqlalchemy import update

    from tradewind.models import Job
    from tradewind.store import Database

    home, port, url = tmp_path / "home", _free_port(), f"sqlite:///{tmp_path / 'tradewind.db'}"
    process = _start(home, port, TRADEWIND__CORE__SQL_ALCHEMY_CONN=url, TRADEWIND__CORE__LOAD_EXAMPLES="False",
                     TRADEWIND__SCHEDULER__HEARTBEAT_SEC="0.5")  # fmt: skip
    db = Database(url)
    try:
        _read_until(process, r"Tradewind is running")
        _wait_for_api(f"http://127.0.0.1:{port}")
        deadline, ended = time.monotonic() + 60, 0
        while not ended and time.monotonic() < deadline:
            with db.transaction() as store:
                stmt = update(Job).where(Job.job_type == "SchedulerJob", Job.state == "running")
                ended = store.session.execute(stmt.values(state="failed")).rowcount
            time.sleep(0.2)
        assert ended == 1
        assert process.wait(60) == 1
        assert process.stdout is not None
        assert "declared it dead" in process.stdout.read()
        with pytest.raises(httpx.TransportError):  # the webserver was stopped too
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    finally:
        db.dispose()
        if process.poll() is None:
            process.kill()
            process.wait()

"""Benchmark `tradewind webserver` with default settings on a temporary SQLite home (open backend).

Measures:
- GET /api/experimental/test: requests/s and p99 latency at 16 concurrent connections
  (targets: >= 5,000 req/s, p99 < 25 ms);
- GET …/dags/bench/dag_runs of a DAG with 100 runs: requests/s (target >= 1,500 req/s);
- sequential triggers on one connection: triggers/s (target >= 300/s);
- idle memory (RSS) of the webserver process(es);
- the webserver's CPU time per request (from /proc): unlike requests/s, it hardly moves when
  other work shares the machine.

Load comes from `wrk` with a Lua script reporting latency percentiles (install it with
`apt-get install -y wrk` or `brew install wrk`); without wrk, a slower asyncio/httpx load
generator is used and says so. Usage: `python benchmarks/bench_webserver.py [--duration 10]`.
For reference, Airflow 1.10.15 on a 2-core machine: 2,868 req/s on /test, ~170 req/s on the
100-run list, 70-80 triggers/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

CONNECTIONS = 16
LUA_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d\\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
      + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--triggers", type=int, default=1000, help="sequential triggers to send")
    parser.add_argument("--workers", type=int, default=None, help="pass --workers to the webserver")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tradewind-bench-") as tmp:
        home = Path(tmp)
        env = prepare_home(home)
        port = free_port()
        command = [tradewind(), "webserver", "--port", str(port)]
        if args.workers:
            command += ["--workers", str(args.workers)]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base)
            run_benchmarks(base, server.pid, args, home)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)


def tradewind() -> str:
    return str(Path(sys.executable).with_name("tradewind"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare_home(home: Path) -> dict[str, str]:
    """A config with the open backend, an initialised database, and two DAGs (one with 100 runs)."""
    (home / "tradewind.cfg").write_text(
        f"[core]\nsql_alchemy_conn = sqlite:///{home}/tradewind.db\nload_examples = False\n"
        "[api]\nauth_backend = tradewind.api.auth.backend.default\n"
    )
    env = {**os.environ, "TRADEWIND_HOME": str(home)}
    subprocess.run([tradewind(), "db", "init"], env=env, check=True, capture_output=True)
    seed(f"sqlite:///{home}/tradewind.db")
    return env


def seed(url: str) -> None:
    from tradewind.models import DagModel, SerializedDagModel
    from tradewind.store import Database

    db = Database(url)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with db.transaction() as store:
        for dag_id in ("bench", "trigger_me"):
            data = serialized(dag_id)
            store.session.add(DagModel(dag_id=dag_id, fileloc=data["fileloc"], owners="bench"))
            store.session.flush()
            store.session.add(SerializedDagModel(dag_id=dag_id, data=data, dag_hash="x", last_updated=start))
        data = serialized("bench")
        for day in range(100):
            when = start + timedelta(days=day)
            store.create_dag_run(
                data,
                run_id=f"scheduled__{when.isoformat()}",
                execution_date=when,
                run_type="scheduled",
                now=when,
            )
    db.dispose()


def serialized(dag_id: str) -> dict[str, Any]:
    tasks = [
        {
            "task_id": f"t{i}",
            "operator": "BashOperator",
            "retries": 0,
            "pool": "default_pool",
            "pool_slots": 1,
            "priority_weight": 1,
            "effective_priority_weight": 3 - i,
            "queue": "default",
            "start_date": None,
            "end_date": None,
            "inlets": [],
            "outlets": [],
            "attrs": {"task_id": f"t{i}"},
        }
        for i in range(3)
    ]
    return {"dag_id": dag_id, "fileloc": "/bench/dag.py", "schedule": None, "timezone": "UTC", "tasks": tasks}


def wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/experimental/test", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the webserver did not start")


def run_benchmarks(base: str, pid: int, args: argparse.Namespace, home: Path) -> None:
    time.sleep(1)
    print(f"idle RSS: {rss_mib(pid):.1f} MiB (webserver and its worker processes)")
    load = wrk if shutil.which("wrk") else fallback_load
    if load is fallback_load:
        print("wrk not found (apt-get install -y wrk): using the slower built-in load generator")
    for name, path, targets in (
        ("GET /api/experimental/test", "/api/experimental/test", "target >= 5,000 req/s, p99 < 25 ms"),
        ("GET dag_runs (100 runs)", "/api/experimental/dags/bench/dag_runs", "target >= 1,500 req/s"),
    ):
        cpu = cpu_seconds(pid)
        rate, p50, p99, errors = load(base + path, args.duration, home)
        per_request = (cpu_seconds(pid) - cpu) / max(1.0, rate * args.duration) * 1e6
        print(
            f"{name}: {rate:,.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, errors {errors}, "
            f"server CPU {per_request:,.0f} us/req  ({targets})"
        )
    cpu = cpu_seconds(pid)
    rate = triggers_per_second(base, args.triggers)
    per_trigger = (cpu_seconds(pid) - cpu) / args.triggers * 1e6
    print(f"sequential triggers: {rate:,.0f}/s, server CPU {per_trigger:,.0f} us/trigger  (target >= 300/s)")
    print(f"RSS after load: {rss_mib(pid):.1f} MiB")


def wrk(url: str, duration: int, home: Path) -> tuple[float, float, float, int]:
    script = home / "report.lua"
    script.write_text(LUA_REPORT)
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "-s", str(script), url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    values = dict(item.split("=") for item in line.split()[1:])
    rate = int(values["requests"]) / (int(values["duration_us"]) / 1e6)
    return rate, int(values["p50_us"]) / 1000, int(values["p99_us"]) / 1000, int(values["errors"])


def fallback_load(url: str, duration: int, home: Path) -> tuple[float, float, float, int]:
    return asyncio.run(_fallback(url, duration))


async def _fallback(url: str, duration: int) -> tuple[float, float, float, int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get(url)
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits) as client:
        begun = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - begun
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return len(latencies) / elapsed, pick(0.5), pick(0.99), errors


def triggers_per_second(base: str, count: int) -> float:
    url = f"{base}/api/experimental/dags/trigger_me/dag_runs"
    with httpx.Client() as client:
        client.post(url, json={})  # warm up
        started = time.perf_counter()
        for _ in range(count):
            response = client.post(url, json={"conf": {"n": 1}})
            if response.status_code != 200:
                raise SystemExit(f"trigger failed: {response.status_code} {response.text}")
        return count / (time.perf_counter() - started)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, from /proc (Linux)."""
    total = 0
    for candidate in [pid, *children(pid)]:
        status = Path(f"/proc/{candidate}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far, from /proc (Linux); 0 elsewhere."""
    total = 0.0
    for candidate in [pid, *children(pid)]:
        stat = Path(f"/proc/{candidate}/stat")
        if stat.exists():
            fields = stat.read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    found = [int(p) for p in path.read_text().split()] if path.exists() else []
    return found + [grandchild for child in found for grandchild in children(child)]


if __name__ == "__main__":
    main()

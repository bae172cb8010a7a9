"""Benchmark of the CeleryExecutor: the scheduler and two Celery workers as real processes.

``.venv/bin/python benchmarks/bench_celery.py --executor celery [--workers 2] [--concurrency 8]``

Builds a throw-away ``TRADEWIND_HOME`` on a fresh PostgreSQL database (``--postgres``, default
the local server), starts a private ``redis-server`` on a free port (broker and result
backend; never the machine's shared one), ``tradewind celery worker`` processes and
``tradewind scheduler``, then measures, like ``bench_scheduler.py``:

(a) a 100-task chain of no-op Python tasks: trigger to success and the per-hop latency;
(b) 1,000 independent no-op Python tasks: tasks per second (target >= 200 through Celery, judged
    by the median of three runs, ``--repeat``), and
    the CPU each process group spent per task meanwhile, which says more than the rate on a
    machine shared with other work (the load average is printed with it): the scheduler, the
    workers, Redis, the PostgreSQL server (when it runs on this machine), the task runners
    and the task processes.

``--executor local`` runs the same DAGs with the LocalExecutor on the same database, for comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import hostprobe
from bench_scheduler import CHAIN_AND_FANOUT, spawn, tradewind, trigger  # same folder: run as a script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=["celery", "local"], default="celery")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--parallelism", type=int, default=32)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--broker", help="broker URL (e.g. amqp://guest:guest@127.0.0.1:5672//); "
                        "default: the private Redis, which is the result backend either way")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs of (b), judged by their median")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tradewind-bench-celery-"))
    print(hostprobe.summary(home), flush=True)  # before anything starts: the host alone
    processes: list[subprocess.Popen[bytes]] = []
    redis = database = None
    try:
        database = TempDatabase(args.postgres)
        redis = start_redis(home)
        write_home(home, args, database.url, redis[1])
        tradewind(["db", "init"])
        tradewind(["dags", "reserialize"])
        from tradewind.config import load_config
        from tradewind.store import Database

        db = Database(load_config().core.sql_alchemy_conn)
        if args.executor == "celery":
            for i in range(args.workers):
                processes.append(spawn(["celery", "worker", "-c", str(args.concurrency), "-n", f"bench{i}@%h",
                                        "--log-server-port", "0", "-l", "WARNING"], home / f"worker{i}.log"))  # fmt: skip
        processes.append(spawn(["scheduler", "--no-parse"], home / "scheduler.log"))
        time.sleep(4.0)
        print(f"Tradewind {args.executor} executor benchmark ({args.workers} workers x {args.concurrency}, "
              f"parallelism {args.parallelism}, PostgreSQL, broker {(args.broker or 'redis').split(':')[0]}, "
              f"{os.cpu_count()} CPUs), home {home}")  # fmt: skip
        bench_chain(db)
        groups = {"scheduler": [processes[-1].pid], "workers": [p.pid for p in processes[:-1]]}
        if redis is not None:
            groups["redis"] = [redis[0].pid]
        postmaster = local_postmaster(args.postgres)
        if postmaster is not None:
            groups["postgres"] = [postmaster]
        rabbitmq = local_rabbitmq(args.broker)
        if rabbitmq is not None:
            groups["rabbitmq"] = [rabbitmq]
        bench_fanout(db, target=200, groups=groups, repeat=args.repeat)
        db.dispose()
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        if redis is not None:
            redis[0].terminate()
            redis[0].wait(10)
        if database is not None:
            database.drop()
        if args.broker:
            delete_queue(args.broker)


class TempDatabase:
    def __init__(self, server: str) -> None:
        from sqlalchemy import create_engine, text

        from tradewind.store import normalize_url

        self._server = normalize_url(server)
        self._name = f"tw_bench_{uuid.uuid4().hex[:8]}"
        self._engine = create_engine(self._server, isolation_level="AUTOCOMMIT")
        self._text = text
        with self._engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self._name}"'))
        self.url = self._server.set(database=self._name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(self._text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
        self._engine.dispose()


def start_redis(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--dir", str(home)], stdout=subprocess.DEVNULL)  # fmt: skip
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}"


#: A queue of this run's own: a shared broker may hold another run's leftovers.
QUEUE = f"bench-{uuid.uuid4().hex[:8]}"


def delete_queue(broker: str) -> None:
    """Remove this run's queue from a shared broker (best effort)."""
    from kombu import Connection, Queue

    try:
        with Connection(broker, connect_timeout=5) as conn:
            Queue(QUEUE, channel=conn.default_channel).delete()
    except Exception as exc:
        print(f"could not delete queue {QUEUE} on the broker: {exc}")


def write_home(home: Path, args: Any, db_url: str, redis_url: str) -> None:
    os.environ["TRADEWIND_HOME"] = str(home)
    (home / "dags").mkdir()
    (home / "dags" / "bench_dags.py").write_text(CHAIN_AND_FANOUT)
    executor = "CeleryExecutor" if args.executor == "celery" else "LocalExecutor"
    (home / "tradewind.cfg").write_text(
        f"[core]\nload_examples = False\nexecutor = {executor}\nparallelism = {args.parallelism}\n"
        f"sql_alchemy_conn = {db_url}\n[scheduler]\ndag_dir_list_interval = 3600\n"
        f"[celery]\nbroker_url = {args.broker or redis_url + '/0'}\nresult_backend = {redis_url}/1\n"
        f"default_queue = {QUEUE}\nworker_concurrency = {args.concurrency}\n"
        "[logging]\nlogging_level = WARNING\n"
    )


def wait_run(db: Any, dag_id: str, run_id: str, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.transaction(write=False) as store:
            run = store.find_dag_run(dag_id, run_id=run_id)
        if run is not None and run.state in ("success", "failed"):
            if run.state != "success":
                raise SystemExit(f"{dag_id}: run failed")
            return run
        time.sleep(0.1)  # the figures come from stored timestamps (see bench_scheduler.wait_runs)
    raise SystemExit(f"{dag_id}: timed out")


def bench_chain(db: Any) -> None:
    trigger(db, "bench_chain", "r1")
    run = wait_run(db, "bench_chain", "r1")
    with db.transaction(write=False) as store:
        tis = {ti.task_id: ti for ti in store.task_instances("bench_chain", "r1")}
    hops = [
        (tis[f"t{i + 1:03d}"].start_date - tis[f"t{i:03d}"].end_date).total_seconds() * 1000
        for i in range(99)
    ]
    print(f"(a) 100-task chain: trigger to success {(run.end_date - run.queued_at).total_seconds():.2f} s; "
          f"per hop median {statistics.median(hops):.1f} ms, p90 {statistics.quantiles(hops, n=10)[-1]:.1f} ms")  # fmt: skip


def bench_fanout(db: Any, *, target: float, groups: dict[str, list[int]], repeat: int = 1) -> None:
    """Run the fan-out ``repeat`` times; with more than one, the verdict is on the median."""
    rates = []
    for number in range(1, repeat + 1):
        before, load = usage_by_group(groups), os.getloadavg()[0]
        trigger(db, "bench_fanout", f"r{number}")
        run = wait_run(db, "bench_fanout", f"r{number}")
        after = usage_by_group(groups)
        spent = {name: cpu - before.get(name, (0.0, 0))[0] for name, (cpu, _) in after.items()}
        faults = {name: (count - before.get(name, (0.0, 0))[1]) / 1000 for name, (_, count) in after.items()}
        elapsed = (run.end_date - run.queued_at).total_seconds()
        rates.append(1000 / elapsed)
        head = f"{elapsed:.2f} s trigger to success, {rates[-1]:,.0f} tasks/s"
        if repeat == 1:
            print(f"(b) 1,000 no-op Python tasks (fan-out): {head} "
                  f"[target >= {target:,.0f}: {'OK' if rates[-1] >= target else 'MISSED'}]")  # fmt: skip
        else:
            print(f"    run {number} of {repeat}: {head}")
        shares = ", ".join(f"{name} {seconds:.2f}" for name, seconds in spent.items())
        counted = "the whole server" if "postgres" in spent else "not counted: not a local server"
        print(f"    CPU ms per task: {shares}; total {sum(spent.values()):.2f} (load average {load:.2f} before; "
              f"PostgreSQL: {counted})")  # fmt: skip
        counts = ", ".join(f"{name} {count:.0f}" for name, count in faults.items())
        print(
            f"    page faults per task (steady whatever the host's load): {counts}; total {sum(faults.values()):.0f}",
            flush=True,
        )
    if repeat > 1:
        median = statistics.median(rates)
        print(f"(b) 1,000 no-op Python tasks (fan-out): median {median:,.0f} tasks/s over {repeat} runs "
              f"({', '.join(f'{r:,.0f}' for r in rates)}) [target >= {target:,.0f}: "
              f"{'OK' if median >= target else 'MISSED'}]")  # fmt: skip


def usage_by_group(groups: dict[str, list[int]]) -> dict[str, tuple[float, int]]:
    """CPU seconds (user + system) and minor page faults of each group's processes, reaped
    children included. Divided by 1,000 tasks, seconds become ms per task.

    The children of the scheduler and workers are the task runners: their own use is the
    group "runners", and that of the task processes they forked and reaped is "tasks" (a
    runner forking one task at a time, as under Celery, copies the pages it writes after
    each fork, so its share tells that apart). Every descendant of another group (the
    PostgreSQL server's backends) counts in that group.
    """
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, list[int]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        stats[int(entry.name)] = (int(fields[1]), [int(f) for f in fields[7:15]])
    owner = {pid: name for name, pids in groups.items() for pid in pids}
    totals = dict.fromkeys([*groups, "runners", "tasks"], (0.0, 0))

    def add(group: str, ticks: int, faults: int) -> None:
        totals[group] = (totals[group][0] + ticks / tick, totals[group][1] + faults)

    for pid, (parent, f) in stats.items():
        # f: minflt, cminflt, majflt, cmajflt, utime, stime, cutime, cstime
        own, reaped = (f[4] + f[5], f[0]), (f[6] + f[7], f[1])
        if pid in owner:
            add(owner[pid], own[0] + reaped[0], own[1] + reaped[1])
            continue
        depth = 1
        while parent not in owner and parent in stats and parent > 1:
            parent, depth = stats[parent][0], depth + 1
        group = owner.get(parent)
        if group in ("scheduler", "workers"):
            add("runners" if depth == 1 else "tasks", *own)
            add("tasks", *reaped)
        elif group is not None:
            add(group, own[0] + reaped[0], own[1] + reaped[1])
    return totals


def local_postmaster(url: str) -> int | None:
    """The pid of the PostgreSQL server behind ``url`` if it runs on this machine, else None."""
    from sqlalchemy.engine import make_url

    return _server_process("postgres") if _is_local(make_url(url).host) else None


def local_rabbitmq(url: str | None) -> int | None:
    """The pid of the RabbitMQ server behind an ``amqp://`` broker URL on this machine, else None."""
    from urllib.parse import urlsplit

    if not url or not url.startswith(("amqp://", "pyamqp://")) or not _is_local(urlsplit(url).hostname):
        return None
    return _server_process("beam.smp")


def _is_local(host: str | None) -> bool:
    return host in (None, "", "127.0.0.1", "localhost", "::1")


def _server_process(comm: str) -> int | None:
    """The oldest process named ``comm`` whose parent is not: a server's main process."""
    for entry in sorted((e for e in Path("/proc").iterdir() if e.name.isdigit()), key=lambda e: int(e.name)):
        try:
            if (entry / "comm").read_text().strip() != comm:
                continue
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if Path(f"/proc/{parent}/comm").read_text().strip() != comm:
                return int(entry.name)
        except (OSError, ValueError, IndexError):
            continue
    return None


if __name__ == "__main__":
    main()

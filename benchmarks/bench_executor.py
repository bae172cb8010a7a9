"""Throughput of the LocalExecutor: N no-op Python tasks, each in its own forked process.

    .venv/bin/python benchmarks/bench_executor.py [--tasks 1000] [--parallelism 32] [--bash]

Prints tasks/s from the first submit to the last final event (the runner is started and
warmed with one task first, as a scheduler's would be), the CPU time spent per task by
this process, the runner and the task processes together (a steadier figure than tasks/s on
a shared machine: ``2000 / cpu_ms`` is what two idle cores could do), the page faults per
task (the steadiest figure: it does not move with the host's load), the runner's anonymous
memory (steady too: every page of it is a page table entry each fork copies and each task
process's exit tears down), and the per-task overhead of a 10 ms bash task run one at a time. No database: no-op tasks pull no XComs.
The task logs are left in a folder under ``$TMPDIR``, whose path it prints last.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import hostprobe  # same folder: run as a script

from tradewind.executors.base import TaskKey, TaskWorkload
from tradewind.executors.local import LocalExecutor

DAG_FILE = """
from datetime import datetime, timezone
from tradewind.dag import DAG, BashOperator, PythonOperator

with DAG("bench", start_date=datetime(2024, 1, 1, tzinfo=timezone.utc), schedule=None):
    PythonOperator(task_id="noop", python_callable=lambda: None, do_xcom_push=False)
    BashOperator(task_id="bash10ms", bash_command="sleep 0.01")
"""
WHEN = datetime(2024, 1, 1, tzinfo=UTC)
DB_URL: str | None = None


def workload(folder: Path, task_id: str, run: int) -> TaskWorkload:
    key = TaskKey("bench", task_id, f"run_{run}", 1)
    return TaskWorkload(
        key, str(folder / "bench_dag.py"), WHEN, WHEN, WHEN, "manual", True, None, 0, None, "default", 1,
        str(folder / "logs" / f"run_{run}" / task_id / "1.log"),
    )  # fmt: skip


def drain(executor: LocalExecutor, count: int) -> dict[TaskKey, float]:
    """Wait for ``count`` final events; return when each arrived (monotonic)."""
    done: dict[TaskKey, float] = {}
    while len(done) < count:
        executor.wait(5.0)
        now = time.monotonic()
        for event in executor.events():
            if event.state != "running":
                assert event.state == "success", event
                done[event.key] = now
    return done


def throughput(folder: Path, tasks: int, parallelism: int) -> tuple[float, float, float, int]:
    """(tasks/s, CPU ms per task, page faults per task, the runner's anonymous KiB after the run).

    Faults and CPU include the runner's own, counted once it has exited.
    """
    executor = LocalExecutor(parallelism=parallelism, lock_dir=folder / "locks", db_url=DB_URL)
    executor.start()
    executor.submit(workload(folder, "noop", -1))
    drain(executor, 1)  # runner started, DAG file imported
    cpu_before, faults_before = _usage()
    started = time.monotonic()
    for run in range(tasks):
        executor.submit(workload(folder, "noop", run))
    drain(executor, tasks)
    rate = tasks / (time.monotonic() - started)
    memory = anonymous_kib(executor.runner_pid)
    executor.stop()
    cpu, faults = _usage()
    return rate, (cpu - cpu_before) * 1000 / tasks, (faults - faults_before) / tasks, memory


def anonymous_kib(pid: int | None) -> int:
    """A process's resident anonymous memory (its heap, Python objects...), from /proc; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return next(int(line.split()[1]) for line in rollup if line.startswith("Anonymous:"))
    except (OSError, StopIteration, ValueError):
        return 0


def _usage() -> tuple[float, int]:
    """CPU seconds and minor page faults of this process and every descendant waited for.

    Page faults are the steadier figure: a task process's cost is mostly the pages it must
    copy from the runner, and their number does not change with how busy the host is.
    """
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return cpu, own.ru_minflt + children.ru_minflt


def bash_overhead(folder: Path, tasks: int) -> list[float]:
    """Submit-to-final-event time minus the 10 ms the command sleeps, one task at a time."""
    executor = LocalExecutor(parallelism=1, lock_dir=folder / "locks")
    executor.start()
    try:
        executor.submit(workload(folder, "bash10ms", -1))
        drain(executor, 1)
        overheads = []
        for run in range(tasks):
            started = time.monotonic()
            executor.submit(workload(folder, "bash10ms", run))
            drain(executor, 1)
            overheads.append((time.monotonic() - started - 0.010) * 1000)
        return overheads
    finally:
        executor.stop()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--parallelism", type=int, default=32)
    parser.add_argument("--bash", type=int, default=100, help="how many 10 ms bash tasks to time")
    parser.add_argument(
        "--db-url", help="a database URL for the runner, as a scheduler would pass (none is used)"
    )
    args = parser.parse_args(argv)
    global DB_URL
    DB_URL = args.db_url
    # Left behind, like the other benchmarks' homes: deleting thousands of files would slow
    # down the next run's task starts for minutes (see hostprobe.py).
    folder = Path(tempfile.mkdtemp(prefix="tradewind-bench-executor-"))
    print(hostprobe.summary(folder), flush=True)
    (folder / "bench_dag.py").write_text(DAG_FILE)
    rate, cpu_ms, faults, memory = throughput(folder, args.tasks, args.parallelism)
    print(
        f"{args.tasks} no-op tasks, parallelism {args.parallelism}: {rate:.0f} tasks/s, "
        f"{cpu_ms:.2f} ms CPU and {faults:.0f} page faults per task (runner + task processes + this process); "
        f"runner anonymous memory {memory / 1024:.1f} MiB"
    )
    if args.bash:
        overheads = bash_overhead(folder, args.bash)
        print(
            f"10 ms bash task, one at a time: overhead median {statistics.median(overheads):.1f} ms, "
            f"p95 {sorted(overheads)[int(len(overheads) * 0.95)]:.1f} ms"
        )
    print(f"logs in {folder}")


if __name__ == "__main__":
    main(sys.argv[1:])

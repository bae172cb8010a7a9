"""How fast this machine is at what the benchmarks lean on, measured in a second or so.

    .venv/bin/python benchmarks/hostprobe.py

On a shared or virtual machine these costs move a lot from one hour to the next, and the
benchmarks' figures move with them (tasks/s roughly halves when page faults and cross-CPU
wake-ups cost twice as much). The benchmarks print this line first, so that two runs can be
compared for what the code changed rather than what the host did:

* ``python``: a plain interpreter loop, ms per million iterations (user-space speed);
* ``page fault``: µs to copy one page that a forked child writes (every task process takes
  hundreds of these, for the pages of the runner it touches);
* ``fork``: ms for a small Python process to fork a child that exits at once, and reap it;
* ``wake-up``: µs for a round trip over two pipes between two processes on different CPUs
  (every hop between the scheduler, the runner and a task process is one such wake-up);
* ``new log``: µs to create a folder and a file in it, in the benchmark's folder, as every
  task does for its log. On ext4 without a journal, as on the CI machine, the kernel does
  not reuse an inode freed in the last one to six minutes, and walks past each such inode,
  one by one, to find a free one. For a few minutes after a test run or another benchmark
  deleted thousands of files, this costs three to ten times as much (50 → 150-500 µs), and
  tasks/s drops by a quarter or more. The line says so: wait a few minutes and run again.
  For the same reason the benchmarks leave their folders behind.
"""

from __future__ import annotations

import mmap
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PAGE = mmap.PAGESIZE


def python_loop_ms() -> float:
    """Best of 5: ms per million iterations of a loop that adds integers."""

    def loop() -> int:
        total = 0
        for i in range(1_000_000):
            total += i
        return total

    return _best(loop, 5) * 1000


def page_fault_us(pages: int = 4096) -> float:
    """µs per page for a forked child to write once to each of ``pages`` pages its parent filled."""
    area = mmap.mmap(-1, pages * PAGE)
    for offset in range(0, pages * PAGE, PAGE):
        area[offset] = 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        started = time.perf_counter()
        for offset in range(0, pages * PAGE, PAGE):
            area[offset] = 2
        os.write(write, repr(time.perf_counter() - started).encode())
        os._exit(0)
    os.close(write)
    elapsed = float(os.read(read, 64))
    os.close(read)
    os.waitpid(pid, 0)
    area.close()
    return elapsed / pages * 1e6


def fork_ms(forks: int = 100) -> float:
    """Median ms for one fork of this process, the child's exit and the parent's wait."""

    def once() -> None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover
            os._exit(0)
        os.waitpid(pid, 0)

    return statistics.median(_timed(once) for _ in range(forks)) * 1000


def wakeup_us(round_trips: int = 2000) -> float | None:
    """Median µs per pipe round trip between two processes pinned to different CPUs (None: one CPU)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    ping_r, ping_w = os.pipe()
    pong_r, pong_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - echoes until the parent closes its end
        os.close(ping_w)
        signal.alarm(60)  # never outlives a parent stuck elsewhere
        os.sched_setaffinity(0, {cpus[1]})
        while os.read(ping_r, 1):
            os.write(pong_w, b"x")
        os._exit(0)
    os.close(ping_r)
    os.close(pong_w)
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpus[0]})
    try:

        def once() -> None:
            os.write(ping_w, b"x")
            os.read(pong_r, 1)

        once()
        return statistics.median(_timed(once) for _ in range(round_trips)) * 1e6
    finally:
        os.close(ping_w)  # the child reads end-of-file and exits
        os.waitpid(pid, 0)
        os.close(pong_r)
        os.sched_setaffinity(0, previous)


def new_log_us(folder: Path, logs: int = 200) -> float:
    """Median µs to create a folder and an empty file in it, in a new subfolder of ``folder``
    (left in place: deleting them would slow the next creations down, see the module docstring)."""
    probe = Path(tempfile.mkdtemp(prefix="hostprobe-", dir=folder))

    def create(i: int) -> float:
        started = time.perf_counter()
        os.mkdir(probe / str(i))
        os.close(os.open(probe / str(i) / "1.log", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        return time.perf_counter() - started

    return statistics.median(create(i) for i in range(logs)) * 1e6


SLOW_NEW_LOG_US = 100  # 40-60 µs when no files were deleted nearby in the last minutes


def summary(folder: Path | None = None) -> str:
    """One line with every figure above; ``new log`` in ``folder`` (the benchmark's home)."""
    wakeup = wakeup_us()
    line = (
        f"host: python {python_loop_ms():.0f} ms/M iterations, page fault {page_fault_us():.2f} µs, "
        f"fork {fork_ms():.2f} ms, wake-up " + ("n/a (one CPU)" if wakeup is None else f"{wakeup:.0f} µs")
    )
    if folder is not None:
        created = new_log_us(folder)
        line += f", new log {created:.0f} µs"
        if created > SLOW_NEW_LOG_US:
            line += " (SLOW: files were deleted on this disk in the last minutes; figures will be low)"
    return line + " (see benchmarks/hostprobe.py)"


def _timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _best(function: Callable[[], object], times: int) -> float:
    return min(_timed(function) for _ in range(times))


if __name__ == "__main__":
    # The probe's files are left behind, as the benchmarks leave theirs (see ``new log``).
    print(summary(Path(tempfile.mkdtemp(prefix="tradewind-hostprobe-"))))

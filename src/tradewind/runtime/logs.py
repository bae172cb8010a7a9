"""The log file of one attempt: task output, start and end lines, and any traceback.

In a task process the file simply becomes fds 1 and 2, so ``print``, ``logging`` and the
output of subprocesses all land in it. The inline executor cannot take over its own
process's output for good, so :func:`output_to` swaps the fds and ``sys.stdout``/``stderr``
for the duration of the attempt.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import time
import typing
from collections.abc import Iterator

from tradewind.executors.base import TaskWorkload, log_path_for
from tradewind.tasklog import info, stamp

__all__ = [
    "LOG_FORMAT",
    "log_path_for",
    "make_log_folder",
    "open_log",
    "output_to",
    "task_log_handler",
    "write_end",
    "write_start",
]

LOG_FORMAT = "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"

log = logging.getLogger("tradewind.runtime")


class _UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return stamp(record.created, int(record.msecs))


def open_log(path: str) -> int:
    """An fd appending to ``path`` (created with its folders); a retry never overwrites a log."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        make_log_folder(path)
        return os.open(path, flags, 0o644)


def make_log_folder(path: str) -> None:
    """Create the folder of the log file ``path``, and its parents, if missing."""
    folder = os.path.dirname(path)
    try:
        os.mkdir(folder)  # the usual case: a new task's folder in an existing run's
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)


def task_log_handler(stream: io.TextIOBase | typing.TextIO) -> logging.Handler:
    """A handler writing Airflow-style lines (UTC timestamps) to ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_UtcFormatter(LOG_FORMAT))
    return handler


def write_start(workload: TaskWorkload, pid: int, hostname: str) -> None:
    key = workload.key
    info(
        log,
        "Starting attempt %d of %d of %s.%s, run %s (pid %d on %s)",
        key.try_number, workload.max_tries + 1, key.dag_id, key.task_id, key.run_id, pid, hostname,
    )  # fmt: skip


def write_end(workload: TaskWorkload, state: str, error: str | None, started: float) -> None:
    reason = f": {error}" if error else ""
    info(log, "Attempt ended in state %s after %.3f s%s", state, time.monotonic() - started, reason)


@contextlib.contextmanager
def output_to(path: str) -> Iterator[None]:
    """Send fds 1 and 2, ``sys.stdout``/``sys.stderr`` and the root logger to ``path``, then restore."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = open_log(path)
    saved = (os.dup(1), os.dup(2), sys.stdout, sys.stderr)
    stream = open(fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=True)  # noqa: SIM115
    handler = task_log_handler(stream)
    root = logging.getLogger()
    previous_level = root.level
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = sys.stderr = stream
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        sys.stdout, sys.stderr = saved[2], saved[3]
        stream.close()

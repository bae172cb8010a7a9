"""The life of a task process, forked from the runner: from ``fork()`` to ``os._exit``.

1. Become a session and process-group leader (so the runner can signal the whole group,
   and a terminal's Ctrl-C never reaches tasks) and a child subreaper (so processes the
   task orphans stay in its tree, where the runner can find and kill them).
2. Point fds 1 and 2 at the attempt's log file; stdin reads nothing.
3. Take the task instance's lock, run the attempt and report its final event over the pipe
   to the runner (which reported ``running`` when it forked the process).

SIGTERM (the runner's timeout or shutdown) raises :class:`TaskTerminated` in the task, so the
failure path (traceback, callbacks, final event) still runs; the runner follows up with
SIGKILL if the process outlives the grace period.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from tradewind.executors.base import TaskEvent, TaskWorkload
from tradewind.runtime import forkhooks
from tradewind.runtime.attempt import PreparedAttempt, TaskTerminated, one_line, retry_state, run_attempt
from tradewind.runtime.locks import acquire_instance_lock
from tradewind.runtime.logs import open_log, task_log_handler, write_end, write_start
from tradewind.runtime.wire import DriverUsed, encode, write_all
from tradewind.runtime.xcoms import DriverXComs, XComSource
from tradewind.tasklog import is_plain, write_lines_directly

if TYPE_CHECKING:
    from tradewind.dag import DAG

log = logging.getLogger("tradewind.runtime")

_PR_SET_CHILD_SUBREAPER = 36
EXIT_INTERNAL_ERROR = 70
TASK_NICENESS = 5


@dataclass(frozen=True, slots=True)
class ChildSetup:
    """What the runner hands a task process (by fork, so nothing here is pickled)."""

    workload: TaskWorkload
    dag: DAG
    event_fd: int
    lock_dir: str
    xcoms: XComSource
    max_xcom_size: int
    hostname: str
    close_spans: tuple[tuple[int, int], ...]  # the runner's own fds, as fd_spans(): closed first thing
    lock_offset: int | None = None  # locks.lock_offset(workload.key), if the runner computed it
    stdin_fd: int = -1  # an fd open on /dev/null to become fd 0 (then closed), else one is opened
    direct_log_lines: bool = False  # direct_lines_possible(), as the runner found it before forking
    prepared: PreparedAttempt | None = None  # attempt.prepare_attempt_state(), built before forking


def run_child(setup: ChildSetup) -> NoReturn:
    """Run the attempt in this (just forked) process and exit; never returns."""
    code = 0
    try:
        forkhooks.restore()  # a fork in task code runs every at-fork hook
        _become_task_process(setup)
        _run(setup)
    except BaseException:
        code = EXIT_INTERNAL_ERROR
        with contextlib.suppress(BaseException):
            log.exception("Internal error in the task process")
    finally:
        _flush()
        os._exit(code)


def _become_task_process(setup: ChildSetup) -> None:
    os.setsid()
    # Below the runner and the scheduler: when tasks saturate the CPUs, the processes that
    # start and finish tasks must still get their turn, or throughput collapses.
    try:  # noqa: SIM105 (contextlib.suppress: its first use copies pages, in every task process)
        os.nice(TASK_NICENESS)
    except OSError:
        pass
    become_subreaper()
    for low, high in setup.close_spans:
        os.closerange(low, high)
    signal.set_wakeup_fd(-1)  # the runner's; ours must not write into it
    _set_handler(signal.SIGINT, signal.default_int_handler)
    _set_handler(signal.SIGTERM, _raise_terminated)
    _redirect_output(setup.workload.log_path, setup.stdin_fd, direct=setup.direct_log_lines)


# signal.signal without its enum conversions, whose first use in a fresh fork costs more
# than the system call (the pages of the enum machinery it touches are copied).
_set_handler: Callable[[int, Any], Any] = sys.modules["_signal"].signal
_SIG_IGN: int = sys.modules["_signal"].SIG_IGN


def fd_spans(fds: Iterable[int], keep: int = -1) -> tuple[tuple[int, int], ...]:
    """``fds`` but ``keep`` as ``os.closerange`` spans, one per run of consecutive numbers.

    A task process inherits two fds per running sibling from the runner: one by one, their
    closing was a noticeable part of starting a task. The runner works the spans out before
    it forks, so the task process only makes the system calls.
    """
    ordered = sorted(fd for fd in fds if fd != keep)
    spans, start = [], 0
    for i, fd in enumerate(ordered):
        if i + 1 == len(ordered) or ordered[i + 1] != fd + 1:
            spans.append((ordered[start], fd + 1))
            start = i + 1
    return tuple(spans)


def _redirect_output(path: str, null: int, *, direct: bool) -> None:
    fd = open_log(path)
    if null < 0:
        null = os.open(os.devnull, os.O_RDONLY)
    if null != 0:
        os.dup2(null, 0)
        os.close(null)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    if direct and _log_handler is not None:
        _log_handler.level = logging.INFO  # what setLevel does, without its checks' pages
        write_lines_directly(2)  # the runtime's own lines skip logging's machinery (see tasklog.info)
        return
    root = logging.getLogger()
    root.handlers = [task_log_handler(sys.stderr)]
    root.setLevel(logging.INFO)


def direct_lines_possible() -> bool:
    """Whether task processes forked now may write the runtime's lines straight to their log.

    True while logging is as :func:`prepare_parent` left it: the standard root handler only,
    and the runtime's loggers plain (:func:`~tradewind.tasklog.is_plain`). A DAG file that
    configures logging when the runner imports it turns it off, so its settings apply.
    The runner checks at its first fork and after each DAG file import (the only time code
    other than its own runs in it); task processes skip the checks.
    """
    root = logging.getLogger()
    if _log_handler is None or root.handlers != [_log_handler] or root.level != logging.INFO:
        return False
    return all(is_plain(logging.getLogger(name)) for name in _RUNTIME_LOGGERS)


_RUNTIME_LOGGERS = ("tradewind.task", "tradewind.runtime")  # the loggers tasklog.info is given


_log_handler: logging.Handler | None = None


def prepare_parent() -> None:
    """Set up, in the runner, what every task process would otherwise build for itself.

    Line-buffered stdout/stderr (so output written just before a crash is in the log) and
    a root handler writing to fd 2, which each task process points at its log file.
    """
    global _log_handler
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    _log_handler = task_log_handler(sys.stderr)
    _log_handler.setLevel(logging.WARNING)  # the runner's own output; tasks lower it to INFO
    root = logging.getLogger()
    root.handlers = [_log_handler]
    root.setLevel(logging.INFO)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # Once is enough: a second SIGTERM must not interrupt the failure handling.
    _set_handler(signal.SIGTERM, _SIG_IGN)
    raise TaskTerminated(f"Task received signal {signal.Signals(signum).name}")


def _run(setup: ChildSetup) -> None:
    workload, pid, started = setup.workload, os.getpid(), time.monotonic()
    try:
        write_start(workload, pid, setup.hostname)
        lock = acquire_instance_lock(
            setup.lock_dir, workload.key, on_wait=_log_waiting, offset=setup.lock_offset
        )
        try:
            event = run_attempt(
                workload, setup.dag, xcoms=setup.xcoms, max_xcom_size=setup.max_xcom_size,
                hostname=setup.hostname, pid=pid, private_task=True, prepared=setup.prepared,
            )  # fmt: skip
            # The outcome is decided: a late SIGTERM must not turn it into a crash.
            _set_handler(signal.SIGTERM, _SIG_IGN)
        finally:
            os.close(lock)  # releases the lock
    except TaskTerminated as exc:
        _set_handler(signal.SIGTERM, _SIG_IGN)
        state = retry_state(workload.key.try_number, workload.max_tries)
        event = TaskEvent(workload.key, state, datetime.now(UTC), pid, setup.hostname, error=one_line(exc))
    write_end(workload, event.state, event.error, started)
    _flush()
    used_driver = isinstance(setup.xcoms, DriverXComs) and setup.xcoms.is_connected
    write_all(setup.event_fd, (encode(DriverUsed()) if used_driver else b"") + encode(event))
    if isinstance(setup.xcoms, DriverXComs):
        setup.xcoms.close()


def _log_waiting() -> None:
    log.info("Waiting for another process running this task instance to end")


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (as in _become_task_process)
            stream.flush()
        except Exception:
            pass


_prctl = None


def become_subreaper() -> bool:
    """Adopt orphaned descendants instead of init (Linux); False where unsupported."""
    global _prctl
    try:
        if _prctl is None:
            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        return bool(_prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False

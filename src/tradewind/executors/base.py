"""The Executor contract: how the scheduler hands task attempts to something that runs them.

The scheduler owns all task state. An executor only runs attempts and reports what happened,
as :class:`TaskEvent` values the scheduler applies in batches (one transaction per batch).
That is what lets the LocalExecutor run on SQLite: workers never write task state.

A typical owner loop::

    executor.start()
    try:
        while not stopping:
            for workload in ready_workloads(executor.running()):
                executor.submit(workload)
            executor.wait(timeout=next_tick_in)      # wakes the moment an event arrives
            apply_events(executor.events())
    finally:
        executor.stop()
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol, TypeVar

from tradewind.tasklog import stamp

__all__ = [
    "Executor",
    "TaskEvent",
    "TaskKey",
    "TaskWorkload",
    "log_path_for",
    "unsendable",
]


@dataclass(frozen=True, slots=True)
class TaskKey:
    """One attempt of one task instance. ``try_number`` is this attempt's, 1-based."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int

    def __reduce__(self) -> tuple[type[TaskKey], tuple[Any, ...]]:
        return _reduce(self)


@dataclass(frozen=True, slots=True)
class TaskWorkload:
    """Everything a worker needs to run one attempt, without reading the scheduler's state."""

    key: TaskKey
    fileloc: str  # DAG file (the worker imports it once and caches the DAG objects)
    logical_date: datetime  # UTC aware
    data_interval_start: datetime
    data_interval_end: datetime
    run_type: str  # "manual" | "scheduled" | "backfill"
    external_trigger: bool
    conf: dict[str, Any] | None
    max_tries: int  # = retries; the attempt may retry if try_number <= max_tries
    execution_timeout: float | None  # seconds
    queue: str
    priority_weight: int
    log_path: str  # absolute path of this try's log file
    pool: str = "default_pool"

    def __reduce__(self) -> tuple[type[TaskWorkload], tuple[Any, ...]]:
        return _reduce(self)


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """Something that happened to one attempt.

    ``state`` is a TaskState value: ``running`` first (with ``pid`` and ``hostname`` of the
    task process), then exactly one final state: ``success``, ``failed``, ``up_for_retry`` or
    ``skipped``. ``xcoms`` are ``(key, JSON bytes)`` pairs the attempt pushed, its
    ``return_value`` included; the scheduler stores them with the final state, in the same
    transaction. ``skip_task_ids`` are downstream tasks of the same run that a branch,
    short-circuit or latest-only task decided to skip.
    """

    key: TaskKey
    state: str  # TaskState value: "running" | "success" | "failed" | "up_for_retry" | "skipped"
    at: datetime  # when it happened (UTC aware)
    pid: int | None = None
    hostname: str = ""
    xcoms: tuple[tuple[str, bytes], ...] = ()  # (key, JSON-encoded value) pushed by the attempt
    skip_task_ids: tuple[str, ...] = ()  # branch / short-circuit / latest-only: ids to mark skipped
    error: str | None = None  # one-line reason for failed / up_for_retry (traceback goes to the log)

    def __reduce__(self) -> tuple[type[TaskEvent], tuple[Any, ...]]:
        return _reduce(self)

    @property
    def is_final(self) -> bool:
        """True for the last event of an attempt (anything but ``running``).

        Added in 0.1 (an optional addition to the contract: a derived property).
        """
        return self.state != "running"


class Executor(Protocol):
    """Runs task attempts somewhere and reports how they went. Parallelism and ordering belong to the scheduler.

    Implementations are not thread-safe: one owner (the scheduler loop) calls every method.
    Every submitted attempt produces exactly one final event (possibly preceded by a
    ``running`` event), even when its process crashes, is killed or times out, unless the
    executor is stopped first; the scheduler treats attempts it never heard the end of as
    zombies after a restart.
    """

    def start(self) -> None:
        """Prepare to run work (start worker processes, connect to a broker).

        Called once by the owner before the first ``submit``. Must not block for long;
        workers may still be warming up when it returns.
        """
        ...

    def submit(self, workload: TaskWorkload) -> None:
        """Queue one attempt and return at once.

        The scheduler has already recorded the attempt (state queued, ``try_number``
        incremented, ``log_path`` chosen). The executor may start it now or when a slot
        frees; it never runs the same key twice. Submitting a key that is already running
        is a programming error and may raise ``ValueError``. A workload that cannot be
        encoded for its worker does not raise: that attempt alone ends ``failed`` (see
        :func:`unsendable`), so one bad run cannot stop the submissions after it.
        """
        ...

    def events(self) -> list[TaskEvent]:
        """Every event that arrived since the last call, oldest first; never blocks.

        Drained: each event is returned once. For one key, ``running`` always comes before
        the final event; events of different keys may interleave.
        """
        ...

    def wait(self, timeout: float) -> bool:
        """Block until an event is ready or ``timeout`` seconds pass; True if events are ready.

        Lets the scheduler sleep without polling and wake the moment a task finishes.
        ``timeout`` 0 only checks. Events stay queued until :meth:`events` takes them.
        """
        ...

    def running(self) -> set[TaskKey]:
        """Keys submitted and not yet finished (queued inside the executor or running).

        A key leaves this set when its final event is ready for :meth:`events`.
        """
        ...

    def stop(self, *, wait: bool = True) -> None:
        """Stop accepting work and shut down; idempotent.

        With ``wait``, attempts already running finish normally; otherwise they are
        terminated (SIGTERM, then SIGKILL after a grace period) and reported as failed or
        up_for_retry. Attempts submitted but not started are dropped without events. Final
        events that arrive during the shutdown remain available from :meth:`events`.
        """
        ...


_T = TypeVar("_T", TaskKey, TaskWorkload, TaskEvent)


def _reduce(value: _T) -> tuple[type[_T], tuple[Any, ...]]:
    """Pickle as the constructor's arguments: several times faster than the dataclass default.

    These values cross a pipe twice per task (workload out, events back).
    """
    cls = type(value)
    return cls, _FIELDS[cls](value)


_FIELDS: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    cls: attrgetter(*cls.__slots__) for cls in (TaskKey, TaskWorkload, TaskEvent)
}


def unsendable(workload: TaskWorkload, exc: BaseException) -> TaskEvent:
    """The final event of an attempt whose workload cannot be encoded for its worker; the reason goes to its log.

    Only a run's conf can cause it (the trigger refuses such confs, but runs stored before
    it did remain). It is ``failed`` without a retry: a retry would fail the same way.
    """
    error = f"The attempt cannot be sent to a worker: {type(exc).__name__}: {exc}"
    now = time.time()
    line = f"[{stamp(now, int(now % 1 * 1000))}] {{base.py}} ERROR - {error}\n"
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(workload.log_path), exist_ok=True)
        with open(workload.log_path, "a", encoding="utf-8") as file:
            file.write(line)
    return TaskEvent(workload.key, "failed", datetime.now(UTC), error=error)


def log_path_for(log_folder: str | Path, key: TaskKey) -> Path:
    """Where the log of one attempt goes: ``<log_folder>/<dag_id>/<run_id>/<task_id>/<try>.log``.

    The scheduler fills :attr:`TaskWorkload.log_path` with this, and every reader (``tasks
    logs``, the workers' log server) finds the file through it. Each id becomes one folder
    name by percent-encoding ``%``, ``/``, ``\\`` and NUL (``a/b`` -> ``a%2Fb``), and the dots
    of a name that is only dots (``..`` -> ``%2E%2E``; an empty id becomes ``%``). Distinct
    ids therefore get distinct folders (a bare ``_`` substitute made ``a/b`` and ``a_b`` share
    one), no name can climb out of the log folder, and ordinary ids, which hold none of these
    characters, keep their plain names.

    Changed in 0.2: ``/`` was ``_``, and ``.``/``..``/empty names were prefixed with ``_``.
    """
    parts = (key.dag_id, key.run_id, key.task_id)
    return Path(log_folder).joinpath(*(_safe_part(p) for p in parts), f"{key.try_number}.log")


_UNSAFE = re.compile(r"[%/\\\0]")


def _safe_part(value: str) -> str:
    """``value`` as one folder name; injective (see :func:`log_path_for`)."""
    if value.strip(".") == "":
        return value.replace(".", "%2E") or "%"
    return _UNSAFE.sub(lambda m: f"%{ord(m[0]):02X}", value)

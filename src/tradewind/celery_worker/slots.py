"""Run attempts from many threads through one LocalExecutor: the worker's task runtime.

A Celery worker runs its tasks in a thread pool; each task thread calls :meth:`TaskSlots.run`
and blocks until its attempt ends. The LocalExecutor is not thread-safe, so one thread of
its own owns it: it submits what the task threads hand over and routes each final event back.
Attempts therefore run exactly as under the LocalExecutor: forked from a warm runner, with the
same context, log file, XComs, ``execution_timeout``, instance lock and process-tree cleanup,
and they die with the worker process (the runner watches its owner).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload
from tradewind.executors.local import LocalExecutor
from tradewind.runtime.attempt import retry_state

log = logging.getLogger("tradewind.celery.worker")

#: The owner thread's longest sleep: it is woken for new work, so this only bounds a missed wakeup.
_IDLE = 1.0


@dataclass(slots=True)
class _Waiter:
    workload: TaskWorkload
    done: threading.Event = field(default_factory=threading.Event)
    event: TaskEvent | None = None
    pid: int | None = None
    reason: str | None = None  # why we are terminating it
    kill_at: float | None = None


class TaskSlots:
    """Attempts of any thread, run by one LocalExecutor; see the module docstring."""

    def __init__(self, executor: LocalExecutor, *, kill_grace: float = 5.0) -> None:
        self._executor = executor
        self._kill_grace = kill_grace
        self._inbox: queue.SimpleQueue[TaskWorkload] = queue.SimpleQueue()
        self._waiters: dict[TaskKey, _Waiter] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop: bool | None = None  # None: serving; else stop, terminating attempts if True
        self._thread = threading.Thread(target=self._serve, name="tradewind-task-slots", daemon=True)

    def start(self) -> None:
        self._executor.start()
        self._thread.start()

    def run(self, workload: TaskWorkload) -> TaskEvent:
        """Run one attempt and return its final event (blocks the calling thread)."""
        waiter = _Waiter(workload)
        with self._lock:
            if self._stop is not None:
                raise RuntimeError("The worker is shutting down")
            if workload.key in self._waiters:
                raise ValueError(f"{workload.key} is already running here")
            self._waiters[workload.key] = waiter
        self._inbox.put(workload)
        self._wake_owner()
        waiter.done.wait()
        assert waiter.event is not None
        return waiter.event

    def pid_of(self, key: TaskKey) -> int | None:
        waiter = self._waiters.get(key)
        return waiter.pid if waiter is not None else None

    def terminate(self, key: TaskKey, reason: str) -> None:
        """SIGTERM the attempt's process group now (or once it starts), SIGKILL after the grace period."""
        with self._lock:
            waiter = self._waiters.get(key)
            if waiter is None or waiter.reason is not None:
                return
            waiter.reason = reason
            waiter.kill_at = time.monotonic() + self._kill_grace
            pid = waiter.pid
        log.warning("Stopping %s: %s", key, reason)
        if pid is not None:
            _signal_group(pid, signal.SIGTERM)
        self._wake_owner()  # to enforce the kill deadline

    def stop(self, *, terminate: bool = True, timeout: float = 60.0) -> None:
        """Stop the owner thread; running attempts are terminated (or awaited) and reported."""
        with self._lock:
            if self._stop is None:
                self._stop = terminate
        self._wake_owner()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # --- the owner thread -------------------------------------------------------------

    def _serve(self) -> None:
        try:
            while self._stop is None:
                self._submit_new()
                if not self._waiters:
                    self._wake.wait(_IDLE)
                    self._wake.clear()
                    continue
                self._executor.wait(self._until_next_kill())
                self._route(self._executor.events())
                self._enforce_kills()
        finally:
            self._shut_down()

    def _wake_owner(self) -> None:
        """Wake the owner thread, idle (``_wake``) or waiting on its executor (``wakeup``)."""
        self._wake.set()
        self._executor.wakeup()

    def _until_next_kill(self) -> float:
        deadlines = [
            w.kill_at for w in list(self._waiters.values()) if w.kill_at is not None and w.pid is not None
        ]
        return max(0.0, min([_IDLE, *(d - time.monotonic() for d in deadlines)]))

    def _submit_new(self) -> None:
        while True:
            try:
                workload = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._executor.submit(workload)

    def _route(self, events: list[TaskEvent]) -> None:
        for event in events:
            waiter = self._waiters.get(event.key)
            if waiter is None:
                continue
            if not event.is_final:
                self._on_started(waiter, event)
                continue
            if waiter.reason is not None and event.state != "success":
                event = dataclasses.replace(event, error=waiter.reason)
            self._finish(waiter, event)

    def _on_started(self, waiter: _Waiter, event: TaskEvent) -> None:
        with self._lock:
            waiter.pid = event.pid
            doomed = waiter.reason is not None
        if doomed and event.pid is not None:
            _signal_group(event.pid, signal.SIGTERM)

    def _finish(self, waiter: _Waiter, event: TaskEvent) -> None:
        with self._lock:
            self._waiters.pop(event.key, None)
        waiter.event = event
        waiter.done.set()

    def _enforce_kills(self) -> None:
        now = time.monotonic()
        for waiter in list(self._waiters.values()):
            if waiter.kill_at is not None and now >= waiter.kill_at and waiter.pid is not None:
                waiter.kill_at = None
                _signal_group(waiter.pid, signal.SIGKILL)

    def _shut_down(self) -> None:
        self._submit_new()
        with contextlib.suppress(Exception):
            self._executor.stop(wait=not self._stop)
        with contextlib.suppress(Exception):
            self._route(self._executor.events())
        for waiter in list(self._waiters.values()):  # never started, or the runner lost them
            key = waiter.workload.key
            state = retry_state(key.try_number, waiter.workload.max_tries)
            error = waiter.reason or "The worker shut down before the attempt ended"
            self._finish(waiter, TaskEvent(key, state, datetime.now(UTC), waiter.pid, error=error))


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)

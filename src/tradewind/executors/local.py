"""LocalExecutor and SequentialExecutor: task processes forked by a warm runner on this machine.

The executor lives in the scheduler process and holds no threads. It starts one runner
process (:mod:`tradewind.runtime.runner`) and talks to it over two pipes; workloads go out
as soon as a slot is free, events come back the moment a task starts or ends, and
:meth:`LocalExecutor.wait` sleeps on the event pipe, so the scheduler wakes exactly then.
If the runner dies, every attempt it was running is reported failed (or up_for_retry) and
a new runner starts with the next submission.
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tradewind
from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload, unsendable
from tradewind.runtime.wire import FrameReader, RunCommand, RunnerSettings, StopCommand, encode
from tradewind.runtime.xcoms import XComDatabase

_READ_SIZE = 1 << 16
_STOP_MARGIN = 10.0


class LocalExecutor:
    """Runs up to ``parallelism`` attempts at once, each in its own forked process.

    ``db_url`` is where tasks read upstream XComs from (``xcom_pull``); ``lock_dir`` holds
    the per-task-instance lock files (``$TRADEWIND_HOME/run/locks``); ``kill_grace`` is the
    time between SIGTERM and SIGKILL when an attempt times out or is terminated.
    Attempts beyond ``parallelism`` wait inside the executor, in submission order.
    """

    def __init__(
        self,
        *,
        parallelism: int = 32,
        db_url: str | None = None,
        max_xcom_size: int = 1_048_576,
        lock_dir: str | Path | None = None,
        dags_folder: str | Path | None = None,
        kill_grace: float = 5.0,
        import_timeout: float = 30.0,
        python: str = sys.executable,
    ) -> None:
        if parallelism < 1:
            raise ValueError(f"parallelism must be at least 1, got {parallelism}")
        self.parallelism = parallelism
        self._settings = RunnerSettings(
            xcom_database=XComDatabase.from_url(db_url) if db_url else None,
            max_xcom_size=max_xcom_size,
            lock_dir=str(lock_dir or Path(tempfile.gettempdir()) / "tradewind-locks"),
            dags_folder=str(dags_folder) if dags_folder else None,
            kill_grace=kill_grace,
            import_timeout=import_timeout,
        )
        self._python = python
        self._process: subprocess.Popen[bytes] | None = None
        self._commands_fd = -1
        self._events_fd = -1
        self._selector: selectors.BaseSelector | None = None
        self._reader = FrameReader()
        self._out = bytearray()
        self._queued: deque[TaskWorkload] = deque()
        self._queued_keys: set[TaskKey] = set()  # a duplicate check in O(1): submits come in thousands
        self._started: dict[TaskKey, TaskWorkload] = {}
        self._pids: dict[TaskKey, int] = {}
        self._ready: list[TaskEvent] = []
        self._wake_lock = threading.Lock()
        self._wake_r = self._wake_w = -1
        self._is_started = False
        self._is_stopped = False

    @property
    def runner_pid(self) -> int | None:
        """The runner process's pid, while it runs (for diagnostics and tests)."""
        return self._process.pid if self._process is not None else None

    # --- the contract -----------------------------------------------------------------

    def start(self) -> None:
        """Start the runner process; it warms up while the first workloads queue in its pipe."""
        if not self._is_started:
            self._is_started = True
            self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            self._spawn()

    def submit(self, workload: TaskWorkload) -> None:
        if self._is_stopped:
            raise RuntimeError("The executor is stopped")
        if not self._is_started:
            self.start()
        if workload.key in self._started or workload.key in self._queued_keys:
            raise ValueError(f"{workload.key} was already submitted")
        self._queued.append(workload)
        self._queued_keys.add(workload.key)
        self._dispatch()

    def events(self) -> list[TaskEvent]:
        self._pump()
        ready, self._ready = self._ready, []
        return ready

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            self._pump()
            remaining = deadline - time.monotonic()
            if self._ready or remaining <= 0:
                return bool(self._ready)
            if self._sleep(remaining):
                self._pump()
                return bool(self._ready)

    def wakeup(self) -> None:
        """Make a :meth:`wait` in progress (or the next one) return now. The one thread-safe method.

        For an owner thread that also waits for work from other threads (the Celery worker's
        task slots): they hand it work, then wake it, so it never has to poll.
        Added in 0.2.
        """
        with self._wake_lock:
            if self._wake_w >= 0:
                with contextlib.suppress(BlockingIOError):  # a full pipe will wake it anyway
                    os.write(self._wake_w, b"\0")

    def running(self) -> set[TaskKey]:
        self._pump()
        return set(self._started) | self._queued_keys

    def stop(self, *, wait: bool = True) -> None:
        if self._is_stopped:
            return
        self._is_stopped = True
        self._queued.clear()
        self._queued_keys.clear()
        if self._process is None:
            self._close_wake_pipe()
            return
        self._out += encode(StopCommand(terminate=not wait))
        limit = None if wait else self._settings.kill_grace + _STOP_MARGIN
        self._drain_until_exit(limit)
        self._close_wake_pipe()

    # --- the runner process -------------------------------------------------------------

    def _spawn(self) -> None:
        commands_r, self._commands_fd = os.pipe()
        self._events_fd, events_w = os.pipe()
        command = [
            self._python,
            "-m",
            "tradewind.runtime.runner",
            str(commands_r),
            str(events_w),
            str(os.getpid()),
        ]
        try:
            self._process = subprocess.Popen(
                command, pass_fds=(commands_r, events_w), stdin=subprocess.DEVNULL, env=_runner_environment()
            )
        finally:
            os.close(commands_r)
            os.close(events_w)
        os.set_blocking(self._commands_fd, False)
        os.set_blocking(self._events_fd, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._events_fd, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._reader = FrameReader()
        self._out = bytearray(encode(self._settings))
        self._flush()

    def _dispatch(self) -> None:
        """Send queued workloads while slots are free."""
        if self._process is None and self._queued and not self._is_stopped:
            self._spawn()
        while self._queued and len(self._started) < self.parallelism:
            workload = self._queued.popleft()
            self._queued_keys.discard(workload.key)
            try:
                command = encode(RunCommand(workload))
            except Exception as exc:  # a conf too deep to pickle, say: fail that attempt, not the loop
                self._ready.append(unsendable(workload, exc))
                continue
            self._started[workload.key] = workload
            self._out += command
        self._flush()

    def _flush(self) -> None:
        """Write pending commands without blocking; the rest waits for the pipe to drain."""
        if self._process is None:
            return
        try:
            while self._out:
                del self._out[: os.write(self._commands_fd, self._out)]
        except BlockingIOError:
            pass
        except BrokenPipeError:
            self._out.clear()  # the runner died; reading its pipe will say so
        self._watch_commands(bool(self._out))

    def _watch_commands(self, is_pending: bool) -> None:
        assert self._selector is not None
        registered = self._commands_fd in self._selector.get_map()
        if is_pending and not registered:
            self._selector.register(self._commands_fd, selectors.EVENT_WRITE)
        elif registered and not is_pending:
            self._selector.unregister(self._commands_fd)

    def _pump(self) -> None:
        """Read every event the runner has sent so far; notice if it died."""
        if self._process is None:
            return
        self._flush()
        while True:
            try:
                data = os.read(self._events_fd, _READ_SIZE)
            except BlockingIOError:
                return
            if not data:
                self._on_runner_exit()
                return
            for event in self._reader.feed(data):
                self._accept(event)
            self._dispatch()

    def _accept(self, event: TaskEvent) -> None:
        if event.is_final:
            self._started.pop(event.key, None)
            self._pids.pop(event.key, None)
        elif event.pid is not None:
            self._pids[event.key] = event.pid
        self._ready.append(event)

    def _on_runner_exit(self) -> None:
        assert self._process is not None and self._selector is not None
        code = self._process.wait()
        self._selector.close()
        for fd in (self._commands_fd, self._events_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._process, self._selector, self._out = None, None, bytearray()
        if self._started:
            self._fail_orphans(f"The task runner died (exit code {code})")
        if self._queued and not self._is_stopped:
            self._dispatch()

    def _fail_orphans(self, error: str) -> None:
        """Report what the dead runner was running, and kill what is left of those tasks."""
        from tradewind.runtime.attempt import retry_state

        for key, workload in self._started.items():
            pid = self._pids.get(key)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            state = retry_state(key.try_number, workload.max_tries)
            self._ready.append(TaskEvent(key, state, datetime.now(UTC), pid, error=error))
        self._started.clear()
        self._pids.clear()

    def _drain_until_exit(self, limit: float | None) -> None:
        """Read events until the runner exits; kill it if it outlives ``limit`` seconds."""
        deadline = time.monotonic() + limit if limit is not None else None
        while self._process is not None:
            self._pump()
            if self._process is None or self._selector is None:
                break
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                self._process.kill()
                deadline = None
            self._sleep(remaining)

    def _sleep(self, timeout: float | None) -> bool:
        """Block until the runner has news, :meth:`wakeup` is called, or ``timeout``; True if woken."""
        if self._selector is not None:
            ready = {key.fd for key, _ in self._selector.select(timeout)}
        elif self._wake_r < 0:  # not started, or stopped
            time.sleep(timeout or 0.0)
            return False
        else:
            ready = set(select.select([self._wake_r], [], [], timeout)[0])
        if self._wake_r not in ready:
            return False
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_r, _READ_SIZE):
                pass
        return True

    def _close_wake_pipe(self) -> None:
        with self._wake_lock:
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    os.close(fd)
            self._wake_r = self._wake_w = -1


class SequentialExecutor(LocalExecutor):
    """A LocalExecutor with one slot: attempts run one at a time, for debugging."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["parallelism"] = 1
        super().__init__(**kwargs)


def _runner_environment() -> dict[str, str]:
    """The environment, with this Tradewind importable even if it is not installed."""
    env = dict(os.environ)
    root = str(Path(tradewind.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env

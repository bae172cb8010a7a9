"""The task runner: a warm process that forks one task process per attempt.

The LocalExecutor starts it once (``python -m tradewind.runtime.runner``) and talks to it
over two pipes: workloads in, :class:`~tradewind.executors.base.TaskEvent` values out.
Airflow pays an interpreter start and a DAG re-parse per task; here a task start is one
``fork()`` of a process that already has Tradewind and the DAG file imported (DAG files are
imported on first use and again only when they change; the database driver once a task has
read XComs through it).

One loop, driven by a selector, no threads (so forking stays safe) and no polling:

* the command pipe: ``RunCommand`` forks a child (see :mod:`~tradewind.runtime.child`),
  ``StopCommand`` drains or terminates; EOF means the owner is gone;
* a pidfd on the owner: if the scheduler dies, every task process tree is terminated
  before the runner exits, so a restarted scheduler may treat them as zombies;
* per child, its event pipe (the final event, relayed at once; the runner reports
  ``running`` itself when it forks) and a pidfd that becomes readable when it exits. A
  child that exits without a final event (``os._exit``, a segfault, SIGKILL) gets one
  made up from its exit status;
* deadlines: ``execution_timeout`` sends SIGTERM to the child's whole tree, SIGKILL follows
  after ``kill_grace`` seconds.

The runner and every task process are child subreapers: processes a task leaves behind are
adopted instead of escaping to init, and are killed when their task process ends. While the
runner has a single thread, its forks skip threading's and logging's at-fork hooks, which a
task process does not need (see :mod:`~tradewind.runtime.forkhooks`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import os
import selectors
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradewind.executors.base import TaskEvent, TaskWorkload
from tradewind.runtime import forkhooks
from tradewind.runtime.attempt import one_line, prepare_attempt, prepare_attempt_state, retry_state
from tradewind.runtime.child import (
    ChildSetup,
    become_subreaper,
    direct_lines_possible,
    fd_spans,
    prepare_parent,
    run_child,
)
from tradewind.runtime.dags import DagCache
from tradewind.runtime.locks import lock_offset
from tradewind.runtime.logs import make_log_folder, open_log
from tradewind.runtime.wire import (
    DriverUsed,
    FrameReader,
    RunCommand,
    RunnerSettings,
    StopCommand,
    decode,
    encode,
    write_all,
)
from tradewind.runtime.xcoms import DriverXComs, NoXComs, XComSource

log = logging.getLogger("tradewind.runner")

_READ_SIZE = 1 << 16
_DRIVER_USED = encode(DriverUsed())  # the whole frame a task process sends (pickling is deterministic)
_PIPE_SIZE = 1 << 20
Handler = Callable[[], None]


@dataclass(slots=True)
class _Child:
    pid: int
    workload: TaskWorkload
    events_fd: int
    pidfd: int
    deadline: float | None
    reader: FrameReader = field(default_factory=FrameReader)
    kill_at: float | None = None
    reason: str | None = None  # why the runner terminated it
    is_finished: bool = False  # its final event was relayed
    seen: set[int] = field(default_factory=set)  # processes of its tree, for SIGKILL


class Runner:
    """Serves one owner until it says stop or dies; see the module docstring."""

    def __init__(
        self,
        settings: RunnerSettings,
        commands_fd: int,
        events_fd: int,
        owner_pid: int,
        commands: FrameReader | None = None,
    ) -> None:
        self._settings = settings
        self._commands_fd = commands_fd
        self._events_fd = events_fd
        self._commands = commands or FrameReader()  # may hold messages read with the settings
        self._out = bytearray()
        self._selector = selectors.DefaultSelector()
        self._children: dict[int, _Child] = {}
        # Those with a deadline or a kill pending: what the loop checks each time round. Only
        # those: every page the runner touches while children share it is copied again.
        self._timed: dict[int, _Child] = {}
        self._dags = DagCache(
            dags_folder=Path(settings.dags_folder) if settings.dags_folder else None,
            import_timeout=settings.import_timeout,
        )
        self._xcoms: XComSource = DriverXComs(settings.xcom_database) if settings.xcom_database else NoXComs()
        self._has_driver = False  # the XCom driver is imported (on a task's first use of it)
        self._direct, self._direct_checked_at = False, -1  # direct_lines_possible(), per DAG imports
        self._hostname = os.uname().nodename  # socket.gethostname(), without importing socket
        self._owner_fd = _pidfd(owner_pid)
        self._owner_pid = owner_pid
        self._is_stopping = False
        self._is_orphaned = False
        self._has_exited = False  # a task process ended since orphans were last killed
        self._wakeup_r, self._wakeup_w = os.pipe()
        self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)  # every task's stdin

    # --- the loop ---------------------------------------------------------------------

    def serve(self) -> None:
        """Run until stopped and every task process has ended."""
        self._install_signals()
        os.set_blocking(self._commands_fd, False)
        os.set_blocking(self._events_fd, False)
        self._watch(self._commands_fd, self._on_commands)
        self._watch(self._wakeup_r, self._on_signal)
        if self._owner_fd is not None:
            self._watch(self._owner_fd, self._on_owner_death)
        self._handle(self._commands.feed(b""))
        while not (self._is_stopping and not self._children):
            self._flush()
            for key, _ in self._selector.select(self._next_timeout()):
                if self._selector.get_map().get(key.fd) is key:  # not closed by an earlier handler
                    key.data()
            if self._has_exited:
                self._has_exited = False
                self._kill_orphans()
            self._enforce_deadlines()
            self._check_owner()
        self._flush(block=True)

    def _watch(self, fd: int, handler: Handler) -> None:
        self._selector.register(fd, selectors.EVENT_READ, handler)

    def _unwatch(self, fd: int) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(fd)
        os.close(fd)

    def _next_timeout(self) -> float | None:
        moments = [c.kill_at if c.kill_at is not None else c.deadline for c in self._timed.values()]
        upcoming = [m for m in moments if m is not None]
        if self._owner_fd is None:  # no pidfd: fall back to checking our parent now and then
            upcoming.append(time.monotonic() + 1.0)
        return max(min(upcoming) - time.monotonic(), 0.0) if upcoming else None

    def _install_signals(self) -> None:
        # The owner decides when we stop; a terminal's Ctrl-C reaches our process group too.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        os.set_blocking(self._wakeup_w, False)
        signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)

    # --- commands and the owner -----------------------------------------------------------

    def _on_commands(self) -> None:
        data = _read(self._commands_fd)
        if data is None:
            return
        if not data:
            self._unwatch(self._commands_fd)
            self._commands_fd = -1
            self._abandon("the executor closed its pipe")
            return
        self._handle(self._commands.feed(data))

    def _handle(self, messages: Iterable[Any]) -> None:
        workloads: list[TaskWorkload] = []
        for message in messages:
            if isinstance(message, RunCommand) and not self._is_stopping:
                workloads.append(message.workload)
            elif isinstance(message, StopCommand):
                self._start(workloads)
                workloads = []
                self._stop(terminate=message.terminate)
        self._start(workloads)

    def _on_signal(self) -> None:
        signals = os.read(self._wakeup_r, 512)
        if signal.SIGTERM in signals:
            self._stop(terminate=True)

    def _on_owner_death(self) -> None:
        assert self._owner_fd is not None
        self._unwatch(self._owner_fd)
        self._owner_fd = None
        self._abandon("the scheduler died")

    def _check_owner(self) -> None:
        if self._owner_fd is None and not self._is_orphaned and os.getppid() != self._owner_pid:
            self._abandon("the scheduler died")

    def _abandon(self, why: str) -> None:
        """Nobody will read our events any more: end every task and exit."""
        if not self._is_orphaned and self._children:
            log.warning("Terminating %d running task(s): %s", len(self._children), why)
        self._is_orphaned = True
        self._out.clear()
        self._stop(terminate=True)

    def _stop(self, *, terminate: bool) -> None:
        self._is_stopping = True
        if terminate:
            for child in self._children.values():
                self._terminate(child, "Task was terminated: the executor is shutting down")

    # --- starting tasks ---------------------------------------------------------------

    def _start(self, workloads: list[TaskWorkload]) -> None:
        """Fork a task process for each workload, in a tight loop.

        Between two forks the runner touches as little memory as it can: every page it
        writes while children share it is copied once more, in the runner.
        """
        ready = [(workload, dag) for workload in workloads if (dag := self._load(workload)) is not None]
        if not ready:
            return
        # Work every task process would do for itself, done here for all of them at once.
        offsets = [lock_offset(workload.key) for workload, _ in ready]
        for workload, _ in ready:
            with contextlib.suppress(OSError):  # the task process tries again, and reports it
                make_log_folder(workload.log_path)
        # Everything the task processes need is built before the first fork: what the runner
        # writes between forks is copied once more, in the runner, for each child alive.
        pipes = [os.pipe() for _ in ready]
        inherited = tuple(self._own_fds() + [fd for pipe in pipes for fd in pipe])
        if self._direct_checked_at != self._dags.imports:  # only a DAG file import can change it
            self._direct_checked_at, self._direct = self._dags.imports, direct_lines_possible()
        setups = [
            self._child_setup(workload, dag, write_fd, inherited, offset, self._direct)
            for (workload, dag), (_, write_fd), offset in zip(ready, pipes, offsets, strict=True)
        ]
        gc.freeze()  # keeps the collector from touching, and so copying, the parent's pages
        _flush_stdio()
        pids = []
        with forkhooks.skipped():
            for setup in setups:
                pid = os.fork()
                if pid == 0:
                    run_child(setup)
                pids.append(pid)
        now = _now()
        for pid, setup, (read_fd, write_fd) in zip(pids, setups, pipes, strict=True):
            os.close(write_fd)
            self._track(pid, setup.workload, read_fd)
            # Reported here rather than by the task process: one message less for each.
            self._emit(TaskEvent(setup.workload.key, "running", now, pid, self._hostname))

    def _load(self, workload: TaskWorkload) -> Any:
        """The workload's DAG, prepared for forking; None if it could not be loaded (reported)."""
        imports = self._dags.imports
        try:
            dag = self._dags.get_dag(workload.fileloc, workload.key.dag_id)
        except BaseException as exc:  # the DAG file is user code: it fails this attempt only
            self._report_unstarted(workload, exc)
            return None
        if self._dags.imports != imports:  # a re-import may have left the old DAGs' cycles behind
            gc.unfreeze()
            gc.collect()
        prepare_attempt(workload, dag)
        return dag

    def _track(self, pid: int, workload: TaskWorkload, read_fd: int) -> None:
        os.set_blocking(read_fd, False)
        timeout = workload.execution_timeout
        child = _Child(
            pid, workload, read_fd, os.pidfd_open(pid), time.monotonic() + timeout if timeout else None
        )
        self._children[pid] = child
        if child.deadline is not None:
            self._timed[pid] = child
        self._watch(read_fd, lambda: self._on_child_output(child))
        self._watch(child.pidfd, lambda: self._on_child_exit(child))

    def _child_setup(
        self,
        workload: TaskWorkload,
        dag: Any,
        write_fd: int,
        inherited: tuple[int, ...],
        offset: int,
        direct_log_lines: bool,
    ) -> ChildSetup:
        return ChildSetup(
            workload=workload,
            dag=dag,
            event_fd=write_fd,
            lock_dir=self._settings.lock_dir,
            xcoms=self._xcoms,
            max_xcom_size=self._settings.max_xcom_size,
            hostname=self._hostname,
            close_spans=fd_spans(inherited, keep=write_fd),
            lock_offset=offset,
            stdin_fd=self._devnull,
            direct_log_lines=direct_log_lines,
            prepared=prepare_attempt_state(
                workload,
                dag,
                xcoms=self._xcoms,
                max_xcom_size=self._settings.max_xcom_size,
                hostname=self._hostname,
            ),
        )

    def _own_fds(self) -> list[int]:
        fds = [self._commands_fd, self._events_fd, self._wakeup_r, self._wakeup_w, self._selector.fileno()]
        if self._owner_fd is not None:
            fds.append(self._owner_fd)
        for child in self._children.values():
            fds.extend((child.events_fd, child.pidfd))
        return [fd for fd in fds if fd >= 0]

    def _report_unstarted(self, workload: TaskWorkload, exc: BaseException) -> None:
        """The DAG could not be loaded: the attempt fails with the traceback in its log."""
        with contextlib.suppress(OSError):
            fd = open_log(workload.log_path)
            text = "".join(traceback.format_exception(exc))
            write_all(
                fd, f"Could not load DAG {workload.key.dag_id} from {workload.fileloc}:\n{text}".encode()
            )
            os.close(fd)
        state = retry_state(workload.key.try_number, workload.max_tries)
        self._emit(TaskEvent(workload.key, state, _now(), None, self._hostname, error=one_line(exc)))

    # --- children ---------------------------------------------------------------------

    def _on_child_output(self, child: _Child) -> None:
        data = _read(child.events_fd)
        if data is None:
            return
        if not data:
            self._unwatch(child.events_fd)
            child.events_fd = -1
            return
        self._relay(child, data)

    def _relay(self, child: _Child, data: bytes) -> None:
        """Pass a task process's final event on as it came, without decoding it.

        A task process sends only its final event, maybe after a :class:`DriverUsed`. It is
        decoded only when the runner must amend it (it terminated the task, and says why):
        a decode and an encode per task would touch (and so copy) pages for nothing.
        """
        for frame in child.reader.frames(data):
            if frame == _DRIVER_USED:
                self._load_driver()
                continue
            child.is_finished = True
            if child.reason is not None:
                frame = encode(dataclasses.replace(decode(frame), error=child.reason))
            self._emit_frame(frame)

    def _load_driver(self) -> None:
        """A task read XComs through the driver: import it here, once (see :class:`DriverUsed`)."""
        if not self._has_driver and self._settings.xcom_database is not None:
            self._has_driver = True
            with contextlib.suppress(ImportError):  # the task that needs it reports the error
                self._settings.xcom_database.preload()

    def _on_child_exit(self, child: _Child) -> None:
        _signal_group(child.pid, signal.SIGKILL)  # leftovers in its group; it is unreaped, so no pid reuse
        _, status = os.waitpid(child.pid, 0)
        if child.events_fd >= 0:
            with contextlib.suppress(BlockingIOError):
                while data := os.read(child.events_fd, _READ_SIZE):
                    self._relay(child, data)
            self._unwatch(child.events_fd)
            child.events_fd = -1
        self._unwatch(child.pidfd)
        del self._children[child.pid]
        self._timed.pop(child.pid, None)
        if not child.is_finished:
            self._emit(self._crash_event(child, status))
        self._has_exited = True  # what it left behind is killed once the wakeup is handled

    def _crash_event(self, child: _Child, status: int) -> TaskEvent:
        code = os.waitstatus_to_exitcode(status)
        if child.reason is not None:
            error = child.reason
        elif code < 0:
            error = f"Task process was killed by signal {_signal_name(-code)}"
        else:
            error = f"Task process exited with code {code} before reporting a result"
        key = child.workload.key
        state = retry_state(key.try_number, child.workload.max_tries)
        return TaskEvent(key, state, _now(), child.pid, self._hostname, error=error)

    def _kill_orphans(self) -> None:
        """Kill what ended tasks left behind: they were re-parented to us, the subreaper."""
        for _ in range(20):
            orphans = [pid for pid in _children_of(os.getpid()) if pid not in self._children]
            if not orphans:
                return
            for pid in orphans:
                _kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)

    # --- timeouts and termination -----------------------------------------------------

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for child in list(self._timed.values()):
            if child.kill_at is not None and now >= child.kill_at:
                self._kill_tree(child, signal.SIGKILL)
                child.kill_at = None
            elif child.kill_at is None and child.reason is None and child.deadline and now >= child.deadline:
                timeout = child.workload.execution_timeout
                self._terminate(child, f"Task timed out after {timeout:g} seconds (execution_timeout)")

    def _terminate(self, child: _Child, reason: str) -> None:
        """SIGTERM to the task's whole tree now, SIGKILL after the grace period."""
        if child.reason is not None:
            return
        child.reason = reason
        child.kill_at = time.monotonic() + self._settings.kill_grace
        self._timed[child.pid] = child
        self._kill_tree(child, signal.SIGTERM)

    def _kill_tree(self, child: _Child, signum: int) -> None:
        child.seen.update(_descendants(child.pid))
        _signal_group(child.pid, signum)
        for pid in [child.pid, *child.seen]:
            _kill(pid, signum)
            _signal_group(pid, signum)

    # --- events out -------------------------------------------------------------------

    def _emit(self, event: TaskEvent) -> None:
        self._emit_frame(encode(event))

    def _emit_frame(self, frame: bytes) -> None:
        if not self._is_orphaned:
            self._out += frame

    def _flush(self, *, block: bool = False) -> None:
        """Write what we can; with ``block``, everything (the owner is reading until EOF)."""
        if not self._out or self._is_orphaned:
            return
        if block:
            os.set_blocking(self._events_fd, True)
        try:
            while self._out:
                del self._out[: os.write(self._events_fd, self._out)]
        except BlockingIOError:
            self._watch_writable()
        except BrokenPipeError:
            self._abandon("the executor's pipe is closed")
            return
        if not self._out:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self._events_fd)

    def _watch_writable(self) -> None:
        with contextlib.suppress(KeyError):
            self._selector.register(self._events_fd, selectors.EVENT_WRITE, lambda: None)


# --- processes -------------------------------------------------------------------------


def _children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux ``/proc/<pid>/task/*/children``); [] if unknown."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        with contextlib.suppress(OSError):
            fd = os.open(f"/proc/{pid}/task/{tid}/children", os.O_RDONLY | os.O_CLOEXEC)
            try:
                found.extend(int(p) for p in _read_to_end(fd).split())
            finally:
                os.close(fd)
    return found


def _read_to_end(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, _READ_SIZE):
        chunks.append(chunk)
    return b"".join(chunks)


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in _children_of(pending.pop()):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None


def _read(fd: int) -> bytes | None:
    """What ``fd`` has: None when nothing yet, b"" at EOF."""
    try:
        return os.read(fd, _READ_SIZE)
    except BlockingIOError:
        return None


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _now() -> datetime:
    return datetime.now(UTC)


# --- entry point -------------------------------------------------------------------------


def preload(settings: RunnerSettings) -> None:
    """Import what task processes need, once, so no child pays for it."""
    import tradewind.dag
    import tradewind.dag.importing  # noqa: F401 (not the loader: see its docstring)
    from tradewind.runtime.warmup import warm_up

    warm_up(settings.lock_dir)  # not the XCom driver: see DriverUsed


def _read_settings(fd: int, reader: FrameReader) -> RunnerSettings:
    """The first message; later ones read along with it stay in ``reader``."""
    while True:
        data = os.read(fd, _READ_SIZE)
        if not data:
            raise SystemExit(0)
        for message in reader.feed(data):
            if not isinstance(message, RunnerSettings):
                raise SystemExit(f"expected RunnerSettings first, got {type(message).__name__}")
            return message


def main(argv: list[str] | None = None) -> int:
    """``python -m tradewind.runtime.runner COMMANDS_FD EVENTS_FD OWNER_PID``."""
    commands_fd, events_fd, owner_pid = (int(a) for a in (argv if argv is not None else sys.argv[1:]))
    if os.getppid() != owner_pid:
        return 0  # the owner died while we were starting
    forkhooks.find()  # before anything calls gc.freeze()
    prepare_parent()
    reader = FrameReader()
    settings = _read_settings(commands_fd, reader)
    become_subreaper()
    preload(settings)
    for fd in (commands_fd, events_fd):
        _grow_pipe(fd)
    Runner(settings, commands_fd, events_fd, owner_pid, reader).serve()
    return 0


def _grow_pipe(fd: int) -> None:
    import fcntl

    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


if __name__ == "__main__":
    sys.exit(main())

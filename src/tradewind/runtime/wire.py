"""Framing of the messages the executor, the runner and task processes exchange over pipes.

Each message is a 4-byte big-endian length, a kind byte and the message: a task event as a
``marshal``-ed tuple of its fields, anything else as a pickle. The pipes only ever connect
processes of one installation started by the executor, so pickle is safe here.

Events are the hot path: every task process sends one and the runner one more per fork.
Pickling a dataclass looks up each class it names through the import machinery, which a
task process touches for nothing else, so its first use copies pages from the runner in
every one. ``marshal`` writes plain values with none of that (bench_executor: 21 fewer
page faults a task).
"""

from __future__ import annotations

import marshal
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload
from tradewind.runtime.xcoms import XComDatabase

try:  # the C pickler alone: the pickle module's pure-Python one would only add to the runner
    from _pickle import dumps, loads
except ImportError:  # pragma: no cover - interpreters without CPython's accelerator
    from pickle import dumps, loads

_HEADER = struct.Struct(">I")
_EVENT, _PICKLE = b"E", b"P"
_EVENT_BYTE = _EVENT[0]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    """The runner's configuration: the first message it reads (kept out of ``ps`` output)."""

    xcom_database: XComDatabase | None
    max_xcom_size: int
    lock_dir: str
    dags_folder: str | None = None
    kill_grace: float = 5.0
    import_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class RunCommand:
    workload: TaskWorkload


@dataclass(frozen=True, slots=True)
class DriverUsed:
    """From a task process, before its final event: it read XComs through the database driver.

    The runner imports the driver then, once, so later task processes inherit it. Until a
    task pulls, the runner goes without: the driver (psycopg and its bundled libraries
    especially) would make every fork and exit dearer for tasks that never read the database.
    """


@dataclass(frozen=True, slots=True)
class StopCommand:
    """Stop the runner: wait for running attempts, or ``terminate`` them first."""

    terminate: bool


def encode(message: Any) -> bytes:
    payload = _encode_event(message) if type(message) is TaskEvent else None
    if payload is None:
        payload = _PICKLE + dumps(message, protocol=-1)  # the highest
    return _HEADER.pack(len(payload)) + payload


def _encode_event(event: TaskEvent) -> bytes | None:
    """The event as plain values; None if a field holds what ``marshal`` cannot write."""
    key = event.key
    try:
        return _EVENT + marshal.dumps((
            key.dag_id, key.task_id, key.run_id, key.try_number, event.state,
            (event.at - _EPOCH) // _MICROSECOND, event.pid, event.hostname, event.xcoms,
            event.skip_task_ids, event.error,
        ))  # fmt: skip
    except (ValueError, TypeError):  # a str subclass, a naive datetime...: pickle it
        return None


def _decode_event(data: memoryview) -> TaskEvent:
    dag_id, task_id, run_id, try_number, state, at, pid, hostname, xcoms, skip, error = marshal.loads(data)
    return TaskEvent(
        TaskKey(dag_id, task_id, run_id, try_number), state, _EPOCH + at * _MICROSECOND, pid, hostname,
        xcoms, skip, error,
    )  # fmt: skip


class FrameReader:
    """Turns a byte stream, fed in arbitrary chunks, back into messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Any]:
        for frame in self.frames(data):
            yield decode(frame)

    def frames(self, data: bytes) -> Iterator[bytes]:
        """Whole frames (header included), not decoded: for a process that only passes them on."""
        self._buffer += data
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            end = _HEADER.size + size
            if len(self._buffer) < end:
                return
            frame = bytes(self._buffer[:end])
            del self._buffer[:end]
            yield frame


def decode(frame: bytes) -> Any:
    """The message of one whole frame (see :meth:`FrameReader.frames`)."""
    body = memoryview(frame)[_HEADER.size :]
    if body[0] == _EVENT_BYTE:
        return _decode_event(body[1:])
    return loads(body[1:])


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a blocking fd (os.write may write less than asked on a pipe)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def lock_dir_for(home: Path) -> Path:
    """The folder of per-task-instance lock files: ``$TRADEWIND_HOME/run/locks``."""
    return home / "run" / "locks"

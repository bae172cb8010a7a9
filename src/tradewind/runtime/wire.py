"""Framing of the messages the executor, the runner and task processes exchange over pipes.

Each message is a 4-byte big-endian length and a pickle. The pipes only ever connect
processes of one installation started by the executor, so pickle is safe here and is the
fastest way to move a dataclass.
"""

from __future__ import annotations

import os
import pickle
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradewind.executors.base import TaskWorkload
from tradewind.runtime.xcoms import XComDatabase

_HEADER = struct.Struct(">I")


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
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


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
    return pickle.loads(memoryview(frame)[_HEADER.size :])


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a blocking fd (os.write may write less than asked on a pipe)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def lock_dir_for(home: Path) -> Path:
    """The folder of per-task-instance lock files: ``$TRADEWIND_HOME/run/locks``."""
    return home / "run" / "locks"

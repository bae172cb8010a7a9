"""A lock per task instance, so no instance ever runs twice at once on a machine.

A task process holds an exclusive lock while its attempt runs. A second attempt of the
same ``(dag_id, run_id, task_id)`` (a retry started while a "zombie" of the first is still
alive, say) blocks until the first process has died: the kernel drops the lock with the
process, however it ends.

Rather than one lock file per instance (a create and an unlink per task, which costs a
journal write each on a disk file system), every instance locks one byte of a single file,
``<lock_dir>/instances.lock``, at an offset derived from a 60-bit hash of its identity.
These are POSIX record locks (``lockf``): owned by the process, never inherited by a fork.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from tradewind.executors.base import TaskKey
from tradewind.hashing import sha1

LOCK_FILE = "instances.lock"


def lock_offset(key: TaskKey) -> int:
    """The byte of the lock file that stands for ``key``'s task instance (any try)."""
    name = "\0".join((key.dag_id, key.run_id, key.task_id)).encode()
    return int(sha1(name, usedforsecurity=False).hexdigest()[:15], 16)


@contextlib.contextmanager
def instance_lock(
    lock_dir: str | Path,
    key: TaskKey,
    *,
    on_wait: Callable[[], None] | None = None,
    offset: int | None = None,
) -> Iterator[None]:
    """Hold the instance's lock inside the block; ``on_wait`` is called once if it must wait.

    ``offset`` is ``lock_offset(key)`` if the caller computed it already (the runner does,
    before forking, so task processes skip the hashing).
    """
    fd = acquire_instance_lock(lock_dir, key, on_wait=on_wait, offset=offset)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


def acquire_instance_lock(
    lock_dir: str | Path,
    key: TaskKey,
    *,
    on_wait: Callable[[], None] | None = None,
    offset: int | None = None,
) -> int:
    """Take the instance's lock (see :func:`instance_lock`); closing the returned fd releases it.

    The bare form, for a task process that holds the lock until it exits: it skips the
    context manager's machinery, whose first use in a fresh fork is not free.
    """
    fd = _open(os.path.join(lock_dir, LOCK_FILE))
    if offset is None:
        offset = lock_offset(key)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError:
            if on_wait is not None:
                on_wait()
            fcntl.lockf(fd, fcntl.LOCK_EX, 1, offset)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open(path: str) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, flags, 0o644)

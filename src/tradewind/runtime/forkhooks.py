"""Fork task processes without threading's and logging's at-fork hooks, where that is safe.

``os.fork()`` runs every hook registered with ``os.register_at_fork``. Those of ``threading``
(re-create its locks and walk every Thread object, in the child) and ``logging`` (hold its
module lock across the fork, re-create every handler's lock in the child) exist for a fork
made while another thread may hold one of those locks. A runner with a single thread holds
none when it forks, yet the two hooks cost every task process about 100 copied pages, a
sixth of the page faults of a no-op task (``benchmarks/bench_executor.py``: 579 against 472).

CPython keeps the hooks in three lists of its own. :func:`find` locates them once, by
registering a marker in each and looking for the lists that hold it. :func:`skipped` takes
the two modules' hooks out while the runner forks, if it has one thread, and puts them back
after; a task process puts them back first thing (:func:`restore`), so a fork in task code
runs them all. Other hooks (``random`` reseeding each child, the user's own) always run.
Where the lists cannot be found, every fork runs every hook, as usual.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

_SKIPPED_MODULES = frozenset({"threading", "logging"})

_lists: tuple[list[Callable[[], Any]], ...] = ()  # before, after in parent, after in child
_saved: tuple[list[Callable[[], Any]], ...] | None = None  # their contents, while skipped


def find() -> bool:
    """Locate the interpreter's hook lists; False if they cannot be found (nothing is skipped).

    Call it before ``gc.freeze()``: objects frozen are hidden from ``gc.get_referrers``.
    """
    global _lists
    if _lists:
        return True
    markers = (_marker(), _marker(), _marker())
    os.register_at_fork(before=markers[0], after_in_parent=markers[1], after_in_child=markers[2])
    holders = [o for o in gc.get_referrers(*markers) if type(o) is list and o and o[-1] in markers]
    found = []
    for marker in markers:
        lists = [lst for lst in holders if lst[-1] is marker]
        if len(lists) == 1:
            lists[0].pop()
            found.append(lists[0])
    if len(found) == len(markers):
        _lists = tuple(found)
    return bool(_lists)


def _marker() -> Callable[[], None]:
    return lambda: None  # a new function object at each call


@contextlib.contextmanager
def skipped() -> Iterator[None]:
    """Forks made in the block skip threading's and logging's hooks, if this is the main
    and only thread; otherwise they run every hook.

    The block must not be inside a logging call or a threading lock of this thread's (a
    plain fork loop is not).
    """
    if (
        not _lists
        or threading.active_count() != 1
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    global _saved
    _saved = tuple(list(lst) for lst in _lists)
    for lst in _lists:
        lst[:] = [hook for hook in lst if getattr(hook, "__module__", None) not in _SKIPPED_MODULES]
    try:
        yield
    finally:
        restore()


def restore() -> None:
    """Put back the hooks :func:`skipped` took out (a task process calls it first thing)."""
    global _saved
    if _saved is not None:
        for lst, hooks in zip(_lists, _saved, strict=True):
            lst[:] = hooks
        _saved = None

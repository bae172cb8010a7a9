"""The lines the runtime writes into a task's log around every attempt, cheaply.

A leaf module (stdlib only), so the authoring layer's operators can use it too.
"""

from __future__ import annotations

import logging
import os
import sys
import time


def stamp(created: float, msecs: int) -> str:
    """A log line's time, as the standard handler writes it: ``2024-01-01T00:00:00.000+0000``.

    ``%`` formatting, not ``strftime`` or format specs: in a fresh task process their first
    use copies about twenty pages from the runner, and this runs in every one.
    """
    t = time.gmtime(created)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000" % (t[0], t[1], t[2], t[3], t[4], t[5], msecs)  # noqa: UP031


_direct_fd = -1  # set in a task process whose log file is this fd, with the standard handler only


def write_lines_directly(fd: int) -> None:
    """Let :func:`info` write to ``fd`` itself (-1: through ``logging``); see there for why."""
    global _direct_fd
    _direct_fd = fd


def info(logger: logging.Logger, message: str, *args: object) -> None:
    """``logger.info(message, *args)``, for the lines the runtime writes around every attempt.

    In a forked task process whose only handler is the standard one, the line (same format)
    goes straight to the log file: a first record through ``logging``'s machinery costs the
    process hundreds of microseconds, mostly pages it must copy from the runner to update
    reference counts — a large part of a short task's whole cost. Whoever turns this on
    checks first that the loggers involved are plain (see :func:`is_plain`).
    """
    try:
        if _direct_fd < 0:
            raise LookupError
        text = message % args if args else message
    except Exception:  # not a task process, or a value that fails to format: logging handles it
        logger.info(message, *args, stacklevel=2)
        return
    now = time.time()
    caller = sys._getframe(1)
    filename = caller.f_code.co_filename.rpartition(os.sep)[2]  # not os.path: pages again
    line = f"[{stamp(now, int(now % 1 * 1000))}] {{{filename}:{caller.f_lineno}}} INFO - {text}\n"
    try:  # noqa: SIM105 (contextlib.suppress: pages again)
        os.write(_direct_fd, line.encode("utf-8", "backslashreplace"))
    except OSError:
        pass


def is_plain(logger: logging.Logger) -> bool:
    """True if ``logger`` lets INFO records through, to the root's handlers only, unfiltered.

    Then writing its lines straight to the root's file is what ``logging`` would have done.
    The root's own handlers and level are for the caller to check.
    """
    if not logger.isEnabledFor(logging.INFO):  # levels, and logging.disable()
        return False
    node: logging.Logger | None = logger
    while node is not None and node.parent is not None:
        if node.handlers or node.filters or not node.propagate:
            return False
        node = node.parent
    return True

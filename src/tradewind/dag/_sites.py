"""Where user code defined something, so errors can point at the line that caused them."""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

Site = tuple[str, int]
"""``(filename, lineno)`` of the user code that created a task or a DAG."""


def user_site(depth: int = 2) -> Site:
    """The first frame outside ``tradewind.dag``, starting ``depth`` frames up.

    ``sys._getframe`` is used instead of ``inspect.stack()`` because the latter reads
    source files for every frame, which made parsing a thousand DAG files slow.
    """
    frame = sys._getframe(depth)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return frame.f_code.co_filename, frame.f_lineno


def located(site: Site | None, message: str) -> str:
    """Prefix ``message`` with ``file:line: `` when the site is known."""
    if site is None:
        return message
    return f"{site[0]}:{site[1]}: {message}"

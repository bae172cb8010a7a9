"""The ``macros`` namespace templates see as ``{{ macros.ds_add(ds, 1) }}``.

The module itself is the namespace, as in Airflow: ``macros.datetime`` is the class,
``macros.time``, ``macros.json``, ``macros.uuid`` and ``macros.random`` are the stdlib modules.
``uuid`` and ``random`` are imported on first use: ``random`` registers a reseed that every
fork then runs, and the task runner forks once per task.
"""

from __future__ import annotations

import importlib
import json
import time
from datetime import datetime, timedelta
from types import ModuleType

__all__ = ["datetime", "ds_add", "ds_format", "json", "random", "time", "timedelta", "uuid"]  # noqa: F822


def ds_add(ds: str, days: int) -> str:
    """``ds`` (YYYY-MM-DD) moved by ``days``: ``ds_add("2015-01-01", 5)`` is ``"2015-01-06"``."""
    moved = datetime.strptime(ds, "%Y-%m-%d") + timedelta(days=days)
    return moved.strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """``ds`` re-formatted: ``ds_format("2015-01-01", "%Y-%m-%d", "%m-%d-%y")`` is ``"01-01-15"``."""
    return datetime.strptime(ds, input_format).strftime(output_format)


def __getattr__(name: str) -> ModuleType:
    if name in ("random", "uuid"):
        return importlib.import_module(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

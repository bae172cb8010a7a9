"""The ``macros`` namespace templates see as ``{{ macros.ds_add(ds, 1) }}``.

The module itself is the namespace, as in Airflow: ``macros.datetime`` is the class,
``macros.time``, ``macros.json``, ``macros.uuid`` and ``macros.random`` are the stdlib modules.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timedelta

__all__ = ["datetime", "ds_add", "ds_format", "json", "random", "time", "timedelta", "uuid"]


def ds_add(ds: str, days: int) -> str:
    """``ds`` (YYYY-MM-DD) moved by ``days``: ``ds_add("2015-01-01", 5)`` is ``"2015-01-06"``."""
    moved = datetime.strptime(ds, "%Y-%m-%d") + timedelta(days=days)
    return moved.strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """``ds`` re-formatted: ``ds_format("2015-01-01", "%Y-%m-%d", "%m-%d-%y")`` is ``"01-01-15"``."""
    return datetime.strptime(ds, input_format).strftime(output_format)

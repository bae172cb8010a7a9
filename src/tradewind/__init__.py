"""Tradewind: a workflow orchestrator that serves Airflow's experimental REST API.

Importing this package is cheap: the authoring surface (``DAG``, operators, ``task``)
is re-exported lazily from :mod:`tradewind.dag`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "DAG",
    "BaseOperator",
    "BashOperator",
    "BranchPythonOperator",
    "EmptyOperator",
    "FailTask",
    "LatestOnlyOperator",
    "Param",
    "PythonOperator",
    "ShortCircuitOperator",
    "SkipTask",
    "TaskGroup",
    "TriggerRule",
    "XComArg",
    "__version__",
    "chain",
    "task",
]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        return getattr(importlib.import_module("tradewind.dag"), name)
    raise AttributeError(f"module 'tradewind' has no attribute {name!r}")

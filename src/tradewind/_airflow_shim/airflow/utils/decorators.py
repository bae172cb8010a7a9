"""``apply_defaults`` is a no-op: Tradewind's ``BaseOperator`` applies ``default_args`` itself."""

from collections.abc import Callable
from typing import Any


def apply_defaults(func: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``func`` unchanged (Airflow 1.10 custom operators decorate ``__init__`` with it)."""
    return func


__all__ = ["apply_defaults"]

"""Executors run task attempts; ``[core] executor`` picks one by alias or dotted path.

Importing this package imports nothing heavy: executors are loaded by :func:`make_executor`.
"""

from __future__ import annotations

import contextlib
import inspect
import signal
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

from tradewind.executors.base import Executor, TaskEvent, TaskKey, TaskWorkload, log_path_for

if TYPE_CHECKING:
    from tradewind.config import Config
    from tradewind.store import Database

__all__ = [
    "EXECUTOR_ALIASES",
    "Executor",
    "TaskEvent",
    "TaskKey",
    "TaskWorkload",
    "log_path_for",
    "make_executor",
    "stop_on_signals",
]

EXECUTOR_ALIASES: dict[str, str] = {
    "LocalExecutor": "tradewind.executors.local:LocalExecutor",
    "SequentialExecutor": "tradewind.executors.local:SequentialExecutor",
    "CeleryExecutor": "tradewind.executors.celery:CeleryExecutor",
    "InlineExecutor": "tradewind.executors.inline:InlineExecutor",
    "DebugExecutor": "tradewind.executors.inline:InlineExecutor",
}

_METHODS = ("start", "submit", "events", "wait", "running", "stop")


def make_executor(config: Config, *, db: Database | None = None) -> Executor:
    """The executor ``[core] executor`` names, built from configuration values.

    Each class receives the keyword arguments its ``__init__`` accepts among:
    ``parallelism``, ``db_url``, ``database`` (``db``, when given), ``max_xcom_size``,
    ``dags_folder``, ``log_folder``, ``lock_dir`` and ``config`` (the whole Config, for
    executors with settings of their own). Raises PluginError for a path that cannot be
    imported or does not implement :class:`Executor`.
    """
    from tradewind.plugins import load_plugin
    from tradewind.runtime.wire import lock_dir_for

    cls = load_plugin(
        config.core.executor, kind="executor", aliases=EXECUTOR_ALIASES, check=_is_executor_class
    )
    offered: dict[str, Any] = {
        "parallelism": config.core.parallelism,
        "db_url": str.__str__(config.core.sql_alchemy_conn),
        "database": db,
        "max_xcom_size": config.core.max_xcom_size,
        "dags_folder": config.dags_folder,
        "log_folder": config.log_folder,
        "lock_dir": lock_dir_for(config.home),
        "config": config,  # executors with settings of their own (CeleryExecutor: [celery])
    }
    executor: Executor = cls(**_accepted(cls, offered))
    return executor


def _is_executor_class(obj: Any) -> bool:
    return isinstance(obj, type) and all(callable(getattr(obj, name, None)) for name in _METHODS)


def _accepted(cls: type, offered: dict[str, Any]) -> dict[str, Any]:
    names = _keyword_names(cls)
    return {name: value for name, value in offered.items() if name in names and value is not None}


def _keyword_names(cls: type) -> set[str]:
    """Keyword names accepted anywhere in the ``__init__`` chain (subclasses pass ``**kwargs`` up)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None and klass is not object:
            names.update(inspect.signature(init).parameters)
    return names


@contextlib.contextmanager
def stop_on_signals(
    executor: Executor, *, signals: tuple[int, ...] = (signal.SIGTERM,), wait: bool = False
) -> Iterator[None]:
    """Stop ``executor`` when the block ends, including when one of ``signals`` arrives.

    For the executor's owner (the scheduler command): the signal raises
    :class:`~tradewind.errors.ShutdownRequested` (a BaseException) where the owner is, and on
    the way out the executor is stopped: running attempts are terminated and their final
    events collected (``wait=False``), or allowed to finish (``wait=True``). Call
    ``executor.events()`` afterwards to record those last events. Main thread only.
    """
    from tradewind.errors import ShutdownRequested

    def _request_shutdown(signum: int, frame: FrameType | None) -> None:
        raise ShutdownRequested(f"Received {signal.Signals(signum).name}")

    previous = {signum: signal.signal(signum, _request_shutdown) for signum in signals}
    try:
        yield
    finally:
        for signum in signals:
            signal.signal(signum, signal.SIG_IGN)
        try:
            executor.stop(wait=wait)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

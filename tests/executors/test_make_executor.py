"""Choosing an executor from configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.errors import PluginError
from tradewind.executors import EXECUTOR_ALIASES, make_executor
from tradewind.executors.inline import InlineExecutor
from tradewind.executors.local import LocalExecutor, SequentialExecutor
from tradewind.runtime.xcoms import XComDatabase
from tradewind.testing import make_config


@pytest.mark.parametrize(
    ("value", "cls"),
    [
        ("LocalExecutor", LocalExecutor),
        ("SequentialExecutor", SequentialExecutor),
        ("InlineExecutor", InlineExecutor),
        ("tradewind.executors.local:LocalExecutor", LocalExecutor),
    ],
)
def test_executor_by_alias_or_path(tmp_path: Path, value: str, cls: type) -> None:
    config = make_config(tmp_path, core={"executor": value, "parallelism": 7})

    executor = make_executor(config)

    assert type(executor) is cls
    if isinstance(executor, LocalExecutor):
        assert executor.parallelism == (1 if cls is SequentialExecutor else 7)
        assert executor._settings.lock_dir == str(tmp_path.resolve() / "run" / "locks")
        assert executor._settings.xcom_database == XComDatabase(
            "sqlite", f"{tmp_path.resolve()}/tradewind.db"
        )


def test_celery_is_only_an_alias_for_now() -> None:
    assert EXECUTOR_ALIASES["CeleryExecutor"] == "tradewind.executors.celery:CeleryExecutor"


@pytest.mark.parametrize(
    "value", ["NoSuchExecutor", "tradewind.executors.base:TaskKey", "tradewind.nothing:X"]
)
def test_bad_executor_values_are_plugin_errors(tmp_path: Path, value: str) -> None:
    with pytest.raises(PluginError):
        make_executor(make_config(tmp_path, core={"executor": value}))

"""Fixtures for the DAG folder loader tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.loader.loader_helpers import copy_dag_files


@pytest.fixture
def dags_folder(tmp_path: Path) -> Path:
    return copy_dag_files(tmp_path)


@pytest.fixture
def forget_airflow_modules() -> Iterator[None]:
    """Drop the ``airflow`` shim modules a test imported in this process, so others never see them."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name == "airflow" or name.startswith("airflow."):
            del sys.modules[name]

"""The example DAGs shipped in the package load cleanly and stay safe to run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.dag.loader import (
    example_dags_folder,
    find_dag_files,
    load_dags_in_process,
    module_name_for,
    parse_files,
)

EXPECTED = {
    "example_bash_operator",
    "example_branch_operator",
    "example_python_operator",
    "example_trigger_target_dag",
}


def test_example_folder_ships_in_the_package() -> None:
    folder = example_dags_folder()

    assert folder.is_dir()
    assert folder.parent.name == "tradewind"


def test_example_dags_load_without_errors() -> None:
    results = parse_files(find_dag_files(example_dags_folder()), timeout=10)

    assert [r.error for r in results] == [None] * len(results)
    assert {i for r in results for i in r.dag_ids} == EXPECTED


@pytest.fixture
def example_path(request: pytest.FixtureRequest) -> Iterator[Path]:
    path: Path = request.param
    yield path
    sys.modules.pop(module_name_for(path), None)


@pytest.mark.parametrize(
    "example_path", find_dag_files(example_dags_folder()), indirect=True, ids=lambda p: p.stem
)
def test_examples_do_not_catch_up_and_have_a_fixed_start(example_path: Path) -> None:
    for dag in load_dags_in_process(example_path):
        assert dag.catchup is False
        assert dag.start_date is not None
        assert dag.schedule_interval in (None, "@daily", "0 0 * * *")

"""Whole-folder loading: re-parse only what changed, examples on request, live DAGs in process."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tradewind.dag import DAG, loader
from tradewind.dag.loader import ParsedFile, load_dag_folder, load_dags_in_process, module_name_for
from tradewind.errors import DagDefinitionError

SIMPLE_DAG = """\
from tradewind.dag import DAG, EmptyOperator

with DAG({dag_id!r}, schedule=None):
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("one", "two", "three"):
        (tmp_path / f"{name}.py").write_text(SIMPLE_DAG.format(dag_id=name))
    return tmp_path


@pytest.fixture
def parsed_paths(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Each call of parse_files, as the file names it was asked to parse."""
    calls: list[list[str]] = []
    real = loader.parse_files

    def spy(paths: Sequence[Path], **kwargs: Any) -> list[ParsedFile]:
        calls.append([Path(p).name for p in paths])
        return real(paths, **kwargs)

    monkeypatch.setattr(loader, "parse_files", spy)
    return calls


def _by_path(results: list[ParsedFile]) -> dict[str, ParsedFile]:
    return {r.path: r for r in results}


def test_loads_every_dag_file_of_the_folder(folder: Path) -> None:
    results = load_dag_folder(folder, timeout=5)

    assert [r.dag_ids for r in results] == [("one",), ("three",), ("two",)]
    assert all(r.error is None for r in results)


def test_unchanged_files_are_not_parsed_again(folder: Path, parsed_paths: list[list[str]]) -> None:
    first = load_dag_folder(folder, timeout=5)

    second = load_dag_folder(folder, previous=_by_path(first), timeout=5)

    assert parsed_paths == [["one.py", "three.py", "two.py"], []]
    assert all(a is b for a, b in zip(first, second, strict=True))


def test_only_the_changed_file_is_parsed_again(folder: Path, parsed_paths: list[list[str]]) -> None:
    first = load_dag_folder(folder, timeout=5)
    (folder / "two.py").write_text(SIMPLE_DAG.format(dag_id="two_renamed"))
    os.utime(folder / "two.py", (1, 1))  # a different mtime even on a coarse clock

    second = load_dag_folder(folder, previous=_by_path(first), timeout=5)

    assert parsed_paths[-1] == ["two.py"]
    assert [r.dag_ids for r in second] == [("one",), ("three",), ("two_renamed",)]


def test_touched_but_identical_file_is_reused_with_its_new_mtime(
    folder: Path, parsed_paths: list[list[str]]
) -> None:
    first = load_dag_folder(folder, timeout=5)
    os.utime(folder / "one.py", (12345, 12345))

    second = load_dag_folder(folder, previous=_by_path(first), timeout=5)

    assert parsed_paths[-1] == []
    assert second[0].mtime == 12345
    assert second[0].dags == first[0].dags


def test_new_and_deleted_files_are_noticed(folder: Path, parsed_paths: list[list[str]]) -> None:
    first = load_dag_folder(folder, timeout=5)
    (folder / "one.py").unlink()
    (folder / "four.py").write_text(SIMPLE_DAG.format(dag_id="four"))

    second = load_dag_folder(folder, previous=_by_path(first), timeout=5)

    assert parsed_paths[-1] == ["four.py"]
    assert [r.dag_ids for r in second] == [("four",), ("three",), ("two",)]


def test_examples_load_only_when_asked(folder: Path) -> None:
    without = load_dag_folder(folder, timeout=5)
    with_examples = load_dag_folder(folder, load_examples=True, timeout=5)

    example_ids = {i for r in with_examples for i in r.dag_ids} - {i for r in without for i in r.dag_ids}
    assert "example_bash_operator" in example_ids
    assert all(r.error is None for r in with_examples)


@pytest.fixture
def forget_module() -> Iterator[list[Path]]:
    """Paths whose DAG module a test left in sys.modules on purpose; removed afterwards."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        sys.modules.pop(module_name_for(path), None)


def test_load_dags_in_process_returns_live_validated_dags(folder: Path, forget_module: list[Path]) -> None:
    path = folder / "one.py"
    forget_module.append(path)

    dags = load_dags_in_process(path)

    assert [type(d) for d in dags] == [DAG]
    assert dags[0].dag_id == "one"
    assert dags[0].fileloc == str(path)
    assert dags[0].get_task("a").downstream_task_ids == {"b"}
    assert module_name_for(path) in sys.modules  # task code may import from it lazily


def test_load_dags_in_process_raises_for_an_invalid_dag(tmp_path: Path, forget_module: list[Path]) -> None:
    path = tmp_path / "cycle_dag.py"
    forget_module.append(path)
    path.write_text(
        "from tradewind.dag import DAG, EmptyOperator\n"
        "\n"
        "with DAG('cyclic', schedule=None):\n"
        "    a = EmptyOperator(task_id='a')\n"
        "    a >> EmptyOperator(task_id='b') >> a\n"
    )

    with pytest.raises(DagDefinitionError, match=r"cycle_dag\.py:4: Cycle detected"):
        load_dags_in_process(path)


def test_load_dags_in_process_raises_what_the_file_raises(tmp_path: Path, forget_module: list[Path]) -> None:
    path = tmp_path / "raises_dag.py"
    forget_module.append(path)
    path.write_text("raise LookupError('nope')\n")

    with pytest.raises(LookupError, match="nope"):
        load_dags_in_process(path)

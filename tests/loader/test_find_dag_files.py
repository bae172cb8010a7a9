from __future__ import annotations

import os
from pathlib import Path

import pytest

from tradewind.dag.loader import find_dag_files

DAG_SOURCE = "from tradewind.dag import DAG\n"


def _write(path: Path, text: str = DAG_SOURCE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _names(found: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in found]


def test_finds_python_files_recursively_sorted_and_absolute(tmp_path: Path) -> None:
    _write(tmp_path / "b.py")
    _write(tmp_path / "a.py")
    _write(tmp_path / "sub" / "deeper" / "c.py")
    _write(tmp_path / "notes.txt")
    _write(tmp_path / "d.pyc")

    found = find_dag_files(tmp_path)

    assert _names(found, tmp_path) == ["a.py", "b.py", "sub/deeper/c.py"]
    assert all(p.is_absolute() for p in found)


def test_relative_folder_gives_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "dags" / "a.py")
    monkeypatch.chdir(tmp_path)

    assert find_dag_files(Path("dags")) == [tmp_path / "dags" / "a.py"]


def test_skips_pycache_and_hidden_entries(tmp_path: Path) -> None:
    _write(tmp_path / "__pycache__" / "a.py")
    _write(tmp_path / ".git" / "hooks.py")
    _write(tmp_path / ".hidden.py")
    _write(tmp_path / "kept.py")

    assert _names(find_dag_files(tmp_path), tmp_path) == ["kept.py"]


def test_safe_mode_skips_files_that_never_mention_dags(tmp_path: Path) -> None:
    _write(tmp_path / "helpers.py", "def add(a, b):\n    return a + b\n")
    _write(tmp_path / "lower.py", "# builds a dag\n")
    _write(tmp_path / "upper.py", "DAG = None\n")

    assert _names(find_dag_files(tmp_path), tmp_path) == ["lower.py", "upper.py"]
    assert _names(find_dag_files(tmp_path, safe_mode=False), tmp_path) == [
        "helpers.py",
        "lower.py",
        "upper.py",
    ]


def test_ignore_file_regexes_skip_files_and_folders(tmp_path: Path) -> None:
    _write(tmp_path / ".tradewindignore", "# scratch work\nscratch/\n_old\\.py$  # trailing comment\n\n")
    _write(tmp_path / "scratch" / "a.py")
    _write(tmp_path / "etl_old.py")
    _write(tmp_path / "etl.py")

    assert _names(find_dag_files(tmp_path), tmp_path) == ["etl.py"]


def test_airflowignore_is_honoured_too(tmp_path: Path) -> None:
    _write(tmp_path / ".airflowignore", "legacy")
    _write(tmp_path / "legacy_etl.py")
    _write(tmp_path / "etl.py")

    assert _names(find_dag_files(tmp_path), tmp_path) == ["etl.py"]


def test_ignore_file_applies_below_its_own_folder_only(tmp_path: Path) -> None:
    _write(tmp_path / "team" / ".tradewindignore", "^skip")
    _write(tmp_path / "team" / "skip_me.py")
    _write(tmp_path / "team" / "nested" / "skip_me.py")  # relative path "nested/skip_me.py": kept
    _write(tmp_path / "team" / "skip" / "x.py")
    _write(tmp_path / "skip_root.py")  # outside team/: the rule does not apply

    assert _names(find_dag_files(tmp_path), tmp_path) == ["skip_root.py", "team/nested/skip_me.py"]


def test_parent_rules_apply_to_subfolders(tmp_path: Path) -> None:
    _write(tmp_path / ".tradewindignore", "tmp_")
    _write(tmp_path / "a" / "b" / "tmp_x.py")
    _write(tmp_path / "a" / "b" / "x.py")

    assert _names(find_dag_files(tmp_path), tmp_path) == ["a/b/x.py"]


def test_invalid_regex_is_skipped_not_fatal(tmp_path: Path) -> None:
    _write(tmp_path / ".tradewindignore", "([unclosed\nbad_")
    _write(tmp_path / "bad_one.py")
    _write(tmp_path / "good.py")

    assert _names(find_dag_files(tmp_path), tmp_path) == ["good.py"]


def test_ignore_file_name_is_configurable(tmp_path: Path) -> None:
    _write(tmp_path / ".myignore", "a")
    _write(tmp_path / ".tradewindignore", "b")
    _write(tmp_path / "a.py")
    _write(tmp_path / "b.py")

    assert _names(find_dag_files(tmp_path, ignore_file=".myignore"), tmp_path) == ["b.py"]


def test_symlinked_folders_are_followed_once(tmp_path: Path) -> None:
    _write(tmp_path / "real" / "a.py")
    os.symlink(tmp_path / "real", tmp_path / "link")
    os.symlink(tmp_path, tmp_path / "real" / "loop")

    found = _names(find_dag_files(tmp_path), tmp_path)

    assert len(found) == 1
    assert found[0] in {"link/a.py", "real/a.py"}


def test_missing_folder_finds_nothing(tmp_path: Path) -> None:
    assert find_dag_files(tmp_path / "absent") == []

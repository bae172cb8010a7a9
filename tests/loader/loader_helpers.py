"""Helpers shared by the loader tests: the fixture DAG files and how to check errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

DAG_FILES = Path(__file__).parent / "dag_files"

# Written at run time: a file that does not parse would break the linters.
SYNTAX_ERROR = """\
from tradewind.dag import DAG

dag = DAG("syntax_error", schedule=None)
def broken(:  # error-line
    pass
"""


def copy_dag_files(target: Path) -> Path:
    """A fresh copy of the fixture DAG files (good and broken) under ``target``."""
    folder = target / "dags"
    shutil.copytree(DAG_FILES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "broken" / "syntax_error.py").write_text(SYNTAX_ERROR)
    return folder


def error_line(path: Path) -> int:
    """The line of ``path`` marked ``# error-line``: where the error must point."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if "# error-line" in line:
            return number
    raise AssertionError(f"{path} has no '# error-line' marker")


def names_file_and_line(error: str, path: Path, line: int) -> bool:
    """Whether ``error`` points at ``path:line``, traceback style or ``file:line:`` style."""
    return f'File "{path}", line {line}' in error or f"{path}:{line}:" in error


def task_graph(serialized: dict[str, Any]) -> dict[str, set[str]]:
    """``{task_id: downstream task ids}`` of a serialized DAG."""
    return {t["task_id"]: set(t["downstream_task_ids"]) for t in serialized["tasks"]}

"""Import one DAG file into this process, as Airflow names and imports it.

The small part of :mod:`tradewind.dag.loader` that the task runner needs: the runner imports
DAG files itself and forks every task process from that state, so everything it imports
is memory that each fork copies page tables for and each exit tears down. The loader's
folder scanning, serialization and parse pool stay out of it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

from tradewind.dag import _stack
from tradewind.dag.dag import DAG
from tradewind.hashing import sha1

__all__ = [
    "airflow_compat",
    "collect_dags",
    "import_dag_module",
    "load_dags_in_process",
    "module_name_for",
    "recording_entered_dags",
]

_SHIM_DIR = Path(__file__).resolve().parent.parent / "_airflow_shim"
_MODULE_PREFIX = "unusual_prefix_"


def module_name_for(path: Path) -> str:
    """A module name unique to ``path``, so two ``etl.py`` in different folders never clash."""
    digest = sha1(str(path).encode(), usedforsecurity=False).hexdigest()
    return f"{_MODULE_PREFIX}{digest}_{path.stem}"


def load_dags_in_process(path: Path, *, dags_folder: Path | None = None) -> list[DAG]:
    """Import ``path`` in this process and return its live, validated DAG objects.

    For the task runtime, which forks task processes from a warm parent: unlike
    :func:`~tradewind.dag.loader.parse_file`, the module stays in ``sys.modules`` and its
    folders stay on ``sys.path``, so task callables can import lazily. Whatever the file raises
    propagates, as does :class:`~tradewind.errors.DagDefinitionError` for an invalid DAG.
    """
    path = Path(os.path.abspath(path))
    with recording_entered_dags() as entered:
        module = import_dag_module(path, path.read_bytes(), dags_folder, keep=True)
    dags = collect_dags(module, entered)
    for found in dags:
        found.fileloc = str(path)
        found.validate()
    return dags


def collect_dags(module: ModuleType, entered: Iterable[DAG] = ()) -> list[DAG]:
    """The DAGs a DAG file defined: its global DAG objects, then the ``entered`` ones.

    ``entered`` are the DAGs used as ``with`` blocks while the file ran (Airflow's
    ``auto_register``), which is how a ``@dag`` function called at module level without
    keeping its result still counts.
    """
    found = {id(v): v for v in vars(module).values() if isinstance(v, DAG)}
    for extra in entered:
        found.setdefault(id(extra), extra)
    return list(found.values())


@contextlib.contextmanager
def recording_entered_dags() -> Iterator[list[DAG]]:
    """Collect every DAG entered as a ``with`` block inside the block (see :func:`collect_dags`).

    Wraps ``_stack.push_dag``, the one place every ``with DAG(...)`` passes through, for the
    duration of one import only.
    """
    entered: list[DAG] = []
    original = _stack.push_dag

    def _push_and_record(dag: DAG) -> None:
        entered.append(dag)
        original(dag)

    _stack.push_dag = _push_and_record
    try:
        yield entered
    finally:
        _stack.push_dag = original


def import_dag_module(path: Path, data: bytes, dags_folder: Path | None, *, keep: bool) -> ModuleType:
    """Run the file's code as a fresh module named by :func:`module_name_for`.

    The code is compiled from the bytes already read (so the digest describes what ran,
    and no ``.pyc`` lands in the user's folder) without inheriting this module's
    ``__future__`` flags. Unless ``keep``, the module and any ``sys.path`` change are undone.
    """
    name = module_name_for(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    code = compile(data, str(path), "exec", dont_inherit=True)
    saved_path = list(sys.path)
    sys.modules[name] = module
    try:
        folders = [str(path.parent)] + ([str(Path(os.path.abspath(dags_folder)))] if dags_folder else [])
        sys.path[:0] = [f for f in dict.fromkeys(folders) if f not in sys.path]
        with airflow_compat():
            exec(code, module.__dict__)
    finally:
        if not keep:
            sys.modules.pop(name, None)
            sys.path[:] = saved_path
    return module


# -- the Airflow shim -------------------------------------------------------------------


@contextlib.contextmanager
def airflow_compat() -> Iterator[None]:
    """Let ``import airflow...`` resolve to Tradewind's stand-in package inside the block.

    The shim folder is put first on ``sys.path`` only if no real ``airflow`` is importable,
    and taken off again on exit. Shim modules imported meanwhile stay in ``sys.modules``,
    so task code that imports ``airflow`` lazily at run time still finds them.
    """
    if _is_real_airflow_importable():
        yield
        return
    shim = str(_SHIM_DIR)
    sys.path.insert(0, shim)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(shim)


def _is_real_airflow_importable() -> bool:
    loaded = sys.modules.get("airflow")
    if loaded is not None:
        return not _is_shim_module(loaded)
    return importlib.util.find_spec("airflow") is not None


def _is_shim_module(module: ModuleType) -> bool:
    origin = getattr(module, "__file__", None) or ""
    return origin.startswith(str(_SHIM_DIR) + os.sep)

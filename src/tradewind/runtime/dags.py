"""Live DAG objects per file, imported once per process and again only when the file changes.

The runner imports a DAG file the first time an attempt needs it and forks every later
attempt from that warm state: no interpreter start and no re-parse per task.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from tradewind.errors import DagNotFound

if TYPE_CHECKING:
    from tradewind.dag import DAG


class DagImportTimeout(Exception):
    """Importing a DAG file took longer than allowed."""


@dataclass(frozen=True, slots=True)
class _Entry:
    mtime_ns: int
    size: int
    dags: dict[str, DAG]


class DagCache:
    """DAGs by ``(fileloc, dag_id)``; a file is re-imported when its mtime or size changes.

    Not thread-safe; meant for one process (the runner, the inline executor, a CLI command).
    ``imports`` counts file imports, for tests and benchmarks.
    """

    def __init__(self, *, dags_folder: Path | None = None, import_timeout: float = 30.0) -> None:
        self._dags_folder = dags_folder
        self._timeout = import_timeout
        self._files: dict[str, _Entry] = {}
        self.imports = 0

    def get_dag(self, fileloc: str, dag_id: str) -> DAG:
        """The DAG ``dag_id`` defined in ``fileloc``; raises DagNotFound or whatever the file raises."""
        stat = os.stat(fileloc)
        entry = self._files.get(fileloc)
        if entry is None or (entry.mtime_ns, entry.size) != (stat.st_mtime_ns, stat.st_size):
            entry = _Entry(stat.st_mtime_ns, stat.st_size, self._import(fileloc))
            self._files[fileloc] = entry
        found = entry.dags.get(dag_id)
        if found is None:
            raise DagNotFound(f"Dag id {dag_id} not found in {fileloc}")
        return found

    def _import(self, fileloc: str) -> dict[str, DAG]:
        from tradewind.dag.importing import load_dags_in_process

        self._files.pop(fileloc, None)  # a failed import must not leave the old DAGs behind
        self.imports += 1
        with time_limit(self._timeout, f"Importing {fileloc}"):
            dags = load_dags_in_process(Path(fileloc), dags_folder=self._dags_folder)
        return {d.dag_id: d for d in dags}


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise DagImportTimeout inside the block after ``seconds`` (SIGALRM: main thread only)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expire(signum: int, frame: FrameType | None) -> None:
        raise DagImportTimeout(f"{what} took longer than {seconds:g} seconds")

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def find_dag(dag_id: str, folders: list[Path]) -> DAG:
    """Import DAG files from ``folders`` until one defines ``dag_id`` (for debugging commands).

    Files that mention ``dag_id`` are tried first, so usually only one file is imported.
    Files that fail to import are skipped. Raises DagNotFound.
    """
    from tradewind.dag.loader import find_dag_files

    files = [f for folder in folders if folder.is_dir() for f in find_dag_files(folder)]
    needle = dag_id.encode()
    likely = [f for f in files if needle in _read_bytes(f)]
    cache = DagCache(dags_folder=folders[0] if folders else None, import_timeout=0)
    for path in likely + [f for f in files if f not in likely]:
        with contextlib.suppress(Exception):
            return cache.get_dag(str(path), dag_id)
    raise DagNotFound(f"Dag id {dag_id} not found in {', '.join(str(f) for f in folders)}")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""

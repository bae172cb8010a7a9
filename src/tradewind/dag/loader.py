"""Import a folder of DAG files: the boundary between user code and Tradewind.

A DAG file is arbitrary Python, so importing one may raise, hang, call ``os._exit``,
crash the interpreter or change global state. The loader therefore:

* finds the files (:func:`find_dag_files`): ``.py`` files that mention "dag", minus those
  matched by the regexes of ``.tradewindignore`` / ``.airflowignore`` files;
* imports each one under a unique module name with a time limit (:func:`parse_file`, with
  :mod:`tradewind.dag.importing`, the part the task runner uses too),
  validates every DAG it defines and keeps only plain data: a :class:`ParsedFile` with the
  serialized DAGs, or the error as a traceback naming the file and line;
* does so in worker processes forked from the caller (:func:`parse_files`). Each worker
  imports many files, so the fork is paid once per worker; a worker that dies or hangs
  costs only the file it was on, which is recorded as an error, and a fresh worker takes
  the rest. A worker also retires after a file that rebinds shared state (Tradewind's
  classes, ``builtins``, the environment...), so the files after it see a clean process;
* re-parses only files whose content changed since a previous pass
  (:func:`load_dag_folder`), and adds the example DAGs shipped in the package on request.

Airflow DAG files load unchanged: while a file is imported, :func:`airflow_compat` puts a
stand-in ``airflow`` package (re-exporting :mod:`tradewind.dag`) on ``sys.path``, unless
the real Airflow is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from tradewind.dag import importing
from tradewind.dag._sites import located
from tradewind.dag.dag import DAG
from tradewind.dag.importing import (
    airflow_compat,
    collect_dags,
    import_dag_module,
    load_dags_in_process,
    module_name_for,
    recording_entered_dags,
)
from tradewind.dag.serialize import serialize_dag
from tradewind.errors import DagDefinitionError

if TYPE_CHECKING:  # multiprocessing is imported by the parse pool only, not by every DAG import
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

__all__ = [
    "DEFAULT_IGNORE_FILE",
    "ParsedFile",
    "airflow_compat",
    "example_dags_folder",
    "find_dag_files",
    "load_dag_folder",
    "load_dags_in_process",
    "module_name_for",
    "parse_file",
    "parse_files",
]

DEFAULT_IGNORE_FILE = ".tradewindignore"
_AIRFLOW_IGNORE_FILE = ".airflowignore"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_KILL_GRACE = 5.0


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """What importing one DAG file produced.

    ``dags`` holds the valid DAGs as :func:`~tradewind.dag.serialize.serialize_dag` dicts.
    ``error`` is set when the file, or one of its DAGs, is broken: a traceback-style text
    that names the user's file and line. Both can be set when a file defines a valid DAG
    next to an invalid one (as in Airflow, the valid one still loads).
    """

    path: str
    mtime: float
    digest: str
    source: str
    dags: tuple[dict[str, Any], ...] = ()
    error: str | None = None

    @property
    def dag_ids(self) -> tuple[str, ...]:
        return tuple(str(d["dag_id"]) for d in self.dags)


# -- finding files -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _IgnoreRule:
    """One regex line of an ignore file; it applies below the folder holding that file."""

    pattern: re.Pattern[str]
    base: Path

    def matches(self, path: Path) -> bool:
        return self.pattern.search(path.relative_to(self.base).as_posix()) is not None


def find_dag_files(
    folder: Path, *, ignore_file: str = DEFAULT_IGNORE_FILE, safe_mode: bool = True
) -> list[Path]:
    """The DAG files under ``folder``, as sorted absolute paths.

    Walks recursively (following symlinks once), skipping hidden entries and
    ``__pycache__``. Each folder's ``ignore_file`` and ``.airflowignore`` hold one regex per
    line (``#`` starts a comment), searched in paths relative to that folder, and apply to
    everything below it. With ``safe_mode``, files that contain neither "dag" nor "DAG"
    are skipped without being imported (Airflow's heuristic).
    """
    root = Path(os.path.abspath(folder))
    rules_by_dir: dict[Path, list[_IgnoreRule]] = {root: []}
    seen = {os.path.realpath(root)}
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        rules = rules_by_dir[here] + _read_ignore_rules(here, (ignore_file, _AIRFLOW_IGNORE_FILE))
        dirnames[:] = _wanted_dirs(here, dirnames, rules, seen)
        rules_by_dir.update((here / d, rules) for d in dirnames)
        found.extend(here / f for f in filenames if _is_dag_file(here / f, rules, safe_mode))
    return sorted(found)


def _read_ignore_rules(folder: Path, names: Iterable[str]) -> list[_IgnoreRule]:
    rules: list[_IgnoreRule] = []
    for name in dict.fromkeys(names):
        with contextlib.suppress(OSError):
            rules.extend(_parse_ignore_lines((folder / name).read_text(), folder))
    return rules


def _parse_ignore_lines(text: str, base: Path) -> Iterator[_IgnoreRule]:
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        # An invalid regex is skipped rather than hiding every DAG of the folder.
        with contextlib.suppress(re.error):
            if line:
                yield _IgnoreRule(re.compile(line), base)


def _wanted_dirs(here: Path, names: list[str], rules: list[_IgnoreRule], seen: set[str]) -> list[str]:
    """The subfolders to walk into; ``seen`` (real paths) keeps symlinks from looping or repeating."""
    wanted: list[str] = []
    for name in sorted(names):
        real = os.path.realpath(here / name)
        if _is_hidden(name) or real in seen or any(r.matches(here / name) for r in rules):
            continue
        seen.add(real)
        wanted.append(name)
    return wanted


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"


def _is_dag_file(path: Path, rules: list[_IgnoreRule], safe_mode: bool) -> bool:
    if path.suffix != ".py" or _is_hidden(path.name) or not path.is_file():
        return False
    if any(r.matches(path) for r in rules):
        return False
    return not safe_mode or _might_contain_dag(path)


def _might_contain_dag(path: Path) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return b"dag" in data or b"DAG" in data


def example_dags_folder() -> Path:
    """The folder of example DAGs shipped in the package (loaded when ``load_examples`` is on)."""
    return _PACKAGE_DIR / "example_dags"


# -- importing one file ------------------------------------------------------------------


class _ParseTimeout(BaseException):
    """Raised by SIGALRM inside the import; a BaseException so ``except Exception`` can't eat it."""


def parse_file(path: Path, *, timeout: float = 30.0, dags_folder: Path | None = None) -> ParsedFile:
    """Import ``path`` in this process and return its serialized DAGs, or its error.

    Never raises for a problem of the file's: errors, including a timeout after
    ``timeout`` seconds (measured with SIGALRM, so only in the main thread), end up in
    :attr:`ParsedFile.error`. ``dags_folder`` and the file's own folder are on
    ``sys.path`` during the import, so a file can import helper modules next to it.
    """
    path = Path(os.path.abspath(path))
    try:
        mtime, data = path.stat().st_mtime, path.read_bytes()
    except OSError as exc:
        return ParsedFile(str(path), 0.0, "", "", (), f"{type(exc).__name__}: {exc}")
    base = ParsedFile(str(path), mtime, hashlib.sha256(data).hexdigest(), _decode(data))
    try:
        with _time_limit(timeout), recording_entered_dags() as entered:
            module = import_dag_module(path, data, dags_folder, keep=False)
            return _serialize_dags(base, collect_dags(module, entered))
    except (Exception, SystemExit, _ParseTimeout) as exc:
        return replace(base, error=_describe_failure(exc, path, timeout))


def _decode(data: bytes) -> str:
    try:
        return importlib.util.decode_source(data)
    except (SyntaxError, UnicodeDecodeError):
        return data.decode("utf-8", errors="replace")


def _serialize_dags(base: ParsedFile, dags: list[DAG]) -> ParsedFile:
    """Validate and serialize each DAG; an invalid one is reported (with its line), the rest kept.

    Each DAG's ``fileloc`` becomes the file being parsed, as in Airflow, so a DAG built by a
    helper module is re-parsed and run from the file that made it.
    """
    serialized: list[dict[str, Any]] = []
    errors: list[str] = []
    for found in dags:
        found.fileloc = base.path
        try:
            _check_unique_id(found, serialized)
            found.validate()
            serialized.append(serialize_dag(found))
        except DagDefinitionError as exc:
            errors.append("".join(traceback.format_exception_only(exc)))
    return replace(base, dags=tuple(serialized), error="".join(errors) or None)


def _check_unique_id(found: DAG, serialized: list[dict[str, Any]]) -> None:
    if any(d["dag_id"] == found.dag_id for d in serialized):
        message = f"DAG id {found.dag_id!r} is defined twice in this file"
        raise DagDefinitionError(located(found._definition_site, message))


def _describe_failure(exc: BaseException, path: Path, timeout: float) -> str:
    """A traceback starting at the user's file (the loader's own frames are noise)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_shown(f.filename)]
    user = next((i for i, f in enumerate(frames) if f.filename == str(path)), None)
    shown = frames[user:] if user is not None else []
    head = ["Traceback (most recent call last):\n", *traceback.format_list(shown)] if shown else []
    if isinstance(exc, _ParseTimeout):
        return "".join([*head, f"Timeout: importing {path} took longer than {timeout:g} seconds\n"])
    return "".join([*head, *traceback.format_exception_only(exc)])


def _is_shown(filename: str) -> bool:
    return filename not in _OWN_FILES and not filename.startswith("<frozen")


_OWN_FILES = (__file__, importing.__file__)  # the import machinery's frames, not the user's


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_ParseTimeout` inside the block after ``seconds``; restore any outer timer."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expire(signum: int, frame: FrameType | None) -> None:
        raise _ParseTimeout(seconds)

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, _expire)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler if previous_handler is not None else signal.SIG_DFL)
        if previous_delay:
            # Someone else (pytest-timeout, a supervisor) had an alarm pending: give it back.
            remaining = max(previous_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, remaining, previous_interval)


# -- parsing many files in worker processes ------------------------------------------------


def parse_files(
    paths: Sequence[Path],
    *,
    timeout: float = 30.0,
    processes: int | None = None,
    dags_folder: Path | None = None,
    grace: float = _KILL_GRACE,
) -> list[ParsedFile]:
    """Parse ``paths`` in isolated worker processes; results come back in ``paths`` order.

    ``processes`` defaults to the number of CPUs (never more than there are files);
    ``0`` parses in this process, without isolation (for debugging). A file that
    outlives ``timeout`` by ``grace`` seconds, for instance stuck in C code where SIGALRM
    cannot reach it, gets its worker killed. A worker retires after a file that changed
    state shared between files (see :func:`_shared_state`), so the next file sees a
    clean process.
    """
    if not paths:
        return []
    if processes == 0:
        return [parse_file(p, timeout=timeout, dags_folder=dags_folder) for p in paths]
    count = min(processes or os.cpu_count() or 1, len(paths))
    settings = _WorkerSettings(timeout=timeout, grace=grace, dags_folder=dags_folder)
    return _run_workers([Path(os.path.abspath(p)) for p in paths], settings, count)


@dataclass(frozen=True, slots=True)
class _WorkerSettings:
    timeout: float
    grace: float
    dags_folder: Path | None

    @property
    def kill_after(self) -> float:
        return self.timeout + self.grace if self.timeout > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class _Job:
    index: int
    path: Path
    deadline: float


class _Worker:
    """One forked process that parses the paths it is sent, one at a time."""

    def __init__(self, settings: _WorkerSettings) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.conn, child_conn = context.Pipe()
        self.settings = settings
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child_conn, settings), name="tradewind-dag-parser", daemon=True
        )
        self.process.start()
        child_conn.close()
        self.job: _Job | None = None
        self.is_retired = False

    def assign(self, todo: deque[tuple[int, Path]]) -> None:
        """Send the next path, or go idle when there is none."""
        self.job = None
        if todo:
            index, path = todo.popleft()
            self.job = _Job(index, path, time.monotonic() + self.settings.kill_after)
            self.conn.send(str(path))

    def collect(self, ready: Container[object]) -> ParsedFile | None:
        """The current job's result if it is over (done, died or killed), else None."""
        job = self.job
        assert job is not None
        if self.conn in ready or self.process.sentinel in ready:
            try:
                result, self.is_retired = self.conn.recv()
                return result  # type: ignore[no-any-return]
            except (EOFError, OSError):
                self._end()
                return _failed(
                    job.path, f"{_death_message(self.process.exitcode)} while importing {job.path}"
                )
        if time.monotonic() >= job.deadline:
            self._end()
            limit = self.settings.kill_after
            return _failed(job.path, f"Timeout: importing {job.path} took longer than {limit:g} seconds")
        return None

    def stop(self) -> None:
        """Ask the worker to exit, and make sure it does."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=1.0)
        self._end()
        self.conn.close()

    def _end(self) -> None:
        self.is_retired = True
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _run_workers(paths: list[Path], settings: _WorkerSettings, count: int) -> list[ParsedFile]:
    from multiprocessing.connection import wait

    todo = deque(enumerate(paths))
    results: dict[int, ParsedFile] = {}
    workers = [_Worker(settings) for _ in range(count)]
    try:
        for worker in workers:
            worker.assign(todo)
        while busy := [w for w in workers if w.job is not None]:
            ready = set(wait(_waitables(busy), timeout=_seconds_to_deadline(busy)))
            for i, worker in enumerate(workers):
                if worker.job is None or (result := worker.collect(ready)) is None:
                    continue
                results[worker.job.index] = result
                if worker.is_retired and todo:
                    worker.stop()
                    workers[i] = worker = _Worker(settings)
                worker.assign(todo)
    finally:
        for worker in workers:
            worker.stop()
    return [results[i] for i in range(len(paths))]


def _waitables(busy: list[_Worker]) -> list[Any]:
    return [w.conn for w in busy] + [w.process.sentinel for w in busy]


def _seconds_to_deadline(busy: list[_Worker]) -> float:
    deadline = min(w.job.deadline for w in busy if w.job is not None)
    return max(min(deadline - time.monotonic(), 3600.0), 0.0)


def _serve(conn: Connection, settings: _WorkerSettings) -> None:
    """The worker's loop: parse each path received until told to stop (None) or orphaned.

    After each file the worker checks whether the file changed shared state; if it did,
    it says so with the result and exits, and the parent forks a fresh worker.
    """
    with contextlib.suppress(EOFError, KeyboardInterrupt):
        while (path := conn.recv()) is not None:
            before = _shared_state()
            result = parse_file(Path(path), timeout=settings.timeout, dags_folder=settings.dags_folder)
            is_polluted = _is_polluted(before)
            try:
                conn.send((result, is_polluted))
            except Exception as exc:  # a DAG serialized to something that cannot be pickled
                conn.send(
                    (replace(result, dags=(), error=f"Cannot send the parsed DAGs back: {exc!r}"), True)
                )
            if is_polluted:
                return


_SHARED_MODULE_PREFIXES = ("tradewind.", "airflow.")
_BUILTIN_MODULES = frozenset({"builtins", "os", "sys"})
_SHARED_MODULES = _BUILTIN_MODULES | {"tradewind", "airflow"}

_Snapshot = list[tuple[Mapping[str, object], dict[str, object]]]


def _shared_state() -> _Snapshot:
    """Copies of what a DAG file could rebind for the files after it: the namespaces of
    Tradewind's modules (and their classes), the shim's, ``builtins``, ``os`` and ``sys``.

    Each entry pairs the live namespace with a shallow copy, so the check after the file
    is a C-level ``items() <=`` per namespace: a small fraction of parsing one file.
    """
    snapshot: _Snapshot = [(os.environ, dict(os.environ)), ({"cwd": os.getcwd()}, {"cwd": os.getcwd()})]
    for name, module in list(sys.modules.items()):
        if name in _SHARED_MODULES or name.startswith(_SHARED_MODULE_PREFIXES):
            namespace = vars(module)
            snapshot.append((namespace, dict(namespace)))
            if name not in _BUILTIN_MODULES:  # builtin classes cannot be changed anyway
                snapshot.extend(_class_namespaces(name, namespace))
    return snapshot


def _class_namespaces(module_name: str, namespace: Mapping[str, object]) -> _Snapshot:
    classes = [v for v in list(namespace.values()) if isinstance(v, type) and v.__module__ == module_name]
    return [(vars(c), dict(vars(c))) for c in classes]


def _is_polluted(snapshot: _Snapshot) -> bool:
    """True if anything in the snapshot was rebound or deleted; additions (new imports) are fine."""
    cwd_then = snapshot[1][1]["cwd"]
    with contextlib.suppress(OSError):
        if os.getcwd() != cwd_then:
            return True
    return not all(copy.items() <= live.items() for live, copy in snapshot[:1] + snapshot[2:])


def _failed(path: Path, message: str) -> ParsedFile:
    """A result for a file whose worker died: read the file again for the metadata."""
    try:
        mtime, data = path.stat().st_mtime, path.read_bytes()
    except OSError:
        return ParsedFile(str(path), 0.0, "", "", (), message)
    return ParsedFile(str(path), mtime, hashlib.sha256(data).hexdigest(), _decode(data), (), message)


def _death_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"Process died with exit code {exitcode} ({signal.Signals(-exitcode).name})"
    return f"Process died with exit code {exitcode}"


# -- the whole folder ---------------------------------------------------------------------


def load_dag_folder(
    folder: Path | None,
    *,
    load_examples: bool = False,
    previous: Mapping[str, ParsedFile] | None = None,
    timeout: float = 30.0,
    processes: int | None = None,
    safe_mode: bool = True,
    ignore_file: str = DEFAULT_IGNORE_FILE,
) -> list[ParsedFile]:
    """Find and parse the DAG files of ``folder`` (and the examples), reusing unchanged results.

    ``previous`` maps paths to the results of an earlier pass; a file whose mtime is the
    same, or whose content hashes the same, is not imported again (a change in a helper
    module it imports is not noticed). The same dag_id in two files is not checked here:
    whoever stores the results decides which file wins.
    """
    paths = find_dag_files(folder, ignore_file=ignore_file, safe_mode=safe_mode) if folder else []
    if load_examples:
        paths += find_dag_files(example_dags_folder())
    before = previous or {}
    reused = {p: r for p in paths if (r := _reuse(p, before.get(str(p)))) is not None}
    fresh = iter(
        parse_files(
            [p for p in paths if p not in reused], timeout=timeout, processes=processes, dags_folder=folder
        )
    )
    return [reused[p] if p in reused else next(fresh) for p in paths]


def _reuse(path: Path, before: ParsedFile | None) -> ParsedFile | None:
    if before is None:
        return None
    try:
        mtime = path.stat().st_mtime
        if mtime == before.mtime:
            return before
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return replace(before, mtime=mtime) if digest == before.digest else None

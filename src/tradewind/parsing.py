"""Keep the database in step with the DAG folder.

Files are parsed in isolated processes by :mod:`tradewind.dag.loader`; this module decides
which files to parse (those that changed since the last pass, and those whose DAGs were
deleted from the database meanwhile, so they come back as in Airflow) and writes what they
define in one transaction: new and changed DAGs, their source, import errors, and DAGs
whose file vanished or no longer defines them marked inactive. The webserver never calls
this: it only reads what is stored.

A DAG seen for the first time starts paused when its ``is_paused_upon_creation`` says so;
when it leaves that unset, the example DAGs start paused (so their schedules do not run on a
first start) and the others follow ``[core] dags_are_paused_at_creation``. Later parses
never change whether a DAG is paused.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradewind.clock import Clock, SystemClock
from tradewind.dag.loader import ParsedFile, example_dags_folder, find_dag_files, parse_files
from tradewind.store import Database, Store


@dataclass(frozen=True, slots=True)
class SyncResult:
    files: int
    parsed: int
    dags: int
    errors: int
    deactivated: int


def dag_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class DagFolderSync:
    """Parses what changed in a DAG folder and records it; one instance per long-lived process."""

    def __init__(
        self,
        db: Database,
        dags_folder: Path,
        *,
        include_examples: bool = False,
        paused_at_creation: bool = False,
        timeout: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._folder = dags_folder
        self._include_examples = include_examples
        self._paused_at_creation = paused_at_creation
        self._examples = example_dags_folder()
        self._timeout = timeout
        self._clock = clock or SystemClock()
        self._seen: dict[str, tuple[float, int]] = {}
        self._recorded: dict[str, frozenset[str]] = {}  # the DAG ids each file's last parse registered

    def files(self) -> list[Path]:
        found = find_dag_files(self._folder) if self._folder.is_dir() else []
        if self._include_examples:
            found += find_dag_files(example_dags_folder())
        return found

    def sync(self, *, force: bool = False) -> SyncResult:
        files = self.files()
        changed = [p for p in files if force or self._has_changed(p)]
        result, lost = self._sync_files(files, changed)
        if not lost:
            return result
        again, _ = self._sync_files(files, lost)
        return SyncResult(
            result.files, result.parsed + again.parsed, result.dags + again.dags,
            result.errors + again.errors, result.deactivated + again.deactivated,
        )  # fmt: skip

    def _sync_files(self, files: list[Path], changed: list[Path]) -> tuple[SyncResult, list[Path]]:
        """Parse and record ``changed``; also return the unchanged files that lost a DAG.

        A DAG deleted through the API leaves its file as it was, so comparing mtimes alone
        would never register it again (as Airflow does at the next parse). The DAG table is
        read anyway to find vanished files, so noticing the missing id costs nothing.
        """
        parsed = parse_files(changed, timeout=self._timeout, dags_folder=self._folder) if changed else []
        with self._db.transaction() as store:
            dags, errors, recorded = self._record(store, parsed)
            active = store.active_dag_files()
            deactivated = self._forget_vanished(store, {str(p) for p in files}, active)
        for item in parsed:
            self._seen[item.path] = (item.mtime, len(item.source.encode()))
            self._recorded[item.path] = recorded.get(item.path, frozenset())
        lost = [p for p in files if not self._recorded.get(str(p), frozenset()) <= active.keys()]
        return SyncResult(len(files), len(parsed), dags, errors, deactivated), lost

    def _has_changed(self, path: Path) -> bool:
        try:
            stat = path.stat()
        except OSError:
            return True
        return self._seen.get(str(path)) != (stat.st_mtime, stat.st_size)

    def _record(
        self, store: Store, parsed: Sequence[ParsedFile]
    ) -> tuple[int, int, dict[str, frozenset[str]]]:
        now = self._clock.now()
        errors: dict[str, str] = {}
        owners: dict[str, str] = {}
        recorded: dict[str, frozenset[str]] = {}
        dags = 0
        for item in parsed:
            if item.error is not None:
                errors[item.path] = item.error
                continue
            clash = self._first_clash(store, item, owners)
            if clash:
                errors[item.path] = clash
                continue
            dags += self._record_file(store, item, now)
            owners.update({d["dag_id"]: item.path for d in item.dags})
            recorded[item.path] = frozenset(d["dag_id"] for d in item.dags)
        store.replace_import_errors([p.path for p in parsed], errors, now)
        return dags, len(errors), recorded

    def _first_clash(self, store: Store, item: ParsedFile, owners: dict[str, str]) -> str | None:
        """A DAG id defined by another live file is an import error of this file, as in Airflow."""
        for data in item.dags:
            dag_id = data["dag_id"]
            other = owners.get(dag_id)
            row = store.find_dag(dag_id)
            if other is None and row is not None and row.is_active and row.fileloc != item.path:
                other = row.fileloc if os.path.exists(row.fileloc) else None
            if other is not None and other != item.path:
                return f"{item.path}: DAG id {dag_id!r} is already defined in {other}"
        return None

    def _record_file(self, store: Store, item: ParsedFile, now: Any) -> int:
        defined = {d["dag_id"] for d in item.dags}
        paused = self._paused_at_creation or Path(item.path).is_relative_to(self._examples)
        for data in item.dags:
            store.upsert_dag(data, dag_hash=dag_hash(data), now=now, paused_at_creation=paused)
        stale = [row.dag_id for row in store.dags_in_files([item.path]) if row.dag_id not in defined]
        store.deactivate_dags(stale)
        if item.dags:
            store.save_code(item.path, item.source, item.digest, now)
        return len(item.dags)

    def _forget_vanished(self, store: Store, present: set[str], active: dict[str, str]) -> int:
        vanished = (set(active.values()) | store.import_error_files()) - present
        if not vanished:
            return 0
        gone = [dag_id for dag_id, fileloc in active.items() if fileloc in vanished]
        store.deactivate_dags(gone)
        store.delete_import_errors(vanished)
        for path in vanished:
            self._seen.pop(path, None)
            self._recorded.pop(path, None)
        return len(gone)


def sync_once(
    db: Database,
    dags_folder: Path,
    *,
    include_examples: bool,
    timeout: float,
    paused_at_creation: bool = False,
) -> SyncResult:
    return DagFolderSync(
        db,
        dags_folder,
        include_examples=include_examples,
        paused_at_creation=paused_at_creation,
        timeout=timeout,
    ).sync(force=True)

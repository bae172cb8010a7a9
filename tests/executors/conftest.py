"""Fixtures for the executor suites: a copy of the contract DAG per test, workloads, executors."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradewind.executors.base import Executor, TaskEvent, TaskKey, TaskWorkload, log_path_for
from tradewind.executors.inline import InlineExecutor
from tradewind.executors.local import LocalExecutor, SequentialExecutor

CONTRACT_DAG = Path(__file__).parent / "dags" / "contract_dag.py"
LOGICAL_DATE = datetime(2024, 1, 1, tzinfo=UTC)
DEFAULT_RUN_ID = "manual__2024-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class Site:
    """Where one test's DAG file, logs and locks live."""

    root: Path

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def fileloc(self) -> Path:
        return self.dags / "contract_dag.py"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def imports(self) -> list[str]:
        path = Path(f"{self.fileloc}.imports")
        return path.read_text().split() if path.exists() else []

    def workload(
        self,
        task_id: str,
        *,
        try_number: int = 1,
        max_tries: int = 0,
        timeout: float | None = None,
        run_id: str = DEFAULT_RUN_ID,
        conf: dict[str, Any] | None = None,
    ) -> TaskWorkload:
        key = TaskKey("contract", task_id, run_id, try_number)
        return TaskWorkload(
            key=key,
            fileloc=str(self.fileloc),
            logical_date=LOGICAL_DATE,
            data_interval_start=LOGICAL_DATE,
            data_interval_end=LOGICAL_DATE,
            run_type="manual",
            external_trigger=True,
            conf=conf,
            max_tries=max_tries,
            execution_timeout=timeout,
            queue="default",
            priority_weight=1,
            log_path=str(log_path_for(self.logs, key)),
        )

    def log_of(self, workload: TaskWorkload) -> str:
        return Path(workload.log_path).read_text()


@pytest.fixture
def site(tmp_path: Path) -> Site:
    found = Site(tmp_path)
    found.dags.mkdir()
    shutil.copy(CONTRACT_DAG, found.fileloc)
    return found


def build_executor(kind: str, site: Site, **options: Any) -> Executor:
    if kind == "inline":
        return InlineExecutor(dags_folder=site.dags, **options)
    common: dict[str, Any] = {"lock_dir": site.locks, "dags_folder": site.dags, "kill_grace": 1.0, **options}
    if kind == "sequential":
        return SequentialExecutor(**common)
    common.setdefault("parallelism", 4)
    return LocalExecutor(**common)


@pytest.fixture
def make_executor(site: Site) -> Iterator[Callable[..., Executor]]:
    made: list[Executor] = []

    def make(kind: str, **options: Any) -> Executor:
        executor = build_executor(kind, site, **options)
        executor.start()
        made.append(executor)
        return executor

    yield make
    for executor in made:
        executor.stop(wait=False)


def run_all(
    executor: Executor, workloads: Iterable[TaskWorkload], timeout: float = 30.0
) -> dict[TaskKey, list[TaskEvent]]:
    """Submit ``workloads`` and collect events until each has its final event."""
    pending = list(workloads)
    for workload in pending:
        executor.submit(workload)
    return collect(executor, [w.key for w in pending], timeout)


def collect(
    executor: Executor, keys: Iterable[TaskKey], timeout: float = 30.0
) -> dict[TaskKey, list[TaskEvent]]:
    waiting = set(keys)
    seen: dict[TaskKey, list[TaskEvent]] = {key: [] for key in waiting}
    deadline = time.monotonic() + timeout
    while waiting:
        assert time.monotonic() < deadline, f"no final event for {sorted(k.task_id for k in waiting)}"
        executor.wait(0.5)
        for event in executor.events():
            seen.setdefault(event.key, []).append(event)
            if event.state != "running":
                waiting.discard(event.key)
    return seen


def final(events: list[TaskEvent]) -> TaskEvent:
    finals = [e for e in events if e.state != "running"]
    assert len(finals) == 1, events
    return finals[0]


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def is_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or reaped between open and read
        return False

"""Building blocks for scheduler tests: a scripted executor, DAG registration, state reads."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradewind.clock import FixedClock
from tradewind.dag import DAG
from tradewind.dag.serialize import serialize_dag
from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload
from tradewind.parsing import dag_hash
from tradewind.scheduler.scheduler import Scheduler
from tradewind.store import Database

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Outcome:
    """What the scripted executor reports for an attempt."""

    state: str = "success"
    xcoms: tuple[tuple[str, bytes], ...] = ()
    skip: tuple[str, ...] = ()


Script = Callable[[TaskWorkload], Outcome | None]


@dataclass
class ScriptedExecutor:
    """An Executor whose attempts end as ``script`` says (None: keeps it running until finished)."""

    script: Script = field(default=lambda w: Outcome())
    submitted: list[TaskWorkload] = field(default_factory=list)
    pending: list[TaskEvent] = field(default_factory=list)
    in_flight: dict[TaskKey, TaskWorkload] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    started: bool = False
    stopped: bool = False
    announce: bool = True  # send a "running" event when an attempt is submitted

    def start(self) -> None:
        self.started = True

    def submit(self, workload: TaskWorkload) -> None:
        assert workload.key not in self.in_flight, "submitted twice"
        self.submitted.append(workload)
        self.in_flight[workload.key] = workload
        pool_use = sum(w.pool == workload.pool for w in self.in_flight.values())
        self.max_in_flight[workload.pool] = max(self.max_in_flight.get(workload.pool, 0), pool_use)
        if self.announce:
            self.pending.append(TaskEvent(workload.key, "running", T0, pid=1, hostname="h"))
        outcome = self.script(workload)
        if outcome is not None:
            self.finish(workload.key, outcome)

    def finish(self, key: TaskKey, outcome: Outcome | None = None) -> None:
        outcome = outcome or Outcome()
        del self.in_flight[key]
        self.pending.append(TaskEvent(key, outcome.state, T0, pid=1, hostname="h", xcoms=outcome.xcoms,
                                      skip_task_ids=outcome.skip))  # fmt: skip

    def finish_task(self, task_id: str, outcome: Outcome | None = None) -> None:
        (key,) = [k for k in self.in_flight if k.task_id == task_id]
        self.finish(key, outcome)

    def events(self) -> list[TaskEvent]:
        ready, self.pending = self.pending, []
        return ready

    def wait(self, timeout: float) -> bool:
        return bool(self.pending)

    def running(self) -> set[TaskKey]:
        return set(self.in_flight)

    def stop(self, *, wait: bool = True) -> None:
        self.stopped = True

    def task_ids(self) -> list[str]:
        return [w.key.task_id for w in self.submitted]


@dataclass
class AdoptingExecutor(ScriptedExecutor):
    """A ScriptedExecutor whose attempts outlive the scheduler, like Celery's: it can adopt
    attempts another executor submitted, and its workers heartbeat their attempts."""

    heartbeats_tasks: bool = True
    adopted: dict[TaskKey, int] = field(default_factory=dict)

    def adopt(self, attempts: Mapping[TaskKey, int]) -> set[TaskKey]:
        taken = {key for key in attempts if key not in self.in_flight}
        for key in taken:
            self.adopted[key] = attempts[key]
            self.in_flight[key] = TaskWorkload(key, "", T0, T0, T0, "manual", False, None, attempts[key], None,
                                               "default", 1, "")  # fmt: skip
        return taken


def register_dag(db: Database, dag: DAG, *, now: datetime = T0, paused: bool = False) -> dict[str, Any]:
    """Store ``dag`` as the parser would; returns its serialized dict."""
    data = json.loads(json.dumps(serialize_dag(dag)))
    with db.transaction() as store:
        store.upsert_dag(data, dag_hash=dag_hash(data), now=now)
        store.set_paused(dag.dag_id, paused)
    return data


def trigger(db: Database, data: dict[str, Any], run_id: str = "manual_1", *, at: datetime = T0,
            conf: dict[str, Any] | None = None) -> str:  # fmt: skip
    with db.transaction() as store:
        store.create_dag_run(data, run_id=run_id, execution_date=at, run_type="manual", now=at, conf=conf,
                             external_trigger=True)  # fmt: skip
    return run_id


def ti_states(db: Database, dag_id: str, run_id: str) -> dict[str, str | None]:
    with db.transaction(write=False) as store:
        return {ti.task_id: ti.state for ti in store.task_instances(dag_id, run_id)}


def run_state(db: Database, dag_id: str, run_id: str) -> str | None:
    with db.transaction(write=False) as store:
        run = store.find_dag_run(dag_id, run_id=run_id)
        return run.state if run else None


@dataclass
class Harness:
    db: Database
    executor: ScriptedExecutor
    clock: FixedClock
    scheduler: Scheduler

    def ticks(self, count: int = 20) -> None:
        """Tick until nothing changes (or ``count`` ticks)."""
        for _ in range(count):
            before = len(self.executor.submitted)
            self.scheduler.tick()
            if not self.executor.pending and len(self.executor.submitted) == before:
                self.scheduler.tick()
                if not self.executor.pending and len(self.executor.submitted) == before:
                    return

    def advance(self, seconds: float) -> None:
        self.clock.set(self.clock.now() + timedelta(seconds=seconds))


@pytest.fixture
def make_harness(db: Database, tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(
        script: Script | None = None, *, now: datetime = T0, executor: ScriptedExecutor | None = None,
        **options: Any,
    ) -> Harness:  # fmt: skip
        if executor is None:
            executor = ScriptedExecutor(script) if script else ScriptedExecutor()
        clock = FixedClock(now)
        settings: dict[str, Any] = {"poll_interval": 0.0, "refresh_interval": 0.0, "heartbeat_sec": 3600.0,
                                    "running_write_delay": 0.0}  # fmt: skip
        scheduler = Scheduler(db, executor, log_folder=tmp_path / "logs", clock=clock, **(settings | options))
        scheduler.start()
        harness = Harness(db, executor, clock, scheduler)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.scheduler.shutdown(drain_timeout=0)

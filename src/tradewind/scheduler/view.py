"""The scheduler's in-memory view of active DAG runs, and the writes one pass accumulates.

The database stays the source of truth: the view is loaded from it when a run starts (or
the scheduler restarts) and every change made through :meth:`ActiveView.transition` is
also queued in :class:`PendingWrites`, flushed in the pass's transaction. Keeping the view
lets a pass cost what changed (a finished task looks at its downstream only) instead of
re-reading every task instance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tradewind.models.states import ACTIVE_TASK_STATES, FINISHED_TASK_STATES, TaskState
from tradewind.scheduler.decisions import Candidate
from tradewind.scheduler.specs import DagSpec
from tradewind.store import Store

RunKey = tuple[str, str]  # (dag_id, run_id)
TiKey = tuple[str, str, str]  # (dag_id, run_id, task_id)

TS = TaskState


@dataclass(slots=True)
class TiRecord:
    """One task instance as the scheduler tracks it (mutable; only the view changes it)."""

    task_id: str
    state: TaskState
    try_number: int = 0
    max_tries: int = 0
    pool: str = "default_pool"
    pool_slots: int = 1
    priority_weight: int = 1
    queue: str = "default"
    start_date: datetime | None = None
    next_retry_at: datetime | None = None
    owner_job_id: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> TiRecord:
        return cls(
            task_id=row.task_id,
            state=TaskState(row.state or TS.NONE),
            try_number=row.try_number,
            max_tries=row.max_tries,
            pool=row.pool,
            pool_slots=row.pool_slots,
            priority_weight=row.priority_weight,
            queue=row.queue,
            start_date=row.start_date,
            next_retry_at=row.next_retry_at,
            owner_job_id=row.queued_by_job_id,
        )


@dataclass(slots=True, eq=False)
class ActiveRun:
    """A running DAG run: its identity, the DAG it runs, and its task instances."""

    pk: int
    dag_id: str
    run_id: str
    logical_date: datetime
    data_interval: tuple[datetime, datetime]
    run_type: str
    external_trigger: bool
    conf: dict[str, Any] | None
    start_date: datetime
    spec: DagSpec
    spec_hash: str
    tis: dict[str, TiRecord] = field(default_factory=dict)
    states: dict[str, TaskState] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    unfinished: int = 0

    @property
    def key(self) -> RunKey:
        return (self.dag_id, self.run_id)

    def add(self, ti: TiRecord) -> None:
        self.tis[ti.task_id] = ti
        self.states[ti.task_id] = ti.state
        self.unfinished += ti.state not in FINISHED_TASK_STATES


class PendingWrites:
    """Task-instance updates and XComs of one pass, written as few statements as possible."""

    def __init__(self) -> None:
        self._tis: dict[TiKey, dict[str, Any]] = {}
        self._xcom_clear: dict[RunKey, set[str]] = defaultdict(set)
        self._xcoms: list[dict[str, Any]] = []

    def clear(self) -> None:
        self._tis.clear()
        self._xcom_clear.clear()
        self._xcoms = []

    def __bool__(self) -> bool:
        return bool(self._tis or self._xcom_clear or self._xcoms)

    def task(self, key: TiKey, values: Mapping[str, Any]) -> None:
        self._tis.setdefault(key, {}).update(values)

    def replace_xcoms(self, key: TiKey, xcoms: tuple[tuple[str, bytes], ...], now: datetime) -> None:
        """Forget what earlier tries pushed; store this try's values."""
        self._xcom_clear[key[:2]].add(key[2])
        self._xcoms = [x for x in self._xcoms if (x["dag_id"], x["run_id"], x["task_id"]) != key]
        dag_id, run_id, task_id = key
        self._xcoms.extend(
            dict(dag_id=dag_id, run_id=run_id, task_id=task_id, key=k, value=v, timestamp=now)
            for k, v in xcoms
        )

    def flush(self, store: Store) -> None:
        for (dag_id, run_id), task_ids in self._xcom_clear.items():
            store.delete_xcoms(dag_id, run_id, sorted(task_ids))
        store.insert_xcoms(self._xcoms)
        self._flush_task_instances(store)
        self.clear()

    def _flush_task_instances(self, store: Store) -> None:
        groups: dict[tuple[str, str, tuple[tuple[str, Any], ...]], list[str]] = defaultdict(list)
        for (dag_id, run_id, task_id), values in self._tis.items():
            groups[(dag_id, run_id, tuple(sorted(values.items())))].append(task_id)
        singles: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for (dag_id, run_id, items), task_ids in groups.items():
            if len(task_ids) > 1:
                store.update_task_instances(dag_id, run_id, sorted(task_ids), dict(items))
                continue
            row = dict(items) | {"dag_id": dag_id, "run_id": run_id, "task_id": task_ids[0]}
            singles[tuple(name for name, _ in items)].append(row)
        for columns, rows in singles.items():
            store.update_task_instances_each(columns, rows)


class ActiveView:
    """Active runs plus the indices a pass needs: waiting candidates, busy slots, retry timers."""

    def __init__(self) -> None:
        self.runs: dict[RunKey, ActiveRun] = {}
        self.candidates: dict[TiKey, Candidate] = {}
        self.active: dict[TiKey, TiRecord] = {}
        self.retrying: dict[TiKey, datetime] = {}
        self.changed: set[RunKey] = set()
        self.writes = PendingWrites()

    def add_run(self, run: ActiveRun) -> None:
        self.drop_run(run.key)
        self.runs[run.key] = run
        for ti in run.tis.values():
            self._index(run, ti)
        run.dirty.update(run.tis)
        self.changed.add(run.key)

    def drop_run(self, key: RunKey) -> ActiveRun | None:
        run = self.runs.pop(key, None)
        if run is not None:
            for task_id in run.tis:
                self._unindex((run.dag_id, run.run_id, task_id))
        self.changed.discard(key)
        return run

    def runs_of(self, dag_id: str) -> Iterator[ActiveRun]:
        return (run for run in self.runs.values() if run.dag_id == dag_id)

    def transition(
        self, run: ActiveRun, task_id: str, state: TaskState, now: datetime, **values: Any
    ) -> None:
        """Move one instance to ``state``: memory, indices, and the pending database write."""
        ti = run.tis[task_id]
        was_finished = ti.state in FINISHED_TASK_STATES
        key = (run.dag_id, run.run_id, task_id)
        self._unindex(key)
        ti.state = run.states[task_id] = state
        for name in ("try_number", "start_date", "next_retry_at", "max_tries"):
            if name in values:
                setattr(ti, name, values[name])
        if "queued_by_job_id" in values:
            ti.owner_job_id = values["queued_by_job_id"]
        self._index(run, ti)
        is_finished = state in FINISHED_TASK_STATES
        run.unfinished += int(was_finished) - int(is_finished)
        db_state = None if state == TS.NONE else state.value
        self.writes.task(key, {"state": db_state, "updated_at": now, **values})
        self.changed.add(run.key)
        if is_finished:
            run.dirty.update(run.spec.tasks[task_id].downstream if task_id in run.spec.tasks else ())
            if run.spec.has_depends_on_past:
                self._wake_later_runs(run, task_id)
        elif state == TS.NONE:
            run.dirty.add(task_id)

    def _wake_later_runs(self, run: ActiveRun, task_id: str) -> None:
        for other in self.runs_of(run.dag_id):
            if other.logical_date > run.logical_date and task_id in other.tis:
                other.dirty.add(task_id)

    def _index(self, run: ActiveRun, ti: TiRecord) -> None:
        key = (run.dag_id, run.run_id, ti.task_id)
        if ti.state == TS.SCHEDULED:
            self.candidates[key] = Candidate(
                key, ti.pool, ti.pool_slots, ti.priority_weight, (run.logical_date, run.run_id)
            )
        elif ti.state in ACTIVE_TASK_STATES:
            self.active[key] = ti
        elif ti.state == TS.UP_FOR_RETRY:
            self.retrying[key] = ti.next_retry_at or run.start_date

    def _unindex(self, key: TiKey) -> None:
        self.candidates.pop(key, None)
        self.active.pop(key, None)
        self.retrying.pop(key, None)

    def busy_by_dag(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for dag_id, _, _ in self.active:
            counts[dag_id] += 1
        return counts

    def busy_by_pool(self) -> dict[str, int]:
        used: dict[str, int] = defaultdict(int)
        for ti in self.active.values():
            used[ti.pool] += ti.pool_slots
        return used

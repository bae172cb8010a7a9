"""What the scheduler needs to know of a DAG, rebuilt from its stored serialized dict.

The scheduler never imports DAG files: it reads the dict the parser stored and keeps a
:class:`DagSpec` per ``dag_hash`` (see :class:`SpecCache`). A spec is immutable, holds the
task graph with a topological order (so dependency changes can be settled in one ordered
sweep) and the per-task settings that scheduling decisions read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tradewind.dag.trigger_rules import TriggerRule, parse_trigger_rule
from tradewind.models.pools import DEFAULT_POOL


@dataclass(frozen=True, slots=True)
class TaskSpec:
    task_id: str
    operator: str = "BaseOperator"
    upstream: tuple[str, ...] = ()
    downstream: tuple[str, ...] = ()
    trigger_rule: TriggerRule = TriggerRule.ALL_SUCCESS
    retries: int = 0
    retry_delay: float = 300.0
    retry_exponential_backoff: bool = False
    max_retry_delay: float | None = None
    execution_timeout: float | None = None
    pool: str = DEFAULT_POOL
    pool_slots: int = 1
    priority_weight: int = 1
    queue: str = "default"
    depends_on_past: bool = False
    is_empty: bool = False
    start_date: datetime | None = None
    end_date: datetime | None = None

    def exists_at(self, logical_date: datetime) -> bool:
        """Whether a run at ``logical_date`` has an instance of this task (Airflow's rule)."""
        if self.start_date is not None and self.start_date > logical_date:
            return False
        return not (self.end_date is not None and self.end_date < logical_date)


@dataclass(frozen=True, slots=True)
class DagSpec:
    dag_id: str
    tasks: Mapping[str, TaskSpec]
    order: Mapping[str, int]  # task_id -> position in a topological order
    fileloc: str = ""
    schedule: str | None = None
    timezone: str = "UTC"
    start_date: datetime | None = None
    end_date: datetime | None = None
    catchup: bool = True
    max_active_runs: int = 16
    max_active_tasks: int = 16
    dagrun_timeout: float | None = None
    leaves: frozenset[str] = field(default_factory=frozenset)
    has_depends_on_past: bool = False

    @classmethod
    def build(cls, dag_id: str, tasks: Sequence[TaskSpec], **settings: Any) -> DagSpec:
        """A spec from tasks whose ``upstream`` is set; ``downstream`` is derived."""
        downstream: dict[str, list[str]] = {t.task_id: [] for t in tasks}
        for task in tasks:
            for up in task.upstream:
                downstream.setdefault(up, []).append(task.task_id)
        by_id = {t.task_id: _with_downstream(t, downstream[t.task_id]) for t in tasks}
        return cls(
            dag_id=dag_id,
            tasks=by_id,
            order=_topological_order(by_id),
            leaves=frozenset(t for t, spec in by_id.items() if not spec.downstream),
            has_depends_on_past=any(t.depends_on_past for t in tasks),
            **settings,
        )


def _with_downstream(task: TaskSpec, downstream: list[str]) -> TaskSpec:
    return replace(task, downstream=tuple(sorted(downstream)))


def _topological_order(tasks: Mapping[str, TaskSpec]) -> dict[str, int]:
    """Kahn's algorithm; tasks on a cycle (which the parser rejects) go last."""
    pending = {t: sum(1 for u in spec.upstream if u in tasks) for t, spec in tasks.items()}
    ready = sorted(t for t, n in pending.items() if n == 0)
    order: dict[str, int] = {}
    while ready:
        task_id = ready.pop()
        order[task_id] = len(order)
        for child in tasks[task_id].downstream:
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)
    for task_id in sorted(tasks):
        order.setdefault(task_id, len(order))
    return order


def spec_from_dict(data: Mapping[str, Any]) -> DagSpec:
    """A DagSpec from the dict :func:`tradewind.dag.serialize.serialize_dag` produced."""
    return DagSpec.build(
        str(data["dag_id"]),
        task_specs(data),
        fileloc=str(data.get("fileloc") or ""),
        schedule=data.get("schedule"),
        timezone=str(data.get("timezone") or "UTC"),
        start_date=_date(data.get("start_date")),
        end_date=_date(data.get("end_date")),
        catchup=bool(data.get("catchup", True)),
        max_active_runs=int(data.get("max_active_runs") or 16),
        max_active_tasks=int(data.get("max_active_tasks") or 16),
        dagrun_timeout=_float(data.get("dagrun_timeout")),
    )


def task_specs(data: Mapping[str, Any]) -> list[TaskSpec]:
    """The tasks of a serialized DAG without the graph :class:`DagSpec` adds: what a new run needs
    (a trigger does not pay for the rest)."""
    return [_task_from_dict(t) for t in data.get("tasks") or []]


def _task_from_dict(data: Mapping[str, Any]) -> TaskSpec:
    return TaskSpec(
        task_id=str(data["task_id"]),
        operator=str(data.get("operator") or "BaseOperator"),
        upstream=tuple(sorted(data.get("upstream_task_ids") or ())),
        trigger_rule=parse_trigger_rule(str(data.get("trigger_rule") or "all_success")),
        retries=int(data.get("retries") or 0),
        retry_delay=_float(data.get("retry_delay", 300.0)) or 0.0,
        retry_exponential_backoff=bool(data.get("retry_exponential_backoff")),
        max_retry_delay=_float(data.get("max_retry_delay")),
        execution_timeout=_float(data.get("execution_timeout")),
        pool=str(data.get("pool") or DEFAULT_POOL),
        pool_slots=int(data.get("pool_slots") or 1),
        priority_weight=int(data.get("effective_priority_weight") or data.get("priority_weight") or 1),
        queue=str(data.get("queue") or "default"),
        depends_on_past=bool(data.get("depends_on_past")),
        is_empty=bool(data.get("is_empty")),
        start_date=_date(data.get("start_date")),
        end_date=_date(data.get("end_date")),
    )


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _date(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class SpecCache:
    """Deserialized DAGs keyed by ``dag_hash``: a DAG is rebuilt only when its file changed."""

    def __init__(self) -> None:
        self._by_dag: dict[str, tuple[str, DagSpec]] = {}

    def get(self, dag_id: str, dag_hash: str) -> DagSpec | None:
        cached = self._by_dag.get(dag_id)
        return cached[1] if cached is not None and cached[0] == dag_hash else None

    def put(self, dag_hash: str, data: Mapping[str, Any]) -> DagSpec:
        spec = spec_from_dict(data)
        self._by_dag[spec.dag_id] = (dag_hash, spec)
        return spec

    def hash_of(self, dag_id: str) -> str | None:
        cached = self._by_dag.get(dag_id)
        return cached[0] if cached is not None else None

    def current(self, dag_id: str) -> DagSpec | None:
        cached = self._by_dag.get(dag_id)
        return cached[1] if cached is not None else None

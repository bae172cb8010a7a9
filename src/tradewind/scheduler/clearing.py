"""Clearing task instances and creating backfill runs: the use cases behind ``tasks clear`` and ``dags backfill``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from tradewind.dag.schedules import parse_schedule_summary
from tradewind.errors import BadRequest, DagNotFound, DateOutOfRange
from tradewind.models import DagRun, TaskInstance
from tradewind.models.states import DagRunType, TaskState
from tradewind.scheduler.nudges import nudge_schedulers
from tradewind.scheduler.runs import create_run
from tradewind.scheduler.specs import DagSpec, spec_from_dict
from tradewind.store import Store
from tradewind.timeutil import isoformat

_FAILED = (TaskState.FAILED.value, TaskState.UPSTREAM_FAILED.value)


@dataclass(frozen=True, slots=True)
class ClearSelection:
    """Which task instances of a DAG to clear."""

    task_regex: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    only_failed: bool = False
    downstream: bool = False


def require_spec(store: Store, dag_id: str) -> DagSpec:
    data = store.serialized_dag(dag_id)
    if data is None:
        raise DagNotFound(f"Dag id {dag_id} not found")
    return spec_from_dict(data)


def matching_task_ids(spec: DagSpec, task_regex: str | None, *, downstream: bool) -> set[str]:
    """Tasks whose id matches ``task_regex`` (``re.search``, as Airflow), plus all their downstream."""
    try:
        pattern = re.compile(task_regex or "")
    except re.error as exc:
        raise BadRequest(f"Invalid task regex {task_regex!r}: {exc}") from None
    chosen = {t for t in spec.tasks if pattern.search(t)}
    pending = list(chosen) if downstream else []
    while pending:
        for child in spec.tasks[pending.pop()].downstream:
            if child not in chosen:
                chosen.add(child)
                pending.append(child)
    return chosen


def task_instances_to_clear(
    store: Store, dag_id: str, selection: ClearSelection
) -> list[tuple[str, str, str]]:
    """``(dag_id, run_id, task_id)`` of the instances the selection names, oldest run first."""
    spec = require_spec(store, dag_id)
    task_ids = matching_task_ids(spec, selection.task_regex, downstream=selection.downstream)
    query = (
        select(TaskInstance.run_id, TaskInstance.task_id)
        .join(DagRun, (DagRun.dag_id == TaskInstance.dag_id) & (DagRun.run_id == TaskInstance.run_id))
        .where(TaskInstance.dag_id == dag_id, TaskInstance.task_id.in_(sorted(task_ids)))
        .order_by(DagRun.execution_date, TaskInstance.task_id)
    )
    if selection.start is not None:
        query = query.where(DagRun.execution_date >= selection.start)
    if selection.end is not None:
        query = query.where(DagRun.execution_date <= selection.end)
    if selection.only_failed:
        query = query.where(TaskInstance.state.in_(_FAILED))
    return [(dag_id, run_id, task_id) for run_id, task_id in store.session.execute(query)]


def clear(store: Store, keys: list[tuple[str, str, str]], *, now: datetime) -> int:
    """Reset the instances to none (retries available again); their runs go back to queued."""
    specs: dict[str, DagSpec] = {}
    items = []
    for dag_id, run_id, task_id in keys:
        spec = specs.setdefault(dag_id, require_spec(store, dag_id))
        task = spec.tasks.get(task_id)
        items.append((dag_id, run_id, task_id, task.retries if task else 0))
    cleared = store.clear_task_instances(items, now=now)
    if cleared:
        nudge_schedulers(store)
    return cleared


def create_backfill_runs(
    store: Store, dag_id: str, start: datetime, end: datetime, *, now: datetime
) -> list[str]:
    """Queued backfill runs for every schedule point in ``[start, end]`` without a run yet."""
    spec = require_spec(store, dag_id)
    schedule = parse_schedule_summary(spec.schedule)
    if not schedule.is_periodic:
        raise BadRequest(f"DAG {dag_id} has no periodic schedule to backfill")
    try:
        runs = schedule.runs_between(start, end, spec.timezone)
    except (OverflowError, ValueError):
        runs = []
        bad = [end]
    else:
        bad = [
            info.logical_date for info in runs if not schedule.is_in_range(info.logical_date, spec.timezone)
        ]
    if bad:
        raise DateOutOfRange(isoformat(bad[0]))
    created = []
    for info in runs:
        run_id = create_run(store, spec, info, run_type=DagRunType.BACKFILL, now=now)
        if run_id is not None:
            created.append(run_id)
    return created

"""A task's definition, one task instance, and the lineage of a run's tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradewind.actions.common import require_run, require_serialized
from tradewind.errors import TaskInstanceNotFound, TaskNotFound
from tradewind.models import TaskInstance
from tradewind.store import Store
from tradewind.timeutil import isoformat
from tradewind.values import LineageInfo, TaskInfo, TaskInstanceInfo, TaskLineage

_NOT_ATTRIBUTES = frozenset({"attrs", "effective_priority_weight", "is_empty"})


def task_info(store: Store, dag_id: str, task_id: str) -> TaskInfo:
    """The task's public attributes as strings, read from the serialized DAG."""
    data = require_serialized(store, dag_id, suffix="")
    task = _require_task(data, task_id)
    return TaskInfo(dag_id, task_id, _attributes(task))


def _require_task(data: dict[str, Any], task_id: str) -> dict[str, Any]:
    for task in data.get("tasks", []):
        if task.get("task_id") == task_id:
            return dict(task)
    raise TaskNotFound(f"Task {task_id} not found in dag {data['dag_id']}")


def _attributes(task: dict[str, Any]) -> dict[str, str]:
    attrs = task.get("attrs")
    if attrs:
        return {str(k): str(v) for k, v in attrs.items()}
    return {k: str(v) for k, v in task.items() if k not in _NOT_ATTRIBUTES}


def task_instance_info(store: Store, dag_id: str, execution_date: datetime, task_id: str) -> TaskInstanceInfo:
    """One task instance of the run at that instant (checks: DAG, task, run, instance)."""
    data = require_serialized(store, dag_id)
    _require_task(data, task_id)
    run = require_run(store, dag_id, execution_date)
    ti = store.find_task_instance(dag_id, run.run_id, task_id)
    if ti is None:
        raise TaskInstanceNotFound(f"Task {task_id} instance for date {isoformat(execution_date)} not found")
    return _task_instance_info(ti, run.execution_date)


def run_task_instances(store: Store, dag_id: str, execution_date: datetime) -> list[TaskInstanceInfo]:
    """Every task instance of the run at that instant, by task id."""
    require_serialized(store, dag_id)
    run = require_run(store, dag_id, execution_date)
    return [_task_instance_info(ti, run.execution_date) for ti in store.task_instances(dag_id, run.run_id)]


def _task_instance_info(ti: TaskInstance, execution_date: datetime) -> TaskInstanceInfo:
    return TaskInstanceInfo(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        execution_date=execution_date,
        state=ti.state,
        try_number=ti.try_number,
        max_tries=ti.max_tries,
        start_date=ti.start_date,
        end_date=ti.end_date,
        duration=ti.duration,
        hostname=ti.hostname,
        unixname=ti.unixname,
        pid=ti.pid,
        pool=ti.pool,
        pool_slots=ti.pool_slots,
        queue=ti.queue,
        priority_weight=ti.priority_weight,
        operator=ti.operator,
        queued_dttm=ti.queued_dttm,
    )


def lineage(store: Store, dag_id: str, execution_date: datetime) -> LineageInfo:
    """Inlets and outlets of the tasks that declare any, for an existing run."""
    data = require_serialized(store, dag_id)
    run = require_run(store, dag_id, execution_date)
    found = {
        task["task_id"]: TaskLineage(list(task.get("inlets") or []), list(task.get("outlets") or []))
        for task in data.get("tasks", [])
        if task.get("inlets") or task.get("outlets")
    }
    return LineageInfo(dag_id, run.execution_date, found)

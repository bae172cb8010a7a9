"""Creating DAG runs from a schedule (scheduled runs, backfills) with their task instances."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradewind.dag.schedules import RunInfo
from tradewind.models.states import DagRunState, DagRunType
from tradewind.scheduler.specs import DagSpec, TaskSpec
from tradewind.store import Store
from tradewind.timeutil import isoformat


def run_id_for(run_type: DagRunType, logical_date: datetime) -> str:
    """Airflow's run ids: ``scheduled__<iso date>``, ``backfill__<iso date>``."""
    return f"{run_type.value}__{isoformat(logical_date)}"


def task_instance_row(dag_id: str, run_id: str, task: TaskSpec) -> dict[str, Any]:
    """A new task instance (state none), as ``RunQueries.create_dag_run`` makes them."""
    return dict(
        dag_id=dag_id, run_id=run_id, task_id=task.task_id, state=None, try_number=0,
        max_tries=task.retries, pool=task.pool, pool_slots=task.pool_slots, queue=task.queue,
        priority_weight=task.priority_weight, operator=task.operator, hostname="", unixname="",
    )  # fmt: skip


def create_run(
    store: Store,
    spec: DagSpec,
    info: RunInfo,
    *,
    run_type: DagRunType,
    now: datetime,
    conf: dict[str, Any] | None = None,
) -> str | None:
    """Insert a queued run for ``info`` and its task instances; None if that date has a run."""
    if store.has_dag_run_at(spec.dag_id, info.logical_date):
        return None
    run_id = run_id_for(run_type, info.logical_date)
    values = dict(
        dag_id=spec.dag_id, run_id=run_id, execution_date=info.logical_date,
        data_interval_start=info.data_interval_start, data_interval_end=info.data_interval_end,
        state=DagRunState.QUEUED.value, run_type=run_type.value, external_trigger=False, conf=conf,
        queued_at=now,
    )  # fmt: skip
    rows = [
        task_instance_row(spec.dag_id, run_id, t)
        for t in spec.tasks.values()
        if t.exists_at(info.logical_date)
    ]
    store.insert_dag_run(values, rows)
    return run_id

"""Creating DAG runs from a schedule (scheduled runs, backfills) with their task instances."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradewind.dag.schedules import RunInfo
from tradewind.models.states import DagRunType
from tradewind.scheduler.specs import DagSpec
from tradewind.store import Store
from tradewind.store.runs import task_instance_row
from tradewind.timeutil import isoformat

__all__ = ["create_run", "run_id_for", "task_instance_row"]  # the scheduler adds instances of new tasks


def run_id_for(run_type: DagRunType, logical_date: datetime) -> str:
    """Airflow's run ids: ``scheduled__<iso date>``, ``backfill__<iso date>``."""
    return f"{run_type.value}__{isoformat(logical_date)}"


def create_run(
    store: Store,
    spec: DagSpec,
    info: RunInfo,
    *,
    run_type: DagRunType,
    now: datetime,
    conf: dict[str, Any] | None = None,
) -> str | None:
    """Insert a queued run for ``info`` and its task instances; None if that date (or run id) has a run.

    No look first: the insert itself does nothing on a duplicate (see ``Store.insert_dag_run``).
    """
    run_id = run_id_for(run_type, info.logical_date)
    created = store.insert_dag_run(
        spec.dag_id, spec.tasks.values(), run_id=run_id, execution_date=info.logical_date,
        data_interval=(info.data_interval_start, info.data_interval_end), run_type=run_type.value,
        now=now, conf=conf,
    )  # fmt: skip
    return None if created is None else run_id

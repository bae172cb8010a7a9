"""Pause and unpause a DAG, read whether it is paused, delete its records, read its code."""

from __future__ import annotations

from datetime import datetime

from tradewind.actions.common import record_event, require_dag
from tradewind.errors import Conflict, NotFound
from tradewind.store import Store
from tradewind.values import DagSource, DeleteResult, PauseState


def set_paused(
    store: Store, dag_id: str, *, is_paused: bool, now: datetime, owner: str | None = None
) -> PauseState:
    """Pause (no new runs or tasks start) or unpause a DAG."""
    require_dag(store, dag_id)
    store.set_paused(dag_id, is_paused)
    record_event(store, "pause" if is_paused else "unpause", now=now, owner=owner, dag_id=dag_id)
    return PauseState(dag_id, is_paused)


def paused_state(store: Store, dag_id: str) -> PauseState:
    return PauseState(dag_id, require_dag(store, dag_id).is_paused)


def delete_dag(store: Store, dag_id: str, *, now: datetime, owner: str | None = None) -> DeleteResult:
    """Remove a DAG's rows (runs, task instances, XComs, tags, code, import errors).

    Refused with Conflict while any of its task instances runs. A DAG whose file is still in
    the folder comes back at the next parse, as in Airflow.
    """
    require_dag(store, dag_id, suffix="")
    running = store.running_task_instances(dag_id)
    if running:
        raise Conflict(f"Dag {dag_id} has {running} running task instance(s); it cannot be deleted now")
    count = store.delete_dag_records(dag_id)
    record_event(store, "delete_dag", now=now, owner=owner, dag_id=dag_id, extra={"count": count})
    return DeleteResult(dag_id, count)


def dag_code(store: Store, dag_id: str) -> DagSource:
    """The source of the file that defines the DAG, as last parsed."""
    dag = require_dag(store, dag_id)
    source = store.code(dag.fileloc)
    if source is None:
        raise NotFound(f"Code of dag {dag_id} not found")
    return DagSource(dag_id, source)

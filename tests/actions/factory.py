"""Test data without the DAG loader: DAG rows, serialized DAGs, runs and task instances."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from tradewind.models import DagCode, DagModel, Job, SerializedDagModel, TaskInstance
from tradewind.store import Database

NOW = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
FILELOC = "/dags/example.py"
SOURCE = "from tradewind import DAG\n# <b>example</b>\n"


def task(
    task_id: str,
    *,
    upstream: tuple[str, ...] = (),
    downstream: tuple[str, ...] = (),
    weight: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """A serialized task with the attributes GET …/tasks/<task_id> returns."""
    data: dict[str, Any] = {
        "task_id": task_id,
        "operator": "BashOperator",
        "upstream_task_ids": list(upstream),
        "downstream_task_ids": list(downstream),
        "trigger_rule": "all_success",
        "retries": 1,
        "retry_delay": 300.0,
        "pool": "default_pool",
        "pool_slots": 1,
        "priority_weight": 1,
        "effective_priority_weight": weight,
        "queue": "default",
        "start_date": None,
        "end_date": None,
        "inlets": [],
        "outlets": [],
    }
    data.update(extra)
    data["attrs"] = {
        "task_id": task_id,
        "owner": "airflow",
        "operator": data["operator"],
        "start_date": str(data["start_date"]),
        "retries": str(data["retries"]),
        "retry_delay": "0:05:00",
        "trigger_rule": "all_success",
        "pool": data["pool"],
        "priority_weight": "1",
        "bash_command": f"echo {task_id}",
        "upstream_task_ids": str(set(upstream) or set()),
        "downstream_task_ids": str(set(downstream) or set()),
    }
    return data


def chain_tasks() -> list[dict[str, Any]]:
    """extract >> transform >> load: effective weights 3, 2, 1."""
    return [
        task("extract", downstream=("transform",), weight=3),
        task("transform", upstream=("extract",), downstream=("load",), weight=2),
        task("load", upstream=("transform",), weight=1, outlets=[{"uri": "s3://bucket/out"}]),
    ]


def serialized(dag_id: str, tasks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "dag_id": dag_id,
        "description": None,
        "fileloc": FILELOC,
        "schedule": None,
        "timezone": "UTC",
        "start_date": "2024-01-01T00:00:00+00:00",
        "end_date": None,
        "catchup": False,
        "max_active_runs": 16,
        "max_active_tasks": 16,
        "params": {},
        "tags": [],
        "owners": "airflow",
        "is_paused_upon_creation": None,
        "doc_md": None,
        "dagrun_timeout": None,
        "tasks": chain_tasks() if tasks is None else tasks,
    }
    data.update(extra)
    return data


def add_dag(
    db: Database, dag_id: str = "example", *, paused: bool = False, source: str | None = SOURCE, **extra: Any
) -> dict[str, Any]:
    data = serialized(dag_id, **extra)
    with db.transaction() as store:
        store.session.add(
            DagModel(
                dag_id=dag_id,
                is_paused=paused,
                fileloc=data["fileloc"],
                schedule=data["schedule"],
                owners="airflow",
            )
        )
        store.session.flush()
        store.session.add(SerializedDagModel(dag_id=dag_id, data=data, dag_hash="x", last_updated=NOW))
        if source is not None and store.code(data["fileloc"]) is None:
            store.session.add(
                DagCode(fileloc=data["fileloc"], source_code=source, source_hash="h", last_updated=NOW)
            )
    return data


def add_run(
    db: Database, dag_id: str, when: datetime, *, run_id: str | None = None, state: str = "queued"
) -> str:
    from tradewind.models.states import DagRunState

    run_id = run_id or f"scheduled__{when.isoformat()}"
    with db.transaction() as store:
        data = store.serialized_dag(dag_id)
        assert data is not None
        store.create_dag_run(
            data, run_id=run_id, execution_date=when, run_type="scheduled", now=when, state=DagRunState(state)
        )
    return run_id


def set_ti_state(
    db: Database, dag_id: str, run_id: str, task_id: str, state: str | None, **values: Any
) -> None:
    with db.transaction() as store:
        store.session.execute(
            update(TaskInstance)
            .where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id
            )
            .values(state=state, **values)
        )


def add_scheduler_heartbeat(db: Database, when: datetime) -> None:
    with db.transaction() as store:
        store.session.add(
            Job(
                job_type="SchedulerJob", state="running", hostname="h", start_date=when, latest_heartbeat=when
            )
        )

"""Queries on DAG runs, task instances and XComs shared by the API and the scheduler."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.models import DagRun, TaskInstance
from tradewind.models.pools import DEFAULT_POOL
from tradewind.models.states import DagRunState


class RunQueries:
    session: Session

    def create_dag_run(
        self,
        dag: dict[str, Any],
        *,
        run_id: str,
        execution_date: datetime,
        run_type: str,
        now: datetime,
        conf: dict[str, Any] | None = None,
        external_trigger: bool = False,
        data_interval: tuple[datetime, datetime] | None = None,
        state: DagRunState = DagRunState.QUEUED,
    ) -> DagRun:
        """Insert a run and a task instance (state none) for each task that exists at that date.

        As in Airflow, a task whose start_date is after the run's date, or whose end_date is
        before it, gets no instance. The unique constraints on (dag_id, run_id) and
        (dag_id, execution_date) are the final guard against duplicates: the flush raises
        IntegrityError, which callers turn into DagRunAlreadyExists.
        """
        start, end = data_interval or (execution_date, execution_date)
        run = DagRun(
            dag_id=dag["dag_id"],
            run_id=run_id,
            execution_date=execution_date,
            data_interval_start=start,
            data_interval_end=end,
            state=state.value,
            run_type=run_type,
            external_trigger=external_trigger,
            conf=conf,
            queued_at=now,
            start_date=now if state == DagRunState.RUNNING else None,
        )
        self.session.add(run)
        self.session.flush()
        self.session.add_all(
            _task_instance(dag["dag_id"], run_id, task)
            for task in dag["tasks"]
            if _exists_at(task, execution_date)
        )
        self.session.flush()
        return run

    def find_dag_run(
        self, dag_id: str, *, run_id: str | None = None, execution_date: datetime | None = None
    ) -> DagRun | None:
        query = select(DagRun).where(DagRun.dag_id == dag_id)
        if run_id is not None:
            query = query.where(DagRun.run_id == run_id)
        if execution_date is not None:
            query = query.where(DagRun.execution_date == execution_date)
        return self.session.scalars(query.limit(1)).first()

    def task_instances(self, dag_id: str, run_id: str) -> Sequence[TaskInstance]:
        query = select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        return self.session.scalars(query.order_by(TaskInstance.task_id)).all()

    def find_task_instance(self, dag_id: str, run_id: str, task_id: str) -> TaskInstance | None:
        return self.session.get(TaskInstance, (dag_id, run_id, task_id))


def _exists_at(task: dict[str, Any], when: datetime) -> bool:
    start, end = task.get("start_date"), task.get("end_date")
    if start and datetime.fromisoformat(start) > when:
        return False
    return not (end and datetime.fromisoformat(end) < when)


def _task_instance(dag_id: str, run_id: str, task: dict[str, Any]) -> TaskInstance:
    return TaskInstance(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task["task_id"],
        state=None,
        try_number=0,
        max_tries=int(task.get("retries") or 0),
        pool=task.get("pool") or DEFAULT_POOL,
        pool_slots=int(task.get("pool_slots") or 1),
        queue=task.get("queue") or "default",
        priority_weight=int(task.get("effective_priority_weight") or task.get("priority_weight") or 1),
        operator=task.get("operator"),
        hostname="",
        unixname="",
    )

"""Queries on DAG runs, task instances and XComs shared by the API and the scheduler."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradewind.models import (
    DagCode,
    DagModel,
    DagRun,
    DagTag,
    ImportErrorRecord,
    Job,
    SerializedDagModel,
    TaskInstance,
    XCom,
)
from tradewind.models.pools import DEFAULT_POOL
from tradewind.models.states import DagRunState, TaskState

SCHEDULER_JOB = "SchedulerJob"
RUN_LISTING_COLUMNS = (
    DagRun.id,
    DagRun.dag_id,
    DagRun.run_id,
    DagRun.state,
    DagRun.execution_date,
    DagRun.start_date,
    DagRun.end_date,
    DagRun.run_type,
    DagRun.external_trigger,
    DagRun.conf,
)


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

    def try_create_dag_run(self, dag: dict[str, Any], **values: Any) -> DagRun | None:
        """:meth:`create_dag_run` in a savepoint: None when a unique or foreign key constraint refuses it.

        The caller then looks up why (a run with that id or date, or the DAG deleted meanwhile);
        the transaction stays usable.
        """
        try:
            with self.session.begin_nested():
                run: DagRun = self.create_dag_run(dag, **values)
        except IntegrityError:
            return None
        return run

    def dag_runs(
        self,
        dag_id: str,
        *,
        state: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Sequence[Row[Any]]:
        """A DAG's runs by execution_date ascending, optionally filtered and paged.

        Plain rows of :data:`RUN_LISTING_COLUMNS`, not ORM objects: listing is a hot path.
        """
        query = select(*RUN_LISTING_COLUMNS).where(DagRun.dag_id == dag_id)
        if state is not None:
            query = query.where(DagRun.state == state)
        if start is not None:
            query = query.where(DagRun.execution_date >= start)
        if end is not None:
            query = query.where(DagRun.execution_date <= end)
        query = query.order_by(DagRun.execution_date).offset(offset or None).limit(limit)
        return self.session.execute(query).all()

    def latest_dag_runs(self) -> Sequence[DagRun]:
        """For each DAG that has runs, its run with the newest execution_date."""
        newest = (
            select(DagRun.dag_id, func.max(DagRun.execution_date).label("newest"))
            .group_by(DagRun.dag_id)
            .subquery()
        )
        on = (DagRun.dag_id == newest.c.dag_id) & (DagRun.execution_date == newest.c.newest)
        return self.session.scalars(select(DagRun).join(newest, on).order_by(DagRun.dag_id)).all()

    def running_task_instances(self, dag_id: str) -> int:
        """How many of a DAG's task instances run; locks them on PostgreSQL until the transaction ends."""
        query = (
            select(TaskInstance.task_id)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.state == TaskState.RUNNING.value)
            .with_for_update()
        )
        return len(self.session.scalars(query).all())

    def delete_dag_records(self, dag_id: str) -> int:
        """Delete a DAG's rows and what hangs off them; return how many rows went.

        The file's source and import errors go too, unless another DAG comes from the same file.
        """
        dag = self.session.get(DagModel, dag_id)
        fileloc = dag.fileloc if dag else None
        count = 0
        for model in (XCom, TaskInstance, DagRun, DagTag, SerializedDagModel, DagModel):
            count += self._delete_rows(delete(model).where(model.dag_id == dag_id))
        if fileloc is not None and not self._file_has_dags(fileloc):
            count += self._delete_rows(delete(DagCode).where(DagCode.fileloc == fileloc))
            count += self._delete_rows(delete(ImportErrorRecord).where(ImportErrorRecord.filename == fileloc))
        return count

    def _file_has_dags(self, fileloc: str) -> bool:
        query = select(DagModel.dag_id).where(DagModel.fileloc == fileloc).limit(1)
        return self.session.scalars(query).first() is not None

    def _delete_rows(self, statement: Any) -> int:
        result = self.session.execute(statement.execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)

    def latest_heartbeat(self, job_type: str = SCHEDULER_JOB) -> datetime | None:
        """The newest heartbeat of any job of this type (the scheduler by default)."""
        newest: datetime | None = self.session.scalar(
            select(func.max(Job.latest_heartbeat)).where(Job.job_type == job_type)
        )
        return newest


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

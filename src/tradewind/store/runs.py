"""Queries on DAG runs, task instances and XComs shared by the API and the scheduler."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Connection,
    Insert,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from tradewind.errors import DagRunAlreadyExists
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
from tradewind.models.states import DagRunState, TaskState
from tradewind.timeutil import isoformat
from tradewind.values import RunRow

if TYPE_CHECKING:  # the store does not import the scheduler (nor the DAG package it loads)
    from tradewind.scheduler.specs import TaskSpec

SCHEDULER_JOB = "SchedulerJob"
_RUN = cast(Table, DagRun.__table__)
_TI = cast(Table, TaskInstance.__table__)
#: What a listing reads of each run: :data:`~tradewind.values.RunRow` without the dag_id (the
#: listing is of one DAG), and as the driver returns it: :func:`_listing_rows` converts it in
#: one loop, for a third of what the column types' result processors cost (a hot path).
_LISTING_COLUMNS = tuple(
    type_coerce(c, NullType()).label(c.key)
    for c in (
        _RUN.c.id, _RUN.c.run_id, _RUN.c.state, _RUN.c.execution_date, _RUN.c.start_date, _RUN.c.end_date,
        _RUN.c.run_type, _RUN.c.external_trigger, _RUN.c.conf,
    )
)  # fmt: skip


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
    ) -> int:
        """:meth:`insert_dag_run` from a serialized DAG, for tests and benchmarks: the new run's id.

        A run with that run_id or execution_date raises DagRunAlreadyExists.
        """
        from tradewind.scheduler.specs import task_specs  # here: the store alone never loads the DAG package

        new_id = self.insert_dag_run(
            dag["dag_id"], task_specs(dag), run_id=run_id, execution_date=execution_date, run_type=run_type,
            now=now, conf=conf, external_trigger=external_trigger, data_interval=data_interval, state=state,
        )  # fmt: skip
        if new_id is None:
            raise DagRunAlreadyExists(
                f"A DAG Run already exists for DAG {dag['dag_id']} with run id {run_id} "
                f"or at {isoformat(execution_date)}"
            )
        return new_id

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

    def insert_dag_run(
        self,
        dag_id: str,
        tasks: Iterable[TaskSpec],
        *,
        run_id: str,
        execution_date: datetime,
        run_type: str,
        now: datetime,
        conf: dict[str, Any] | None = None,
        external_trigger: bool = False,
        data_interval: tuple[datetime, datetime] | None = None,
        state: DagRunState = DagRunState.QUEUED,
    ) -> int | None:
        """Insert a run and an instance (state none) of each task that exists at its date.

        The one way runs are made (API trigger, scheduler, backfill, tests), so every run gets
        the same columns and the same instances (:func:`task_instance_row`, and
        ``TaskSpec.exists_at``: Airflow's rule on a task's start_date and end_date). Returns the
        new run's id, or None when the DAG has a run with that run_id or execution_date.

        Two statements, no ORM objects: ``INSERT … ON CONFLICT DO NOTHING RETURNING id``, then one
        executemany. A duplicate costs no savepoint and no exception, and the transaction stays
        usable (on PostgreSQL a racing insert of the same key waits for the other transaction,
        then does nothing). A missing DAG row still raises IntegrityError (foreign key), which
        leaves a PostgreSQL transaction unusable: let it end.
        """
        start, end = data_interval or (execution_date, execution_date)
        values = dict(
            dag_id=dag_id, run_id=run_id, execution_date=execution_date, data_interval_start=start,
            data_interval_end=end, state=state.value, run_type=run_type, external_trigger=external_trigger,
            conf=conf, queued_at=now, start_date=now if state == DagRunState.RUNNING else None,
        )  # fmt: skip
        self.session.flush()  # pending ORM rows first, as Session.execute would (the DAG row, in tests)
        connection = self.session.connection()
        new_id: int | None = connection.execute(_new_run_statement(connection.dialect.name), values).scalar()
        if new_id is not None:
            rows = [task_instance_row(dag_id, run_id, t) for t in tasks if t.exists_at(execution_date)]
            if rows:
                connection.execute(_INSERT_TI, rows)  # one executemany
        return new_id

    def connection(self) -> Connection:
        """The connection for Core statements (:class:`~tradewind.store.Store` may hold its own)."""
        return self.session.connection()

    def dag_runs(
        self,
        dag_id: str,
        *,
        state: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RunRow]:
        """A DAG's runs by execution_date ascending, optionally filtered and paged.

        Rows, not ORM objects (listing is a hot path): dates as their ISO text in UTC,
        ``conf`` a dict or None. Core only: on a :meth:`Database.read` store, no Session.
        """
        filters = dict(state=state, start=start, end=end, limit=limit, offset=offset or None)
        given = tuple(value is not None for value in filters.values())
        params = {name: value for name, value in filters.items() if value is not None}
        params["dag_id"] = dag_id
        connection = self.connection()
        if connection.dialect.driver == "pysqlite" and start is None and end is None:
            # No parameter needs a type's conversion: straight to the driver, which spares
            # Connection.execute's own work per statement (a sixth of a 100-run listing's
            # database time; echo does not log it).
            sql, names, fixed = _driver_listing(connection.dialect, *given)
            values = fixed | params
            driver = connection.connection.driver_connection
            rows = driver.execute(sql, [values[name] for name in names]).fetchall()  # type: ignore[union-attr]
        else:
            rows = connection.execute(_listing_query(*given), params).fetchall()
        return _listing_rows(dag_id, rows)

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


_INSERT_TI = insert(_TI)


@cache
def _new_run_statement(dialect: str) -> Insert:
    """``INSERT INTO dag_run … ON CONFLICT DO NOTHING RETURNING id``, built once per dialect.

    The dialect's module is imported here, not at the top: the PostgreSQL one alone costs a
    SQLite webserver 4 MiB.
    """
    statement: Insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        statement = postgresql_insert(_RUN).on_conflict_do_nothing()
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(_RUN).on_conflict_do_nothing()
    else:
        raise NotImplementedError(f"no INSERT … ON CONFLICT for {dialect}")
    return statement.returning(_RUN.c.id)


@cache
def _listing_query(
    state: bool, start: bool, end: bool, limit: bool, offset: bool
) -> Select[*tuple[Any, ...]]:
    """The listing statement for the filters given, built once (building costs more than running it)."""
    query = select(*_LISTING_COLUMNS).where(_RUN.c.dag_id == bindparam("dag_id"))
    if state:
        query = query.where(_RUN.c.state == bindparam("state"))
    if start:
        query = query.where(_RUN.c.execution_date >= bindparam("start"))
    if end:
        query = query.where(_RUN.c.execution_date <= bindparam("end"))
    query = query.order_by(_RUN.c.execution_date)
    if limit:
        query = query.limit(bindparam("limit"))
    return query.offset(bindparam("offset")) if offset else query


@cache
def _driver_listing(dialect: Dialect, *given: bool) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """The listing's SQL for this dialect, its parameters' names in order, and the values of those
    the statement fixes itself (SQLite's ``LIMIT -1`` for an offset without a limit)."""
    compiled = _listing_query(*given).compile(dialect=dialect)
    fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    return compiled.string, tuple(compiled.positiontup or ()), fixed


def _listing_rows(dag_id: str, rows: Iterable[Sequence[Any]]) -> list[RunRow]:
    """:data:`RunRow` values from what the driver gives, in one loop (no per-value processor calls)."""
    iso, json_value = _iso_text, _json_value
    return [
        (
            id, dag_id, run_id, state, iso(date), None if start is None else iso(start),
            None if end is None else iso(end), run_type, bool(external),
            None if conf is None or conf == "null" else json_value(conf),
        )
        for id, run_id, state, date, start, end, run_type, external, conf in rows
    ]  # fmt: skip


def _iso_text(value: datetime | str) -> str:
    """``isoformat(_utc(value))``; for the text ``UtcDateTime`` writes to SQLite, by slicing it.

    SQLite holds ``YYYY-MM-DD HH:MM:SS.ffffff``, naive UTC: swapping the space for ``T``,
    dropping zero microseconds and adding ``+00:00`` is 4x cheaper than parsing and formatting.
    """
    if value.__class__ is str and len(value) == 26 and value[10] == " " and value[19] == ".":
        if value.endswith(".000000"):
            return f"{value[:10]}T{value[11:19]}+00:00"
        return f"{value[:10]}T{value[11:]}+00:00"
    return isoformat(cast(datetime, _utc(value)))


def _utc(value: datetime | str | None) -> datetime | None:
    """What ``UtcDateTime`` returns, from what the driver gives (SQLite: naive UTC text)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:  # parsing with the offset is 6x faster than datetime.replace(tzinfo=UTC)
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_value(value: Any) -> Any:
    """What the JSON type returns: SQLite gives the text (``null`` for None), psycopg decodes it."""
    if isinstance(value, str | bytes):
        return None if value == "null" else json.loads(value)
    return value


def task_instance_row(dag_id: str, run_id: str, task: TaskSpec) -> dict[str, Any]:
    """A new task instance (state none): of a new run, or of a task added to a DAG with running runs."""
    return dict(
        dag_id=dag_id, run_id=run_id, task_id=task.task_id, state=None, try_number=0,
        max_tries=task.retries, pool=task.pool, pool_slots=task.pool_slots, queue=task.queue,
        priority_weight=task.priority_weight, operator=task.operator, hostname="", unixname="",
    )  # fmt: skip

"""Queries used by the scheduler: runs to start, batched state writes, jobs and heartbeats.

Hot paths use SQLAlchemy Core statements on the mapped tables (no ORM identity map, no
per-row SELECTs): state changes are written as ``UPDATE … WHERE task_id IN (…)`` per group
of identical values, or as one executemany.

Row locks let several schedulers share one PostgreSQL database (SQLite ignores them: its
write transactions are serialized by ``BEGIN IMMEDIATE``, and only one scheduler runs on it):

* a DAG run belongs to one scheduler job (``dag_run.scheduler_job_id``); runs that are
  unowned, or owned by a job that is no longer ``running``, are *claimable*, and they are
  claimed with ``FOR NO KEY UPDATE SKIP LOCKED`` so two schedulers never take the same one;
* creating scheduled runs and starting queued ones lock the ``dag`` row (``SKIP LOCKED``:
  a DAG another scheduler is working on waits for the next pass), which makes the
  ``max_active_runs`` count race-free (a date that has a run is skipped by the insert
  itself: ``INSERT … ON CONFLICT DO NOTHING``);
* queueing task instances locks every ``slot_pool`` row (``FOR NO KEY UPDATE``, blocking,
  in id order) and counts the slots in use from ``task_instance``: the critical section
  that keeps pools and ``max_active_tasks`` within their limits across schedulers.

``NO KEY UPDATE`` rather than ``UPDATE``: the rows stay lockable by the foreign-key checks
of inserts (a triggered run referencing its ``dag`` row) without waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, insert, or_, select, true, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from tradewind.models import DagModel, DagRun, Job, Pool, SerializedDagModel, TaskInstance, XCom
from tradewind.models.states import ACTIVE_TASK_STATES, DagRunState, DagRunType, TaskState

TI = cast(Table, TaskInstance.__table__)
RUN = cast(Table, DagRun.__table__)
DAG = cast(Table, DagModel.__table__)
SER = cast(Table, SerializedDagModel.__table__)
JOB = cast(Table, Job.__table__)
XCOM = cast(Table, XCom.__table__)
POOL = cast(Table, Pool.__table__)

#: Result rows (attribute access by column name); SQLAlchemy's typed Row is too narrow here.
Rows = Sequence[Any]

_IN_CHUNK = 500
_ACTIVE = [s.value for s in ACTIVE_TASK_STATES]
_UNFINISHED_RUNS = [DagRunState.QUEUED.value, DagRunState.RUNNING.value]

_RUNNING_JOB = "running"

_OTHER_RUN = RUN.alias("running_run")  # built once: an alias's columns cost ~0.2 ms to set up

_MAY_START = and_(
    DAG.c.is_active.is_(True),
    or_(DAG.c.is_paused.is_(False), RUN.c.run_type == DagRunType.BACKFILL.value),
)

#: Columns of task_instance the scheduler keeps in memory.
TI_COLUMNS = (
    TI.c.dag_id, TI.c.run_id, TI.c.task_id, TI.c.state, TI.c.try_number, TI.c.max_tries,
    TI.c.pool, TI.c.pool_slots, TI.c.priority_weight, TI.c.queue, TI.c.start_date,
    TI.c.next_retry_at, TI.c.queued_by_job_id,
)  # fmt: skip

RUN_COLUMNS = (
    RUN.c.id, RUN.c.dag_id, RUN.c.run_id, RUN.c.execution_date, RUN.c.data_interval_start,
    RUN.c.data_interval_end, RUN.c.state, RUN.c.run_type, RUN.c.external_trigger, RUN.c.conf,
    RUN.c.start_date, RUN.c.queued_at,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunScope:
    """The only runs a scheduler may start or adopt: these run ids of one DAG (a backfill's own).

    A scheduler with a scope creates no scheduled runs either: it works for one command.
    """

    dag_id: str
    run_ids: frozenset[str]

    def clause(self) -> ColumnElement[bool]:
        return and_(RUN.c.dag_id == self.dag_id, RUN.c.run_id.in_(sorted(self.run_ids)))


class SchedulerQueries:
    session: Session

    # -- jobs -----------------------------------------------------------------------------

    def add_job(self, job_type: str, *, hostname: str, pid: int, now: datetime) -> int:
        values = dict(job_type=job_type, state="running", hostname=hostname, pid=pid, start_date=now,
                      latest_heartbeat=now)  # fmt: skip
        result = self.session.execute(insert(JOB).values(**values).returning(JOB.c.id))
        return int(result.scalar_one())

    def heartbeat_job(self, job_id: int, now: datetime) -> bool:
        """Record a heartbeat; False if the job is no longer ``running`` (a peer declared it dead)."""
        alive = and_(JOB.c.id == job_id, JOB.c.state == _RUNNING_JOB)
        result = self.session.execute(update(JOB).where(alive).values(latest_heartbeat=now))
        return _rowcount(result) > 0

    def end_dead_jobs(
        self, expired: Iterable[int], gone: Iterable[int], *, expired_before: datetime, now: datetime
    ) -> list[int]:
        """Mark jobs failed: ``expired`` ones only if their heartbeat is still older than
        ``expired_before`` (so a heartbeat that raced in keeps the job alive), ``gone`` ones
        (their process is known to be dead) unconditionally. Returns the ids this call ended:
        of two schedulers reaping the same job, exactly one gets it back."""
        expired, gone = list(expired), list(gone)
        if not expired and not gone:
            return []
        dead = or_(and_(JOB.c.id.in_(expired), JOB.c.latest_heartbeat < expired_before), JOB.c.id.in_(gone))
        stmt = (
            update(JOB)
            .where(JOB.c.state == _RUNNING_JOB, dead)
            .values(state="failed", end_date=now)
            .returning(JOB.c.id)
        )
        return sorted(int(job_id) for job_id in self.session.scalars(stmt))

    def live_jobs(self, job_type: str | None, *, since: datetime, hostname: str | None = None) -> Rows:
        """``running`` jobs (of ``job_type`` unless None) that heartbeated at or after ``since``, newest first."""
        query = select(JOB.c.id, JOB.c.job_type, JOB.c.hostname, JOB.c.pid, JOB.c.start_date,
                       JOB.c.latest_heartbeat)  # fmt: skip
        query = query.where(JOB.c.state == _RUNNING_JOB, JOB.c.latest_heartbeat >= since)
        if job_type is not None:
            query = query.where(JOB.c.job_type == job_type)
        if hostname is not None:
            query = query.where(JOB.c.hostname == hostname)
        return self.session.execute(query.order_by(JOB.c.latest_heartbeat.desc(), JOB.c.id)).all()

    def end_jobs(self, job_ids: Iterable[int], *, state: str, now: datetime) -> None:
        ids = list(job_ids)
        if ids:
            self.session.execute(update(JOB).where(JOB.c.id.in_(ids)).values(state=state, end_date=now))

    def running_jobs(self, job_type: str) -> Rows:
        query = select(JOB.c.id, JOB.c.hostname, JOB.c.pid, JOB.c.latest_heartbeat)
        return self.session.execute(query.where(JOB.c.job_type == job_type, JOB.c.state == "running")).all()

    def orphaned_task_instances(self, job_type: str, *, finished_runs_only: bool = False) -> Rows:
        """Queued or running instances queued by a ``job_type`` job that is no longer ``running``.

        With ``finished_runs_only``, only those whose run is no longer queued or running (the
        others are adopted by the run's next owner).
        """
        owners = select(JOB.c.id).where(JOB.c.job_type == job_type, JOB.c.state != _RUNNING_JOB)
        query = select(*TI_COLUMNS).where(TI.c.state.in_(_ACTIVE), TI.c.queued_by_job_id.in_(owners))
        if finished_runs_only:
            unfinished = select(RUN.c.id).where(
                RUN.c.dag_id == TI.c.dag_id, RUN.c.run_id == TI.c.run_id, RUN.c.state.in_(_UNFINISHED_RUNS)
            )
            query = query.where(~unfinished.exists())
        return self.session.execute(query).all()

    def adopt_task_instances(self, dag_id: str, run_id: str, job_id: int) -> Rows:
        """Make ``job_id`` the owner of the run's queued and running instances whose owner is gone.

        Gone: the ``queued_by_job_id`` job is no longer ``running`` (dead or stopped). Returns
        ``(task_id, try_number, max_tries)`` of the instances taken over.
        """
        owner = TI.c.queued_by_job_id
        live_owner = select(JOB.c.id).where(JOB.c.id == owner, JOB.c.state == _RUNNING_JOB).exists()
        where = and_(
            TI.c.dag_id == dag_id, TI.c.run_id == run_id, TI.c.state.in_(_ACTIVE),
            owner.is_not(None), owner != job_id, ~live_owner,
        )  # fmt: skip
        stmt = (
            update(TI)
            .where(where)
            .values(queued_by_job_id=job_id)
            .returning(TI.c.task_id, TI.c.try_number, TI.c.max_tries)
        )
        return self.session.execute(stmt).all()

    def stale_running_task_instances(self, job_id: int, *, beat_before: datetime) -> Rows:
        """Running instances of ``job_id`` whose last heartbeat (or start) is older than ``beat_before``."""
        beat = func.coalesce(TI.c.last_heartbeat_at, TI.c.start_date)
        where = and_(
            TI.c.queued_by_job_id == job_id, TI.c.state == TaskState.RUNNING.value, beat < beat_before
        )
        return self.session.execute(select(*TI_COLUMNS).where(where)).all()

    def stuck_queued_task_instances(self, job_id: int, *, queued_before: datetime) -> Rows:
        """Instances ``job_id`` queued before ``queued_before`` that no worker has claimed yet."""
        where = and_(
            TI.c.queued_by_job_id == job_id,
            TI.c.state == TaskState.QUEUED.value,
            TI.c.queued_dttm < queued_before,
        )
        return self.session.execute(select(*TI_COLUMNS).where(where)).all()

    def reset_task_instance(self, row: Any, values: Mapping[str, Any]) -> bool:
        """Give one instance ``values`` if it is still as ``row`` saw it (state, try, owner).

        Fenced so that resetting the work of a dead job twice (two schedulers reaping at
        once) or after it was queued again changes nothing. Returns whether it changed.
        """
        owner = TI.c.queued_by_job_id
        where = and_(
            TI.c.dag_id == row.dag_id, TI.c.run_id == row.run_id, TI.c.task_id == row.task_id,
            TI.c.state == row.state, TI.c.try_number == row.try_number,
            owner.is_(None) if row.queued_by_job_id is None else owner == row.queued_by_job_id,
        )  # fmt: skip
        return _rowcount(self.session.execute(update(TI).where(where).values(**values))) > 0

    def task_instances_of_jobs(self, job_ids: Iterable[int]) -> Rows:
        """Queued or running instances queued by one of ``job_ids``."""
        owned = TI.c.queued_by_job_id.in_(list(job_ids))
        return self.session.execute(select(*TI_COLUMNS).where(TI.c.state.in_(_ACTIVE), owned)).all()

    def heartbeat_task_instances(self, job_id: int, now: datetime) -> None:
        running = and_(TI.c.queued_by_job_id == job_id, TI.c.state == TaskState.RUNNING.value)
        self.session.execute(update(TI).where(running).values(last_heartbeat_at=now))

    # -- DAGs and pools ---------------------------------------------------------------------

    def schedulable_dags(self) -> Rows:
        """Active, unpaused DAGs with a schedule, with their serialized hash, each row locked.

        PostgreSQL: ``dag`` rows another scheduler holds are skipped (it is creating their
        runs); the lock lasts until the transaction ends, so create runs in it.
        """
        query = (
            select(DAG.c.dag_id, DAG.c.max_active_runs, SER.c.dag_hash)
            .join(SER, SER.c.dag_id == DAG.c.dag_id)
            .where(DAG.c.is_active.is_(True), DAG.c.is_paused.is_(False), DAG.c.schedule.is_not(None))
            .order_by(DAG.c.dag_id)
            .with_for_update(of=DAG, skip_locked=True, key_share=True)
        )
        return self.session.execute(query).all()

    def lock_dags(self, dag_ids: Iterable[str]) -> set[str]:
        """Lock these ``dag`` rows, skipping those another transaction holds; the ids locked."""
        ids = sorted(set(dag_ids))
        if not ids:
            return set()
        query = (
            select(DAG.c.dag_id)
            .where(DAG.c.dag_id.in_(ids))
            .order_by(DAG.c.dag_id)
            .with_for_update(skip_locked=True, key_share=True)
        )
        return set(self.session.scalars(query))

    def dag_hashes(self, dag_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dag_ids)
        rows = self.session.execute(select(SER.c.dag_id, SER.c.dag_hash).where(SER.c.dag_id.in_(ids)))
        return {row.dag_id: row.dag_hash for row in rows}

    def serialized_with_hash(self, dag_id: str) -> tuple[str, dict[str, Any]] | None:
        row = self.session.execute(select(SER.c.dag_hash, SER.c.data).where(SER.c.dag_id == dag_id)).first()
        return (row.dag_hash, row.data) if row else None

    def set_next_dagrun(
        self, dag_id: str, logical_date: datetime | None, interval: tuple[datetime, datetime] | None
    ) -> None:
        start, end = interval or (None, None)
        values = dict(next_dagrun=logical_date, next_dagrun_data_interval_start=start,
                      next_dagrun_data_interval_end=end)  # fmt: skip
        self.session.execute(update(DAG).where(DAG.c.dag_id == dag_id).values(**values))

    def pool_sizes(self) -> dict[str, int]:
        return {row.pool: row.slots for row in self.session.execute(select(POOL.c.pool, POOL.c.slots))}

    def lock_pools(self) -> dict[str, int]:
        """Every pool's size, with every pool row locked (waiting for other holders), in id order.

        The queueing critical section: while a transaction holds these locks, no other
        scheduler can queue task instances, so slots counted by :meth:`active_slots` stay true.
        """
        query = select(POOL.c.pool, POOL.c.slots).order_by(POOL.c.id).with_for_update(key_share=True)
        return {row.pool: row.slots for row in self.session.execute(query)}

    def active_slots(self) -> Rows:
        """``(dag_id, pool, instances, slots)`` of the queued and running instances, all schedulers'."""
        query = (
            select(
                TI.c.dag_id,
                TI.c.pool,
                func.count().label("instances"),
                func.sum(TI.c.pool_slots).label("slots"),
            )
            .where(TI.c.state.in_(_ACTIVE))
            .group_by(TI.c.dag_id, TI.c.pool)
        )
        return self.session.execute(query).all()

    # -- DAG runs -------------------------------------------------------------------------

    def queued_dag_run_ids(
        self, job_id: int | None, limit: int = 100, scope: RunScope | None = None
    ) -> list[int]:
        """Cheap poll: queued runs ``job_id`` may start (uses the (state, queued_at) index)."""
        query = (
            select(RUN.c.id)
            .join(DAG, DAG.c.dag_id == RUN.c.dag_id)
            .where(RUN.c.state == DagRunState.QUEUED.value, _MAY_START, _claimable(job_id), _in_scope(scope))
            .order_by(RUN.c.queued_at, RUN.c.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def queued_dag_runs(self, job_id: int | None, limit: int = 100, scope: RunScope | None = None) -> Rows:
        """Queued runs ``job_id`` may start, oldest logical date first, each row locked.

        A run may start when its DAG is active and unpaused (a paused DAG's triggered runs
        wait) or it is a backfill (which runs anyway), and it is claimable: unowned, owned by
        ``job_id`` (cleared while it ran), or owned by a job that is no longer running; runs
        of DAGs already at ``max_active_runs`` are left out. PostgreSQL: runs another
        scheduler has locked are skipped.
        """
        running = (
            select(func.count())
            .where(_OTHER_RUN.c.dag_id == RUN.c.dag_id, _OTHER_RUN.c.state == DagRunState.RUNNING.value)
            .scalar_subquery()
        )
        query = (
            select(*RUN_COLUMNS, DAG.c.max_active_runs)
            .join(DAG, DAG.c.dag_id == RUN.c.dag_id)
            .where(RUN.c.state == DagRunState.QUEUED.value, _MAY_START, _claimable(job_id), _in_scope(scope))
            .where(running < DAG.c.max_active_runs)  # so runs of full DAGs do not crowd out the rest
            .order_by(RUN.c.execution_date, RUN.c.id)
            .limit(limit)
            .with_for_update(of=RUN, skip_locked=True, key_share=True)
        )
        return self.session.execute(query).all()

    def running_dag_runs(self, job_id: int | None) -> Rows:
        """Running runs owned by ``job_id``."""
        owned = RUN.c.scheduler_job_id.is_(None) if job_id is None else RUN.c.scheduler_job_id == job_id
        query = select(*RUN_COLUMNS).where(RUN.c.state == DagRunState.RUNNING.value, owned)
        return self.session.execute(query.order_by(RUN.c.execution_date, RUN.c.id)).all()

    def claim_orphaned_dag_runs(self, job_id: int, limit: int = 1000, scope: RunScope | None = None) -> Rows:
        """Take over running runs (within ``scope``) that are unowned or whose scheduler job is
        no longer running.

        PostgreSQL: runs another scheduler is claiming right now are skipped. Returns the
        claimed runs, now owned by ``job_id``.
        """
        orphaned = and_(_claimable(job_id), RUN.c.scheduler_job_id.is_distinct_from(job_id), _in_scope(scope))
        query = (
            select(*RUN_COLUMNS)
            .where(RUN.c.state == DagRunState.RUNNING.value, orphaned)
            .order_by(RUN.c.execution_date, RUN.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, key_share=True)
        )
        rows = self.session.execute(query).all()
        ids = [row.id for row in rows]
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            self.session.execute(update(RUN).where(RUN.c.id.in_(chunk)).values(scheduler_job_id=job_id))
        return rows

    def running_run_counts(self, dag_ids: Iterable[str]) -> dict[str, int]:
        """Running runs per DAG, whoever owns them."""
        ids = sorted(set(dag_ids))
        if not ids:
            return {}
        query = (
            select(RUN.c.dag_id, func.count())
            .where(RUN.c.state == DagRunState.RUNNING.value, RUN.c.dag_id.in_(ids))
            .group_by(RUN.c.dag_id)
        )
        return {dag_id: int(count) for dag_id, count in self.session.execute(query)}

    def active_run_counts(self) -> dict[str, int]:
        query = (
            select(RUN.c.dag_id, func.count()).where(RUN.c.state.in_(_UNFINISHED_RUNS)).group_by(RUN.c.dag_id)
        )
        return {dag_id: int(count) for dag_id, count in self.session.execute(query)}

    def last_scheduled_logical_date(self, dag_id: str) -> datetime | None:
        query = select(func.max(RUN.c.execution_date)).where(
            RUN.c.dag_id == dag_id, RUN.c.run_type == DagRunType.SCHEDULED.value
        )
        value = self.session.execute(query).scalar_one_or_none()
        return _as_aware(value)

    def start_dag_run(self, run_pk: int, *, now: datetime, job_id: int | None) -> None:
        values = dict(state=DagRunState.RUNNING.value, start_date=now, end_date=None, scheduler_job_id=job_id)
        self.session.execute(update(RUN).where(RUN.c.id == run_pk).values(**values))

    def finish_dag_run(self, run_pk: int, state: DagRunState, now: datetime) -> None:
        self.session.execute(update(RUN).where(RUN.c.id == run_pk).values(state=state.value, end_date=now))

    def previous_task_states(
        self, dag_id: str, logical_date: datetime, task_ids: Iterable[str]
    ) -> dict[str, TaskState] | None:
        """States in the run before ``logical_date`` (None if there is none), for depends_on_past."""
        prev = select(RUN.c.run_id).where(RUN.c.dag_id == dag_id, RUN.c.execution_date < logical_date)
        row = self.session.execute(prev.order_by(RUN.c.execution_date.desc()).limit(1)).first()
        if row is None:
            return None
        query = select(TI.c.task_id, TI.c.state).where(
            TI.c.dag_id == dag_id, TI.c.run_id == row.run_id, TI.c.task_id.in_(list(task_ids))
        )
        return {r.task_id: TaskState(r.state or TaskState.NONE) for r in self.session.execute(query)}

    # -- task instances -------------------------------------------------------------------

    def task_instance_rows(self, dag_id: str, run_id: str) -> Rows:
        query = select(*TI_COLUMNS).where(TI.c.dag_id == dag_id, TI.c.run_id == run_id)
        return self.session.execute(query).all()

    def insert_task_instances(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(TI), [dict(r) for r in rows])

    def update_task_instances(
        self, dag_id: str, run_id: str, task_ids: Sequence[str], values: Mapping[str, Any]
    ) -> None:
        """Give every listed instance of one run the same new values (one statement per chunk)."""
        for start in range(0, len(task_ids), _IN_CHUNK):
            chunk = list(task_ids[start : start + _IN_CHUNK])
            where = and_(TI.c.dag_id == dag_id, TI.c.run_id == run_id, TI.c.task_id.in_(chunk))
            self.session.execute(update(TI).where(where).values(**values))

    def update_task_instances_each(self, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        """Per-instance values, as one executemany; each row has dag_id, run_id, task_id and ``columns``."""
        if not rows:
            return
        where = and_(
            TI.c.dag_id == bindparam("k_dag_id"),
            TI.c.run_id == bindparam("k_run_id"),
            TI.c.task_id == bindparam("k_task_id"),
        )
        stmt = update(TI).where(where).values({c: bindparam(f"v_{c}") for c in columns})
        params = [
            {"k_dag_id": r["dag_id"], "k_run_id": r["run_id"], "k_task_id": r["task_id"]}
            | {f"v_{c}": r[c] for c in columns}
            for r in rows
        ]
        self.session.connection().execute(stmt, params)

    def finish_stray_attempt(
        self, dag_id: str, run_id: str, task_id: str, try_number: int, state: str, at: datetime
    ) -> None:
        """Record how an attempt ended, unless its instance has moved on (cleared, retried)."""
        where = and_(
            TI.c.dag_id == dag_id, TI.c.run_id == run_id, TI.c.task_id == task_id,
            TI.c.try_number == try_number, TI.c.state.in_(_ACTIVE),
        )  # fmt: skip
        self.session.execute(update(TI).where(where).values(state=state, end_date=at, updated_at=at))

    # -- XComs ----------------------------------------------------------------------------

    def delete_xcoms(self, dag_id: str, run_id: str, task_ids: Sequence[str]) -> None:
        for start in range(0, len(task_ids), _IN_CHUNK):
            chunk = list(task_ids[start : start + _IN_CHUNK])
            where = and_(XCOM.c.dag_id == dag_id, XCOM.c.run_id == run_id, XCOM.c.task_id.in_(chunk))
            self.session.execute(delete(XCOM).where(where))

    def insert_xcoms(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(XCOM), [dict(r) for r in rows])

    # -- clearing -------------------------------------------------------------------------

    def clear_task_instances(self, items: Sequence[tuple[str, str, str, int]], *, now: datetime) -> int:
        """Reset instances ``(dag_id, run_id, task_id, retries)`` to state none so they run again.

        Each one gets ``max_tries = try_number + retries`` (its retries are available again,
        as Airflow's clear does) and loses its XComs; their runs go back to queued, which
        tells a running scheduler to reload them.
        """
        groups: dict[tuple[str, str, int], list[str]] = {}
        for dag_id, run_id, task_id, retries in items:
            groups.setdefault((dag_id, run_id, retries), []).append(task_id)
        runs: set[tuple[str, str]] = set()
        for (dag_id, run_id, retries), task_ids in groups.items():
            self.delete_xcoms(dag_id, run_id, task_ids)
            values = dict(state=None, next_retry_at=None, end_date=None, updated_at=now,
                          max_tries=TI.c.try_number + retries)  # fmt: skip
            self.update_task_instances(dag_id, run_id, task_ids, values)
            runs.add((dag_id, run_id))
        for dag_id, run_id in runs:
            where = and_(RUN.c.dag_id == dag_id, RUN.c.run_id == run_id)
            queued = {"state": DagRunState.QUEUED.value, "queued_at": now, "end_date": None}
            self.session.execute(update(RUN).where(where).values(queued))
        return len(items)


def _claimable(job_id: int | None) -> ColumnElement[bool]:
    """The run is unowned, owned by ``job_id``, or owned by a job that is no longer running."""
    owner = RUN.c.scheduler_job_id
    live_owner = select(JOB.c.id).where(JOB.c.id == owner, JOB.c.state == _RUNNING_JOB).exists()
    mine = owner == job_id if job_id is not None else owner.is_(None)
    return or_(owner.is_(None), mine, ~live_owner)


def _in_scope(scope: RunScope | None) -> ColumnElement[bool]:
    return scope.clause() if scope is not None else true()


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _as_aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

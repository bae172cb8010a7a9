"""The local client: the service layer on the metadata database, one transaction per call.

This is what ``[cli] api_client = tradewind.clients.local`` (the default) uses; reads run in
read-only transactions. Behaviour is the API's by construction: both call the same actions.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from tradewind.actions import dag_runs, dags, pools, tasks
from tradewind.actions.health import health
from tradewind.clients.base import aware
from tradewind.clock import Clock, SystemClock
from tradewind.store import Database
from tradewind.values import (
    DagRunInfo,
    DagSource,
    DeleteResult,
    HealthInfo,
    LatestRun,
    LineageInfo,
    PauseState,
    PoolInfo,
    TaskInfo,
    TaskInstanceInfo,
    TriggerResult,
)

if TYPE_CHECKING:
    from tradewind.config import Config

T = TypeVar("T")

__all__ = ["LocalClient", "create_client"]


class LocalClient:
    """A :class:`~tradewind.clients.base.Client` over a :class:`~tradewind.store.Database`.

    ``owner`` is recorded in the event log for changes (default: the OS user). A database
    passed in stays the caller's: :meth:`close` disposes it only when ``owns_db`` is true.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        owner: str | None = None,
        health_threshold: float = 30.0,
        owns_db: bool = False,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.owner = owner
        self.health_threshold = health_threshold
        self._owns_db = owns_db

    def _read(self, action: Callable[..., T], *args: Any, **kw: Any) -> T:
        with self.db.transaction(write=False) as store:
            return action(store, *args, **kw)

    def _write(self, action: Callable[..., T], *args: Any, **kw: Any) -> T:
        with self.db.transaction(write=True) as store:
            return action(store, *args, now=self.clock.now(), owner=self.owner, **kw)

    def trigger_dag(
        self,
        dag_id: str,
        *,
        run_id: str | None = None,
        conf: Mapping[str, Any] | str | None = None,
        execution_date: datetime | None = None,
        replace_microseconds: bool | None = None,
    ) -> TriggerResult:
        return self._write(
            dag_runs.trigger_dag,
            dag_id,
            run_id=run_id or None,
            conf=conf,
            execution_date=None if execution_date is None else aware(execution_date),
            replace_microseconds=replace_microseconds,
        )

    def dag_runs(
        self,
        dag_id: str,
        *,
        state: str | None = None,
        execution_date_gte: datetime | None = None,
        execution_date_lte: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[DagRunInfo]:
        return self._read(
            dag_runs.dag_runs,
            dag_id,
            state=state,
            execution_date_gte=None if execution_date_gte is None else aware(execution_date_gte),
            execution_date_lte=None if execution_date_lte is None else aware(execution_date_lte),
            limit=limit,
            offset=offset,
        )

    def dag_run_state(self, dag_id: str, execution_date: datetime) -> str:
        return self._read(dag_runs.dag_run_state, dag_id, aware(execution_date))

    def task_info(self, dag_id: str, task_id: str) -> TaskInfo:
        return self._read(tasks.task_info, dag_id, task_id)

    def task_instance_info(self, dag_id: str, execution_date: datetime, task_id: str) -> TaskInstanceInfo:
        return self._read(tasks.task_instance_info, dag_id, aware(execution_date), task_id)

    def set_paused(self, dag_id: str, is_paused: bool) -> PauseState:
        return self._write(dags.set_paused, dag_id, is_paused=is_paused)

    def paused_state(self, dag_id: str) -> PauseState:
        return self._read(dags.paused_state, dag_id)

    def latest_runs(self) -> list[LatestRun]:
        return self._read(dag_runs.latest_runs)

    def pools(self) -> list[PoolInfo]:
        return self._read(pools.pools)

    def get_pool(self, name: str) -> PoolInfo:
        return self._read(pools.get_pool, name)

    def create_or_update_pool(
        self,
        name: str,
        slots: int | str,
        description: str | None = None,
        *,
        include_deferred: bool | None = None,
    ) -> PoolInfo:
        return self._write(
            pools.create_or_update_pool,
            name=name,
            slots=slots,
            description=description,
            include_deferred=include_deferred,
        )

    def delete_pool(self, name: str) -> PoolInfo:
        return self._write(pools.delete_pool, name)

    def delete_dag(self, dag_id: str) -> DeleteResult:
        return self._write(dags.delete_dag, dag_id)

    def dag_code(self, dag_id: str) -> DagSource:
        return self._read(dags.dag_code, dag_id)

    def lineage(self, dag_id: str, execution_date: datetime) -> LineageInfo:
        return self._read(tasks.lineage, dag_id, aware(execution_date))

    def health(self) -> HealthInfo:
        try:
            return self._read(health, now=self.clock.now(), threshold=self.health_threshold)
        except SQLAlchemyError:  # reported, not raised: the API's /health answers the same
            return HealthInfo(False, False, None)

    def close(self) -> None:
        if self._owns_db:
            self.db.dispose()

    def __enter__(self) -> LocalClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def create_client(config: Config, *, transport: Any = None, db: Database | None = None) -> LocalClient:
    """The local client for ``[core] sql_alchemy_conn`` (or ``db``, which stays the caller's)."""
    owns_db = db is None
    database = db or Database(config.core.sql_alchemy_conn)
    return LocalClient(
        database,
        owner=_os_user(),
        health_threshold=config.scheduler.scheduler_health_check_threshold,
        owns_db=owns_db,
    )


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None

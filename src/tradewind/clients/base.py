"""The ``Client`` contract: every operation of the experimental API, as plain Python calls.

Two implementations ship: :class:`tradewind.clients.local.LocalClient` calls the service layer
on the metadata database, and :class:`tradewind.clients.json.JsonClient` speaks HTTP to a
Tradewind (or Airflow) webserver. Both take the same arguments, return the same frozen values
of :mod:`tradewind.values` and raise the same classes of :mod:`tradewind.errors`; one contract
suite (``tests/clients/test_contract.py``) runs against both.

A third-party client is a module named by ``[cli] api_client`` that exposes
``create_client(config, *, transport=None, db=None) -> Client`` (see :class:`ClientFactory`).

Datetimes given to a client may carry any offset; a naive datetime is taken as UTC (use
:func:`aware`). Datetimes returned are aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

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

__all__ = ["Client", "ClientFactory", "aware"]


@runtime_checkable
class Client(Protocol):
    """What the CLI (and any script) can do with Tradewind, locally or over HTTP.

    Every method raises a :class:`~tradewind.errors.TradewindError` subclass on purpose:
    ``NotFound`` subclasses for unknown DAGs, runs, tasks and pools, ``BadRequest`` for bad
    input, ``Unauthorized``/``Forbidden`` when the server refuses the credentials, and
    ``ServerError``/``ConnectionFailed`` (HTTP only) when the server fails or cannot be reached.
    A client holds resources (a connection pool); call :meth:`close`, or use it in a ``with``.
    """

    def trigger_dag(
        self,
        dag_id: str,
        *,
        run_id: str | None = None,
        conf: Mapping[str, Any] | str | None = None,
        execution_date: datetime | None = None,
        replace_microseconds: bool | None = None,
    ) -> TriggerResult:
        """Create a manual run (``queued``) of a DAG, paused or not.

        ``conf`` is a mapping or a JSON string holding an object (``InvalidConf`` otherwise).
        Without ``execution_date`` the run is dated now (server time), without microseconds
        unless ``replace_microseconds`` is False; an explicit date keeps its microseconds
        unless ``replace_microseconds`` is True. ``run_id`` defaults to
        ``manual__<execution_date>``. Raises ``DagNotFound``, and ``DagRunAlreadyExists`` for a
        duplicate ``run_id`` or an explicit date that already has a run.
        """
        ...

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
        """A DAG's runs, oldest execution_date first, optionally filtered and paged.

        An unknown DAG is a ``BadRequest`` (not ``DagNotFound``), as in Airflow; so is an
        unknown ``state`` or a negative ``limit``/``offset``.
        """
        ...

    def dag_run_state(self, dag_id: str, execution_date: datetime) -> str:
        """The state of the run at that instant (any offset). Raises DagNotFound, DagRunNotFound."""
        ...

    def task_info(self, dag_id: str, task_id: str) -> TaskInfo:
        """A task's public attributes, every value a string. Raises DagNotFound, TaskNotFound."""
        ...

    def task_instance_info(self, dag_id: str, execution_date: datetime, task_id: str) -> TaskInstanceInfo:
        """One task instance of the run at that instant.

        Raises DagNotFound, TaskNotFound, DagRunNotFound or TaskInstanceNotFound.
        """
        ...

    def set_paused(self, dag_id: str, is_paused: bool) -> PauseState:
        """Pause (no new runs or tasks start) or unpause a DAG. Raises DagNotFound."""
        ...

    def paused_state(self, dag_id: str) -> PauseState:
        """Whether a DAG is paused. Raises DagNotFound."""
        ...

    def latest_runs(self) -> list[LatestRun]:
        """For every DAG that has runs, its run with the newest execution_date."""
        ...

    def pools(self) -> list[PoolInfo]:
        """Every pool, ``default_pool`` included."""
        ...

    def get_pool(self, name: str) -> PoolInfo:
        """One pool. Raises PoolNotFound."""
        ...

    def create_or_update_pool(
        self,
        name: str,
        slots: int | str,
        description: str | None = None,
        *,
        include_deferred: bool | None = None,
    ) -> PoolInfo:
        """Create a pool, or update the one of that name in place (same id).

        ``slots`` is an integer >= 0 or a string holding one; anything else, or a blank
        name, is a BadRequest. ``include_deferred`` None keeps the current value.
        """
        ...

    def delete_pool(self, name: str) -> PoolInfo:
        """Delete a pool and return it as it was. Raises PoolNotFound; BadRequest for default_pool."""
        ...

    def delete_dag(self, dag_id: str) -> DeleteResult:
        """Remove a DAG's records (runs, task instances, XComs, code, import errors).

        Raises DagNotFound, and Conflict while any of its task instances runs. A DAG whose
        file is still in the DAG folder comes back at the next parse.
        """
        ...

    def dag_code(self, dag_id: str) -> DagSource:
        """The source of the file that defines the DAG, as last parsed. Raises DagNotFound."""
        ...

    def lineage(self, dag_id: str, execution_date: datetime) -> LineageInfo:
        """Inlets and outlets of the tasks of one run that declare any. Errors as task_instance_info."""
        ...

    def health(self) -> HealthInfo:
        """Is the metadata database reachable, and has the scheduler heartbeated lately."""
        ...

    def close(self) -> None:
        """Release connections; the client cannot be used afterwards."""
        ...


class ClientFactory(Protocol):
    """What a client plug-in module exposes as ``create_client``.

    ``transport`` (an ``httpx.BaseTransport``) lets an HTTP client talk to an in-process app;
    ``db`` (a ``tradewind.store.Database``) lets a local client reuse an open database. A
    client ignores what it does not use.
    """

    def __call__(self, config: Config, *, transport: Any = None, db: Any = None) -> Client: ...


def aware(value: datetime) -> datetime:
    """The datetime itself if it has an offset, else the same wall time in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

"""``context["ti"]``: the running attempt as task code sees it (Airflow's TaskInstance surface)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tradewind.executors.base import TaskKey, TaskWorkload
from tradewind.runtime.xcoms import RETURN_KEY, XComSource, decode_xcom, encode_xcom

if TYPE_CHECKING:
    from tradewind.dag import BaseOperator

log = logging.getLogger("tradewind.task")


class RuntimeTaskInstance:
    """One attempt: its identity, XCom push (kept for the final event) and pull (from ``xcoms``)."""

    def __init__(
        self,
        workload: TaskWorkload,
        task: BaseOperator,
        *,
        xcoms: XComSource,
        max_xcom_size: int,
        hostname: str,
        pid: int,
        start_date: datetime,
    ) -> None:
        self.workload = workload
        self.task = task
        self.hostname = hostname
        self.pid = pid
        self.start_date = start_date
        self.state = "running"
        self._xcoms = xcoms
        self._limit = max_xcom_size
        self._pushed: dict[str, bytes] = {}

    # --- identity (Airflow's attribute names) ----------------------------------------

    @property
    def key(self) -> TaskKey:
        return self.workload.key

    @property
    def dag_id(self) -> str:
        return self.workload.key.dag_id

    @property
    def task_id(self) -> str:
        return self.workload.key.task_id

    @property
    def run_id(self) -> str:
        return self.workload.key.run_id

    @property
    def try_number(self) -> int:
        return self.workload.key.try_number

    @property
    def max_tries(self) -> int:
        return self.workload.max_tries

    @property
    def logical_date(self) -> datetime:
        return self.workload.logical_date

    @property
    def execution_date(self) -> datetime:
        return self.workload.logical_date

    @property
    def queue(self) -> str:
        return self.workload.queue

    @property
    def pool(self) -> str:
        return self.workload.pool

    @property
    def priority_weight(self) -> int:
        return self.workload.priority_weight

    @property
    def operator(self) -> str:
        return type(self.task).__name__

    @property
    def map_index(self) -> int:
        return -1

    @property
    def log(self) -> logging.Logger:
        return log

    @property
    def log_filepath(self) -> str:
        return self.workload.log_path

    def __repr__(self) -> str:
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id} [{self.state}]>"

    # --- XCom ----------------------------------------------------------------------------

    @property
    def pushed(self) -> tuple[tuple[str, bytes], ...]:
        """What this attempt pushed, in push order: the ``xcoms`` of its final event."""
        return tuple(self._pushed.items())

    def xcom_push(self, key: str, value: Any, execution_date: datetime | None = None) -> None:
        """Push ``value`` (stored as JSON) under ``key``; raises if it is not JSON or too large.

        The value reaches the database with the attempt's final state, so downstream tasks
        see it once this attempt has finished, as in Airflow.
        """
        data = encode_xcom(key, value, self._limit)
        self._pushed.pop(key, None)
        self._pushed[key] = data

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        key: str | None = RETURN_KEY,
        dag_id: str | None = None,
        run_id: str | None = None,
        default: Any = None,
        include_prior_dates: bool = False,
        map_indexes: Any = None,
    ) -> Any:
        """The XCom ``key`` of ``task_ids`` in this run (or ``dag_id``/``run_id``), else ``default``.

        A single task id gives one value; a list gives a list in the same order (``default``
        for each one missing). ``task_ids=None`` or ``key=None`` match any task or key, the
        newest winning. Values pushed by this attempt are seen immediately.
        """
        dag_id = dag_id or self.dag_id
        run_id = run_id or self.run_id
        if isinstance(task_ids, str) or task_ids is None:
            return self._pull_one(dag_id, run_id, task_ids, key, default)
        return [self._pull_one(dag_id, run_id, task_id, key, default) for task_id in task_ids]

    def _pull_one(self, dag_id: str, run_id: str, task_id: str | None, key: str | None, default: Any) -> Any:
        data = self._own_value(dag_id, run_id, task_id, key)
        if data is None:
            data = self._xcoms.get(dag_id, run_id, task_id, key)
        return default if data is None else decode_xcom(data)

    def _own_value(self, dag_id: str, run_id: str, task_id: str | None, key: str | None) -> bytes | None:
        if (dag_id, run_id) != (self.dag_id, self.run_id) or task_id not in (None, self.task_id):
            return None
        if key is None:
            return next(reversed(self._pushed.values()), None)
        return self._pushed.get(key)

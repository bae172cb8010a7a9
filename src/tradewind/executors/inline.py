"""InlineExecutor: runs each attempt in the calling process, synchronously, inside ``submit``.

For tests and debugging (Huey's "immediate" mode): the same attempt code as the task
processes, without their isolation. A task that crashes or calls ``os._exit`` takes the
caller with it, and ``execution_timeout`` is not enforced.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload

if TYPE_CHECKING:
    from tradewind.runtime.xcoms import XComSource
    from tradewind.store import Database


class InlineExecutor:
    """Runs attempts as they are submitted; their events are ready when ``submit`` returns.

    XComs are pulled from ``database`` (or ``db_url``), or from ``xcoms`` when given.
    """

    def __init__(
        self,
        *,
        database: Database | None = None,
        db_url: str | None = None,
        xcoms: XComSource | None = None,
        max_xcom_size: int = 1_048_576,
        dags_folder: str | Path | None = None,
    ) -> None:
        from tradewind.runtime.dags import DagCache
        from tradewind.runtime.xcoms import DatabaseXComs, NoXComs

        if xcoms is None:
            xcoms = DatabaseXComs(db_url, database=database) if database or db_url else NoXComs()
        self._xcoms = xcoms
        self._max_xcom_size = max_xcom_size
        self._dags = DagCache(dags_folder=Path(dags_folder) if dags_folder else None, import_timeout=0)
        self._ready: list[TaskEvent] = []
        self._hostname = socket.gethostname()

    @property
    def dag_imports(self) -> int:
        """How many DAG file imports this executor has done (for tests)."""
        return self._dags.imports

    def start(self) -> None:
        return None

    def submit(self, workload: TaskWorkload) -> None:
        """Run the attempt now; its ``running`` and final events are ready afterwards."""
        self._ready.extend(self._run(workload))

    def events(self) -> list[TaskEvent]:
        ready, self._ready = self._ready, []
        return ready

    def wait(self, timeout: float) -> bool:
        """Never blocks: nothing can finish while the caller waits, as everything ran in ``submit``."""
        return bool(self._ready)

    def running(self) -> set[TaskKey]:
        return set()

    def stop(self, *, wait: bool = True) -> None:
        from tradewind.runtime.xcoms import DatabaseXComs

        if isinstance(self._xcoms, DatabaseXComs):
            self._xcoms.close()

    def _run(self, workload: TaskWorkload) -> list[TaskEvent]:
        from tradewind.runtime.attempt import one_line, retry_state, run_attempt
        from tradewind.runtime.logs import output_to, write_end, write_start

        key, pid, started = workload.key, os.getpid(), time.monotonic()
        with output_to(workload.log_path):
            write_start(workload, pid, self._hostname)
            try:
                dag = self._dags.get_dag(workload.fileloc, key.dag_id)
            except Exception as exc:
                traceback.print_exc()
                state = retry_state(key.try_number, workload.max_tries)
                return [TaskEvent(key, state, datetime.now(UTC), None, self._hostname, error=one_line(exc))]
            running = TaskEvent(key, "running", datetime.now(UTC), pid, self._hostname)
            final = run_attempt(
                workload,
                dag,
                xcoms=self._xcoms,
                max_xcom_size=self._max_xcom_size,
                hostname=self._hostname,
                pid=pid,
            )
            write_end(workload, final.state, final.error, started)
        return [running, final]

"""A worker's writes to task_instance rows, on the bare DB-API driver: the claim and heartbeats.

``UPDATE task_instance SET state='running', … WHERE <key> AND try_number=<try> AND
state='queued'`` in autocommit mode: one round trip, where a SQLAlchemy session costs a
``BEGIN``, the statement and a ``COMMIT`` plus ~1 ms of CPU. Like the runtime's XCom reads
(:class:`~tradewind.runtime.xcoms.DriverXComs`), the statement is simple enough to write for
both databases. Each Celery pool thread keeps its own connection.

Every statement updates one row and commits at once, so it never holds a row lock while
waiting for another: a scheduler pass updating many instances cannot deadlock with it.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from typing import Any

from tradewind.executors.base import TaskKey
from tradewind.runtime.xcoms import XComDatabase

_COLUMNS = ("hostname", "pid", "unixname", "start_date", "last_heartbeat_at", "updated_at")
_KEYS = ("dag_id", "run_id", "task_id", "try_number")


def _update_sql(mark: str, assignments: str, state: str) -> str:
    conditions = " AND ".join(f"{column} = {mark}" for column in _KEYS)
    return f"UPDATE task_instance SET {assignments} WHERE {conditions} AND state = '{state}'"


def _claim_sql(mark: str) -> str:
    assignments = ", ".join(f"{column} = {mark}" for column in _COLUMNS)
    return _update_sql(mark, f"state = 'running', {assignments}", "queued")


class Claims:
    """Claims attempts for one worker process; thread-safe (a connection per thread)."""

    def __init__(self, db_url: str, *, hostname: str, pid: int, unixname: str) -> None:
        self._database = XComDatabase.from_url(db_url)  # imports SQLAlchemy: built in the worker only
        self._is_sqlite = self._database.dialect == "sqlite"
        mark = "?" if self._is_sqlite else "%s"
        self._claim_sql = _claim_sql(mark)
        self._beat_sql = _update_sql(mark, f"last_heartbeat_at = {mark}", "running")
        self._who = (hostname, pid, unixname)
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()  # guards _connections

    def claim(self, key: TaskKey, now: datetime) -> bool:
        """Mark the attempt running if it is queued with this try; True if this call did it."""
        at = self._timestamp(now)
        return self._update(self._claim_sql, (*self._who, at, at, at), key)

    def beat(self, key: TaskKey, now: datetime) -> bool:
        """Refresh the attempt's ``last_heartbeat_at``; False if it is no longer running with this try."""
        return self._update(self._beat_sql, (self._timestamp(now),), key)

    def _update(self, sql: str, values: tuple[Any, ...], key: TaskKey) -> bool:
        params = (*values, key.dag_id, key.run_id, key.task_id, key.try_number)
        try:
            return int(self._connection().execute(sql, params).rowcount) == 1
        except Exception:
            self._discard()  # the next statement reconnects
            raise

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(Exception):
                connection.close()

    def _timestamp(self, now: datetime) -> Any:
        """SQLite stores naive UTC text (as SQLAlchemy's UtcDateTime writes it); PostgreSQL an aware value."""
        if self._is_sqlite:
            return now.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")
        return now

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _connect(self) -> Any:
        if self._is_sqlite:
            import sqlite3

            return sqlite3.connect(self._database.target, timeout=30, isolation_level=None)
        import psycopg

        return psycopg.connect(self._database.target, autocommit=True)

    def _discard(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is None:
            return
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
        with contextlib.suppress(Exception):
            connection.close()

"""XCom values as the runtime sees them: JSON bytes with a size limit, and where pulls read from.

A task process reads upstream XComs straight from the database (committed rows of the
``xcom`` table; reads are fine on SQLite in WAL mode) but never writes them: pushes travel
back to the scheduler inside the final :class:`~tradewind.executors.base.TaskEvent`.

Task processes read through the bare DB-API driver (:class:`DriverXComs`), not SQLAlchemy:
SQLAlchemy in the runner would add ~20 MB to every fork and ~3 ms of CPU to every task,
pulling or not. The one query is simple enough to write for both databases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tradewind.store import Database

RETURN_KEY = "return_value"


class XComTooLarge(ValueError):
    """A value whose JSON form exceeds ``[core] max_xcom_size``."""


class XComNotSerializable(TypeError):
    """A value that cannot be encoded as JSON."""


def encode_xcom(key: str, value: Any, limit: int) -> bytes:
    """``value`` as JSON bytes; raises XComNotSerializable or XComTooLarge naming ``key``."""
    try:
        data = json.dumps(value, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise XComNotSerializable(
            f"XCom {key!r}: value of type {type(value).__name__} cannot be stored as JSON ({exc})"
        ) from None
    if limit > 0 and len(data) > limit:
        raise XComTooLarge(
            f"XCom {key!r} is {len(data)} bytes as JSON, more than the {limit} allowed by [core] max_xcom_size"
        )
    return data


def decode_xcom(data: bytes) -> Any:
    return json.loads(data)


class XComSource(Protocol):
    """Where ``xcom_pull`` finds values pushed by other task instances."""

    def get(self, dag_id: str, run_id: str, task_id: str | None, key: str | None) -> bytes | None:
        """The stored JSON of one XCom; ``task_id``/``key`` None match any (newest wins)."""
        ...


class NoXComs:
    """A source with nothing in it: for attempts that have no database to read."""

    def get(self, dag_id: str, run_id: str, task_id: str | None, key: str | None) -> bytes | None:
        return None


class MemoryXComs:
    """XComs kept in a dict: ``dags test`` records nothing, so its tasks pull from here."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str, str, str], bytes] = {}

    def put(self, dag_id: str, run_id: str, task_id: str, key: str, value: bytes) -> None:
        self._values.pop((dag_id, run_id, task_id, key), None)  # re-insert: newest last
        self._values[(dag_id, run_id, task_id, key)] = value

    def get(self, dag_id: str, run_id: str, task_id: str | None, key: str | None) -> bytes | None:
        found = None
        for (d, r, t, k), value in self._values.items():
            if d == dag_id and r == run_id and task_id in (None, t) and key in (None, k):
                found = value
        return found


class DatabaseXComs:
    """Reads committed XComs; the engine is created on first use, in the process that reads.

    A task process forked from the runner must not share the runner's connections, so the
    runner passes a URL and each task that pulls opens (and closes) its own engine.
    """

    def __init__(self, url: str | None = None, *, database: Database | None = None) -> None:
        self._url = url
        self._database = database
        self._owned = database is None

    def get(self, dag_id: str, run_id: str, task_id: str | None, key: str | None) -> bytes | None:
        from sqlalchemy import select

        from tradewind.models import XCom

        query = select(XCom.value).where(XCom.dag_id == dag_id, XCom.run_id == run_id)
        if task_id is not None:
            query = query.where(XCom.task_id == task_id)
        if key is not None:
            query = query.where(XCom.key == key)
        with self._db().transaction(write=False) as store:
            value = store.session.scalars(query.order_by(XCom.timestamp.desc()).limit(1)).first()
        return bytes(value) if value is not None else None

    def _db(self) -> Database:
        if self._database is None:
            from tradewind.store import Database

            if not self._url:
                raise RuntimeError("xcom_pull needs a database, and none is configured")
            self._database = Database(self._url)
        return self._database

    def close(self) -> None:
        if self._owned and self._database is not None:
            self._database.dispose()
            self._database = None


@dataclass(frozen=True, slots=True)
class XComDatabase:
    """Where the ``xcom`` table is, in terms the bare driver understands (picklable)."""

    dialect: str  # "sqlite" or "postgresql"
    target: str  # the SQLite file, or a libpq conninfo string

    @classmethod
    def from_url(cls, url: str) -> XComDatabase:
        """Translate a SQLAlchemy URL (this imports SQLAlchemy: call it in the executor)."""
        from tradewind.store import normalize_url

        parsed = normalize_url(url)
        if parsed.drivername.startswith("sqlite"):
            return cls("sqlite", parsed.database or ":memory:")
        params: dict[str, Any] = {
            "host": parsed.host, "port": parsed.port, "user": parsed.username,
            "password": parsed.password, "dbname": parsed.database, **dict(parsed.query),
        }  # fmt: skip
        return cls(
            "postgresql", " ".join(f"{k}={_quote(str(v))}" for k, v in params.items() if v is not None)
        )

    def preload(self) -> None:
        """Import the driver now (in the runner, once a task has used it) so later task processes
        do not each pay for it."""
        if self.dialect == "sqlite":
            import sqlite3  # noqa: F401
        else:
            import psycopg  # noqa: F401


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class DriverXComs:
    """Reads committed XComs with the DB-API driver; connects on first use, in the reading process."""

    def __init__(self, database: XComDatabase) -> None:
        self._database = database
        self._connection: Any = None

    def get(self, dag_id: str, run_id: str, task_id: str | None, key: str | None) -> bytes | None:
        mark = "?" if self._database.dialect == "sqlite" else "%s"
        where, params = [f"dag_id = {mark}", f"run_id = {mark}"], [dag_id, run_id]
        for column, value in (("task_id", task_id), ("key", key)):
            if value is not None:
                where.append(f"{column} = {mark}")
                params.append(value)
        sql = f"SELECT value FROM xcom WHERE {' AND '.join(where)} ORDER BY timestamp DESC LIMIT 1"
        row = self._connect().execute(sql, params).fetchone()
        return bytes(row[0]) if row is not None else None

    def _connect(self) -> Any:
        if self._connection is None:
            if self._database.dialect == "sqlite":
                import sqlite3

                self._connection = sqlite3.connect(self._database.target, timeout=30, isolation_level=None)
            else:
                import psycopg

                self._connection = psycopg.connect(self._database.target, autocommit=True)
        return self._connection

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

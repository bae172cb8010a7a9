"""Engine, sessions and the transaction boundary.

Whoever handles a request, a command or a scheduler tick opens one transaction with
:meth:`Database.transaction` and hands the :class:`Store` to actions; nothing below commits.

On SQLite, write transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that
reads and then writes can fail with "database is locked" no matter the busy timeout,
because SQLite cannot upgrade its read snapshot. Read-only transactions stay deferred so
that readers never wait for each other (WAL mode).

A request that only reads uses :meth:`Database.read` instead: a pooled Core connection and
no ORM Session until a query needs one, and on SQLite no ``BEGIN``/``COMMIT`` at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from tradewind.errors import ConfigError
from tradewind.store.store import Store

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> URL:
    """Parse a database URL; plain ``postgresql://`` means psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("Bad value for [core] sql_alchemy_conn: not a database URL") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            f"Bad value for [core] sql_alchemy_conn: unsupported database {parsed.drivername!r}"
        )
    return parsed


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.engine = _create_engine(self.url, echo=echo)
        self._write = sessionmaker(
            self.engine.execution_options(tradewind_write=True), expire_on_commit=False
        )
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = self.engine.execution_options(tradewind_read=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Store]:
        """One unit of work: commit on success, roll back on error."""
        factory = self._write if write else self._read
        with factory.begin() as session:
            store = Store(session)
            yield store
        store.committed()

    @contextmanager
    def read(self) -> Iterator[Store]:
        """A unit of work that only reads, on a pooled connection; nothing is committed.

        Cheaper than ``transaction(write=False)``: no Session unless a query needs the ORM, and
        on SQLite no ``BEGIN``: each statement reads the latest commit on its own (a single
        statement is atomic), as every statement does under PostgreSQL's default READ
        COMMITTED (where this stays a transaction, rolled back at the end). Only for actions
        that write nothing; when several reads of SQLite must share one snapshot, use
        ``transaction(write=False)``.
        """
        with self._reader.connect() as connection:
            store = Store(connection=connection)
            try:
                yield store
            finally:
                store.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._write.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: URL, *, echo: bool) -> Engine:
    if url.drivername.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo)
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_engine(url: URL, *, echo: bool) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take over transaction control from pysqlite so that "begin" below decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    options = connection.get_execution_options()
    if options.get("tradewind_write", False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif not options.get("tradewind_read", False):  # Database.read: every statement on its own
        connection.exec_driver_sql("BEGIN")

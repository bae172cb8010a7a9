"""The Store: every query of one unit of work, grouped by noun in mixins. It never commits."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from tradewind.store.dags import DagQueries
from tradewind.store.pools import PoolQueries
from tradewind.store.runs import RunQueries
from tradewind.store.scheduling import SchedulerQueries


class Store(DagQueries, PoolQueries, RunQueries, SchedulerQueries):
    """Queries on an ORM Session, or on a Core Connection (:meth:`Database.read`).

    On a connection the Session is made the first time a query needs the ORM, bound to that
    connection: a read that only runs Core statements (the runs listing) never pays for one.
    """

    def __init__(self, session: Session | None = None, *, connection: Connection | None = None) -> None:
        if (session is None) == (connection is None):
            raise TypeError("a Store needs a session or a connection, not both")
        self._session = session
        self._connection = connection
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once this unit of work has committed (never if it rolls back)."""
        self._after_commit.append(action)

    def committed(self) -> None:
        """Called by :meth:`Database.transaction` after the commit; errors are the caller's."""
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            action()

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session(bind=self._connection, expire_on_commit=False)
        return self._session

    @session.setter
    def session(self, session: Session) -> None:
        self._session = session

    def connection(self) -> Connection:
        """The connection of this unit of work, for Core statements."""
        if self._connection is not None:
            return self._connection
        return self.session.connection()

    def close(self) -> None:
        """End the Session made on a connection (the connection's owner ends the connection)."""
        if self._connection is not None and self._session is not None:
            self._session.close()

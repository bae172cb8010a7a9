"""The Store: every query of one unit of work, grouped by noun in mixins. It never commits."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tradewind.store.dags import DagQueries
from tradewind.store.pools import PoolQueries
from tradewind.store.runs import RunQueries
from tradewind.store.scheduling import SchedulerQueries


class Store(DagQueries, PoolQueries, RunQueries, SchedulerQueries):
    def __init__(self, session: Session) -> None:
        self.session = session

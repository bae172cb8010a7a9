"""Queries on pools.

Create-or-update and delete lock the pool's row first (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite write transactions are already serialised), so an update racing with a
delete either updates a pool that is then deleted, or creates it again after the delete:
never an update of a row that vanished. A create racing with a create of the same name
meets the unique constraint in a savepoint and becomes an update.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradewind.errors import Conflict
from tradewind.models import Pool, TaskInstance
from tradewind.models.pools import DEFAULT_POOL, DEFAULT_POOL_SLOTS
from tradewind.models.states import TaskState

_UPSERT_ATTEMPTS = 10


class PoolQueries:
    session: Session

    def find_pool(self, name: str) -> Pool | None:
        return self.session.scalars(select(Pool).where(Pool.pool == name)).one_or_none()

    def lock_pool(self, name: str) -> Pool | None:
        """The pool, its row locked until the transaction ends (PostgreSQL)."""
        query = select(Pool).where(Pool.pool == name).with_for_update()
        return self.session.scalars(query.execution_options(populate_existing=True)).one_or_none()

    def pools(self) -> Sequence[Pool]:
        return self.session.scalars(select(Pool).order_by(Pool.id)).all()

    def ensure_default_pool(self) -> Pool:
        pool = self.find_pool(DEFAULT_POOL)
        if pool is None:
            pool = Pool(pool=DEFAULT_POOL, slots=DEFAULT_POOL_SLOTS, description="Default pool")
            self.session.add(pool)
            self.session.flush()
        return pool

    def upsert_pool(self, name: str, *, slots: int, description: str, include_deferred: bool | None) -> Pool:
        """Create the pool, or update it in place (same id) if the name exists."""
        for _ in range(_UPSERT_ATTEMPTS):
            pool = self.lock_pool(name)
            if pool is not None:
                return self._update_pool(pool, slots, description, include_deferred)
            created = self._try_insert_pool(name, slots, description, bool(include_deferred))
            if created is not None:
                return created
        raise Conflict(f"Pool '{name}' is being changed concurrently; try again")

    def _update_pool(self, pool: Pool, slots: int, description: str, include_deferred: bool | None) -> Pool:
        pool.slots, pool.description = slots, description
        if include_deferred is not None:
            pool.include_deferred = include_deferred
        self.session.flush()
        return pool

    def _try_insert_pool(
        self, name: str, slots: int, description: str, include_deferred: bool
    ) -> Pool | None:
        pool = Pool(pool=name, slots=slots, description=description, include_deferred=include_deferred)
        try:
            with self.session.begin_nested():
                self.session.add(pool)
        except IntegrityError:
            return None
        return pool

    def delete_pool(self, pool: Pool) -> None:
        self.session.delete(pool)
        self.session.flush()

    def pool_usage(self) -> dict[str, tuple[int, int]]:
        """Slots held per pool name: (running, queued); tasks of deleted pools count against default_pool."""
        states = (TaskState.RUNNING.value, TaskState.QUEUED.value)
        name = func.coalesce(Pool.pool, DEFAULT_POOL)
        query = (
            select(name, TaskInstance.state, func.sum(TaskInstance.pool_slots))
            .select_from(TaskInstance)
            .outerjoin(Pool, Pool.pool == TaskInstance.pool)
            .where(TaskInstance.state.in_(states))
            .group_by(name, TaskInstance.state)
        )
        usage: dict[str, tuple[int, int]] = {}
        for pool, state, slots in self.session.execute(query):
            running, queued = usage.get(pool, (0, 0))
            if state == TaskState.RUNNING.value:
                usage[pool] = (running + int(slots or 0), queued)
            else:
                usage[pool] = (running, queued + int(slots or 0))
        return usage

"""Queries on pools."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.models import Pool
from tradewind.models.pools import DEFAULT_POOL, DEFAULT_POOL_SLOTS


class PoolQueries:
    session: Session

    def find_pool(self, name: str) -> Pool | None:
        return self.session.scalars(select(Pool).where(Pool.pool == name)).one_or_none()

    def pools(self) -> Sequence[Pool]:
        return self.session.scalars(select(Pool).order_by(Pool.id)).all()

    def ensure_default_pool(self) -> Pool:
        pool = self.find_pool(DEFAULT_POOL)
        if pool is None:
            pool = Pool(pool=DEFAULT_POOL, slots=DEFAULT_POOL_SLOTS, description="Default pool")
            self.session.add(pool)
            self.session.flush()
        return pool

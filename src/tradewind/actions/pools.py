"""Pools: read, list, create or update in place, delete."""

from __future__ import annotations

import re
from datetime import datetime

from tradewind.actions.common import check_text, record_event
from tradewind.errors import BadRequest, PoolNotFound
from tradewind.models import Pool
from tradewind.models.pools import DEFAULT_POOL
from tradewind.store import Store
from tradewind.values import PoolInfo

POOL_NAME_MAX_LENGTH = 256
MAX_SLOTS = 2**31 - 1
_DIGITS = re.compile(r"\s*\d+\s*")


def get_pool(store: Store, name: str) -> PoolInfo:
    return _info(_require_pool(store, name), store.pool_usage())


def pools(store: Store) -> list[PoolInfo]:
    usage = store.pool_usage()
    return [_info(pool, usage) for pool in store.pools()]


def create_or_update_pool(
    store: Store,
    *,
    name: str,
    slots: int | str,
    description: str | None = None,
    include_deferred: bool | None = None,
    now: datetime,
    owner: str | None = None,
) -> PoolInfo:
    """Create the pool, or update the existing one in place (same id), as Airflow did.

    ``slots`` is an integer >= 0 or a string holding one. ``include_deferred`` None keeps
    the current value (False for a new pool).
    """
    name = check_text(name.strip(), "name", max_length=POOL_NAME_MAX_LENGTH)
    if not name:
        raise BadRequest("Pool name shouldn't be empty")
    count = parse_slots(slots)
    text = check_text(description or "", "description")
    pool = store.upsert_pool(name, slots=count, description=text, include_deferred=include_deferred)
    record_event(store, "create_or_update_pool", now=now, owner=owner, extra={"pool": name, "slots": count})
    return _info(pool, store.pool_usage())


def parse_slots(value: object) -> int:
    """An integer >= 0, given as one or as a string of digits; else ``Bad value for `slots```."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SLOTS:
        raise BadRequest(f"Bad value for `slots`: {value}")
    return value


def delete_pool(store: Store, name: str, *, now: datetime, owner: str | None = None) -> PoolInfo:
    """Delete a pool (not ``default_pool``); its running tasks then count against ``default_pool``."""
    if name == DEFAULT_POOL:
        raise BadRequest("default_pool cannot be deleted")
    usage = store.pool_usage()
    pool = store.lock_pool(name)
    if pool is None:
        raise _not_found(name)
    info = _info(pool, usage)
    store.delete_pool(pool)
    record_event(store, "delete_pool", now=now, owner=owner, extra={"pool": name})
    return info


def _require_pool(store: Store, name: str) -> Pool:
    pool = store.find_pool(name)
    if pool is None:
        raise _not_found(name)
    return pool


def _not_found(name: str) -> PoolNotFound:
    return PoolNotFound(f"Pool '{name}' doesn't exist")


def _info(pool: Pool, usage: dict[str, tuple[int, int]]) -> PoolInfo:
    running, queued = usage.get(pool.pool, (0, 0))
    return PoolInfo(
        id=pool.id,
        pool=pool.pool,
        slots=pool.slots,
        description=pool.description or "",
        include_deferred=pool.include_deferred,
        running_slots=running,
        queued_slots=queued,
    )

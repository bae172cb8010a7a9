"""Races that the unique constraints and row locks must settle, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import select
from tests.actions.factory import NOW, add_dag

from tradewind.actions.dag_runs import trigger_dag
from tradewind.actions.pools import create_or_update_pool, delete_pool, get_pool
from tradewind.errors import DagRunAlreadyExists, PoolNotFound
from tradewind.models import DagRun
from tradewind.store import Database

THREADS = 8


def _trigger(db: Database, **kwargs: object) -> str:
    try:
        with db.transaction() as store:
            return trigger_dag(store, "example", now=NOW, **kwargs).run_id  # type: ignore[arg-type]
    except DagRunAlreadyExists:
        return "duplicate"


def test_concurrent_default_triggers_make_distinct_runs(db: Database) -> None:
    add_dag(db)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda _: _trigger(db), range(THREADS)))
    assert "duplicate" not in results
    assert len(set(results)) == THREADS
    with db.transaction(write=False) as store:
        dates = list(store.session.scalars(select(DagRun.execution_date)))
    assert len(set(dates)) == THREADS


def test_concurrent_triggers_of_one_date_make_one_run(db: Database) -> None:
    add_dag(db)
    when = datetime(2020, 1, 1, tzinfo=UTC)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda _: _trigger(db, execution_date=when), range(THREADS)))
    assert sorted(results) == ["duplicate"] * (THREADS - 1) + ["manual__2020-01-01T00:00:00+00:00"]


def test_concurrent_triggers_of_one_run_id_make_one_run(db: Database) -> None:
    add_dag(db)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda _: _trigger(db, run_id="same"), range(THREADS)))
    assert sorted(results) == ["duplicate"] * (THREADS - 1) + ["same"]


def test_pool_upserts_racing_with_deletes_stay_consistent(db: Database) -> None:
    def upsert(slots: int) -> str:
        with db.transaction() as store:
            return str(create_or_update_pool(store, name="race", slots=slots, now=NOW).slots)

    def remove(_: int) -> str:
        try:
            with db.transaction() as store:
                return f"deleted {delete_pool(store, 'race', now=NOW).slots}"
        except PoolNotFound:
            return "missing"

    jobs = [(upsert, i) if i % 2 else (remove, i) for i in range(4 * THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda job: job[0](job[1]), jobs))
    assert all(r.isdigit() or r.startswith("deleted") or r == "missing" for r in results)
    with db.transaction(write=False) as store:
        pools = [p for p in store.pools() if p.pool == "race"]
        assert len(pools) <= 1
        if pools:
            assert get_pool(store, "race").slots == pools[0].slots

"""Two schedulers on one PostgreSQL database, in one process, ticked by hand with scripted executors.

The real-process version (LocalExecutor, SIGKILL) is in test_several_schedulers_e2e.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tradewind.dag import DAG, BashOperator
from tradewind.models import Job, Pool
from tradewind.store import Database

from .conftest import T0, Harness, register_dag, run_state, ti_states, trigger

MakeHarness = Callable[..., Harness]

pytestmark = pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                                     indirect=True)  # fmt: skip


def wide_dag(width: int = 6, pool: str = "default_pool", **kwargs: object) -> DAG:
    settings: dict[str, object] = {"max_active_runs": 100, "max_active_tasks": 100} | kwargs
    with DAG("wide", schedule=None, start_date=T0, **settings) as dag:  # type: ignore[arg-type]
        for i in range(width):
            BashOperator(task_id=f"t{i}", bash_command="true", pool=pool, retries=1, retry_delay=timedelta(0))
    return dag


def pair(make_harness: MakeHarness, **options: object) -> tuple[Harness, Harness]:
    """Two schedulers on "different hosts" (so neither takes the other for a dead local process)."""
    return make_harness(lambda w: None, hostname="a", **options), make_harness(
        lambda w: None, hostname="b", **options
    )


def start(db: Database, data: dict[str, Any], index: int) -> None:
    trigger(db, data, f"r{index}", at=T0 + timedelta(hours=index))


def submitted(*harnesses: Harness) -> Counter[tuple[str, str, int]]:
    return Counter(
        (w.key.run_id, w.key.task_id, w.key.try_number) for h in harnesses for w in h.executor.submitted
    )


def test_runs_are_split_and_no_instance_is_queued_twice(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, wide_dag())
    a, b = pair(make_harness)
    for i in range(4):
        start(db, data, i)
        (a if i % 2 else b).ticks()
    for _ in range(3):
        a.ticks()
        b.ticks()
    counts = submitted(a, b)
    assert len(counts) == 24 and set(counts.values()) == {1}
    assert a.executor.submitted and b.executor.submitted
    for harness in (a, b):
        for key in list(harness.executor.in_flight):
            harness.executor.finish(key)
    a.ticks()
    b.ticks()
    assert [run_state(db, "wide", f"r{i}") for i in range(4)] == ["success"] * 4


def test_a_pool_is_never_exceeded_by_two_schedulers(db: Database, make_harness: MakeHarness) -> None:
    with db.transaction() as store:
        store.session.add(Pool(pool="three", slots=3, description=""))
    data = register_dag(db, wide_dag(pool="three"))
    a, b = pair(make_harness)
    start(db, data, 0)
    a.ticks()
    start(db, data, 1)
    b.ticks()
    while True:
        in_flight = [*a.executor.in_flight, *b.executor.in_flight]
        assert len(in_flight) <= 3
        if not in_flight:
            break
        for harness in (a, b):
            if harness.executor.in_flight:
                harness.executor.finish(next(iter(harness.executor.in_flight)))
        a.ticks()
        b.ticks()
    assert len(submitted(a, b)) == 12
    assert {run_state(db, "wide", r) for r in ("r0", "r1")} == {"success"}


def test_max_active_tasks_holds_across_schedulers(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, wide_dag(max_active_tasks=4))
    a, b = pair(make_harness)
    start(db, data, 0)
    a.ticks()
    start(db, data, 1)
    b.ticks()
    a.ticks()
    assert len(a.executor.in_flight) + len(b.executor.in_flight) == 4


def test_scheduled_runs_are_created_once_by_two_schedulers(db: Database, make_harness: MakeHarness) -> None:
    with DAG("daily", schedule="@daily", start_date=T0, catchup=True, max_active_runs=10) as dag:
        BashOperator(task_id="work", bash_command="true")
    register_dag(db, dag)
    a, b = pair(make_harness, now=T0 + timedelta(days=3, hours=1))
    for _ in range(3):
        a.ticks()
        b.ticks()
    assert Counter(k[0] for k in submitted(a, b)) == {
        f"scheduled__2024-01-0{d}T00:00:00+00:00": 1 for d in (1, 2, 3)
    }


def test_row_locks_make_a_second_scheduler_skip_what_the_first_holds(db: Database) -> None:
    with DAG("daily", schedule="@daily", start_date=T0) as dag:
        BashOperator(task_id="work", bash_command="true")
    data = register_dag(db, dag)
    trigger(db, data, "m1")
    with db.transaction() as first:
        assert [row.dag_id for row in first.schedulable_dags()] == ["daily"]
        assert len(first.queued_dag_runs(None)) == 1
        with db.transaction() as second:
            assert second.schedulable_dags() == []
            assert second.queued_dag_runs(None) == []
            assert second.lock_dags(["daily"]) == set()


def test_a_dead_schedulers_runs_are_adopted_and_it_stops_when_it_wakes(
    db: Database, make_harness: MakeHarness
) -> None:
    data = register_dag(db, wide_dag(width=3))
    a, b = pair(make_harness, heartbeat_sec=1.0, health_check_threshold=10.0)
    start(db, data, 0)
    a.ticks()
    a.executor.finish_task("t0")  # t1, t2 still running when "a" freezes
    a.ticks()
    assert sorted(k[1] for k in submitted(a)) == ["t0", "t1", "t2"] and not b.executor.submitted
    b.advance(11)
    b.ticks()
    with db.transaction(write=False) as store:
        assert store.session.get(Job, a.scheduler.job_id).state == "failed"  # type: ignore[union-attr]
    assert sorted(k[1:] for k in submitted(b)) == [("t1", 2), ("t2", 2)]  # retried by the adopter
    a.advance(11)
    a.executor.finish_task("t1")
    a.scheduler.tick()
    assert a.scheduler.lost
    for key in list(b.executor.in_flight):
        b.executor.finish(key)
    b.ticks()
    assert ti_states(db, "wide", "r0") == {"t0": "success", "t1": "success", "t2": "success"}
    assert run_state(db, "wide", "r0") == "success"

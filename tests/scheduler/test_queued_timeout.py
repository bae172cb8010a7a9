"""``[scheduler] task_queued_timeout``: an attempt no worker claimed for that long is queued again.

With an executor whose workers claim and heartbeat attempts themselves (Celery), a message
the broker lost leaves its instance ``queued`` for ever; after the timeout (Airflow's default,
600 s, whatever ``zombie_threshold_sec`` is) the scheduler queues it again as a new try.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from tradewind.config import Config
from tradewind.dag import DAG, BashOperator
from tradewind.scheduler import main
from tradewind.store import Database
from tradewind.store.scheduling import TI

from .conftest import T0, AdoptingExecutor, Harness, register_dag, trigger

MakeHarness = Callable[..., Harness]


def silent_workers() -> AdoptingExecutor:
    """Attempts are submitted and never claimed: their messages are lost."""
    return AdoptingExecutor(lambda w: None, announce=False)


def tries(db: Database) -> dict[str, tuple[str | None, int]]:
    query = select(TI.c.task_id, TI.c.state, TI.c.try_number).where(TI.c.dag_id == "pair")
    with db.transaction(write=False) as store:
        return {r.task_id: (r.state, r.try_number) for r in store.session.execute(query)}


def register_pair(db: Database) -> dict[str, object]:
    with DAG("pair", schedule=None, start_date=T0) as dag:
        BashOperator(task_id="old", bash_command="true")
        BashOperator(task_id="young", bash_command="true")
    return register_dag(db, dag)


def test_only_attempts_queued_longer_than_the_timeout_are_queued_again(
    db: Database, make_harness: MakeHarness
) -> None:
    data = register_pair(db)
    # 600 s is the default; the zombie threshold no longer sets it (the old rule: 10 x 4 s)
    harness = make_harness(executor=silent_workers(), heartbeat_sec=10.0, zombie_threshold=4.0)
    trigger(db, data)
    harness.ticks()
    assert tries(db) == {"old": ("queued", 1), "young": ("queued", 1)}
    with db.transaction() as store:  # "young" was queued 2 s after "old"
        store.update_task_instances("pair", "manual_1", ["young"], {"queued_dttm": T0 + timedelta(seconds=2)})

    harness.advance(300)
    harness.ticks()
    assert tries(db) == {"old": ("queued", 1), "young": ("queued", 1)}

    harness.advance(301)  # "old" queued 601 s ago, "young" 599 s ago
    harness.ticks()
    assert tries(db) == {"old": ("queued", 2), "young": ("queued", 1)}
    submitted = [(w.key.task_id, w.key.try_number) for w in harness.executor.submitted]
    assert sorted(submitted) == [("old", 1), ("old", 2), ("young", 1)]

    harness.advance(10)
    harness.ticks()
    assert tries(db) == {"old": ("queued", 2), "young": ("queued", 2)}


def test_the_scheduler_reads_the_timeout_from_the_configuration(
    db: Database, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``build_scheduler``, as ``tradewind scheduler`` runs: a 0.5 s timeout, on the real clock."""
    data = register_pair(db)
    executor = silent_workers()
    monkeypatch.setattr(main, "make_executor", lambda config, db=None: executor)
    settings = {"heartbeat_sec": 0.1, "task_queued_timeout": 0.5}  # zombie_threshold_sec stays 60
    scheduler = main.build_scheduler(config.with_overrides(scheduler=settings), db, parse=False)
    scheduler.start()
    try:
        trigger(db, data)
        started = time.monotonic()
        deadline = started + 60
        while tries(db)["old"] != ("queued", 2):
            assert time.monotonic() < deadline, tries(db)
            scheduler.tick()
            time.sleep(0.02)
        assert time.monotonic() - started >= 0.5
    finally:
        scheduler.shutdown(drain_timeout=0)

"""Executors whose attempts outlive the scheduler (Celery): adopt them, find zombies, requeue lost messages.

The fake :class:`AdoptingExecutor` has what the scheduler looks for: ``adopt`` and
``heartbeats_tasks``; ``tests/celery`` runs the same story with real workers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from tradewind.dag import DAG, BashOperator
from tradewind.executors.base import TaskKey
from tradewind.models import Job
from tradewind.models.states import DagRunState
from tradewind.scheduler.recovery import JOB_TYPE
from tradewind.store import Database
from tradewind.store.scheduling import TI

from .conftest import T0, AdoptingExecutor, Harness, Outcome, register_dag, run_state, ti_states, trigger

MakeHarness = Callable[..., Harness]


def adopting_harness(make_harness: MakeHarness, **options: object) -> Harness:
    return make_harness(executor=AdoptingExecutor(lambda w: None), **options)


def tries(db: Database, dag_id: str, run_id: str) -> dict[str, tuple[str | None, int, int | None]]:
    query = select(TI.c.task_id, TI.c.state, TI.c.try_number, TI.c.queued_by_job_id).where(
        TI.c.dag_id == dag_id, TI.c.run_id == run_id
    )
    with db.transaction(write=False) as store:
        return {r.task_id: (r.state, r.try_number, r.queued_by_job_id) for r in store.session.execute(query)}


def test_restart_adopts_a_dead_schedulers_attempts_instead_of_resetting(
    db: Database, make_harness: MakeHarness
) -> None:
    with DAG("crash", schedule=None, start_date=T0) as dag:
        BashOperator(task_id="queued_one", bash_command="true")
        BashOperator(task_id="running_one", bash_command="true", retries=2)
    data = register_dag(db, dag)
    trigger(db, data)
    trigger(db, data, "finished_run", at=T0 + timedelta(days=1))
    with db.transaction() as store:
        dead = store.add_job(JOB_TYPE, hostname="elsewhere", pid=1, now=T0 - timedelta(hours=1))
        for run_id, state in [("manual_1", "running"), ("finished_run", "failed")]:
            run = store.find_dag_run("crash", run_id=run_id)
            assert run is not None
            store.start_dag_run(run.id, now=T0, job_id=dead)
            if state != "running":
                store.finish_dag_run(run.id, DagRunState.FAILED, T0)
            for task_id, ti_state in [("queued_one", "queued"), ("running_one", "running")]:
                store.update_task_instances("crash", run_id, [task_id], {"state": ti_state, "try_number": 1,
                                            "queued_by_job_id": dead, "last_heartbeat_at": T0})  # fmt: skip

    harness = adopting_harness(make_harness)
    me = harness.scheduler.job_id
    harness.ticks()  # the first pass claims the orphaned run, and with it its attempts
    assert tries(db, "crash", "manual_1") == {
        "queued_one": ("queued", 1, me),
        "running_one": ("running", 1, me),
    }
    assert harness.executor.adopted == {
        TaskKey("crash", "queued_one", "manual_1", 1): 0,
        TaskKey("crash", "running_one", "manual_1", 1): 2,
    }
    # a finished run's attempts are nobody's to follow: reset as before
    assert ti_states(db, "crash", "finished_run") == {
        "queued_one": "scheduled",
        "running_one": "up_for_retry",
    }
    with db.transaction(write=False) as store:
        assert store.session.get(Job, dead).state == "failed"  # type: ignore[union-attr]
    assert harness.executor.submitted == []  # nothing ran twice
    for key in list(harness.executor.in_flight):
        harness.executor.finish(key, Outcome())
    harness.ticks()
    assert tries(db, "crash", "manual_1") == {
        "queued_one": ("success", 1, me),
        "running_one": ("success", 1, me),
    }
    assert run_state(db, "crash", "manual_1") == "success"


def test_graceful_stop_leaves_running_attempts_to_the_next_scheduler(
    db: Database, make_harness: MakeHarness
) -> None:
    data = register_dag(db, chain_dag())
    first = adopting_harness(make_harness)
    trigger(db, data)
    first.ticks()
    assert tries(db, "chain", "manual_1")["a"] == ("running", 1, first.scheduler.job_id)
    first.scheduler.shutdown(drain_timeout=0)
    assert tries(db, "chain", "manual_1")["a"] == ("running", 1, first.scheduler.job_id)

    second = adopting_harness(make_harness)
    second.ticks()
    assert list(second.executor.adopted) == [TaskKey("chain", "a", "manual_1", 1)]
    second.executor.finish_task("a")
    second.ticks()
    assert tries(db, "chain", "manual_1")["a"] == ("success", 1, second.scheduler.job_id)
    assert [(w.key.task_id, w.key.try_number) for w in second.executor.submitted] == [("b", 1)]


def test_silent_running_attempt_is_a_zombie(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag(default_args={"retries": 1, "retry_delay": timedelta(0)}))
    harness = adopting_harness(make_harness, heartbeat_sec=10.0, zombie_threshold=30.0)
    trigger(db, data)
    harness.ticks()
    with db.transaction() as store:  # what the worker's claim wrote
        store.update_task_instances("chain", "manual_1", ["a"], {"last_heartbeat_at": T0})
    harness.advance(20)
    harness.ticks()
    assert tries(db, "chain", "manual_1")["a"][0] == "running"
    with db.transaction(write=False) as store:  # the workers vouch for their attempts, not the scheduler
        beat = store.session.scalar(select(TI.c.last_heartbeat_at).where(TI.c.task_id == "a"))
        assert beat is not None and beat.replace(tzinfo=None) == T0.replace(tzinfo=None)
    harness.advance(20)
    harness.ticks()
    assert [(w.key.task_id, w.key.try_number) for w in harness.executor.submitted] == [("a", 1), ("a", 2)]


def test_attempt_queued_too_long_is_queued_again_as_a_new_try(
    db: Database, make_harness: MakeHarness
) -> None:
    data = register_dag(db, chain_dag())
    harness = adopting_harness(make_harness, heartbeat_sec=10.0, queued_timeout=60.0)
    harness.executor.announce = False  # no worker ever claims it
    trigger(db, data)
    harness.ticks()
    harness.advance(50)
    harness.ticks()
    assert tries(db, "chain", "manual_1")["a"][:2] == ("queued", 1)
    harness.advance(20)
    harness.ticks()
    assert tries(db, "chain", "manual_1")["a"][:2] == ("queued", 2)
    assert [(w.key.task_id, w.key.try_number) for w in harness.executor.submitted] == [("a", 1), ("a", 2)]


def test_executor_without_worker_heartbeats_gets_them_from_the_scheduler(
    db: Database, make_harness: MakeHarness
) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(lambda w: None, heartbeat_sec=10.0, zombie_threshold=5.0)
    trigger(db, data)
    harness.ticks()
    harness.advance(60)
    harness.ticks()
    with db.transaction(write=False) as store:
        row = store.session.execute(
            select(TI.c.state, TI.c.last_heartbeat_at).where(TI.c.task_id == "a")
        ).one()
    assert row.state == "running"
    assert row.last_heartbeat_at.replace(tzinfo=None) == (T0 + timedelta(seconds=60)).replace(tzinfo=None)


def chain_dag(**kwargs: object) -> DAG:
    with DAG("chain", schedule=None, start_date=T0, **kwargs) as dag:  # type: ignore[arg-type]
        BashOperator(task_id="a", bash_command="true") >> BashOperator(task_id="b", bash_command="true")
    return dag

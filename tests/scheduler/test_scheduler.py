"""Scheduler ticks against a real database (SQLite and PostgreSQL) and a scripted executor."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tradewind.dag import DAG, BashOperator, EmptyOperator
from tradewind.errors import ConfigError
from tradewind.executors.base import TaskWorkload
from tradewind.models import DagModel, Job, TaskInstance, XCom
from tradewind.scheduler.recovery import JOB_TYPE
from tradewind.store import Database
from tradewind.store.scheduling import TI

from .conftest import T0, Harness, Outcome, register_dag, run_state, ti_states, trigger

MakeHarness = Callable[..., Harness]


def bash(task_id: str, **kwargs: Any) -> BashOperator:
    return BashOperator(task_id=task_id, bash_command="true", **kwargs)


def chain_dag(dag_id: str = "chain", **kwargs: Any) -> DAG:
    with DAG(dag_id, schedule=None, start_date=T0, **kwargs) as dag:
        bash("a") >> bash("b") >> bash("c")
    return dag


def test_linear_chain_runs_to_success(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(lambda w: None)
    trigger(db, data)
    harness.scheduler.tick()
    assert harness.executor.task_ids() == ["a"]
    assert ti_states(db, "chain", "manual_1") == {"a": "queued", "b": None, "c": None}
    assert run_state(db, "chain", "manual_1") == "running"
    harness.executor.finish_task("a")
    harness.scheduler.tick()  # one pass: a recorded success, b queued and submitted
    assert harness.executor.task_ids() == ["a", "b"]
    assert ti_states(db, "chain", "manual_1") == {"a": "success", "b": "queued", "c": None}
    harness.executor.finish_task("b")
    harness.scheduler.tick()
    harness.executor.finish_task("c")
    harness.scheduler.tick()
    assert ti_states(db, "chain", "manual_1") == {"a": "success", "b": "success", "c": "success"}
    assert run_state(db, "chain", "manual_1") == "success"


def test_running_events_alone_are_written_with_the_next_pass(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(lambda w: None, running_write_delay=0.2, poll_interval=1.0, refresh_interval=60.0)
    trigger(db, data)
    harness.ticks()
    assert ti_states(db, "chain", "manual_1")["a"] == "queued"  # "running" held back
    harness.advance(0.2)
    harness.scheduler.tick()
    assert ti_states(db, "chain", "manual_1")["a"] == "running"


def test_workload_carries_what_the_worker_needs(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(lambda w: None)
    trigger(db, data, conf={"k": 1})
    harness.scheduler.tick()
    (workload,) = harness.executor.submitted
    assert workload.key.try_number == 1 and workload.conf == {"k": 1} and workload.run_type == "manual"
    assert workload.logical_date == T0 and workload.fileloc == data["fileloc"] and workload.external_trigger
    assert workload.log_path.endswith("chain/manual_1/a/1.log")
    with db.transaction(write=False) as store:
        ti = store.find_task_instance("chain", "manual_1", "a")
        assert ti is not None and ti.try_number == 1 and ti.queued_by_job_id == harness.scheduler.job_id


def test_empty_tasks_complete_without_the_executor(db: Database, make_harness: MakeHarness) -> None:
    with DAG("empties", schedule=None, start_date=T0) as dag:
        start = EmptyOperator(task_id="start")
        start >> [EmptyOperator(task_id=f"e{i}") for i in range(5)] >> EmptyOperator(task_id="end")
    data = register_dag(db, dag)
    harness = make_harness()
    trigger(db, data)
    harness.scheduler.tick()
    assert harness.executor.submitted == []
    assert set(ti_states(db, "empties", "manual_1").values()) == {"success"}
    assert run_state(db, "empties", "manual_1") == "success"


def test_failure_marks_downstream_upstream_failed_and_fails_the_run(
    db: Database, make_harness: MakeHarness
) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(lambda w: Outcome("failed") if w.key.task_id == "a" else Outcome())
    trigger(db, data)
    harness.ticks()
    assert ti_states(db, "chain", "manual_1") == {
        "a": "failed",
        "b": "upstream_failed",
        "c": "upstream_failed",
    }
    assert run_state(db, "chain", "manual_1") == "failed"


def test_every_trigger_rule_end_to_end(db: Database, make_harness: MakeHarness) -> None:
    rules = ["all_success", "all_failed", "all_done", "one_success", "one_failed", "none_failed",
             "none_failed_min_one_success", "none_skipped", "always"]  # fmt: skip
    with DAG("rules", schedule=None, start_date=T0) as dag:
        ok, bad = bash("ok"), bash("bad")
        for rule in rules:
            [ok, bad] >> bash(f"t_{rule}", trigger_rule=rule)
    data = register_dag(db, dag)
    harness = make_harness(lambda w: Outcome("failed") if w.key.task_id == "bad" else Outcome())
    trigger(db, data)
    harness.ticks()
    states = ti_states(db, "rules", "manual_1")
    assert {rule: states[f"t_{rule}"] for rule in rules} == {
        "all_success": "upstream_failed",
        "all_failed": "skipped",
        "all_done": "success",
        "one_success": "success",
        "one_failed": "success",
        "none_failed": "upstream_failed",
        "none_failed_min_one_success": "upstream_failed",
        "none_skipped": "success",
        "always": "success",
    }
    assert run_state(db, "rules", "manual_1") == "failed"


def test_branch_skips_the_other_path_and_join_runs(db: Database, make_harness: MakeHarness) -> None:
    with DAG("branchy", schedule=None, start_date=T0) as dag:
        branch = bash("branch")
        left, right = bash("left"), bash("right")
        after_right = bash("after_right")
        join = bash("join", trigger_rule="none_failed_min_one_success")
        branch >> [left, right]
        right >> after_right
        [left, after_right] >> join
    data = register_dag(db, dag)
    harness = make_harness(lambda w: Outcome(skip=("right",)) if w.key.task_id == "branch" else Outcome())
    trigger(db, data)
    harness.ticks()
    assert ti_states(db, "branchy", "manual_1") == {
        "branch": "success", "left": "success", "right": "skipped", "after_right": "skipped", "join": "success",
    }  # fmt: skip
    assert run_state(db, "branchy", "manual_1") == "success"
    assert "right" not in harness.executor.task_ids()


def test_short_circuit_skips_everything_downstream(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(lambda w: Outcome(skip=("b", "c")) if w.key.task_id == "a" else Outcome())
    trigger(db, data)
    harness.ticks()
    assert ti_states(db, "chain", "manual_1") == {"a": "success", "b": "skipped", "c": "skipped"}
    assert run_state(db, "chain", "manual_1") == "success"


def test_xcoms_are_stored_with_the_final_state(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag())
    pushed = (("return_value", b'"hello"'), ("extra", b"[1, 2]"))
    harness = make_harness(lambda w: Outcome(xcoms=pushed) if w.key.task_id == "a" else Outcome())
    trigger(db, data)
    harness.ticks()
    with db.transaction(write=False) as store:
        rows = store.session.scalars(select(XCom).where(XCom.task_id == "a")).all()
        assert sorted((x.key, x.value) for x in rows) == [("extra", b"[1, 2]"), ("return_value", b'"hello"')]


def retrying_dag(**task_args: Any) -> DAG:
    with DAG("retry", schedule=None, start_date=T0) as dag:
        bash("flaky", **task_args) >> bash("after")
    return dag


def test_retry_waits_for_its_delay_then_succeeds(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, retrying_dag(retries=2, retry_delay=timedelta(seconds=30)))

    def script(w: TaskWorkload) -> Outcome:
        return Outcome("up_for_retry") if w.key.task_id == "flaky" and w.key.try_number == 1 else Outcome()

    harness = make_harness(script)
    trigger(db, data)
    harness.ticks()
    assert ti_states(db, "retry", "manual_1")["flaky"] == "up_for_retry"
    with db.transaction(write=False) as store:
        ti = store.find_task_instance("retry", "manual_1", "flaky")
        assert ti is not None and ti.next_retry_at == T0 + timedelta(seconds=30)
    harness.advance(29)
    harness.ticks()
    assert harness.executor.task_ids() == ["flaky"]
    harness.advance(1)
    assert harness.scheduler.tick() >= 0
    harness.ticks()
    assert [(w.key.task_id, w.key.try_number) for w in harness.executor.submitted] == [
        ("flaky", 1), ("flaky", 2), ("after", 1)
    ]  # fmt: skip
    assert run_state(db, "retry", "manual_1") == "success"


def test_exponential_backoff_is_capped(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, retrying_dag(retries=5, retry_delay=timedelta(seconds=10), retry_exponential_backoff=True,
                                         max_retry_delay=timedelta(seconds=25)))  # fmt: skip
    harness = make_harness(lambda w: Outcome("up_for_retry") if w.key.task_id == "flaky" else Outcome())
    trigger(db, data)
    delays = []
    for _ in range(3):
        harness.ticks()
        with db.transaction(write=False) as store:
            ti = store.find_task_instance("retry", "manual_1", "flaky")
            assert ti is not None and ti.next_retry_at is not None
            delays.append((ti.next_retry_at - T0).total_seconds())
        harness.clock.set(ti.next_retry_at)
    assert delays == [10, 20, 25]


def test_retries_exhausted_fails(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, retrying_dag(retries=1, retry_delay=timedelta(0)))

    def script(w: TaskWorkload) -> Outcome:
        if w.key.task_id != "flaky":
            return Outcome()
        return Outcome("up_for_retry" if w.key.try_number <= 1 else "failed")

    harness = make_harness(script)
    trigger(db, data)
    harness.ticks()
    assert ti_states(db, "retry", "manual_1") == {"flaky": "failed", "after": "upstream_failed"}
    assert run_state(db, "retry", "manual_1") == "failed"


def test_pool_slots_are_never_exceeded(db: Database, make_harness: MakeHarness) -> None:
    from tradewind.models import Pool

    with db.transaction() as store:
        store.session.add(Pool(pool="small", slots=3, description=""))
    with DAG("pooled", schedule=None, start_date=T0, max_active_tasks=100) as dag:
        for i in range(10):
            bash(f"t{i}", pool="small")
        for i in range(3):
            bash(f"big{i}", pool="small", pool_slots=2)
    data = register_dag(db, dag)
    harness = make_harness(lambda w: None)
    trigger(db, data)
    for _ in range(30):
        harness.scheduler.tick()
        used = sum(2 if w.key.task_id.startswith("big") else 1 for w in harness.executor.in_flight.values())
        assert used <= 3
        if harness.executor.in_flight:
            harness.executor.finish(next(iter(harness.executor.in_flight)))
    assert run_state(db, "pooled", "manual_1") == "success"


def test_task_in_a_deleted_pool_counts_against_default_pool(db: Database, make_harness: MakeHarness) -> None:
    from sqlalchemy import update

    from tradewind.models import Pool

    with db.transaction() as store:
        store.session.execute(update(Pool).where(Pool.pool == "default_pool").values(slots=2))
    with DAG("nopool", schedule=None, start_date=T0) as dag:
        for i in range(5):
            bash(f"t{i}", pool="vanished")
    data = register_dag(db, dag)
    harness = make_harness(lambda w: None)
    trigger(db, data)
    harness.ticks()
    assert len(harness.executor.in_flight) == 2


def test_priority_weight_and_max_active_tasks(db: Database, make_harness: MakeHarness) -> None:
    with DAG("prio", schedule=None, start_date=T0, max_active_tasks=2) as dag:
        for weight in (1, 5, 3, 9):
            bash(f"w{weight}", priority_weight=weight)
    data = register_dag(db, dag)
    harness = make_harness(lambda w: None)
    trigger(db, data)
    harness.ticks()
    assert harness.executor.task_ids() == ["w9", "w5"]


def test_parallelism_caps_everything(db: Database, make_harness: MakeHarness) -> None:
    with DAG("wide", schedule=None, start_date=T0, max_active_tasks=50) as dag:
        for i in range(10):
            bash(f"t{i}")
    data = register_dag(db, dag)
    harness = make_harness(lambda w: None, parallelism=4)
    trigger(db, data)
    harness.ticks()
    assert len(harness.executor.in_flight) == 4


def test_max_active_runs_limits_triggered_runs(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag(max_active_runs=1))
    harness = make_harness(lambda w: None)
    for i in range(3):
        trigger(db, data, f"run{i}", at=T0 + timedelta(hours=i))
    harness.ticks()
    assert [run_state(db, "chain", f"run{i}") for i in range(3)] == ["running", "queued", "queued"]
    for _ in range(3):
        harness.executor.finish(next(iter(harness.executor.in_flight)))
        harness.ticks()
    assert [run_state(db, "chain", f"run{i}") for i in range(3)] == ["success", "running", "queued"]


def test_paused_dag_runs_wait_and_running_ones_continue(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(lambda w: None)
    trigger(db, data, "first")
    harness.ticks()
    with db.transaction() as store:
        store.set_paused("chain", True)
    trigger(db, data, "second", at=T0 + timedelta(hours=1))
    harness.executor.finish_task("a")
    harness.ticks()
    assert run_state(db, "chain", "second") == "queued"
    assert ti_states(db, "chain", "first")["b"] == "running"  # the running run goes on
    with db.transaction() as store:
        store.set_paused("chain", False)
    harness.ticks()
    assert run_state(db, "chain", "second") == "running"


def daily_dag(dag_id: str = "daily", **kwargs: Any) -> DAG:
    with DAG(dag_id, schedule="@daily", start_date=T0, **kwargs) as dag:
        EmptyOperator(task_id="e") >> EmptyOperator(task_id="f")
    return dag


def scheduled_runs(db: Database, dag_id: str) -> list[tuple[str, str]]:
    from tradewind.models import DagRun

    with db.transaction(write=False) as store:
        rows = store.session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.execution_date)
        )
        return [(r.run_id, r.state) for r in rows]


def test_scheduled_runs_catch_up(db: Database, make_harness: MakeHarness) -> None:
    register_dag(db, daily_dag())
    harness = make_harness(now=T0 + timedelta(days=3, hours=1))
    harness.ticks()
    assert scheduled_runs(db, "daily") == [
        ("scheduled__2024-01-01T00:00:00+00:00", "success"),
        ("scheduled__2024-01-02T00:00:00+00:00", "success"),
        ("scheduled__2024-01-03T00:00:00+00:00", "success"),
    ]
    with db.transaction(write=False) as store:
        dag_row = store.find_dag("daily")
        assert dag_row is not None and dag_row.next_dagrun == T0 + timedelta(days=3)
        assert dag_row.next_dagrun_data_interval_end == T0 + timedelta(days=4)
    harness.advance(23 * 3600 - 1)
    harness.ticks()
    assert len(scheduled_runs(db, "daily")) == 3
    assert harness.scheduler.tick() <= 1.0
    harness.advance(1)
    harness.ticks()
    assert len(scheduled_runs(db, "daily")) == 4


def test_scheduled_runs_without_catchup_start_at_the_latest(db: Database, make_harness: MakeHarness) -> None:
    register_dag(db, daily_dag(catchup=False))
    harness = make_harness(now=T0 + timedelta(days=3, hours=1))
    harness.ticks()
    assert [r for r, _ in scheduled_runs(db, "daily")] == ["scheduled__2024-01-03T00:00:00+00:00"]


def test_catchup_respects_max_active_runs(db: Database, make_harness: MakeHarness) -> None:
    with DAG("slow", schedule="@daily", start_date=T0, max_active_runs=2) as dag:
        bash("t")
    register_dag(db, dag)
    harness = make_harness(lambda w: None, now=T0 + timedelta(days=5))
    harness.ticks()
    assert [s for _, s in scheduled_runs(db, "slow")] == ["running", "running"]
    harness.executor.finish(next(iter(harness.executor.in_flight)))
    harness.ticks()
    assert [s for _, s in scheduled_runs(db, "slow")] == ["success", "running", "running"]


def test_paused_dag_gets_no_scheduled_runs(db: Database, make_harness: MakeHarness) -> None:
    register_dag(db, daily_dag(), paused=True)
    harness = make_harness(now=T0 + timedelta(days=3))
    harness.ticks()
    assert scheduled_runs(db, "daily") == []


def test_tasks_added_and_removed_while_a_run_is_active(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(lambda w: None)
    trigger(db, data)
    harness.ticks()
    with DAG("chain", schedule=None, start_date=T0) as changed:
        bash("a") >> bash("b") >> bash("new")
    register_dag(db, changed)
    harness.ticks()
    assert ti_states(db, "chain", "manual_1") == {"a": "running", "b": None, "c": "removed", "new": None}
    harness.executor.finish_task("a")
    harness.ticks()
    harness.executor.finish_task("b")
    harness.ticks()
    harness.executor.finish_task("new")
    harness.ticks()
    assert run_state(db, "chain", "manual_1") == "success"


def test_depends_on_past_waits_for_the_previous_run(db: Database, make_harness: MakeHarness) -> None:
    with DAG("past", schedule=None, start_date=T0) as dag:
        bash("p", depends_on_past=True)
    data = register_dag(db, dag)
    harness = make_harness(lambda w: None)
    trigger(db, data, "r1", at=T0)
    trigger(db, data, "r2", at=T0 + timedelta(hours=1))
    harness.ticks()
    assert [w.key.run_id for w in harness.executor.submitted] == ["r1"]
    harness.executor.finish_task("p")
    harness.ticks()
    assert [w.key.run_id for w in harness.executor.submitted] == ["r1", "r2"]


def test_dagrun_timeout_fails_the_run(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag(dagrun_timeout=timedelta(minutes=5)))
    harness = make_harness(lambda w: None)
    trigger(db, data)
    harness.ticks()
    harness.advance(301)
    harness.ticks()
    assert run_state(db, "chain", "manual_1") == "failed"
    assert ti_states(db, "chain", "manual_1") == {"a": "running", "b": "skipped", "c": "skipped"}
    harness.executor.finish_task("a")  # the attempt's end is still recorded
    harness.ticks()
    assert ti_states(db, "chain", "manual_1")["a"] == "success"


def test_clear_reruns_tasks(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(
        lambda w: Outcome("failed") if w.key.task_id == "b" and w.key.try_number == 1 else Outcome()
    )
    trigger(db, data)
    harness.ticks()
    assert run_state(db, "chain", "manual_1") == "failed"
    with db.transaction() as store:
        store.clear_task_instances([("chain", "manual_1", t, 0) for t in ("b", "c")], now=T0)
    harness.ticks()
    assert run_state(db, "chain", "manual_1") == "success"
    assert [(w.key.task_id, w.key.try_number) for w in harness.executor.submitted][-2:] == [
        ("b", 2),
        ("c", 1),
    ]


def test_restart_resets_work_of_a_dead_scheduler(db: Database, make_harness: MakeHarness) -> None:
    with DAG("crash", schedule=None, start_date=T0) as dag:
        bash("queued_one")
        bash("running_retry", retries=1, retry_delay=timedelta(seconds=5))
        bash("running_last")
    data = register_dag(db, dag)
    trigger(db, data)
    with db.transaction() as store:
        dead = store.add_job(JOB_TYPE, hostname="elsewhere", pid=1, now=T0 - timedelta(hours=1))
        store.start_dag_run(store.find_dag_run("crash", run_id="manual_1").id, now=T0, job_id=dead)  # type: ignore[union-attr]
        for task_id, state in [
            ("queued_one", "queued"),
            ("running_retry", "running"),
            ("running_last", "running"),
        ]:
            store.update_task_instances("crash", "manual_1", [task_id], {"state": state, "try_number": 1,
                                                                         "queued_by_job_id": dead})  # fmt: skip
    harness = make_harness(lambda w: None)
    assert ti_states(db, "crash", "manual_1") == {
        "queued_one": "scheduled", "running_retry": "up_for_retry", "running_last": "failed"
    }  # fmt: skip
    with db.transaction(write=False) as store:
        job = store.session.get(Job, dead)
        assert job is not None and job.state == "failed"
        retry = store.session.execute(select(TI.c.next_retry_at, TI.c.try_number).where(
            TI.c.task_id == "running_retry")).one()  # fmt: skip
        assert retry.next_retry_at == T0 + timedelta(seconds=5)
    harness.ticks()
    # it may have started before its scheduler died: the next attempt is a new try
    assert [(w.key.task_id, w.key.try_number) for w in harness.executor.submitted] == [("queued_one", 2)]
    harness.advance(5)
    harness.ticks()
    assert ("running_retry", 2) in [(w.key.task_id, w.key.try_number) for w in harness.executor.submitted]


def test_job_of_this_host_whose_process_is_gone_is_dead(db: Database, make_harness: MakeHarness) -> None:
    import socket

    with db.transaction() as store:
        fresh_but_gone = store.add_job(JOB_TYPE, hostname=socket.getfqdn(), pid=2**22 + 7, now=T0)
    make_harness()
    with db.transaction(write=False) as store:
        assert store.session.get(Job, fresh_but_gone).state == "failed"  # type: ignore[union-attr]


def test_a_live_scheduler_elsewhere_is_left_alone_and_sqlite_refuses_a_second_one(
    db: Database, make_harness: MakeHarness
) -> None:
    with db.transaction() as store:
        alive_elsewhere = store.add_job(JOB_TYPE, hostname="other", pid=os.getpid(), now=T0)
    if db.is_sqlite:
        with pytest.raises(ConfigError, match="several schedulers need PostgreSQL"):
            make_harness()
    else:
        make_harness()
    with db.transaction(write=False) as store:
        assert store.session.get(Job, alive_elsewhere).state == "running"  # type: ignore[union-attr]
        assert store.session.query(Job).count() == 1 + (not db.is_sqlite)


def test_heartbeat_records_job_and_fails_lost_attempts(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, retrying_dag(retries=1, retry_delay=timedelta(0)))
    harness = make_harness(lambda w: None, heartbeat_sec=10.0)
    trigger(db, data)
    harness.ticks()
    harness.executor.in_flight.clear()  # the executor "loses" the attempt
    harness.advance(10)
    harness.scheduler.tick()
    with db.transaction(write=False) as store:
        job = store.session.get(Job, harness.scheduler.job_id)
        assert job is not None and job.latest_heartbeat == T0 + timedelta(seconds=10)
    assert ti_states(db, "retry", "manual_1")["flaky"] in ("up_for_retry", "queued")
    harness.ticks()
    assert [(w.key.task_id, w.key.try_number) for w in harness.executor.submitted][:2] == [
        ("flaky", 1),
        ("flaky", 2),
    ]


def test_shutdown_ends_the_job_and_requeues_unstarted_work(db: Database, make_harness: MakeHarness) -> None:
    data = register_dag(db, chain_dag())
    harness = make_harness(lambda w: None)
    harness.executor.announce = False  # submitted, never started
    trigger(db, data)
    harness.ticks()
    harness.executor.in_flight.clear()
    harness.scheduler.shutdown(drain_timeout=0)
    assert harness.executor.stopped
    with db.transaction(write=False) as store:
        job = store.session.get(Job, harness.scheduler.job_id)
        assert job is not None and job.state == "success" and job.end_date is not None
        ti = store.session.get(TaskInstance, ("chain", "manual_1", "a"))
        assert ti is not None and ti.state == "scheduled" and ti.try_number == 0


def test_idle_tick_sleeps_until_the_next_poll(db: Database, make_harness: MakeHarness) -> None:
    harness = make_harness(poll_interval=0.1, refresh_interval=1.0)
    harness.scheduler.tick()
    assert 0 < harness.scheduler.tick() <= 0.1
    with db.transaction(write=False) as store:
        assert store.session.scalars(select(DagModel)).all() == []

"""The Client contract: the same calls, values and exceptions for every client (see conftest)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from tests.actions import factory
from tests.clients.conftest import Harness

from tradewind import errors
from tradewind.values import DagRunInfo, DeleteResult, PauseState, TaskInfo, TaskInstanceInfo

WHEN = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
PLUS5 = timezone(timedelta(hours=5))


def _raises(exc: type[Exception], message: str) -> Any:
    """Raises exactly this message (and this class or a subclass)."""
    return pytest.raises(exc, match=f"^{re.escape(message)}$")


def test_trigger_returns_the_run_and_lists_it(harness: Harness) -> None:
    dag_id = harness.add_dag()
    result = harness.client.trigger_dag(dag_id, run_id="first", conf={"a": [1, 2]}, execution_date=WHEN)
    assert (result.dag_id, result.run_id, result.execution_date, result.state) == (
        dag_id,
        "first",
        WHEN,
        "queued",
    )
    assert result.external_trigger and result.queued_at is not None
    assert result.message.startswith(
        f"Created <DagRun {dag_id} @ 2024-02-03T04:05:06+00:00: first, state:queued"
    )
    [run] = harness.client.dag_runs(dag_id)
    assert isinstance(run, DagRunInfo)
    assert (run.run_id, run.state, run.execution_date, run.conf, run.start_date) == (
        "first",
        "queued",
        WHEN,
        {"a": [1, 2]},
        None,
    )
    assert run.external_trigger and run.run_type == "manual"
    assert harness.client.dag_run_state(dag_id, WHEN) == "queued"


def test_trigger_keeps_the_callers_offset_and_finds_the_run_in_any_spelling(harness: Harness) -> None:
    dag_id = harness.add_dag()
    local = WHEN.astimezone(PLUS5)
    result = harness.client.trigger_dag(dag_id, execution_date=local)
    assert result.execution_date.utcoffset() == timedelta(hours=5)
    assert result.run_id == "manual__2024-02-03T09:05:06+05:00"
    assert harness.client.dag_run_state(dag_id, WHEN) == "queued"
    assert harness.client.dag_run_state(dag_id, WHEN.replace(tzinfo=None)) == "queued"  # naive is UTC


def test_trigger_without_a_date_is_now(harness: Harness) -> None:
    dag_id = harness.add_dag()
    before = datetime.now(UTC).replace(microsecond=0)
    result = harness.client.trigger_dag(dag_id)
    assert before <= result.execution_date <= datetime.now(UTC)
    assert result.run_id.startswith("manual__")


def test_trigger_accepts_conf_as_a_json_string(harness: Harness) -> None:
    dag_id = harness.add_dag()
    harness.client.trigger_dag(dag_id, conf='{"key": "value"}', execution_date=WHEN)
    assert harness.client.dag_runs(dag_id)[0].conf == {"key": "value"}


@pytest.mark.parametrize("conf", ["[1, 2]", "not json", '"text"'])
def test_trigger_refuses_conf_that_is_not_an_object(harness: Harness, conf: str) -> None:
    dag_id = harness.add_dag()
    with _raises(
        errors.InvalidConf, "Dag Run conf must be a dictionary object, other types are not supported"
    ):
        harness.client.trigger_dag(dag_id, conf=conf)


def test_trigger_errors(harness: Harness) -> None:
    with _raises(errors.DagNotFound, "Dag id nope_x not found in DagModel"):
        harness.client.trigger_dag("nope_x")
    dag_id = harness.add_dag()
    harness.client.trigger_dag(dag_id, run_id="same", execution_date=WHEN)
    message = f"A DAG Run already exists for DAG {dag_id} at 2024-02-03T04:05:07+00:00 with run id same"
    with _raises(errors.DagRunAlreadyExists, message):
        harness.client.trigger_dag(dag_id, run_id="same", execution_date=WHEN + timedelta(seconds=1))


def test_dag_runs_filters_and_pages(harness: Harness) -> None:
    dag_id = harness.add_dag()
    for day in range(1, 5):
        harness.client.trigger_dag(dag_id, run_id=f"r{day}", execution_date=WHEN.replace(day=day))
    runs = harness.client.dag_runs
    assert [r.run_id for r in runs(dag_id)] == ["r1", "r2", "r3", "r4"]
    assert [r.run_id for r in runs(dag_id, limit=2, offset=1)] == ["r2", "r3"]
    between = runs(dag_id, execution_date_gte=WHEN.replace(day=2), execution_date_lte=WHEN.replace(day=3))
    assert [r.run_id for r in between] == ["r2", "r3"]
    assert runs(dag_id, state="queued")[0].run_id == "r1"
    assert runs(dag_id, state="success") == []


def test_dag_runs_errors_are_bad_requests(harness: Harness) -> None:
    with pytest.raises(errors.BadRequest, match=r"^Dag id nope_y not found in DagModel$") as caught:
        harness.client.dag_runs("nope_y")
    assert type(caught.value) is errors.BadRequest
    dag_id = harness.add_dag()
    with pytest.raises(errors.BadRequest, match=r"^Invalid state 'bogus'"):
        harness.client.dag_runs(dag_id, state="bogus")


def test_dag_run_state_errors(harness: Harness) -> None:
    dag_id = harness.add_dag()
    with _raises(errors.DagNotFound, "Dag id nope_z not found in DagModel"):
        harness.client.dag_run_state("nope_z", WHEN)
    with _raises(
        errors.DagRunNotFound, f"Dag Run for date 2024-02-03T04:05:06+00:00 not found in dag {dag_id}"
    ):
        harness.client.dag_run_state(dag_id, WHEN)


def test_task_info(harness: Harness) -> None:
    dag_id = harness.add_dag()
    task = harness.client.task_info(dag_id, "extract")
    assert isinstance(task, TaskInfo)
    assert (task.dag_id, task.task_id) == (dag_id, "extract")
    assert task.attributes["bash_command"] == "echo extract"
    assert task.attributes["retry_delay"] == "0:05:00"
    assert all(isinstance(v, str) for v in task.attributes.values())
    with _raises(errors.TaskNotFound, f"Task nope not found in dag {dag_id}"):
        harness.client.task_info(dag_id, "nope")
    with _raises(errors.DagNotFound, "Dag id nope_t not found"):
        harness.client.task_info("nope_t", "extract")


def test_task_instance_info(harness: Harness) -> None:
    dag_id = harness.add_dag()
    run_id = harness.client.trigger_dag(dag_id, execution_date=WHEN).run_id
    factory.set_ti_state(
        harness.db, dag_id, run_id, "transform", "success", hostname="worker-1", try_number=1
    )
    ti = harness.client.task_instance_info(dag_id, WHEN, "transform")
    assert isinstance(ti, TaskInstanceInfo)
    assert (ti.dag_id, ti.task_id, ti.run_id, ti.execution_date) == (dag_id, "transform", run_id, WHEN)
    assert (ti.state, ti.hostname, ti.try_number, ti.map_index) == ("success", "worker-1", 1, -1)
    assert harness.client.task_instance_info(dag_id, WHEN, "load").state is None
    with _raises(errors.TaskNotFound, f"Task nope not found in dag {dag_id}"):
        harness.client.task_instance_info(dag_id, WHEN, "nope")
    with _raises(
        errors.DagRunNotFound, f"Dag Run for date 2024-02-04T04:05:06+00:00 not found in dag {dag_id}"
    ):
        harness.client.task_instance_info(dag_id, WHEN + timedelta(days=1), "load")


def test_pause_and_unpause(harness: Harness) -> None:
    dag_id = harness.add_dag()
    assert harness.client.paused_state(dag_id) == PauseState(dag_id, False)
    assert harness.client.set_paused(dag_id, True) == PauseState(dag_id, True)
    assert harness.client.paused_state(dag_id).is_paused
    assert harness.client.set_paused(dag_id, False) == PauseState(dag_id, False)
    assert not harness.client.paused_state(dag_id).is_paused
    with _raises(errors.DagNotFound, "Dag id nope_p not found in DagModel"):
        harness.client.set_paused("nope_p", True)
    with _raises(errors.DagNotFound, "Dag id nope_p not found in DagModel"):
        harness.client.paused_state("nope_p")


def test_latest_runs(harness: Harness) -> None:
    dag_id = harness.add_dag()
    harness.client.trigger_dag(dag_id, execution_date=WHEN)
    harness.client.trigger_dag(dag_id, execution_date=WHEN + timedelta(days=1))
    mine = [run for run in harness.client.latest_runs() if run.dag_id == dag_id]
    assert [(run.execution_date, run.start_date) for run in mine] == [(WHEN + timedelta(days=1), None)]


def test_pools_lifecycle(harness: Harness) -> None:
    name = harness.name("pool")
    created = harness.client.create_or_update_pool(name, 3, "Three at a time")
    assert (created.pool, created.slots, created.description, created.include_deferred) == (
        name,
        3,
        "Three at a time",
        False,
    )
    assert (created.open_slots, created.occupied_slots) == (3, 0)
    assert harness.client.get_pool(name) == created
    updated = harness.client.create_or_update_pool(name, "7", None, include_deferred=True)
    assert (updated.id, updated.slots, updated.description, updated.include_deferred) == (
        created.id,
        7,
        "",
        True,
    )
    listed = {pool.pool: pool for pool in harness.client.pools()}
    assert listed[name] == updated
    assert listed["default_pool"].slots == 128
    assert harness.client.delete_pool(name) == updated
    with _raises(errors.PoolNotFound, f"Pool '{name}' doesn't exist"):
        harness.client.get_pool(name)
    with _raises(errors.PoolNotFound, f"Pool '{name}' doesn't exist"):
        harness.client.delete_pool(name)


def test_pool_errors(harness: Harness) -> None:
    with _raises(errors.BadRequest, "Bad value for `slots`: abc"):
        harness.client.create_or_update_pool(harness.name("pool"), "abc")
    with _raises(errors.BadRequest, "Bad value for `slots`: -1"):
        harness.client.create_or_update_pool(harness.name("pool"), -1)
    with _raises(errors.BadRequest, "Pool name shouldn't be empty"):
        harness.client.create_or_update_pool("  ", 1)
    with _raises(errors.BadRequest, "default_pool cannot be deleted"):
        harness.client.delete_pool("default_pool")


def test_delete_dag(harness: Harness) -> None:
    dag_id = harness.add_dag()
    harness.client.trigger_dag(dag_id, execution_date=WHEN)
    result = harness.client.delete_dag(dag_id)
    assert isinstance(result, DeleteResult) and result.dag_id == dag_id
    assert result.count >= 6 and result.message == f"Removed {result.count} record(s)"
    with _raises(errors.DagNotFound, f"Dag id {dag_id} not found"):
        harness.client.delete_dag(dag_id)


def test_delete_dag_refused_while_a_task_runs(harness: Harness) -> None:
    dag_id = harness.add_dag()
    run_id = harness.client.trigger_dag(dag_id, execution_date=WHEN).run_id
    factory.set_ti_state(harness.db, dag_id, run_id, "extract", "running")
    with pytest.raises(errors.Conflict, match="running task instance"):
        harness.client.delete_dag(dag_id)


def test_dag_code(harness: Harness) -> None:
    dag_id = harness.add_dag()
    code = harness.client.dag_code(dag_id)
    assert (code.dag_id, code.source) == (dag_id, factory.SOURCE)
    with _raises(errors.DagNotFound, "Dag id nope_c not found in DagModel"):
        harness.client.dag_code("nope_c")


def test_lineage(harness: Harness) -> None:
    dag_id = harness.add_dag()
    harness.client.trigger_dag(dag_id, execution_date=WHEN)
    found = harness.client.lineage(dag_id, WHEN.astimezone(PLUS5))
    assert (found.dag_id, found.execution_date) == (dag_id, WHEN)
    assert {k: (v.inlets, v.outlets) for k, v in found.task_ids.items()} == {
        "load": ([], [{"uri": "s3://bucket/out"}])
    }
    with _raises(
        errors.DagRunNotFound, f"Dag Run for date 2024-02-04T04:05:06+00:00 not found in dag {dag_id}"
    ):
        harness.client.lineage(dag_id, WHEN + timedelta(days=1))


def test_health(harness: Harness) -> None:
    health = harness.client.health()
    assert health.metadatabase_healthy
    factory.add_scheduler_heartbeat(harness.db, datetime.now(UTC))
    health = harness.client.health()
    assert health.scheduler_healthy and health.latest_scheduler_heartbeat is not None

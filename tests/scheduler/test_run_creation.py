"""One way to create a run: the API trigger, the scheduler, backfills and tests' ``create_dag_run``
all go through ``Store.insert_dag_run``, so they make the same task instances by the same rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.actions.factory import add_dag, task

from tradewind.actions import dag_runs
from tradewind.dag import DAG, BashOperator
from tradewind.dag.schedules import RunInfo
from tradewind.errors import DagRunAlreadyExists
from tradewind.models import DagRun, TaskInstance
from tradewind.models.states import DagRunType
from tradewind.scheduler.clearing import create_backfill_runs, require_spec
from tradewind.scheduler.runs import create_run
from tradewind.store import Database

from .conftest import T0, Harness, register_dag

DAY = timedelta(days=1)
#: The task ids a run of :func:`dated_dag` gets, by the run's date.
EXPECTED = {
    T0: ["always", "early"],  # "early" ends half a day in
    T0 + DAY: ["always"],
    T0 + 2 * DAY: ["always", "late"],  # "late" starts on the third day (a start on the date counts)
}


def dated_dag(**kwargs: Any) -> DAG:
    with DAG("dated", schedule="@daily", start_date=T0, **kwargs) as dag:
        BashOperator(task_id="always", bash_command="true")
        BashOperator(task_id="late", bash_command="true", start_date=T0 + 2 * DAY)
        BashOperator(task_id="early", bash_command="true", end_date=T0 + DAY / 2)
    return dag


def instances_by_date(db: Database, dag_id: str) -> dict[datetime, list[str]]:
    with db.transaction(write=False) as store:
        runs = store.session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)).all()
        return {
            r.execution_date: sorted(ti.task_id for ti in store.task_instances(dag_id, r.run_id))
            for r in runs
        }


def by_scheduler(db: Database, make_harness: Callable[..., Harness]) -> None:
    make_harness(lambda w: None, now=T0 + 3 * DAY + timedelta(hours=1)).scheduler.tick()


def by_trigger(db: Database, make_harness: Callable[..., Harness]) -> None:
    for date in EXPECTED:
        with db.transaction() as store:
            dag_runs.trigger_dag(store, "dated", now=date, execution_date=date)


def by_backfill(db: Database, make_harness: Callable[..., Harness]) -> None:
    with db.transaction() as store:
        create_backfill_runs(store, "dated", T0, T0 + 2 * DAY, now=T0)


def by_create_dag_run(db: Database, make_harness: Callable[..., Harness]) -> None:
    for date in EXPECTED:
        with db.transaction() as store:
            data = store.serialized_dag("dated")
            assert data is not None
            store.create_dag_run(data, run_id=f"r{date:%d}", execution_date=date, run_type="manual", now=date)


@pytest.mark.parametrize("create", [by_scheduler, by_trigger, by_backfill, by_create_dag_run])
def test_a_task_gets_an_instance_only_in_runs_at_dates_it_exists(
    db: Database, make_harness: Callable[..., Harness], create: Callable[..., None]
) -> None:
    register_dag(db, dated_dag(), paused=create is not by_scheduler)
    create(db, make_harness)
    assert instances_by_date(db, "dated") == EXPECTED


def test_every_path_makes_the_same_task_instances(db: Database) -> None:
    with DAG("varied", schedule="@daily", start_date=T0) as dag:
        BashOperator(task_id="plain", bash_command="true")
        BashOperator(task_id="tuned", bash_command="true", retries=3, queue="q2", pool_slots=2,
                     priority_weight=7)  # fmt: skip
    data = register_dag(db, dag, paused=True)
    with db.transaction() as store:
        dag_runs.trigger_dag(store, "varied", now=T0, execution_date=T0 + timedelta(hours=1))
        store.create_dag_run(
            data, run_id="tests", execution_date=T0 + timedelta(hours=2), run_type="manual", now=T0
        )
        create_backfill_runs(store, "varied", T0, T0, now=T0)
        info = RunInfo(T0 + DAY, T0 + DAY, T0 + 2 * DAY)
        create_run(store, require_spec(store, "varied"), info, run_type=DagRunType.SCHEDULED, now=T0)
    with db.transaction(write=False) as store:
        rows = store.session.execute(select(TaskInstance.__table__).order_by(TaskInstance.task_id)).mappings()
        by_run: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_run.setdefault(row["run_id"], []).append({k: v for k, v in row.items() if k != "run_id"})
    assert len(by_run) == 4
    first, *others = by_run.values()
    assert all(other == first for other in others)
    tuned = first[1]
    assert (tuned["max_tries"], tuned["queue"], tuned["pool_slots"], tuned["state"]) == (3, "q2", 2, None)


def test_task_dates_without_an_offset_are_utc(db: Database) -> None:
    """The rule compares aware dates: a naive date in a serialized task is UTC (it used to raise TypeError)."""
    add_dag(
        db,
        tasks=[
            task("now"),
            task("later", start_date="2024-01-03T00:00:00"),
            task("gone", end_date="2024-01-01"),
        ],
    )
    with db.transaction() as store:
        result = dag_runs.trigger_dag(store, "example", now=T0 + DAY, execution_date=T0 + DAY)
        assert [ti.task_id for ti in store.task_instances("example", result.run_id)] == ["now"]


def test_a_run_id_or_date_already_taken_creates_nothing(db: Database) -> None:
    data = register_dag(db, dated_dag(), paused=True)
    scheduled = "scheduled__2024-01-02T00:00:00+00:00"
    with db.transaction() as store:
        store.create_dag_run(data, run_id="manual", execution_date=T0, run_type="manual", now=T0)
        store.create_dag_run(data, run_id=scheduled, execution_date=T0 + DAY / 3, run_type="manual", now=T0)
        spec = require_spec(store, "dated")
        for day in (0, 1):  # the date is taken; the run id is taken
            info = RunInfo(T0 + day * DAY, T0 + day * DAY, T0 + (day + 1) * DAY)
            assert create_run(store, spec, info, run_type=DagRunType.SCHEDULED, now=T0) is None
        with pytest.raises(DagRunAlreadyExists):
            store.create_dag_run(data, run_id="manual", execution_date=T0 + DAY, run_type="manual", now=T0)
        info = RunInfo(T0 + 2 * DAY, T0 + 2 * DAY, T0 + 3 * DAY)
        created = create_run(store, spec, info, run_type=DagRunType.SCHEDULED, now=T0)
        assert created is not None  # no error left the transaction unusable
    assert sorted(instances_by_date(db, "dated")) == [T0, T0 + DAY / 3, T0 + 2 * DAY]

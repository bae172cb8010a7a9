"""Actions called directly on a Store, as the local client will; and values through the JSON wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from tests.actions.factory import NOW, add_dag, add_run, set_ti_state

from tradewind.actions import dag_runs, dags, pools, tasks
from tradewind.actions.health import health
from tradewind.api import schemas
from tradewind.clients import _wire
from tradewind.errors import BadRequest, DagNotFound, DagRunAlreadyExists, InvalidConf
from tradewind.models import EventLog
from tradewind.scheduler.specs import task_specs
from tradewind.store import Database
from tradewind.values import DagRunInfo, PoolInfo, TriggerResult

D1 = datetime(2024, 1, 1, tzinfo=UTC)


def test_trigger_returns_value_with_client_offset(db: Database) -> None:
    add_dag(db)
    plus2 = timezone(timedelta(hours=2))
    with db.transaction() as store:
        result = dag_runs.trigger_dag(
            store,
            "example",
            now=NOW,
            execution_date=datetime(2024, 1, 1, 2, tzinfo=plus2),
            conf='{"a": 1}',
            owner="alice",
        )
    assert result == TriggerResult(
        "example", "manual__2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, 2, tzinfo=plus2), "queued", NOW
    )
    with db.transaction(write=False) as store:
        [run] = dag_runs.dag_runs(store, "example")
        [event] = store.session.scalars(select(EventLog)).all()
        assert dag_runs.dag_run_state(store, "example", D1) == "queued"
    assert (run.execution_date, run.conf, run.external_trigger) == (D1, {"a": 1}, True)
    assert event.owner == "alice"


@pytest.mark.parametrize("conf", ["[1]", "nope", 3, [1], "Infinity"])
def test_coerce_conf_refuses(conf: object) -> None:
    with pytest.raises(InvalidConf):
        dag_runs.coerce_conf(conf)  # type: ignore[arg-type]


def test_errors_raised_by_actions(db: Database) -> None:
    add_dag(db)
    with db.transaction() as store:
        with pytest.raises(DagNotFound, match="Dag id nope not found in DagModel"):
            dag_runs.trigger_dag(store, "nope", now=NOW)
        with pytest.raises(BadRequest, match="Dag id nope not found in DagModel"):
            dag_runs.dag_runs(store, "nope")
        with pytest.raises(BadRequest, match="Bad value for `limit`: -1"):
            dag_runs.dag_runs(store, "example", limit=-1)
        dag_runs.trigger_dag(store, "example", now=NOW, execution_date=D1)
        with pytest.raises(DagRunAlreadyExists):
            dag_runs.trigger_dag(store, "example", now=NOW, execution_date=D1)


@pytest.mark.parametrize(("value", "expected"), [(0, 0), ("7", 7), (" 3", 3)])
def test_parse_slots(value: object, expected: int) -> None:
    assert pools.parse_slots(value) == expected


def test_pool_actions(db: Database) -> None:
    with db.transaction() as store:
        created = pools.create_or_update_pool(store, name=" etl ", slots="2", now=NOW, owner="bob")
        assert created.pool == "etl" and created.slots == 2
        assert pools.get_pool(store, "etl") == created
        assert pools.delete_pool(store, "etl", now=NOW) == created
        events = [(e.event, e.owner) for e in store.session.scalars(select(EventLog).order_by(EventLog.id))]
    assert events == [("create_or_update_pool", "bob"), ("delete_pool", None)]


def test_health_action(db: Database) -> None:
    with db.transaction(write=False) as store:
        info = health(store, now=NOW, threshold=30)
    assert (info.metadatabase_healthy, info.scheduler_healthy, info.latest_scheduler_heartbeat) == (
        True,
        False,
        None,
    )


def test_values_round_trip_through_the_wire(db: Database) -> None:
    add_dag(db)
    run_id = add_run(db, "example", D1, state="running")
    set_ti_state(
        db, "example", run_id, "extract", "success", try_number=1, duration=1.5, start_date=D1, end_date=D1
    )
    with db.transaction() as store:
        trigger = dag_runs.trigger_dag(store, "example", now=NOW, conf={"k": [1]})
        runs = dag_runs.dag_runs(store, "example")
        latest = dag_runs.latest_runs(store)
        task = tasks.task_info(store, "example", "extract")
        ti = tasks.task_instance_info(store, "example", D1, "extract")
        lineage = tasks.lineage(store, "example", D1)
        pool = pools.get_pool(store, "default_pool")
        paused = dags.paused_state(store, "example")
    wire = lambda data: json.loads(json.dumps(data))  # noqa: E731
    # What the server writes, the JSON client reads back as the very values the actions returned.
    assert _wire.trigger("example", wire(schemas.trigger_to_json(trigger))) == trigger
    assert [_wire.dag_run(wire(schemas.dag_run_to_json(r))) for r in runs] == runs
    assert [_wire.latest_run(wire(schemas.latest_run_to_json(r))) for r in latest] == latest
    assert wire(task.attributes) == task.attributes
    assert _wire.task_instance(wire(schemas.task_instance_to_json(ti))) == ti
    assert _wire.lineage("example", D1, wire(schemas.lineage_to_json(lineage))) == lineage
    assert _wire.pool(wire(schemas.pool_to_json(pool))) == pool
    assert paused.is_paused is False
    assert isinstance(runs[0], DagRunInfo) and isinstance(pool, PoolInfo)


def test_health_round_trip() -> None:
    from tradewind.values import HealthInfo

    info = HealthInfo(True, True, NOW)
    assert _wire.health(json.loads(json.dumps(schemas.health_to_json(info)))) == info


def test_listed_runs_equal_what_the_orm_reads(db: Database) -> None:
    """The listing converts driver values itself: it must agree with the column types."""
    from tradewind.models import DagRun

    add_dag(db)
    add_run(db, "example", D1, run_id="plain")
    with db.transaction() as store:
        dag_runs.trigger_dag(store, "example", now=NOW.replace(microsecond=123), conf={"k": ["é", 1]})
        store.session.execute(
            DagRun.__table__.update()
            .where(DagRun.run_id == "plain")
            .values(start_date=D1 + timedelta(microseconds=5), end_date=D1 + timedelta(hours=1))
        )
    with db.transaction(write=False) as store:
        listed = dag_runs.dag_runs(store, "example")
        rows = store.session.scalars(select(DagRun).order_by(DagRun.execution_date)).all()
    assert listed == [
        DagRunInfo(
            r.id,
            r.dag_id,
            r.run_id,
            r.state,
            r.execution_date,
            r.start_date,
            r.end_date,
            r.run_type,
            r.external_trigger,
            r.conf,
        )
        for r in rows
    ]
    assert [type(r.external_trigger) for r in listed] == [bool, bool]
    assert all(r.execution_date.tzinfo is not None for r in listed)


_LISTING_FILTERS: list[dict[str, object]] = [
    {},
    {"state": "queued"},
    {"limit": 2},
    {"offset": 1},
    {"limit": 1, "offset": 2},
    {"state": "running", "limit": 5, "offset": 0},
    {"execution_date_gte": D1 + timedelta(microseconds=1)},
    {"execution_date_lte": D1 + timedelta(days=1), "limit": 1},
    {"execution_date_gte": datetime(2024, 1, 2, 2, tzinfo=timezone(timedelta(hours=2))), "state": "queued"},
]


@pytest.mark.parametrize("filters", _LISTING_FILTERS)
def test_listed_rows_equal_what_the_orm_reads(db: Database, filters: dict[str, object]) -> None:
    """The rows the API renders (SQLite: straight from the driver when no date is given) agree with the
    ORM and the column types, for every filter; the JSON written from them is the generic rendering."""
    from tradewind.models import DagRun

    add_dag(db)
    for day, state in enumerate(["queued", "running", "queued", "success"]):
        add_run(db, "example", D1 + timedelta(days=day), state=state)
    with db.transaction() as store:
        dag_runs.trigger_dag(store, "example", now=NOW.replace(microsecond=123), conf={"k": ["é", 1]})
        store.session.execute(
            DagRun.__table__.update()
            .where(DagRun.execution_date == D1 + timedelta(days=1))
            .values(start_date=D1 + timedelta(microseconds=5), end_date=D1 + timedelta(hours=1))
        )
    with db.transaction(write=False) as store:
        query = select(DagRun).where(DagRun.dag_id == "example").order_by(DagRun.execution_date)
        if "state" in filters:
            query = query.where(DagRun.state == filters["state"])
        if "execution_date_gte" in filters:
            query = query.where(DagRun.execution_date >= filters["execution_date_gte"])
        if "execution_date_lte" in filters:
            query = query.where(DagRun.execution_date <= filters["execution_date_lte"])
        rows = store.session.scalars(query).all()[filters.get("offset", 0) :]  # type: ignore[misc]
        rows = rows[: filters["limit"]] if "limit" in filters else rows  # type: ignore[misc]
        expected = [
            DagRunInfo(
                r.id, r.dag_id, r.run_id, r.state, r.execution_date, r.start_date, r.end_date, r.run_type,
                r.external_trigger, r.conf,
            )
            for r in rows
        ]  # fmt: skip
        assert dag_runs.dag_runs(store, "example", **filters) == expected  # type: ignore[arg-type]
    with db.read() as store:
        listed = dag_runs.dag_run_rows(store, "example", **filters)  # type: ignore[arg-type]
    assert listed == [run.to_row() for run in expected]
    assert [DagRunInfo.from_row(row) for row in listed] == expected
    rendered = json.dumps(
        [schemas.dag_run_to_json(r) for r in expected], separators=(",", ":"), ensure_ascii=False
    )
    assert schemas.dag_run_rows_json(listed) == rendered


def test_listing_an_unknown_dag_on_a_read_store(db: Database) -> None:
    add_dag(db)
    with db.read() as store:
        assert dag_runs.dag_run_rows(store, "example") == []
        with pytest.raises(BadRequest, match="Dag id nope not found in DagModel"):
            dag_runs.dag_run_rows(store, "nope")


def test_duplicate_run_leaves_the_transaction_usable(db: Database) -> None:
    add_dag(db)
    with db.transaction() as store:
        data = store.serialized_dag("example")
        assert data is not None
        tasks, values = task_specs(data), dict(execution_date=D1, run_type="manual", now=NOW)
        assert store.insert_dag_run("example", tasks, run_id="a", **values) is not None  # type: ignore[arg-type]
        assert store.insert_dag_run("example", tasks, run_id="a", **values) is None  # type: ignore[arg-type]
        assert store.insert_dag_run("example", tasks, run_id="b", **values) is None  # type: ignore[arg-type]
        assert [r.run_id for r in dag_runs.dag_runs(store, "example")] == ["a"]
        assert len(store.task_instances("example", "a")) == 3


def test_trigger_of_a_dag_deleted_meanwhile_is_not_found(db: Database) -> None:
    """The DAG row can vanish between reading its serialized form and inserting the run."""
    add_dag(db)
    with db.transaction() as store:
        data = store.serialized_dag("example")
        store.delete_dag_records("example")
        store.serialized_dag = lambda dag_id: data  # type: ignore[method-assign]
        with pytest.raises(DagNotFound, match="Dag id example not found in DagModel"):
            dag_runs.trigger_dag(store, "example", now=NOW)

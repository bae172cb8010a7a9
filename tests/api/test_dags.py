"""Pause and unpause, paused state, delete a DAG, a DAG's code."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from tests.actions.factory import FILELOC, SOURCE, add_dag, add_run, set_ti_state
from tests.api.conftest import AppClient

from tradewind.models import DagCode, DagRun, EventLog, TaskInstance
from tradewind.store import Database

D1 = datetime(2024, 1, 1, tzinfo=UTC)


def is_paused(db: Database, dag_id: str = "example") -> bool:
    with db.transaction(write=False) as store:
        dag = store.find_dag(dag_id)
        assert dag is not None
        return dag.is_paused


@pytest.mark.parametrize(
    ("value", "paused"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
    ],
)
def test_pause_compat_values(client: AppClient, db: Database, value: str, paused: bool) -> None:
    add_dag(db, paused=not paused)
    response = client.get(f"/api/experimental/dags/example/paused/{value}")
    assert (response.status_code, response.json()) == (200, {"response": "ok"})
    assert is_paused(db) is paused
    assert client.get("/api/experimental/dags/example/paused").json() == {"is_paused": paused}


@pytest.mark.parametrize("value", ["maybe", "tru", "2", "%20"])
def test_pause_bad_value_changes_nothing(client: AppClient, db: Database, value: str) -> None:
    add_dag(db, paused=True)
    response = client.get(f"/api/experimental/dags/example/paused/{value}")
    assert response.status_code == 400
    assert response.json()["type"] == "BadRequest"
    assert response.json()["error"].startswith("Bad value for `paused`: ")
    assert is_paused(db) is True


def test_pause_with_put_and_event_log(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.put("/api/experimental/dags/example/paused", json={"is_paused": True})
    assert (response.status_code, response.json()) == (200, {"response": "ok"})
    assert is_paused(db) is True
    assert client.put("/api/experimental/dags/example/paused", json={"is_paused": "false"}).status_code == 200
    assert is_paused(db) is False
    with db.transaction(write=False) as store:
        events = [e.event for e in store.session.scalars(select(EventLog).order_by(EventLog.id))]
    assert events == ["pause", "unpause"]


def test_pause_errors(client: AppClient, db: Database) -> None:
    add_dag(db)
    for response in (
        client.get("/api/experimental/dags/nope/paused/true"),
        client.get("/api/experimental/dags/nope/paused"),
        client.put("/api/experimental/dags/nope/paused", json={"is_paused": True}),
    ):
        assert (response.status_code, response.json()) == (
            404,
            {"error": "Dag id nope not found in DagModel", "type": "DagNotFound"},
        )
    response = client.put("/api/experimental/dags/example/paused", json={})
    assert response.json() == {"error": "Missing required field `is_paused`", "type": "BadRequest"}
    response = client.put("/api/experimental/dags/example/paused", content=b"[]")
    assert response.json() == {"error": "Request body must be a JSON object", "type": "BadRequest"}


def test_code(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.get("/api/experimental/dags/example/code")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == SOURCE
    response = client.get("/api/experimental/dags/nope/code")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Dag id nope not found in DagModel", "type": "DagNotFound"},
    )


def test_code_missing(client: AppClient, db: Database) -> None:
    add_dag(db, source=None)
    response = client.get("/api/experimental/dags/example/code")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Code of dag example not found", "type": "NotFound"},
    )


def test_delete_dag(client: AppClient, db: Database) -> None:
    add_dag(db)
    run_id = add_run(db, "example", D1)
    set_ti_state(db, "example", run_id, "extract", "success")
    response = client.delete("/api/experimental/dags/example")
    # 3 task instances + 1 run + serialized + dag row + code
    assert (response.status_code, response.json()) == (200, {"count": 7, "message": "Removed 7 record(s)"})
    with db.transaction(write=False) as store:
        assert store.find_dag("example") is None
        assert store.session.scalar(select(func.count()).select_from(DagRun)) == 0
        assert store.session.scalar(select(func.count()).select_from(TaskInstance)) == 0
        assert store.session.scalar(select(func.count()).select_from(DagCode)) == 0
        [event] = store.session.scalars(select(EventLog)).all()
    assert (event.event, event.dag_id, json.loads(event.extra or "")) == (
        "delete_dag",
        "example",
        {"count": 7},
    )
    response = client.delete("/api/experimental/dags/example")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Dag id example not found", "type": "DagNotFound"},
    )


def test_delete_keeps_code_shared_with_another_dag(client: AppClient, db: Database) -> None:
    add_dag(db, "example")
    add_dag(db, "sibling")
    assert client.delete("/api/experimental/dags/example").json()["count"] == 2
    with db.transaction(write=False) as store:
        assert store.code(FILELOC) == SOURCE


def test_delete_while_running_is_409(client: AppClient, db: Database) -> None:
    add_dag(db)
    run_id = add_run(db, "example", D1, state="running")
    set_ti_state(db, "example", run_id, "transform", "running")
    response = client.delete("/api/experimental/dags/example")
    assert response.status_code == 409
    assert response.json() == {
        "error": "Dag example has 1 running task instance(s); it cannot be deleted now",
        "type": "Conflict",
    }
    with db.transaction(write=False) as store:
        assert store.find_dag("example") is not None

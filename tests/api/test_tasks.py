"""A task's definition, a task instance, and lineage."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.actions.factory import add_dag, add_run, set_ti_state, task
from tests.api.conftest import AppClient

from tradewind.store import Database

D1 = datetime(2024, 1, 1, tzinfo=UTC)
TI_URL = "/api/experimental/dags/example/dag_runs/{date}/tasks/{task}"


def test_task_info(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.get("/api/experimental/dags/example/tasks/transform")
    assert response.status_code == 200
    body = response.json()
    assert all(isinstance(v, str) for v in body.values())
    assert body["task_id"] == "transform"
    assert body["retry_delay"] == "0:05:00"
    assert body["bash_command"] == "echo transform"
    assert body["start_date"] == "None"
    assert body["upstream_task_ids"] == "{'extract'}"


def test_task_info_without_attrs_falls_back_to_strings(client: AppClient, db: Database) -> None:
    bare = task("bare")
    del bare["attrs"]
    add_dag(db, tasks=[bare])
    body = client.get("/api/experimental/dags/example/tasks/bare").json()
    assert body["retries"] == "1"
    assert body["inlets"] == "[]"
    assert "effective_priority_weight" not in body


def test_task_info_errors(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.get("/api/experimental/dags/nope/tasks/x")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Dag id nope not found", "type": "DagNotFound"},
    )
    response = client.get("/api/experimental/dags/example/tasks/nope")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Task nope not found in dag example", "type": "TaskNotFound"},
    )


def test_task_instance(client: AppClient, db: Database) -> None:
    add_dag(db)
    run_id = add_run(db, "example", D1)
    started = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    set_ti_state(
        db, "example", run_id, "extract", "running", try_number=1, start_date=started, hostname="w1", pid=42
    )
    response = client.get(TI_URL.format(date="2024-01-01T00:00:00Z", task="extract"))
    assert response.status_code == 200
    assert response.json() == {
        "dag_id": "example",
        "task_id": "extract",
        "run_id": run_id,
        "execution_date": "2024-01-01T00:00:00+00:00",
        "state": "running",
        "try_number": "1",
        "max_tries": "1",
        "start_date": "2024-01-02T03:04:05+00:00",
        "end_date": "None",
        "duration": "None",
        "hostname": "w1",
        "unixname": "",
        "pid": "42",
        "pool": "default_pool",
        "pool_slots": "1",
        "queue": "default",
        "priority_weight": "3",
        "operator": "BashOperator",
        "queued_dttm": "None",
        "map_index": "-1",
    }


def test_task_instance_weights_along_a_chain(client: AppClient, db: Database) -> None:
    add_dag(db)
    add_run(db, "example", D1)
    weights = [
        client.get(TI_URL.format(date="2024-01-01", task=t)).json()["priority_weight"]
        for t in ("extract", "transform", "load")
    ]
    assert weights == ["3", "2", "1"]
    assert client.get(TI_URL.format(date="2024-01-01", task="load")).json()["state"] == "None"


def test_task_instance_errors(client: AppClient, db: Database) -> None:
    add_dag(db, tasks=[task("early"), task("late", start_date="2024-06-01T00:00:00+00:00")])
    add_run(db, "example", D1)
    cases = [
        (
            "/api/experimental/dags/nope/dag_runs/2024-01-01/tasks/early",
            404,
            {"error": "Dag id nope not found in DagModel", "type": "DagNotFound"},
        ),
        (
            TI_URL.format(date="2024-02-01", task="early"),
            404,
            {
                "error": "Dag Run for date 2024-02-01T00:00:00+00:00 not found in dag example",
                "type": "DagRunNotFound",
            },
        ),
        (
            TI_URL.format(date="2024-01-01", task="nope"),
            404,
            {"error": "Task nope not found in dag example", "type": "TaskNotFound"},
        ),
        (
            TI_URL.format(date="2024-01-01", task="late"),
            404,
            {
                "error": "Task late instance for date 2024-01-01T00:00:00+00:00 not found",
                "type": "TaskInstanceNotFound",
            },
        ),
    ]
    for url, status, body in cases:
        response = client.get(url)
        assert (response.status_code, response.json()) == (status, body), url
    response = client.get(TI_URL.format(date="never", task="early"))
    assert (response.status_code, response.json()["type"]) == (400, "InvalidDate")


def test_lineage(client: AppClient, db: Database) -> None:
    add_dag(db)
    add_run(db, "example", D1)
    response = client.get("/api/experimental/lineage/example/2024-01-01T00:00:00+00:00")
    assert response.status_code == 200
    assert response.json() == {"task_ids": {"load": {"inlets": [], "outlets": [{"uri": "s3://bucket/out"}]}}}


def test_lineage_without_declarations_and_errors(client: AppClient, db: Database) -> None:
    add_dag(db, tasks=[task("plain")])
    add_run(db, "example", D1)
    assert client.get("/api/experimental/lineage/example/2024-01-01").json() == {"task_ids": {}}
    response = client.get("/api/experimental/lineage/example/2024-03-01")
    assert (response.status_code, response.json()["type"]) == (404, "DagRunNotFound")
    response = client.get("/api/experimental/lineage/nope/2024-03-01")
    assert (response.status_code, response.json()["type"]) == (404, "DagNotFound")
    assert client.get("/api/experimental/lineage/example/x").status_code == 400

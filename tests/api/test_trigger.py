"""POST /api/experimental/dags/<dag_id>/dag_runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from tests.actions.factory import NOW, add_dag
from tests.api.conftest import AppClient

from tradewind.clock import FixedClock
from tradewind.models import DagRun, EventLog
from tradewind.store import Database

URL = "/api/experimental/dags/example/dag_runs"
CONF_ERROR = {
    "error": "Dag Run conf must be a dictionary object, other types are not supported",
    "type": "InvalidConf",
}


def message(date: str, run_id: str, queued_at: str = "2024-05-06T07:08:09.123456+00:00") -> str:
    return (
        f"Created <DagRun example @ {date}: {run_id}, state:queued, queued_at: {queued_at}. "
        "externally triggered: True>"
    )


def stored_runs(db: Database) -> list[DagRun]:
    with db.transaction(write=False) as store:
        return list(store.session.scalars(select(DagRun).order_by(DagRun.id)))


def test_trigger_without_body_runs_now_without_microseconds(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.post(URL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "execution_date": "2024-05-06T07:08:09+00:00",
        "message": message("2024-05-06T07:08:09+00:00", "manual__2024-05-06T07:08:09+00:00"),
        "run_id": "manual__2024-05-06T07:08:09+00:00",
        "dag_id": "example",
        "state": "queued",
        "queued_at": "2024-05-06T07:08:09.123456+00:00",
    }
    [run] = stored_runs(db)
    assert (run.state, run.run_type, run.external_trigger, run.conf) == ("queued", "manual", True, None)
    assert run.execution_date == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_trigger_with_conf_object_records_event_without_values(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.post(URL, json={"conf": {"password": "s3cret", "a": 1}, "run_id": "mine"})
    assert response.status_code == 200
    assert response.json()["run_id"] == "mine"
    [run] = stored_runs(db)
    assert run.conf == {"password": "s3cret", "a": 1}
    with db.transaction(write=False) as store:
        [event] = store.session.scalars(select(EventLog)).all()
    assert (event.event, event.dag_id, event.run_id, event.owner) == ("trigger_dag", "example", "mine", None)
    assert json.loads(event.extra or "") == {
        "conf_keys": ["a", "password"],
        "execution_date": "2024-05-06T07:08:09+00:00",
    }
    assert "s3cret" not in (event.extra or "")


@pytest.mark.parametrize(
    ("conf", "stored"),
    [
        ('{"key":"value"}', {"key": "value"}),
        (None, None),
        ({}, {}),
        ({"nested": {"list": [1, 2]}}, {"nested": {"list": [1, 2]}}),
    ],
)
def test_conf_accepted_forms(client: AppClient, db: Database, conf: object, stored: object) -> None:
    add_dag(db)
    assert client.post(URL, json={"conf": conf}).status_code == 200
    assert stored_runs(db)[0].conf == stored


@pytest.mark.parametrize("conf", [[1, 2], 5, 1.5, True, "not json", "[1, 2]", '"text"', "12", "NaN"])
def test_conf_refused_forms(client: AppClient, db: Database, conf: object) -> None:
    add_dag(db)
    response = client.post(URL, json={"conf": conf})
    assert (response.status_code, response.json()) == (400, CONF_ERROR)
    assert stored_runs(db) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"conf": {"a": "\\ud800"}}', "Bad value for `conf`: it contains characters that cannot be stored"),
        (b'{"conf": {"\\udfff": 1}}', "Bad value for `conf`: it contains characters that cannot be stored"),
        (
            b'{"conf": {"a": [1, "\\u0000"]}}',
            "Bad value for `conf`: it contains characters that cannot be stored",
        ),
        (b'{"conf": {"a": 1e400}}', "Bad value for `conf`: numbers must be finite"),
        (
            b'{"conf": {"a": ' + b"[" * 900 + b"]" * 900 + b"}}",
            "Bad value for `conf`: nested deeper than 64 levels",
        ),
    ],
)
def test_conf_that_cannot_be_stored_or_sent_is_refused(
    client: AppClient, db: Database, body: bytes, message: str
) -> None:
    """Each was stored once, then broke listings (500), served invalid JSON, or failed other runs."""
    add_dag(db)
    response = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (400, {"error": message, "type": "InvalidConf"})
    assert stored_runs(db) == []
    assert client.get(URL).status_code == 200


def test_conf_nested_64_levels_is_accepted(client: AppClient, db: Database) -> None:
    add_dag(db)
    deep = b'{"conf": {"a": ' + b"[" * 63 + b"]" * 63 + b"}}"  # conf itself is level 1
    assert client.post(URL, content=deep, headers={"content-type": "application/json"}).status_code == 200


@pytest.mark.parametrize(
    ("schedule", "date"),
    [
        ("0 0 * * *", "9999-12-31T23:59:59+00:00"),
        ("0 0 * * *", "9999-12-31T00:00:00+00:00"),  # its own interval fits, the next point does not
        ("0 0 * * *", "0001-01-01T00:00:00Z"),
        ("timedelta:86400.0", "0001-01-01T00:00:00Z"),
        (None, "9999-12-31T00:00:00Z"),  # no schedule, but tomorrow_ds would overflow
    ],
)
def test_execution_date_out_of_range_for_the_schedule(
    client: AppClient, db: Database, schedule: str | None, date: str
) -> None:
    add_dag(db, schedule=schedule)
    response = client.post(URL, json={"execution_date": date})
    assert response.status_code == 400
    assert "is out of range for the DAG's schedule" in response.json()["error"]
    assert stored_runs(db) == []


@pytest.mark.parametrize(
    ("given", "echoed", "stored"),
    [
        ("2016-11-16T11:34:15", "2016-11-16T11:34:15+00:00", datetime(2016, 11, 16, 11, 34, 15, tzinfo=UTC)),
        ("2016-11-16 11:34:15", "2016-11-16T11:34:15+00:00", datetime(2016, 11, 16, 11, 34, 15, tzinfo=UTC)),
        ("2016-11-16T11:34:15Z", "2016-11-16T11:34:15+00:00", datetime(2016, 11, 16, 11, 34, 15, tzinfo=UTC)),
        (
            "2016-11-16T11:34:15+05:00",
            "2016-11-16T11:34:15+05:00",
            datetime(2016, 11, 16, 6, 34, 15, tzinfo=UTC),
        ),
        ("2016-11-16", "2016-11-16T00:00:00+00:00", datetime(2016, 11, 16, tzinfo=UTC)),
        (
            "2016-11-16T11:34:15.250000",
            "2016-11-16T11:34:15.250000+00:00",
            datetime(2016, 11, 16, 11, 34, 15, 250000, tzinfo=UTC),
        ),
    ],
)
def test_execution_date_spellings(
    client: AppClient, db: Database, given: str, echoed: str, stored: datetime
) -> None:
    add_dag(db)
    response = client.post(URL, json={"execution_date": given})
    assert response.status_code == 200
    assert response.json()["execution_date"] == echoed
    assert response.json()["run_id"] == f"manual__{echoed}"
    assert response.json()["message"] == message(echoed, f"manual__{echoed}")
    assert stored_runs(db)[0].execution_date == stored


def test_naive_date_uses_default_timezone(app_config, db: Database, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    from tests.api.conftest import make_client

    add_dag(db)
    config = app_config.with_overrides(core={"default_timezone": "Europe/Amsterdam"})
    with make_client(config, db, clock) as client:
        response = client.post(URL, json={"execution_date": "2016-11-16T11:34:15"})
    assert response.json()["execution_date"] == "2016-11-16T11:34:15+01:00"
    assert stored_runs(db)[0].execution_date == datetime(2016, 11, 16, 10, 34, 15, tzinfo=UTC)


@pytest.mark.parametrize("value", ["yesterday", "2016-13-01", "", 5])
def test_unparsable_execution_date(client: AppClient, db: Database, value: object) -> None:
    add_dag(db)
    response = client.post(URL, json={"execution_date": value, "conf": {}})
    if value == "":
        assert response.status_code == 200  # "" means "now", like a missing key
        return
    assert response.status_code == 400
    assert response.json() == {
        "error": f"Given execution date, {value}, could not be identified as a date. "
        "Example date format: 2015-11-16T14:34:15+00:00",
        "type": "InvalidDate",
    }


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        (True, "2016-11-16T11:34:15+00:00"),
        ("true", "2016-11-16T11:34:15+00:00"),
        ("yes", "2016-11-16T11:34:15+00:00"),
        ("1", "2016-11-16T11:34:15+00:00"),
        (False, "2016-11-16T11:34:15.500000+00:00"),
        ("false", "2016-11-16T11:34:15.500000+00:00"),
        (None, "2016-11-16T11:34:15.500000+00:00"),
    ],
)
def test_replace_microseconds_of_explicit_date(
    client: AppClient, db: Database, flag: object, expected: str
) -> None:
    add_dag(db)
    body = {"execution_date": "2016-11-16T11:34:15.5", "replace_microseconds": flag}
    assert client.post(URL, json=body).json()["execution_date"] == expected


def test_replace_microseconds_false_keeps_now(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.post(URL, json={"replace_microseconds": "f"})
    assert response.json()["execution_date"] == "2024-05-06T07:08:09.123456+00:00"


def test_replace_microseconds_bad_value(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.post(URL, json={"replace_microseconds": "maybe"})
    assert response.status_code == 400
    assert response.json() == {"error": "Bad value for `replace_microseconds`: maybe", "type": "BadRequest"}


def test_two_triggers_in_the_same_second_make_two_runs(client: AppClient, db: Database) -> None:
    add_dag(db)
    first, second, third = (client.post(URL).json() for _ in range(3))
    assert first["execution_date"] == "2024-05-06T07:08:09+00:00"
    assert second["execution_date"] == "2024-05-06T07:08:09.123456+00:00"
    assert third["execution_date"] == "2024-05-06T07:08:09.123457+00:00"
    assert len({r.run_id for r in stored_runs(db)}) == 3


def test_duplicate_run_id(client: AppClient, db: Database) -> None:
    add_dag(db)
    assert client.post(URL, json={"run_id": "r1"}).status_code == 200
    response = client.post(URL, json={"run_id": "r1"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "A DAG Run already exists for DAG example at 2024-05-06T07:08:09+00:00 with run id r1",
        "type": "DagRunAlreadyExists",
    }
    assert len(stored_runs(db)) == 1


def test_duplicate_execution_date_in_another_spelling(client: AppClient, db: Database) -> None:
    add_dag(db)
    assert client.post(URL, json={"execution_date": "2016-11-16T11:34:15+00:00"}).status_code == 200
    response = client.post(URL, json={"execution_date": "2016-11-16T16:34:15+05:00", "run_id": "other"})
    assert response.status_code == 400
    assert response.json()["error"] == (
        "A DAG Run already exists for DAG example at 2016-11-16T16:34:15+05:00 with run id other"
    )


def test_unique_run_id_in_same_second_keeps_microseconds(client: AppClient, db: Database) -> None:
    add_dag(db)
    client.post(URL, json={"run_id": "a"})
    response = client.post(URL, json={"run_id": "b"})
    assert response.status_code == 200
    assert response.json()["execution_date"] == "2024-05-06T07:08:09.123456+00:00"


def test_unknown_dag(client: AppClient) -> None:
    response = client.post("/api/experimental/dags/nope/dag_runs", json={})
    assert response.status_code == 404
    assert response.json() == {"error": "Dag id nope not found in DagModel", "type": "DagNotFound"}


def test_paused_dag_is_triggered(client: AppClient, db: Database) -> None:
    add_dag(db, paused=True)
    assert client.post(URL).status_code == 200
    assert len(stored_runs(db)) == 1


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe", b"[" * 5000])
def test_malformed_body(client: AppClient, db: Database, body: bytes) -> None:
    add_dag(db)
    response = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "Request body must be a JSON object", "type": "BadRequest"}


def test_bad_run_id(client: AppClient, db: Database) -> None:
    add_dag(db)
    assert client.post(URL, json={"run_id": 5}).json() == {
        "error": "Bad value for `run_id`: 5",
        "type": "BadRequest",
    }
    response = client.post(URL, json={"run_id": "x" * 251})
    assert response.json() == {
        "error": "Bad value for `run_id`: longer than 250 characters",
        "type": "BadRequest",
    }
    response = client.post(URL, json={"run_id": "a\u0000b"})
    assert response.status_code == 400


def test_task_instances_created_for_tasks_started_by_then(client: AppClient, db: Database) -> None:
    from tests.actions.factory import serialized, task

    add_dag(db, tasks=[task("old"), task("late", start_date="2030-01-01T00:00:00+00:00")])
    client.post(URL)
    with db.transaction(write=False) as store:
        run = store.find_dag_run("example")
        assert run is not None
        assert [ti.task_id for ti in store.task_instances("example", run.run_id)] == ["old"]
    assert serialized("x")["dag_id"] == "x"


def test_data_interval_of_scheduled_dag(client: AppClient, db: Database) -> None:
    add_dag(db, schedule="@daily")
    client.post(URL, json={"execution_date": "2024-05-06T07:00:00+00:00"})
    [run] = stored_runs(db)
    assert run.data_interval_start == datetime(2024, 5, 5, tzinfo=UTC)
    assert run.data_interval_end == datetime(2024, 5, 6, tzinfo=UTC)
    assert NOW.tzinfo is UTC

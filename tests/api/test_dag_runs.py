"""Listing runs, a run's state, the newest runs, and the page dag_run_url leads to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.actions.factory import add_dag, add_run, set_ti_state, task
from tests.api.conftest import AppClient

from tradewind.clients import _wire
from tradewind.store import Database
from tradewind.values import DagRunInfo

RUNS = "/api/experimental/dags/example/dag_runs"
D1 = datetime(2024, 1, 1, tzinfo=UTC)


def item(run_id: str, when: str, *, id: int, state: str = "queued", start: str = "") -> dict[str, object]:
    from urllib.parse import quote

    return {
        "id": id,
        "run_id": run_id,
        "dag_id": "example",
        "state": state,
        "execution_date": when,
        "start_date": start,
        "end_date": "",
        "dag_run_url": f"/dags/example/graph?execution_date={quote(when, safe='')}",
        "run_type": "scheduled",
        "external_trigger": False,
        "conf": None,
    }


def test_list_runs_oldest_first(client: AppClient, db: Database) -> None:
    add_dag(db)
    add_run(db, "example", D1 + timedelta(days=1), run_id="b")
    add_run(db, "example", D1, run_id="a", state="running")
    response = client.get(RUNS)
    assert response.status_code == 200
    body = response.json()
    assert [r["run_id"] for r in body] == ["a", "b"]
    assert body[0] == item(
        "a", "2024-01-01T00:00:00+00:00", id=body[0]["id"], state="running", start="2024-01-01T00:00:00+00:00"
    )
    assert body[1] == item("b", "2024-01-02T00:00:00+00:00", id=body[1]["id"])
    assert body[1]["dag_run_url"] == "/dags/example/graph?execution_date=2024-01-02T00%3A00%3A00%2B00%3A00"


def test_list_runs_empty(client: AppClient, db: Database) -> None:
    add_dag(db)
    assert client.get(RUNS).json() == []


def test_list_runs_filters_and_pages(client: AppClient, db: Database) -> None:
    add_dag(db)
    for day in range(5):
        add_run(
            db,
            "example",
            D1 + timedelta(days=day),
            run_id=f"r{day}",
            state="running" if day % 2 else "queued",
        )
    ids = lambda **params: [r["run_id"] for r in client.get(RUNS, params=params).json()]  # noqa: E731
    assert ids(state="running") == ["r1", "r3"]
    assert ids(limit="2", offset="1") == ["r1", "r2"]
    assert ids(execution_date_gte="2024-01-02", execution_date_lte="2024-01-03T00:00:00Z") == ["r1", "r2"]
    assert ids(execution_date_gte="2024-01-04T05:00:00+05:00") == ["r3", "r4"]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"state": "bogus"}, "Invalid state 'bogus': valid states are queued, running, success, failed"),
        ({"limit": "x"}, "Bad value for `limit`: x"),
        ({"limit": "-1"}, "Bad value for `limit`: -1"),
        ({"offset": "1.5"}, "Bad value for `offset`: 1.5"),
    ],
)
def test_list_runs_bad_query(client: AppClient, db: Database, params: dict[str, str], error: str) -> None:
    add_dag(db)
    response = client.get(RUNS, params=params)
    assert (response.status_code, response.json()) == (400, {"error": error, "type": "BadRequest"})


def test_list_runs_bad_date(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.get(RUNS, params={"execution_date_gte": "soon"})
    assert response.status_code == 400
    assert response.json()["type"] == "InvalidDate"


def test_list_runs_unknown_dag_is_400(client: AppClient) -> None:
    response = client.get("/api/experimental/dags/nope/dag_runs")
    assert response.status_code == 400
    assert response.json() == {"error": "Dag id nope not found in DagModel", "type": "BadRequest"}


@pytest.mark.parametrize(
    "spelling",
    [
        "2024-01-01T05:00:00",
        "2024-01-01 05:00:00",
        "2024-01-01T05:00:00Z",
        "2024-01-01T10:00:00%2B05:00",
        "2024-01-01T10:00:00+05:00",
        "2024-01-01T05:00:00.000000+00:00",
    ],
)
def test_run_state_in_any_spelling(client: AppClient, db: Database, spelling: str) -> None:
    add_dag(db)
    add_run(db, "example", D1 + timedelta(hours=5), state="running")
    response = client.get(f"{RUNS}/{spelling}")
    assert (response.status_code, response.json()) == (200, {"state": "running"})


def test_run_state_date_only(client: AppClient, db: Database) -> None:
    add_dag(db)
    add_run(db, "example", D1, state="success")
    assert client.get(f"{RUNS}/2024-01-01").json() == {"state": "success"}


def test_run_state_errors(client: AppClient, db: Database) -> None:
    add_dag(db)
    response = client.get("/api/experimental/dags/nope/dag_runs/2024-01-01")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Dag id nope not found in DagModel", "type": "DagNotFound"},
    )
    response = client.get(f"{RUNS}/2024-01-01T10:00:00%2B05:00")
    assert (response.status_code, response.json()) == (
        404,
        {
            "error": "Dag Run for date 2024-01-01T10:00:00+05:00 not found in dag example",
            "type": "DagRunNotFound",
        },
    )
    response = client.get(f"{RUNS}/not-a-date")
    assert response.status_code == 400
    assert response.json() == {
        "error": "Given execution date, not-a-date, could not be identified as a date. "
        "Example date format: 2015-11-16T14:34:15+00:00",
        "type": "InvalidDate",
    }


def test_latest_runs(client: AppClient, db: Database) -> None:
    assert client.get("/api/experimental/latest_runs").json() == {"items": []}
    add_dag(db, "example")
    add_dag(db, "other")
    add_dag(db, "idle")
    add_run(db, "example", D1, state="running")
    add_run(db, "example", D1 + timedelta(days=1))
    add_run(db, "other", D1, state="running")
    response = client.get("/api/experimental/latest_runs")
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "dag_id": "example",
                "execution_date": "2024-01-02T00:00:00+00:00",
                "start_date": "",
                "dag_run_url": "/dags/example/graph?execution_date=2024-01-02T00%3A00%3A00%2B00%3A00",
            },
            {
                "dag_id": "other",
                "execution_date": "2024-01-01T00:00:00+00:00",
                "start_date": "2024-01-01T00:00:00+00:00",
                "dag_run_url": "/dags/other/graph?execution_date=2024-01-01T00%3A00%3A00%2B00%3A00",
            },
        ]
    }


def test_dag_run_url_leads_to_an_escaped_page(client: AppClient, db: Database) -> None:
    add_dag(db, "example", tasks=[task("<script>")])
    run_id = add_run(db, "example", D1)
    set_ti_state(db, "example", run_id, "<script>", "running", try_number=1)
    url = client.get(RUNS).json()[0]["dag_run_url"]
    page = client.get(url)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<td>&lt;script&gt;</td><td>running</td><td>1</td>" in page.text
    assert "<script>" not in page.text
    assert "Run state: <strong>queued</strong>" in page.text


def test_page_errors(client: AppClient, db: Database) -> None:
    add_dag(db)
    assert client.get("/dags/example/graph").json() == {
        "error": "Missing query parameter `execution_date`",
        "type": "BadRequest",
    }
    assert client.get("/dags/example/graph?execution_date=2020-01-01").status_code == 404


@pytest.mark.parametrize(
    "run",
    [
        DagRunInfo(1, "example", "manual__2024-01-01T00:00:00+00:00", "queued", D1),
        DagRunInfo(
            2**40,
            'dåg "quoted" \\ / <x>',
            "run\n\t\u2028é😀",
            "running",
            D1 + timedelta(microseconds=7),
            D1,
            D1 + timedelta(days=1, microseconds=1),
            "manual",
            True,
            {"nested": {"list": [1, 2.5, None, True, "ü"]}, "": ""},
        ),
        DagRunInfo(3, "a b/c?d", "x", "success", D1, run_type="backfill", conf={}),
    ],
)
def test_fast_run_list_json_is_the_generic_rendering(run: DagRunInfo) -> None:
    import json

    from tradewind.api import schemas

    runs = [run, run]
    expected = json.dumps(
        [schemas.dag_run_to_json(r) for r in runs], separators=(",", ":"), ensure_ascii=False
    )
    assert schemas.dag_runs_json(runs) == expected
    assert schemas.dag_runs_json([]) == "[]"


def test_listed_run_round_trips_through_the_wire(client: AppClient, db: Database) -> None:
    from tradewind.actions import dag_runs

    add_dag(db)
    add_run(db, "example", D1, run_id='é "1"')
    client.post("/api/experimental/dags/example/dag_runs", json={"conf": {"k": "ü"}, "run_id": "t"})
    with db.transaction(write=False) as store:
        expected = dag_runs.dag_runs(store, "example")
    assert [_wire.dag_run(item) for item in client.get(RUNS).json()] == expected

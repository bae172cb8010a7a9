"""Pools: get, list, create or update in place, delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.actions.factory import add_dag, add_run, set_ti_state, task
from tests.api.conftest import AppClient

from tradewind.store import Database

POOLS = "/api/experimental/pools"
DEFAULT = {
    "pool": "default_pool",
    "slots": 128,
    "description": "Default pool",
    "include_deferred": False,
    "occupied_slots": 0,
    "running_slots": 0,
    "queued_slots": 0,
    "open_slots": 128,
}


def pool(name: str, slots: int, description: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "pool": name,
        "slots": slots,
        "description": description,
        "include_deferred": False,
        "occupied_slots": 0,
        "running_slots": 0,
        "queued_slots": 0,
        "open_slots": slots,
        **extra,
    }


def without_id(body: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(body.pop("id"), int)
    return body


def test_default_pool(client: AppClient) -> None:
    response = client.get(f"{POOLS}/default_pool")
    assert response.status_code == 200
    assert without_id(response.json()) == DEFAULT
    assert [without_id(p) for p in client.get(POOLS).json()] == [DEFAULT]


def test_create_then_update_in_place(client: AppClient) -> None:
    created = client.post(POOLS, json={"name": "etl", "slots": 5, "description": "Nightly"})
    assert created.status_code == 200
    body = created.json()
    assert without_id(dict(body)) == pool("etl", 5, "Nightly")
    updated = client.post(POOLS, json={"name": "etl", "slots": "7", "include_deferred": True})
    assert updated.status_code == 200
    assert updated.json() == {**pool("etl", 7, "", include_deferred=True), "id": body["id"]}
    assert client.get(f"{POOLS}/etl").json() == updated.json()
    assert [p["pool"] for p in client.get(POOLS).json()] == ["default_pool", "etl"]


@pytest.mark.parametrize(("slots", "stored"), [(0, 0), ("7", 7), (" 12 ", 12), (2**31 - 1, 2**31 - 1)])
def test_slots_accepted(client: AppClient, slots: object, stored: int) -> None:
    response = client.post(POOLS, json={"name": "p", "slots": slots, "description": None})
    assert response.status_code == 200
    assert response.json()["slots"] == stored
    assert response.json()["description"] == ""


@pytest.mark.parametrize(
    ("slots", "shown"),
    [
        (-1, "-1"),
        ("x", "x"),
        (1.5, "1.5"),
        ("-1", "-1"),
        ("1.5", "1.5"),
        (True, "True"),
        (None, "None"),
        ([1], "[1]"),
        ("", ""),
        ("1_000", "1_000"),
        (2**31, str(2**31)),
        ("9" * 30, "9" * 30),
    ],
)
def test_slots_refused(client: AppClient, slots: object, shown: str) -> None:
    response = client.post(POOLS, json={"name": "p", "slots": slots, "description": ""})
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"Bad value for `slots`: {shown}", "type": "BadRequest"},
    )
    assert client.get(f"{POOLS}/p").status_code == 404


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"slots": 1, "description": ""}, "Missing required field `name`"),
        ({"name": "p", "description": ""}, "Missing required field `slots`"),
        ({"name": "p", "slots": 1, "colour": "red"}, "Unknown field(s) in pool: colour"),
        ({"name": "", "slots": 1}, "Pool name shouldn't be empty"),
        ({"name": "   ", "slots": 1}, "Pool name shouldn't be empty"),
        ({"name": 5, "slots": 1}, "Bad value for `name`: 5"),
        ({"name": "p", "slots": 1, "description": 5}, "Bad value for `description`: 5"),
        (
            {"name": "p", "slots": 1, "include_deferred": "sometimes"},
            "Bad value for `include_deferred`: sometimes",
        ),
        ({"name": "p" * 257, "slots": 1}, "Bad value for `name`: longer than 256 characters"),
        (
            {"name": "p\u0000", "slots": 1},
            "Bad value for `name`: it contains characters that cannot be stored",
        ),
        (
            {"name": "p", "slots": 1, "description": "\ud800"},
            "Bad value for `description`: it contains characters that cannot be stored",
        ),
    ],
)
def test_pool_body_refused(client: AppClient, body: dict[str, Any], error: str) -> None:
    response = client.post(POOLS, content=json.dumps(body))  # ASCII escapes carry a lone surrogate
    assert (response.status_code, response.json()) == (400, {"error": error, "type": "BadRequest"})


def test_pool_body_not_object(client: AppClient) -> None:
    response = client.post(POOLS, content=b"[]")
    assert response.json() == {"error": "Request body must be a JSON object", "type": "BadRequest"}
    assert client.post(POOLS).status_code == 400


def test_unknown_pool(client: AppClient) -> None:
    response = client.get(f"{POOLS}/nope")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Pool 'nope' doesn't exist", "type": "PoolNotFound"},
    )
    response = client.delete(f"{POOLS}/nope")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Pool 'nope' doesn't exist", "type": "PoolNotFound"},
    )


def test_delete_pool(client: AppClient) -> None:
    created = client.post(POOLS, json={"name": "etl", "slots": 3, "description": "d"}).json()
    response = client.delete(f"{POOLS}/etl")
    assert (response.status_code, response.json()) == (200, created)
    assert client.get(f"{POOLS}/etl").status_code == 404


def test_default_pool_cannot_be_deleted(client: AppClient) -> None:
    response = client.delete(f"{POOLS}/default_pool")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "default_pool cannot be deleted", "type": "BadRequest"},
    )


def test_slot_usage_and_deleted_pool_counts_against_default(client: AppClient, db: Database) -> None:
    client.post(POOLS, json={"name": "etl", "slots": 4, "description": ""})
    add_dag(db, tasks=[task("a", pool="etl", pool_slots=2), task("b", pool="etl"), task("c")])
    run_id = add_run(db, "example", datetime(2024, 1, 1, tzinfo=UTC))
    set_ti_state(db, "example", run_id, "a", "running")
    set_ti_state(db, "example", run_id, "b", "queued")
    set_ti_state(db, "example", run_id, "c", "running")
    etl = client.get(f"{POOLS}/etl").json()
    assert (etl["running_slots"], etl["queued_slots"], etl["occupied_slots"], etl["open_slots"]) == (
        2,
        1,
        3,
        1,
    )
    assert client.delete(f"{POOLS}/etl").status_code == 200
    default = client.get(f"{POOLS}/default_pool").json()
    assert (default["running_slots"], default["queued_slots"], default["open_slots"]) == (3, 1, 124)

"""On one database, the local client and the JSON client return equal values and raise equal errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.actions import factory
from tests.clients.conftest import in_process_client

from tradewind.clients.base import Client
from tradewind.clients.json import JsonClient
from tradewind.clients.local import LocalClient
from tradewind.errors import TradewindError
from tradewind.store import Database

WHEN = datetime(2024, 2, 3, 4, 5, 6, 789, tzinfo=UTC)

Call = Callable[[Client], Any]

READS: dict[str, Call] = {
    "dag_runs": lambda c: c.dag_runs("example"),
    "dag_run_state": lambda c: c.dag_run_state("example", WHEN),
    "task_info": lambda c: c.task_info("example", "load"),
    "task_instance_info": lambda c: c.task_instance_info("example", WHEN, "extract"),
    "paused_state": lambda c: c.paused_state("example"),
    "latest_runs": lambda c: c.latest_runs(),
    "pools": lambda c: c.pools(),
    "get_pool": lambda c: c.get_pool("default_pool"),
    "dag_code": lambda c: c.dag_code("example"),
    "lineage": lambda c: c.lineage("example", WHEN),
    "health": lambda c: c.health(),
}


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


FAILURES: dict[str, Call] = {
    "trigger unknown dag": lambda c: c.trigger_dag("nope"),
    "trigger bad conf": lambda c: c.trigger_dag("example", conf="[1]"),
    "trigger conf infinite": lambda c: c.trigger_dag("example", conf={"a": float("inf")}),
    "trigger conf surrogate": lambda c: c.trigger_dag("example", conf={"a": "\ud800"}),
    "trigger conf too deep": lambda c: c.trigger_dag("example", conf={"a": _nested(100)}),
    "trigger conf 1e400 text": lambda c: c.trigger_dag("example", conf='{"a": 1e400}'),
    "trigger duplicate": lambda c: c.trigger_dag("example", execution_date=WHEN),
    "runs unknown dag": lambda c: c.dag_runs("nope"),
    "runs bad state": lambda c: c.dag_runs("example", state="nope"),
    "runs negative limit": lambda c: c.dag_runs("example", limit=-1),
    "state no run": lambda c: c.dag_run_state("example", WHEN + timedelta(days=1)),
    "task unknown": lambda c: c.task_info("example", "nope"),
    "task unknown dag": lambda c: c.task_info("nope", "load"),
    "ti unknown dag": lambda c: c.task_instance_info("nope", WHEN, "load"),
    "pause unknown": lambda c: c.set_paused("nope", True),
    "pool unknown": lambda c: c.get_pool("nope"),
    "pool bad slots": lambda c: c.create_or_update_pool("p", "x"),
    "pool blank": lambda c: c.create_or_update_pool("", 1),
    "delete default pool": lambda c: c.delete_pool("default_pool"),
    "delete unknown dag": lambda c: c.delete_dag("nope"),
    "code unknown dag": lambda c: c.dag_code("nope"),
    "lineage no run": lambda c: c.lineage("example", WHEN + timedelta(days=1)),
}


@pytest.fixture
def clients(db: Database, tmp_path: Path) -> Iterator[tuple[LocalClient, JsonClient]]:
    factory.add_dag(db, "example")
    run_id = factory.add_run(db, "example", WHEN, state="running")
    factory.set_ti_state(db, "example", run_id, "extract", "success", hostname="h", pid=42, duration=1.5)
    with LocalClient(db) as local, in_process_client(db, tmp_path) as remote:
        yield local, remote


@pytest.mark.parametrize("name", READS)
def test_reads_are_equal(clients: tuple[LocalClient, JsonClient], name: str) -> None:
    local, remote = clients
    assert READS[name](local) == READS[name](remote)


@pytest.mark.parametrize("name", FAILURES)
def test_errors_are_equal(clients: tuple[LocalClient, JsonClient], name: str) -> None:
    found = []
    for client in clients:
        with pytest.raises(TradewindError) as caught:
            FAILURES[name](client)
        found.append((type(caught.value), caught.value.message, caught.value.exit_code))
    assert found[0] == found[1]


def test_writes_are_equal_but_for_ids_and_times(db: Database, tmp_path: Path) -> None:
    factory.add_dag(db, "example")
    with LocalClient(db) as local, in_process_client(db, tmp_path) as remote:
        one = local.create_or_update_pool("one", 2, "x")
        two = remote.create_or_update_pool("two", 2, "x")
        assert (one.slots, one.description) == (two.slots, two.description)
        assert local.delete_pool("two") == two and remote.delete_pool("one") == one
        slashed = local.create_or_update_pool("team/etl", 1, "")  # the API takes it as %2F
        assert remote.get_pool("team/etl") == slashed == remote.delete_pool("team/etl")
        first = local.trigger_dag("example", run_id="a", execution_date=WHEN, conf={"k": 1})
        second = remote.trigger_dag("example", run_id="b", execution_date=WHEN + timedelta(1), conf={"k": 1})
        assert (first.state, first.external_trigger) == (second.state, second.external_trigger)
        assert local.set_paused("example", True) == remote.set_paused("example", True)
        runs = remote.dag_runs("example")
        assert [r.conf for r in runs] == [{"k": 1}, {"k": 1}]
        assert local.delete_dag("example").count > 0

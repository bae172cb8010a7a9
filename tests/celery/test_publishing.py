"""Publishing without workers: batches in submission order, retries, and the Redis transport's client."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.celery.conftest import RedisServer
from tests.celery.test_reporting import make_app

from tradewind.celery_worker.app import make_celery_app
from tradewind.celery_worker.transport import Channel
from tradewind.executors import celery as celery_executor
from tradewind.executors.base import TaskKey, TaskWorkload
from tradewind.executors.celery import CeleryExecutor, _Flight, _Publisher
from tradewind.testing import make_config

WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def workload(task_id: str, queue: str = "tw-nobody-consumes") -> TaskWorkload:
    key = TaskKey("dag", task_id, "manual__2024-01-01T00:00:00+00:00", 1)
    return TaskWorkload(
        key, "/dags/d.py", WHEN, WHEN, WHEN, "manual", True, None, 1, None, queue, 1, "/x.log"
    )


def flight(task_id: str) -> _Flight:
    return _Flight(workload(task_id), f"tw-{task_id}", 0.0, 0.0, "submission")


class Broker:
    """A publish function for :class:`_Publisher` that records each call's task ids."""

    def __init__(self, answers: list[bool] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.answers = answers or []
        self.release = threading.Event()
        self.called = threading.Event()

    def publish(self, flights: list[_Flight]) -> bool:
        self.calls.append([f.task_id for f in flights])
        self.called.set()
        self.release.wait(10)
        ok = self.answers.pop(0) if self.answers else True
        for f in flights[: 1 if not ok else len(flights)]:  # a failure after the first went
            f.published = True
        return ok


def test_flights_queued_during_a_publish_go_out_together_in_order() -> None:
    broker = Broker()
    publisher = _Publisher(broker.publish)
    publisher.put(flight("a"))
    assert broker.called.wait(5)
    for name in ("b", "c", "d"):
        publisher.put(flight(name))
    broker.release.set()
    publisher.stop(drop=False)
    assert broker.calls == [["tw-a"], ["tw-b", "tw-c", "tw-d"]]


def test_a_failed_publish_is_retried_without_what_went_and_before_later_flights(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(celery_executor, "_REPUBLISH_DELAY", 0.3)
    broker = Broker(answers=[True, False, True, True])
    publisher = _Publisher(broker.publish)
    publisher.put(flight("a"))
    assert broker.called.wait(5)
    publisher.put(flight("b"))
    publisher.put(flight("c"))
    broker.release.set()
    deadline = time.monotonic() + 5
    while len(broker.calls) < 2 and time.monotonic() < deadline:  # b went, c did not
        time.sleep(0.01)
    publisher.put(flight("d"))  # while c waits for its retry
    publisher.stop(drop=False)
    assert broker.calls == [["tw-a"], ["tw-b", "tw-c"], ["tw-c"], ["tw-d"]]


def test_the_executor_publishes_to_redis_in_submission_order(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    app = make_app(tmp_path, redis_server)
    queue = f"tw-{uuid.uuid4().hex[:8]}"
    with app.producer_or_acquire() as producer:
        assert producer.supports_batch_publish  # so the batch path is the one tested
    executor = CeleryExecutor(config=app.tradewind_config, app=app, db_url=f"sqlite:///{tmp_path}/x.db")
    executor.start()
    try:
        names = [f"t{i:02d}" for i in range(40)]
        for name in names:
            executor.submit(workload(name, queue))
        expected = [executor._flights[workload(name).key].task_id for name in names]
        deadline = time.monotonic() + 10
        while not all(f.published for f in executor._flights.values()) and time.monotonic() < deadline:
            time.sleep(0.02)
        client = app.broker_connection().default_channel.client
        messages = [
            json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))
        ]  # consumers pop the tail
        assert [m["headers"]["id"] for m in messages] == expected
        client.delete(queue)
    finally:
        executor.stop(wait=False)


def test_a_redis_broker_channel_reuses_one_client_until_its_pool_is_replaced(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    app = make_app(tmp_path, redis_server)
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(channel, Channel)
        client = channel._create_client()
        assert channel._create_client() is client and client.ping()
        assert channel.client is not client  # the event loop keeps its own
        channel._disconnect_pools()  # as on a lost connection
        renewed = channel._create_client()
        assert renewed is not client and renewed.connection_pool is channel.pool and renewed.ping()


def test_other_brokers_keep_kombu_s_own_transport(tmp_path: Path) -> None:
    for url in ("amqp://guest:guest@127.0.0.1:5672//", "rediss://127.0.0.1:6380/0"):
        app: Any = make_celery_app(make_config(tmp_path, celery={"broker_url": url}))
        assert app.conf.broker_transport is None, url


def test_a_workload_that_cannot_be_serialized_fails_alone_and_holds_back_nothing(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """In the publisher it would fail its batch forever, and every attempt queued after it."""
    app = make_app(tmp_path, redis_server)
    queue = f"tw-{uuid.uuid4().hex[:8]}"
    executor = CeleryExecutor(config=app.tradewind_config, app=app, db_url=f"sqlite:///{tmp_path}/x.db")
    executor.start()
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    bad = dataclasses.replace(workload("bad", queue), conf={"a": deep}, log_path=str(tmp_path / "bad.log"))
    try:
        executor.submit(bad)
        executor.submit(workload("good", queue))
        [event] = executor.events()
        assert (event.key, event.state) == (bad.key, "failed")
        assert "cannot be sent to a worker: EncodeError: maximum recursion depth" in (event.error or "")
        assert "cannot be sent to a worker" in (tmp_path / "bad.log").read_text()
        assert executor.running() == {workload("good").key}
        good = executor._flights[workload("good").key]
        deadline = time.monotonic() + 10
        while not good.published and time.monotonic() < deadline:
            time.sleep(0.02)
        assert good.published
        app.broker_connection().default_channel.client.delete(queue)
    finally:
        executor.stop(wait=False)

"""The worker's writes and the executor's reads, without workers: claims, results, notices."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select
from tests.celery.conftest import RedisServer

from tradewind.celery_worker.claims import Claims
from tradewind.celery_worker.messages import FINAL, SUBMISSION, event_to_dict, events_channel_for
from tradewind.celery_worker.results import ResultWriter
from tradewind.config import Secret
from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload
from tradewind.executors.celery import CeleryExecutor
from tradewind.models import TaskInstance
from tradewind.testing import make_config

KEY = TaskKey("dag", "task", "manual__2024-01-01T00:00:00+00:00", 2)
WHEN = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def ti_url(tmp_path: Path) -> Iterator[str]:
    """A SQLite file holding one queued task instance (try 2): the claim's only table."""
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    engine = create_engine(url)
    TaskInstance.__table__.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(TaskInstance).values(dag_id=KEY.dag_id, run_id=KEY.run_id, task_id=KEY.task_id,
                                                 state="queued", try_number=2, pool="default_pool"))  # fmt: skip
    engine.dispose()
    yield url


def read_ti(url: str) -> Any:
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(select(TaskInstance.__table__)).one()
    engine.dispose()
    return row


def test_an_attempt_is_claimed_once_and_beats_only_while_it_runs(ti_url: str) -> None:
    claims = Claims(ti_url, hostname="host-a", pid=1234, unixname="me")
    try:
        assert claims.claim(TaskKey(KEY.dag_id, KEY.task_id, KEY.run_id, 1), WHEN) is False  # another try
        assert claims.claim(KEY, WHEN) is True
        assert claims.claim(KEY, WHEN) is False  # a redelivery
        assert claims.beat(KEY, WHEN + timedelta(seconds=5)) is True
    finally:
        claims.close()
    row = read_ti(ti_url)
    assert (row.state, row.hostname, row.pid, row.unixname) == ("running", "host-a", 1234, "me")
    assert (row.start_date, row.last_heartbeat_at) == (WHEN, WHEN + timedelta(seconds=5))


def test_a_heartbeat_reports_an_attempt_no_longer_running(ti_url: str) -> None:
    claims = Claims(ti_url, hostname="h", pid=1, unixname="u")
    try:
        assert claims.beat(KEY, WHEN) is False  # still queued: not ours to run
    finally:
        claims.close()


def make_app(tmp_path: Path, redis: RedisServer) -> Any:
    from tradewind.celery_worker.app import make_celery_app

    config = make_config(tmp_path, celery={"broker_url": Secret(f"{redis.url}/0"),
                                           "result_backend": Secret(f"{redis.url}/1")})  # fmt: skip
    return make_celery_app(config)


def test_a_stored_result_is_celery_meta_and_its_task_id_is_published(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    app = make_app(tmp_path, redis_server)
    pubsub = app.backend.client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("tw-test-notices")
    ResultWriter(app.backend).store("tw-task-1", {"a": 1}, FINAL, notify="tw-test-notices")

    assert app.backend.get_task_meta("tw-task-1", cache=False)["result"] == {"a": 1}
    assert app.AsyncResult("tw-task-1").status == FINAL
    assert next_message(pubsub) == b"tw-task-1"
    pubsub.close()


def next_message(pubsub: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)  # None for the subscription's confirmation
        if message is not None:
            return message["data"]
    return None


def workload(tmp_path: Path) -> TaskWorkload:
    return TaskWorkload(KEY, "/dags/d.py", WHEN, WHEN, WHEN, "manual", True, None, 3, None,
                        "tw-nobody-consumes", 1, str(tmp_path / "1.log"))  # fmt: skip


def test_the_executor_ignores_stale_results_and_reads_its_own_on_notice(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    app = make_app(tmp_path, redis_server)
    executor = CeleryExecutor(config=app.tradewind_config, app=app, db_url=f"sqlite:///{tmp_path}/x.db",
                              quiet_poll_interval=60)  # fmt: skip
    executor.start()
    try:
        executor.submit(workload(tmp_path))
        flight = executor._flights[KEY]
        writer, channel = ResultWriter(app.backend), events_channel_for(executor._namespace)
        event = TaskEvent(KEY, "success", WHEN, 7, "host")
        stale = event_to_dict(event, started_at=WHEN, submission_id="an-earlier-database")
        writer.store(flight.task_id, stale, FINAL, notify=channel)
        assert executor.wait(0.5) is False

        writer.store(flight.task_id, stale | {SUBMISSION: flight.submission_id}, FINAL, notify=channel)
        started = time.monotonic()
        assert executor.wait(10.0) is True
        assert time.monotonic() - started < 5.0  # the notice woke it, not a poll
        assert [(e.state, e.pid) for e in executor.events()] == [("running", 7), ("success", 7)]
        assert executor.running() == set()
    finally:
        executor.stop(wait=False)


def test_wakeup_from_another_thread_ends_a_wait_at_once(tmp_path: Path, redis_server: RedisServer) -> None:
    app = make_app(tmp_path, redis_server)
    executor = CeleryExecutor(config=app.tradewind_config, app=app, db_url=f"sqlite:///{tmp_path}/x.db",
                              quiet_poll_interval=60)  # fmt: skip
    executor.start()
    try:
        executor.submit(workload(tmp_path))  # in flight: the wait would otherwise poll, not return
        threading.Timer(0.3, executor.wakeup).start()
        started = time.monotonic()
        assert executor.wait(30.0) is False  # woken, with nothing to report
        assert time.monotonic() - started < 10.0
        assert executor.running() == {KEY}
    finally:
        executor.stop(wait=False)

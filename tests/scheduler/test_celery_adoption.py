"""A scheduler SIGKILLed and restarted while a Celery task runs: the task is adopted, not killed.

Real processes: a private redis-server (broker and result backend), PostgreSQL, one
``tradewind celery worker`` and ``tradewind scheduler`` processes (the clusters of
``tests/celery``). The task runs until the test releases it, once the new scheduler has
adopted it, so the adoption provably happens while it runs however slow the machine is;
every wait is on a condition with a generous deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.celery.conftest import Cluster, RedisServer, make_cluster, pg_template, pg_url, redis_server

from tradewind.parsing import sync_once

pytestmark = pytest.mark.slow
__all__ = ["make_cluster", "pg_template", "pg_url", "redis_server"]  # the fixtures this module uses

DAG_FILE = """
import os
import time
from datetime import datetime
from tradewind.dag import DAG, PythonOperator

def sleep_until_released(ti):
    print("attempt", ti.try_number, flush=True)
    deadline = time.monotonic() + 300
    while not os.path.exists("RELEASE") and time.monotonic() < deadline:
        time.sleep(0.1)
    return ti.try_number

with DAG("adopted", schedule=None, start_date=datetime(2024, 1, 1)):
    PythonOperator(task_id="sleeper", python_callable=sleep_until_released, queue="QUEUE") >> PythonOperator(
        task_id="after", python_callable=lambda: None, queue="QUEUE"
    )
"""
ADOPTED = "Adopted 1 queued or running attempt(s)"


def start_scheduler(cluster: Cluster, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
    env["TRADEWIND_HOME"] = str(cluster.home)
    with open(cluster.home / f"scheduler-{name}.log", "ab") as log:
        command = [sys.executable, "-m", "tradewind", "scheduler", "--no-parse"]
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sigkilled_scheduler_s_celery_task_is_adopted_and_finishes_as_try_1(
    make_cluster: Callable[..., Cluster], redis_server: RedisServer
) -> None:
    # Zombies are not the subject here: a long threshold keeps a heartbeat a busy machine delays
    # from failing the healthy attempt (tests/celery covers lost workers with a short one).
    cluster = make_cluster(f"{redis_server.url}/3", f"{redis_server.url}/4", zombie_threshold=60)
    release = cluster.home / "release"
    dag_file = DAG_FILE.replace("QUEUE", cluster.queue_a).replace("RELEASE", str(release))
    (cluster.home / "dags" / "adopted.py").write_text(dag_file)
    sync_once(cluster.db, cluster.config.dags_folder, include_examples=False, timeout=30)
    cluster.start_worker("W", [cluster.queue_a], concurrency=1)
    cluster.wait_workers(1)
    schedulers = [start_scheduler(cluster, "first")]
    second_log = cluster.home / "scheduler-second.log"
    try:
        cluster.trigger("adopted")
        wait_for(lambda: cluster.states("adopted")["sleeper"] == "running", 120, "the task to run")
        schedulers[0].send_signal(signal.SIGKILL)
        schedulers[0].wait(10)
        schedulers.append(start_scheduler(cluster, "second"))
        wait_for(lambda: ADOPTED in second_log.read_text(), 120, "the second scheduler to adopt the task")
        sleeper = cluster.tis("adopted")["sleeper"]
        assert (sleeper.state, sleeper.try_number) == ("running", 1)  # adopted while it runs
        release.touch()

        assert cluster.wait_run("adopted", timeout=120) == "success"
        sleeper = cluster.tis("adopted")["sleeper"]
        assert (sleeper.state, sleeper.try_number) == ("success", 1)
        assert cluster.xcom("adopted", "sleeper") == 1
        logs = Path(cluster.config.log_folder, "adopted", "m1", "sleeper")
        assert sorted(p.name for p in logs.iterdir()) == ["1.log"]
    finally:
        release.touch()  # never leave the task waiting out its own deadline
        for process in schedulers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
    assert schedulers[-1].returncode == 0

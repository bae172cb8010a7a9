"""The CeleryExecutor end to end: a scheduler, real Celery workers, PostgreSQL, Redis and RabbitMQ."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from tests.celery.conftest import Cluster, RedisServer

pytestmark = pytest.mark.slow

Make = Callable[..., Cluster]


def redis_cluster(make_cluster: Make, redis: RedisServer) -> Cluster:
    return make_cluster(f"{redis.url}/0", f"{redis.url}/1")


def test_parallel_tasks_queues_and_xcoms_across_workers(
    make_cluster: Make, redis_server: RedisServer
) -> None:
    cluster = redis_cluster(make_cluster, redis_server)
    cluster.start_worker("A", [cluster.queue_a], concurrency=4)
    cluster.start_worker("B", [cluster.queue_b], concurrency=2)
    cluster.wait_workers(2)
    cluster.start_scheduler()
    for dag_id in ("parallel", "routing", "xcoms"):
        cluster.trigger(dag_id)
    assert [cluster.wait_run(d) for d in ("parallel", "routing", "xcoms")] == ["success"] * 3

    parallel = cluster.tis("parallel")
    assert {cluster.xcom("parallel", t) for t in parallel} == {"A"}
    assert _max_overlap(parallel.values()) >= 3  # 8 tasks of 0.5 s on 4 slots ran side by side
    assert cluster.xcom("routing", "on_a") == "A"
    assert cluster.xcom("routing", "on_b") == "B"
    assert cluster.xcom("xcoms", "consume") == {"value": 42, "from": "A", "worker": "B"}
    ti = cluster.tis("xcoms")["consume"]
    log = Path(cluster.config.log_folder, "xcoms", "m1", "consume", "1.log").read_text()
    assert "Marking task as SUCCESS" in log and ti.hostname


def test_a_worker_uses_its_own_dags_and_logs_folders(
    make_cluster: Make, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Machines may mount the DAGs and logs elsewhere than the scheduler's."""
    cluster = redis_cluster(make_cluster, redis_server)
    elsewhere = cluster.other_machine(tmp_path / "machine_b")
    cluster.start_worker("A", [cluster.queue_a], home=elsewhere)
    cluster.start_worker("B", [cluster.queue_b])
    cluster.wait_workers(2)
    cluster.start_scheduler()
    cluster.trigger("routing")
    assert cluster.wait_run("routing") == "success"

    assert cluster.xcom("routing", "on_a") == "elsewhere-A"  # its own copy of the DAG file ran
    assert cluster.xcom("routing", "on_b") == "B"
    log = elsewhere / "var" / "logs" / "routing" / "m1" / "on_a" / "1.log"
    assert "Marking task as SUCCESS" in log.read_text()
    assert not Path(cluster.config.log_folder, "routing", "m1", "on_a").exists()


def test_retries_and_timeouts(make_cluster: Make, redis_server: RedisServer) -> None:
    cluster = redis_cluster(make_cluster, redis_server)
    cluster.start_worker("A", [cluster.queue_a], concurrency=2)
    cluster.wait_workers(1)
    cluster.start_scheduler()
    cluster.trigger("retries")
    cluster.trigger("timeouts")
    assert cluster.wait_run("retries") == "success"
    assert cluster.wait_run("timeouts") == "failed"

    flaky = cluster.tis("retries")["flaky"]
    assert (flaky.state, flaky.try_number, cluster.xcom("retries", "flaky")) == ("success", 2, 2)
    slow = cluster.tis("timeouts")["slow"]
    assert (slow.state, slow.try_number) == ("failed", 1)
    assert slow.duration < 15
    assert "SIGTERM" in Path(cluster.config.log_folder, "timeouts", "m1", "slow", "1.log").read_text()


def test_a_redelivered_message_does_not_run_the_attempt_again(
    make_cluster: Make, redis_server: RedisServer
) -> None:
    from tradewind.celery_worker.app import make_celery_app
    from tradewind.celery_worker.messages import TASK_NAME, task_id_for, workload_to_dict

    cluster = redis_cluster(make_cluster, redis_server)
    cluster.start_worker("A", [cluster.queue_a], concurrency=2)
    cluster.wait_workers(1)
    cluster.start_scheduler()
    sent: list[object] = []
    executor = cluster.scheduler._executor
    original = executor._publish

    def publish_twice(flights: list[object]) -> bool:
        sent.extend(flights)
        return bool(original(flights)) and bool(original(flights))

    executor._publish = publish_twice
    cluster.trigger("retries")
    assert cluster.wait_run("retries") == "success"
    time.sleep(1.0)  # let the duplicate deliveries arrive and be skipped
    log_dir = Path(cluster.config.log_folder, "retries", "m1", "flaky")
    for try_number in (1, 2):
        assert (log_dir / f"{try_number}.log").read_text().count("Starting attempt") == 1
    # and a late copy of an old message changes nothing either
    app = make_celery_app(cluster.config)
    workload = sent[0].workload  # type: ignore[attr-defined]
    app.send_task(TASK_NAME, args=[workload_to_dict(workload)], queue=cluster.queue_a, ignore_result=True,
                  task_id=task_id_for(workload.key, "late-copy"))  # fmt: skip
    time.sleep(1.5)
    assert (log_dir / "1.log").read_text().count("Starting attempt") == 1
    assert cluster.tis("retries")["flaky"].state == "success"


def test_a_killed_worker_s_attempt_is_retried_elsewhere(
    make_cluster: Make, rabbitmq_url: str, redis_server: RedisServer
) -> None:
    cluster = make_cluster(rabbitmq_url, f"{redis_server.url}/2")
    workers = {name: cluster.start_worker(name, [cluster.queue_a], concurrency=1) for name in ("K1", "K2")}
    cluster.wait_workers(2)
    cluster.start_scheduler()
    cluster.trigger("killed")
    victim_log = Path(cluster.config.log_folder, "killed", "m1", "victim", "1.log")
    runner = _wait_for(lambda: _first_attempt_worker(victim_log), 30)
    task_pids = _pids_with_env(f"TW_TEST_WORKER={runner}")
    workers[runner].send_signal(signal.SIGKILL)
    workers[runner].wait()

    assert cluster.wait_run("killed", timeout=60) == "success"
    victim = cluster.tis("killed")["victim"]
    survivor = ({"K1", "K2"} - {runner}).pop()
    assert (victim.try_number, cluster.xcom("killed", "victim")) == (2, survivor)
    time.sleep(0.5)
    assert not [pid for pid in task_pids if _alive(pid)], "the killed worker's task processes live on"


def test_restarting_the_broker_loses_no_queued_task(make_cluster: Make, tmp_path: Path) -> None:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    (tmp_path / "redis").mkdir()
    broker = RedisServer(tmp_path / "redis")
    broker.start()
    try:
        cluster = make_cluster(f"{broker.url}/0", f"{broker.url}/1")
        cluster.start_worker("A", [cluster.queue_a], concurrency=2)
        cluster.wait_workers(1)
        cluster.start_scheduler()
        cluster.trigger("many")
        time.sleep(1.0)  # 30 tasks of 0.2 s on 2 slots: most are still queued in the broker
        broker.stop()
        time.sleep(1.5)
        broker.start()
        assert cluster.wait_run("many", timeout=90) == "success"
        tis = cluster.tis("many")
        assert len(tis) == 30 and {ti.state for ti in tis.values()} == {"success"}
    finally:
        broker.stop()


# --- helpers ------------------------------------------------------------------------------


def _max_overlap(tis: object) -> int:
    spans: list[tuple[datetime, int]] = []
    for ti in tis:  # type: ignore[attr-defined]
        spans += [(ti.start_date, 1), (ti.end_date, -1)]
    level = best = 0
    for _, step in sorted(spans, key=lambda s: (s[0], s[1])):
        level += step
        best = max(best, level)
    return best


def _wait_for(probe: Callable[[], str | None], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def _first_attempt_worker(log: Path) -> str | None:
    if not log.exists():
        return None
    for line in log.read_text().splitlines():
        if line.startswith("attempt 1 on "):
            return line.split()[-1]
    return None


def _pids_with_env(entry: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if entry.encode() in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"

"""Kill the scheduler process with SIGKILL mid-run, restart it: nothing is lost, nothing runs twice at once."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tradewind.config import Config
from tradewind.models import Job
from tradewind.parsing import sync_once
from tradewind.scheduler.recovery import JOB_TYPE
from tradewind.store import Database

from .test_end_to_end import e2e_config

pytestmark = pytest.mark.slow


def write_config_file(config: Config) -> None:
    config.config_file.write_text(
        "[core]\n"
        f"sql_alchemy_conn = {str.__str__(config.core.sql_alchemy_conn)}\n"
        f"dags_folder = {config.core.dags_folder}\n"
        "load_examples = False\nexecutor = LocalExecutor\nparallelism = 8\n"
        "[scheduler]\nheartbeat_sec = 1\ndag_dir_list_interval = 3600\n"
    )


def start_scheduler(home: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")} | {
        "TRADEWIND_HOME": str(home)
    }
    log = open(home / "scheduler.log", "ab")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen([sys.executable, "-m", "tradewind", "scheduler", "--no-parse"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip


def states(db: Database) -> dict[str, str | None]:
    with db.transaction(write=False) as store:
        return {ti.task_id: ti.state for ti in store.task_instances("e2e_long", "m1")}


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_then_restart_finishes_every_task_once_at_a_time(
    tmp_path: Path, db_url: str, db: Database
) -> None:
    config = e2e_config(tmp_path, db_url)
    write_config_file(config)
    sync_once(db, config.dags_folder, include_examples=False, timeout=30)
    out = tmp_path / "spans.jsonl"
    with db.transaction() as store:
        data = store.serialized_dag("e2e_long")
        assert data is not None
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        store.create_dag_run(data, run_id="m1", execution_date=now, run_type="manual", now=now,
                             conf={"out": str(out), "sleep": 0.4}, external_trigger=True)  # fmt: skip

    first = start_scheduler(tmp_path)
    try:
        wait_for(lambda: list(states(db).values()).count("success") >= 4 and "running" in states(db).values(),
                 60, "some tasks done and some running")  # fmt: skip
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = states(db)
    assert "running" in killed_at.values()

    second = start_scheduler(tmp_path)
    try:
        wait_for(lambda: set(states(db).values()) == {"success"}, 90, "every task to succeed")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0

    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in out.read_text().splitlines():
        span = json.loads(line)
        spans[span["task"]].append((span["start"], span["end"]))
    assert set(spans) == set(killed_at)
    for task_id, task_spans in spans.items():
        ordered = sorted(task_spans)
        for (_, end), (start, _) in itertools.pairwise(ordered):
            assert end <= start, f"{task_id} ran twice at the same time: {ordered}"
    with db.transaction(write=False) as store:
        jobs = store.session.query(Job).filter(Job.job_type == JOB_TYPE).order_by(Job.id).all()
        assert [j.state for j in jobs] == ["failed", "success"]

"""The scheduler with the LocalExecutor: real task processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradewind.config import Config
from tradewind.models import Pool, XCom
from tradewind.parsing import sync_once
from tradewind.scheduler.main import build_scheduler
from tradewind.store import Database
from tradewind.testing import make_config

pytestmark = pytest.mark.slow

DAG_FILES = Path(__file__).parent / "dag_files"


def e2e_config(tmp_path: Path, db_url: str, **scheduler: Any) -> Config:
    dags = tmp_path / "dags"
    if not dags.exists():
        shutil.copytree(DAG_FILES, dags)
    return make_config(
        tmp_path,
        core={"sql_alchemy_conn": db_url, "load_examples": False, "dags_folder": str(dags),
              "executor": "LocalExecutor", "parallelism": 8},
        scheduler={"dag_dir_list_interval": 3600.0, "heartbeat_sec": 1.0} | scheduler,
    )  # fmt: skip


class Running:
    """A scheduler running in a thread of the test process until ``stop``."""

    def __init__(self, config: Config, db: Database) -> None:
        sync_once(db, config.dags_folder, include_examples=False, timeout=30)
        self.db = db
        self.scheduler = build_scheduler(config, db, parse=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.scheduler.run, args=(self._stop,), kwargs={"drain_timeout": 5}
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def trigger(self, dag_id: str, run_id: str = "m1", conf: dict[str, Any] | None = None) -> str:
        now = datetime.now(UTC)
        with self.db.transaction() as store:
            data = store.serialized_dag(dag_id)
            assert data is not None, dag_id
            store.create_dag_run(data, run_id=run_id, execution_date=now, run_type="manual", now=now, conf=conf,
                                 external_trigger=True)  # fmt: skip
        return run_id

    def wait(self, dag_id: str, run_id: str = "m1", timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.transaction(write=False) as store:
                run = store.find_dag_run(dag_id, run_id=run_id)
                if run is not None and run.state in ("success", "failed"):
                    return run.state
            time.sleep(0.05)
        raise AssertionError(f"{dag_id} {run_id} did not finish: {self.states(dag_id, run_id)}")

    def states(self, dag_id: str, run_id: str = "m1") -> dict[str, str | None]:
        with self.db.transaction(write=False) as store:
            return {ti.task_id: ti.state for ti in store.task_instances(dag_id, run_id)}

    def tries(self, dag_id: str, run_id: str = "m1") -> dict[str, int]:
        with self.db.transaction(write=False) as store:
            return {ti.task_id: ti.try_number for ti in store.task_instances(dag_id, run_id)}


@pytest.fixture
def running(tmp_path: Path, db_url: str, db: Database) -> Iterator[Running]:
    with db.transaction() as store:
        store.session.add(Pool(pool="three", slots=3, description="for the pool test"))
    scheduler = Running(e2e_config(tmp_path, db_url), db)
    yield scheduler
    scheduler.stop()


def test_xcom_flows_between_task_processes(running: Running) -> None:
    running.trigger("e2e_xcom")
    assert running.wait("e2e_xcom") == "success"
    with running.db.transaction(write=False) as store:
        pulled = store.session.get(XCom, ("e2e_xcom", "m1", "pull", "return_value"))
        assert pulled is not None and json.loads(pulled.value) == 42


def test_trigger_rules_branching_and_short_circuit(running: Running) -> None:
    for dag_id in ("e2e_rules", "e2e_branch", "e2e_short"):
        running.trigger(dag_id)
    assert running.wait("e2e_rules") == "failed"
    rules = running.states("e2e_rules")
    assert {k: v for k, v in rules.items() if k.startswith("t_")} == {
        "t_all_success": "upstream_failed", "t_all_failed": "skipped", "t_all_done": "success",
        "t_one_success": "success", "t_one_failed": "success", "t_none_failed": "upstream_failed",
        "t_none_failed_min_one_success": "upstream_failed", "t_none_skipped": "success", "t_always": "success",
    }  # fmt: skip
    assert running.wait("e2e_branch") == "success"
    assert running.states("e2e_branch") == {
        "branch": "success", "left": "success", "right": "skipped", "after_right": "skipped", "join": "success"
    }  # fmt: skip
    assert running.wait("e2e_short") == "success"
    assert running.states("e2e_short") == {"gate": "success", "one": "skipped", "two": "skipped"}


def test_retries_timeouts_and_crashes(running: Running) -> None:
    for dag_id in ("e2e_retry", "e2e_exhausted", "e2e_timeout", "e2e_crash"):
        running.trigger(dag_id)
    assert running.wait("e2e_retry") == "success"
    assert running.tries("e2e_retry") == {"flaky": 2, "after": 1}
    assert running.wait("e2e_exhausted") == "failed"
    assert running.states("e2e_exhausted") == {"always_fails": "failed"}
    assert running.tries("e2e_exhausted") == {"always_fails": 2}
    assert running.wait("e2e_timeout") == "failed"
    assert running.wait("e2e_crash") == "failed"
    assert running.states("e2e_crash") == {"crash": "failed"}


def test_pool_slots_are_never_exceeded_by_fifty_parallel_tasks(running: Running, tmp_path: Path) -> None:
    out = tmp_path / "pool.jsonl"
    running.trigger("e2e_pool", conf={"out": str(out), "sleep": 0.05})
    assert running.wait("e2e_pool") == "success"
    spans = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(spans) == 50
    moments = sorted({s["start"] for s in spans})
    assert max(sum(s["start"] <= t < s["end"] for s in spans) for t in moments) <= 3


def test_catchup_with_max_active_runs_creates_each_run_once(running: Running) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with running.db.transaction(write=False) as store:
            runs = [
                store.find_dag_run("e2e_daily", execution_date=datetime(2024, 1, d, tzinfo=UTC))
                for d in (1, 2, 3)
            ]
        if all(r is not None and r.state == "success" for r in runs):
            break
        assert sum(r is not None and r.state == "running" for r in runs) <= 1
        time.sleep(0.05)
    assert [r.state if r else None for r in runs] == ["success"] * 3


def test_a_trigger_nudges_the_scheduler_instead_of_waiting_for_its_poll(running: Running) -> None:
    from tradewind.actions.dag_runs import trigger_dag

    running.scheduler._poll_interval = 3600.0  # only a nudge can start a run within the test
    time.sleep(1.5)  # its first passes are over: the next poll is an hour away
    running.trigger("e2e_xcom", "silent")  # a row written without a nudge waits for the poll
    time.sleep(1.0)
    assert set(running.states("e2e_xcom", "silent").values()) == {None}
    started = time.monotonic()
    with running.db.transaction() as store:
        result = trigger_dag(store, "e2e_xcom", now=datetime.now(UTC), run_id="nudged")
    assert running.wait("e2e_xcom", result.run_id, timeout=30) == "success"
    assert running.wait("e2e_xcom", "silent", timeout=30) == "success"  # the nudge's poll found both
    assert time.monotonic() - started < 30

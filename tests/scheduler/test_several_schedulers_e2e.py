"""Two ``tradewind scheduler`` processes (LocalExecutor each) on one PostgreSQL database.

The default suite runs 40 runs of the 20-task DAG in ``ha_dags/``; set
``TRADEWIND_TEST_FULL_SCALE=1`` for the issue's 200 runs (4,000 task instances). Every task
process appends its span to a file, and a sampler reads the pool usage from the database
every few milliseconds: each instance must run exactly once (or, for those a SIGKILL
interrupted, once per try and never twice at the same time) and the pool must never hold
more than its slots.

Every wait is on a condition with a generous deadline, so a busy machine only makes the
tests slower, never wrong.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tradewind.models import DagRun, Job, Pool, TaskInstance
from tradewind.parsing import sync_once
from tradewind.scheduler.recovery import JOB_TYPE
from tradewind.store import Database

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True),
]

TI_COLUMNS = (TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state, TaskInstance.try_number)
HA_DAGS = Path(__file__).parent / "ha_dags"
POOL, POOL_SLOTS = "ha_pool", 4
FULL_SCALE = os.environ.get("TRADEWIND_TEST_FULL_SCALE") == "1"
RUNS = 200 if FULL_SCALE else 40


class Cluster:
    """A TRADEWIND_HOME shared by scheduler processes started and stopped on demand."""

    def __init__(self, home: Path, db_url: str, db: Database) -> None:
        self.home, self.db = home, db
        shutil.copytree(HA_DAGS, home / "dags")
        (home / "tradewind.cfg").write_text(
            f"[core]\nsql_alchemy_conn = {db_url}\ndags_folder = {home / 'dags'}\nload_examples = False\n"
            "executor = LocalExecutor\nparallelism = 8\n"
            "[scheduler]\nheartbeat_sec = 0.5\nscheduler_health_check_threshold = 5\ndag_dir_list_interval = 3600\n"
            "[logging]\nlogging_level = WARNING\n"
        )
        sync_once(db, home / "dags", include_examples=False, timeout=30)
        with db.transaction() as store:
            store.session.add(Pool(pool=POOL, slots=POOL_SLOTS, description="several schedulers"))
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")} | {
            "TRADEWIND_HOME": str(self.home)
        }
        with open(self.home / f"{name}.log", "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "tradewind", "scheduler", "--no-parse"], env=env,
                                       stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        self.processes.append(process)
        return process

    def wait_for_schedulers(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.transaction(write=False) as store:
                if len(store.running_jobs(JOB_TYPE)) >= count:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{count} schedulers did not start; see {self.home}/*.log")

    def trigger(self, count: int, out: Path, first: int = 0) -> list[str]:
        """Queue runs ``r<first>`` ... ``r<first + count - 1>`` in one transaction (a burst)."""
        now = datetime.now(UTC)
        numbers = range(first, first + count)
        with self.db.transaction() as store:
            data = store.serialized_dag("ha_fan")
            assert data is not None
            for i in numbers:
                store.create_dag_run(data, run_id=f"r{i:03d}", execution_date=now + timedelta(seconds=i),
                                     run_type="manual", now=now, conf={"out": str(out)},
                                     external_trigger=True)  # fmt: skip
        return [f"r{i:03d}" for i in numbers]

    def run_owners(self) -> tuple[set[int], int]:
        """The schedulers that own runs, and how many runs are still queued and unowned."""
        with self.db.transaction(write=False) as store:
            rows = store.session.execute(
                select(DagRun.scheduler_job_id, DagRun.state).where(DagRun.dag_id == "ha_fan")
            ).all()
        owners = {owner for owner, _ in rows if owner is not None}
        return owners, sum(owner is None and state == "queued" for owner, state in rows)

    def share_runs(self, triggered: int, out: Path, extra: int = 40, timeout: float = 120) -> int:
        """Make sure both schedulers own runs; returns how many runs were triggered in all.

        A burst is shared when both schedulers poll while it is still queued (one pass claims
        at most 20 runs), which is usual but not certain: a scheduler descheduled for a moment
        on a busy machine may miss it all. So once the burst is claimed and only one scheduler
        owns runs, more runs are queued one at a time (each claimed before the next, by
        whichever scheduler polls first) until the other takes one: a scheduler that never does
        in ``extra`` chances does not share the work.
        """
        deadline, limit = time.monotonic() + timeout, triggered + extra
        while True:
            owners, unclaimed = self.run_owners()
            if len(owners) >= 2:
                return triggered
            alone = f"only scheduler job {owners} took runs ({triggered} triggered); see {self.home}/*.log"
            assert time.monotonic() < deadline, alone
            if not unclaimed:
                assert triggered < limit, alone
                triggered += len(self.trigger(1, out, first=triggered))
            time.sleep(0.02)

    def states(self) -> dict[tuple[str, str], tuple[str | None, int]]:
        with self.db.transaction(write=False) as store:
            return {(ti.run_id, ti.task_id): (ti.state, ti.try_number)
                    for ti in store.session.query(*TI_COLUMNS).filter_by(dag_id="ha_fan")}  # fmt: skip

    def wait_all_success(self, timeout: float) -> dict[tuple[str, str], tuple[str | None, int]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if {state for state, _ in states.values()} == {"success"}:
                return states
            time.sleep(0.1)
        raise AssertionError(
            f"not all done: { {s for s, _ in self.states().values()} }; see {self.home}/*.log"
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(30)


class PoolSampler:
    """Reads the slots held in the pool (queued + running instances) from the database in a loop."""

    def __init__(self, db: Database) -> None:
        self.db, self.samples, self.peak = db, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.005):
            with self.db.transaction(write=False) as store:
                running, queued = store.pool_usage().get(POOL, (0, 0))
            self.samples += 1
            self.peak = max(self.peak, running + queued)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def cluster(tmp_path: Path, db_url: str, db: Database) -> Iterator[Cluster]:
    made = Cluster(tmp_path, db_url, db)
    yield made
    made.stop()


def spans_of(out: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    spans: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for line in out.read_text().splitlines():
        span = json.loads(line)
        spans[(span["run"], span["task"])].append(span)
    return spans


def peak_concurrency(spans: list[dict[str, Any]]) -> int:
    edges = sorted(
        [(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans], key=lambda e: (e[0], e[1])
    )
    return max(itertools.accumulate(delta for _, delta in edges), default=0)


def test_two_schedulers_run_every_instance_exactly_once_within_the_pool(
    cluster: Cluster, tmp_path: Path
) -> None:
    out = tmp_path / "spans.jsonl"
    cluster.start("one"), cluster.start("two")
    cluster.wait_for_schedulers(2)
    cluster.trigger(RUNS, out)
    sampler = PoolSampler(cluster.db)
    try:
        runs = cluster.share_runs(RUNS, out)
        states = cluster.wait_all_success(120 + 2 * runs)
    finally:
        sampler.stop()
    spans = spans_of(out)
    assert len(states) == runs * 20
    assert set(spans) == set(states)
    assert {len(found) for found in spans.values()} == {1}
    assert {tries for _, tries in states.values()} == {1}
    assert sampler.samples > 50 and 0 < sampler.peak <= POOL_SLOTS
    pooled = [s for found in spans.values() for s in found if s["pool"] == POOL]
    assert peak_concurrency(pooled) <= POOL_SLOTS
    owners, unclaimed = cluster.run_owners()
    assert len(owners) == 2 and unclaimed == 0, "both schedulers ran some of the runs"


def test_sigkill_one_of_two_schedulers_and_the_other_finishes_everything(
    cluster: Cluster, tmp_path: Path
) -> None:
    out = tmp_path / "spans.jsonl"
    cluster.trigger(RUNS, out)
    sampler = PoolSampler(cluster.db)
    victim, _survivor = cluster.start("victim"), cluster.start("survivor")
    try:
        deadline = time.monotonic() + 120
        while sum(state == "success" for state, _ in cluster.states().values()) < RUNS * 5:
            assert time.monotonic() < deadline, "no progress before the kill"
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        states = cluster.wait_all_success(120 + 2 * RUNS)
    finally:
        sampler.stop()
    spans = spans_of(out)
    assert set(spans) == set(states)
    for key, found in spans.items():
        tries = states[key][1]
        assert len(found) <= tries, (key, found)
        ordered = sorted((s["start"], s["end"]) for s in found)
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(ordered)), (key, ordered)
        if tries == 1:
            assert len(found) == 1
    assert 0 < sampler.peak <= POOL_SLOTS
    pooled = [s for found in spans.values() for s in found if s["pool"] == POOL]
    assert peak_concurrency(pooled) <= POOL_SLOTS
    with cluster.db.transaction(write=False) as store:
        jobs = store.session.query(Job).filter(Job.job_type == JOB_TYPE).order_by(Job.id).all()
        assert sorted(j.state for j in jobs) == ["failed", "running"]

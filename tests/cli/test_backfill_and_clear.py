"""`dags backfill` runs every schedule point; `tasks clear` makes a running scheduler run a task again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.cli.conftest import Run

pytestmark = pytest.mark.slow

DAG_FILE = """
from datetime import datetime
from tradewind import DAG
from tradewind.dag import BashOperator

with DAG("daily", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False, is_paused_upon_creation=True) as dag:
    first = BashOperator(task_id="first", bash_command="echo first {{ ds }} >> {{ params.out }}", params={"out": "OUT"})
    second = BashOperator(task_id="second", bash_command="echo second {{ ds }} >> {{ params.out }}", params={"out": "OUT"})
    first >> second
"""


def _env(tmp_path: Path, db_url: str) -> tuple[dict[str, str], Path]:
    dags, out = tmp_path / "dags", tmp_path / "out.txt"
    dags.mkdir()
    (dags / "daily.py").write_text(DAG_FILE.replace("OUT", str(out)))
    env = {
        "TRADEWIND__CORE__DAGS_FOLDER": str(dags),
        "TRADEWIND__CORE__LOAD_EXAMPLES": "False",
        "TRADEWIND__CORE__SQL_ALCHEMY_CONN": db_url,
    }
    return env, out


def _run_states(tradewind: Run, env: dict[str, str]) -> dict[str, str]:
    result = tradewind("dags", "list-runs", "-d", "daily", "-o", "json", env=env)
    return {run["execution_date"][:10]: run["state"] for run in json.loads(result.stdout)}


def test_backfill_then_clear_one_task(tradewind: Run, tmp_path: Path, db_url: str) -> None:
    env, out = _env(tmp_path, db_url)
    assert tradewind("db", "init", env=env).returncode == 0
    assert tradewind("dags", "reserialize", env=env).returncode == 0
    backfill = tradewind("dags", "backfill", "daily", "-s", "2024-01-01", "-e", "2024-01-03", env=env)
    assert backfill.returncode == 0, backfill.stderr
    assert "Created 3 backfill run(s) of daily" in backfill.stdout
    assert "3/3 runs finished (success 3, failed 0, running 0)" in backfill.stdout
    assert _run_states(tradewind, env) == {
        "2024-01-01": "success",
        "2024-01-02": "success",
        "2024-01-03": "success",
    }
    assert sorted(out.read_text().splitlines()) == sorted(
        f"{task} 2024-01-0{day}" for task in ("first", "second") for day in (1, 2, 3)
    )

    cleared = tradewind(
        "tasks", "clear", "daily", "-t", "^second$", "-s", "2024-01-02", "-e", "2024-01-02", "--yes", env=env
    )
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.strip() == "Cleared 1 task instance(s)"
    state = tradewind("tasks", "state", "daily", "second", "2024-01-02", env=env)
    assert state.stdout.strip() == "None"

    scheduler = _start_scheduler(tmp_path, env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and out.read_text().count("second 2024-01-02") < 2:
            time.sleep(0.2)
        while time.monotonic() < deadline and _run_states(tradewind, env)["2024-01-02"] != "success":
            time.sleep(0.2)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(60) == 0
    lines = out.read_text().splitlines()
    assert lines.count("second 2024-01-02") == 2
    assert lines.count("first 2024-01-02") == 1
    assert _run_states(tradewind, env)["2024-01-02"] == "success"


SCHEDULED_DAGS = """
from datetime import datetime
from tradewind import DAG
from tradewind.dag import EmptyOperator

for dag_id in ("backfilled", "bystander"):
    with DAG(dag_id, schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False,
             is_paused_upon_creation=False) as dag:
        EmptyOperator(task_id="only")
    globals()[dag_id] = dag
"""


def test_foreground_backfill_runs_only_its_own_runs(tradewind: Run, tmp_path: Path, db_url: str) -> None:
    """Without a live scheduler, backfill runs one in the foreground that starts no other run."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "scheduled.py").write_text(SCHEDULED_DAGS)
    env = {"TRADEWIND__CORE__DAGS_FOLDER": str(dags), "TRADEWIND__CORE__LOAD_EXAMPLES": "False",
           "TRADEWIND__CORE__SQL_ALCHEMY_CONN": db_url}  # fmt: skip
    assert tradewind("db", "init", env=env).returncode == 0
    assert tradewind("dags", "reserialize", env=env).returncode == 0
    backfill = tradewind("dags", "backfill", "backfilled", "-s", "2024-05-01", "-e", "2024-05-02", env=env)
    assert backfill.returncode == 0, backfill.stderr
    assert "2/2 runs finished (success 2, failed 0, running 0)" in backfill.stdout

    def runs(dag_id: str) -> list[tuple[str, str]]:
        result = tradewind("dags", "list-runs", "-d", dag_id, "-o", "json", env=env)
        return sorted((run["run_id"], run["state"]) for run in json.loads(result.stdout))

    assert runs("backfilled") == [
        ("backfill__2024-05-01T00:00:00+00:00", "success"),
        ("backfill__2024-05-02T00:00:00+00:00", "success"),
    ]
    assert runs("bystander") == []


def _start_scheduler(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
    environ |= env | {"TRADEWIND_HOME": str(tmp_path / "home")}
    return subprocess.Popen(
        [sys.executable, "-m", "tradewind", "scheduler"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

"""``tasks test``, ``dags test`` and ``tasks logs``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from tradewind.cli.env import Env
from tradewind.cli.task_commands import dags_test, tasks_logs, tasks_test
from tradewind.config import Config
from tradewind.errors import DagNotFound, DagRunNotFound, TaskInstanceNotFound
from tradewind.executors.base import TaskKey, log_path_for
from tradewind.models import DagModel, DagRun
from tradewind.store import Database
from tradewind.testing import make_config

DAG_FILE = """
from datetime import datetime, timezone
from tradewind.dag import DAG, BashOperator, BranchPythonOperator, EmptyOperator, PythonOperator, task

def _boom():
    raise ValueError("boom")

with DAG("cli_dag", start_date=datetime(2024, 1, 1, tzinfo=timezone.utc), schedule="@daily") as dag:
    hello = BashOperator(task_id="hello", bash_command="echo hello {{ ds }}")

    @task
    def number():
        print("making a number")
        return 21

    @task
    def double(n):
        return n * 2

    branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
    left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
    after_right = EmptyOperator(task_id="after_right")
    hello >> branch >> [left, right]
    right >> after_right
    doubled = double(number())
    left >> doubled.operator
    PythonOperator(task_id="boom", python_callable=_boom, retries=1)
"""


def env_for(config: Config) -> Env:
    env = Env()
    env.__dict__["config"] = config
    return env


@pytest.fixture
def local_config(tmp_path: Path) -> Config:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "cli_dag.py").write_text(DAG_FILE)
    (dags / "other_dag.py").write_text("raise RuntimeError('not this one')  # dag\n")
    return make_config(tmp_path, core={"load_examples": False})


def test_tasks_test_runs_one_task_and_prints_its_log(local_config: Config) -> None:
    result = CliRunner().invoke(tasks_test, ["cli_dag", "hello", "2024-02-03"], obj=env_for(local_config))

    assert result.exit_code == 0, result.output
    assert "hello 2024-02-03" in result.output
    assert "Starting attempt 1 of 1 of cli_dag.hello" in result.output
    assert "Task cli_dag.hello ended: success" in result.output
    assert not (local_config.home / "tradewind.db").exists()  # nothing recorded (no database was even made)


def test_tasks_test_of_a_failing_task_exits_non_zero(local_config: Config) -> None:
    result = CliRunner().invoke(tasks_test, ["cli_dag", "boom", "2024-02-03"], obj=env_for(local_config))

    assert result.exit_code == 1
    assert "ValueError: boom" in result.output and "Traceback" in result.output


def test_tasks_test_of_an_unknown_dag(local_config: Config) -> None:
    result = CliRunner().invoke(tasks_test, ["nope", "hello"], obj=env_for(local_config))

    assert isinstance(result.exception, DagNotFound)


def test_dags_test_runs_in_order_with_branches_and_xcoms(local_config: Config) -> None:
    result = CliRunner().invoke(dags_test, ["cli_dag", "2024-02-03"], obj=env_for(local_config))

    output = result.output
    assert result.exit_code == 1  # "boom" fails
    assert output.index("Task hello ended: success") < output.index("Task branch ended: success")
    assert "Task right ended: skipped" in output and "Task after_right ended: skipped" in output
    assert "Task left ended: success" in output
    assert "making a number" in output
    assert "Done. Returned value was: 42" in output  # double pulled number's value from memory
    assert "Task boom ended: failed" in output and output.count("Starting attempt") == 7  # boom ran twice
    assert "DAG cli_dag finished (failed: 1, skipped: 2, success: 5)" in output


def test_dags_test_rejects_a_bad_conf(local_config: Config) -> None:
    result = CliRunner().invoke(dags_test, ["cli_dag", "--conf", "[1]"], obj=env_for(local_config))

    assert result.exit_code != 0


def _record_run(db_url: str) -> None:
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(
            insert(DagModel), [{"dag_id": "cli_dag", "fileloc": "x", "is_paused": False, "is_active": True}]
        )
        conn.execute(
            insert(DagRun),
            [{"dag_id": "cli_dag", "run_id": "scheduled__x", "execution_date": datetime(2024, 2, 3, tzinfo=UTC),
              "state": "success", "run_type": "scheduled", "external_trigger": False}],
        )  # fmt: skip
    db.dispose()


def test_tasks_logs_by_date_run_id_and_try(config: Config, db_url: str) -> None:
    _record_run(db_url)
    for try_number in (1, 2):
        path = log_path_for(config.log_folder, TaskKey("cli_dag", "hello", "scheduled__x", try_number))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"log of try {try_number}\n")
    env = env_for(config)
    runner = CliRunner()

    assert runner.invoke(tasks_logs, ["cli_dag", "hello", "2024-02-03"], obj=env).output == "log of try 2\n"
    assert (
        runner.invoke(tasks_logs, ["cli_dag", "hello", "scheduled__x", "--try", "1"], obj=env).output
        == "log of try 1\n"
    )
    missing = runner.invoke(tasks_logs, ["cli_dag", "hello", "scheduled__x", "--try", "3"], obj=env)
    assert isinstance(missing.exception, TaskInstanceNotFound)
    no_run = runner.invoke(tasks_logs, ["cli_dag", "hello", "2030-01-01"], obj=env)
    assert isinstance(no_run.exception, DagRunNotFound)
    env.db.dispose()


def test_tasks_logs_keeps_runs_with_once_colliding_ids_apart(config: Config) -> None:
    """``a/b/../c`` and ``a_b_.._c`` (or ``.`` and ``_.``) used to share one log folder."""
    run_ids = ["a/b/../c", "a_b_.._c", ".", "_."]
    for run_id in run_ids:
        path = log_path_for(config.log_folder, TaskKey("cli_dag", "hello", run_id, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"log of run {run_id}\n")
    env = env_for(config)
    runner = CliRunner()

    for run_id in run_ids:
        assert (
            runner.invoke(tasks_logs, ["cli_dag", "hello", run_id], obj=env).output
            == f"log of run {run_id}\n"
        )
    assert sorted(p.name for p in (config.log_folder / "cli_dag").iterdir()) == [
        "%2E",
        "_.",
        "a%2Fb%2F..%2Fc",
        "a_b_.._c",
    ]
    env.db.dispose()

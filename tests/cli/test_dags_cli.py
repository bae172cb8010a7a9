from __future__ import annotations

import json
from pathlib import Path

import yaml
from tests.cli.conftest import Run

DAG_FILE = """
from datetime import datetime
from tradewind import DAG
from tradewind.dag import BashOperator, EmptyOperator

with DAG("cli_dag", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    start = EmptyOperator(task_id="start", owner="carol")
    work = BashOperator(task_id="work", bash_command="echo hi", owner="carol")
    end = EmptyOperator(task_id="end", owner="carol")
    start >> work >> end
"""


def _home(tmp_path: Path) -> dict[str, str]:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "cli_dag.py").write_text(DAG_FILE)
    (dags / "broken_dag.py").write_text("from tradewind import DAG\n1/0\n")
    return {"TRADEWIND__CORE__DAGS_FOLDER": str(dags), "TRADEWIND__CORE__LOAD_EXAMPLES": "False"}


def test_reserialize_then_list(tradewind: Run, tmp_path: Path) -> None:
    env = _home(tmp_path)
    assert tradewind("db", "init", env=env).returncode == 0
    result = tradewind("dags", "reserialize", env=env)
    assert result.returncode == 0, result.stderr
    assert "1 DAG(s), 1 import error(s)" in result.stdout
    listed = json.loads(tradewind("dags", "list", "--output", "json", env=env).stdout)
    assert listed == [
        {
            "dag_id": "cli_dag",
            "fileloc": str(tmp_path / "dags" / "cli_dag.py"),
            "owners": "carol",
            "is_paused": False,
        }
    ]
    as_yaml = yaml.safe_load(tradewind("dags", "list", "-o", "yaml", env=env).stdout)
    assert as_yaml == listed
    table = tradewind("dags", "list", env=env).stdout.splitlines()
    assert table[0].split(" | ")[0].strip() == "dag_id" and table[2].startswith("cli_dag")
    errors = json.loads(tradewind("dags", "list-import-errors", "-o", "json", env=env).stdout)
    assert [Path(e["filepath"]).name for e in errors] == ["broken_dag.py"]
    assert "ZeroDivisionError" in errors[0]["error"]


def test_tasks_list_and_tree(tradewind: Run, tmp_path: Path) -> None:
    env = _home(tmp_path)
    tradewind("db", "init", env=env)
    tradewind("dags", "reserialize", env=env)
    assert tradewind("tasks", "list", "cli_dag", env=env).stdout.split() == ["end", "start", "work"]
    tree = tradewind("tasks", "list", "cli_dag", "--tree", env=env).stdout.splitlines()
    assert tree == [
        "<Task(EmptyOperator): start>",
        "    <Task(BashOperator): work>",
        "        <Task(EmptyOperator): end>",
    ]
    missing = tradewind("tasks", "list", "nope", env=env)
    assert missing.returncode == 3
    assert missing.stderr.strip() == "Error: Dag id nope not found"


DAILY_DAG = """
from datetime import datetime
from tradewind import DAG
from tradewind.dag import EmptyOperator

with DAG("daily", schedule="@daily", start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="only")
"""


def test_dates_the_schedule_cannot_place_are_one_line_errors(tradewind: Run, tmp_path: Path) -> None:
    """Near year 1 or 9999 the interval or its neighbours overflow: refused, never a traceback."""
    env = _home(tmp_path)
    (tmp_path / "dags" / "daily.py").write_text(DAILY_DAG)
    tradewind("db", "init", env=env)
    tradewind("dags", "reserialize", env=env)
    for args in [
        ("dags", "test", "daily", "9999-12-31"),
        ("tasks", "test", "daily", "only", "0001-01-01"),
        ("dags", "backfill", "daily", "-s", "9999-12-30", "-e", "9999-12-31", "--no-wait"),
        ("dags", "trigger", "daily", "-e", "9999-12-31T00:00:00+00:00"),
    ]:
        result = tradewind(*args, env=env)
        assert result.returncode == 1, args
        assert "out of range for the DAG's schedule" in result.stderr and "Traceback" not in result.stderr
    assert (
        json.loads(tradewind("dags", "list-runs", "-d", "daily", "-o", "json", env=env).stdout or "[]") == []
    )


def test_a_conf_too_deep_to_parse_is_a_usage_error(tradewind: Run, tmp_path: Path) -> None:
    env = _home(tmp_path)
    tradewind("db", "init", env=env)
    tradewind("dags", "reserialize", env=env)
    deep = '{"a": ' + "[" * 3000 + "]" * 3000 + "}"
    result = tradewind("dags", "trigger", "cli_dag", "-c", deep, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "nested deeper than 64 levels" in result.stderr

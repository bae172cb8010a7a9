"""The client commands give the same output through the local client and through the JSON client
against a live webserver; bad input fails cleanly, with distinct exit codes, in both modes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.cli.conftest import Run
from tests.clients.conftest import fresh_db_url
from tests.clients.live import always_401_server, free_port, live_webserver

from tradewind.cli.main import main

DAG_FILE = """
from datetime import datetime
from tradewind import DAG
from tradewind.dag import BashOperator, EmptyOperator

with DAG("cli_dag", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    start = EmptyOperator(task_id="start", owner="carol")
    work = BashOperator(task_id="work", bash_command="echo hi", owner="carol")
    start >> work
"""

SEQUENCE: list[tuple[str, ...]] = [
    ("pools", "set", "etl", "3", "ETL jobs"),
    ("pools", "get", "etl"),
    ("pools", "list", "-o", "json"),
    ("pools", "set", "etl", "5", "ETL jobs, more"),
    ("pools", "get", "etl", "-o", "yaml"),
    (
        "dags",
        "trigger",
        "cli_dag",
        "-c",
        '{"key": "value"}',
        "-r",
        "first",
        "-e",
        "2024-02-03T04:05:06+00:00",
    ),
    ("dags", "trigger", "cli_dag", "-e", "2024-02-04", "-o", "json"),
    ("dags", "list-runs", "-d", "cli_dag"),
    ("dags", "list-runs", "-d", "cli_dag", "--state", "queued", "-o", "json"),
    ("dags", "list-runs", "-d", "cli_dag", "--start-date", "2024-02-04", "-o", "plain"),
    ("dags", "state", "cli_dag", "2024-02-03T04:05:06+00:00"),
    ("dags", "state", "cli_dag", "2024-02-03T09:05:06+05:00"),
    ("tasks", "state", "cli_dag", "work", "2024-02-03T04:05:06Z"),
    ("tasks", "info", "cli_dag", "work", "-o", "json"),
    ("dags", "pause", "cli_dag"),
    ("dags", "unpause", "cli_dag"),
    ("dags", "latest-runs", "-o", "json"),
    ("pools", "export", "-"),
    ("dags", "delete", "cli_dag", "--yes"),
    ("dags", "list-runs", "-d", "cli_dag"),
    ("pools", "delete", "etl"),
    ("pools", "list"),
    # bad input
    ("dags", "state", "nope", "2024-01-01"),
    ("pools", "get", "nope"),
    ("pools", "delete", "default_pool"),
    ("dags", "trigger", "nope"),
    ("dags", "trigger", "cli_dag", "-c", "[1"),
    ("dags", "trigger", "cli_dag", "-c", "[1]"),
    ("dags", "state", "cli_dag", "not-a-date"),
    ("pools", "set", "etl", "many", "x"),
    ("dags", "list-runs", "-d", "cli_dag", "--state", "bogus"),
    ("tasks", "info", "cli_dag", "nope"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExitStack]:
    with ExitStack() as stack:
        stack.db_kind = request.param  # type: ignore[attr-defined]
        yield stack


def run_in_process(args: tuple[str, ...], env: dict[str, str]) -> tuple[int, str, str]:
    """``tradewind ARGS`` through the real entry point, in this process (about 50 times faster
    than a subprocess); the environment is the command's own and restored afterwards."""
    environ: dict[str, str | None] = {k: None for k in os.environ if k.startswith("TRADEWIND")}
    environ.update(env)
    code = 0
    with CliRunner().isolation(env=environ) as (stdout, stderr, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, stdout.getvalue().decode(), stderr.getvalue().decode()


def _prepare(tradewind: Run, folder: Path, db_url: str) -> dict[str, str]:
    dags = folder / "dags"
    dags.mkdir(parents=True)
    (dags / "cli_dag.py").write_text(DAG_FILE)
    env = {
        "TRADEWIND_HOME": str(folder / "home"),
        "TRADEWIND__CORE__SQL_ALCHEMY_CONN": db_url,
        "TRADEWIND__CORE__DAGS_FOLDER": str(dags),
        "TRADEWIND__CORE__LOAD_EXAMPLES": "False",
    }
    for args in (("db", "init"), ("dags", "reserialize")):
        result = tradewind(*args, env=env)
        assert result.returncode == 0, result.stderr
    return env


def _run_all(env: dict[str, str]) -> list[tuple[tuple[str, ...], int, str, str]]:
    return [(args, *run_in_process(args, env)) for args in SEQUENCE]


def test_same_output_through_both_clients(
    tradewind: Run, tmp_path: Path, request: pytest.FixtureRequest, new_database: ExitStack
) -> None:
    kind = new_database.db_kind  # type: ignore[attr-defined]
    local_url = fresh_db_url(request, kind, tmp_path, new_database)
    remote_url = fresh_db_url(request, kind, tmp_path, new_database)
    local_env = _prepare(tradewind, tmp_path / "local", local_url)
    local = _run_all(local_env)

    remote_env = _prepare(tradewind, tmp_path / "remote", remote_url)
    with live_webserver(tmp_path / "server", remote_url) as url:
        remote_env |= {
            "TRADEWIND__CLI__API_CLIENT": "tradewind.clients.json",
            "TRADEWIND__CLI__ENDPOINT_URL": url,
        }
        remote = _run_all(remote_env)

    for got_local, got_remote in zip(local, remote, strict=True):
        assert got_local == got_remote
    by_args = {args: (code, out, err) for args, code, out, err in local}
    _check_local_outputs(by_args)


def _check_local_outputs(by_args: dict[tuple[str, ...], tuple[int, str, str]]) -> None:
    """What the (identical) outputs say: a few spot checks on the sequence above."""

    def out(*args: str) -> str:
        code, stdout, stderr = by_args[args]
        assert code == 0, stderr
        return stdout

    assert out("pools", "set", "etl", "3", "ETL jobs") == "Pool etl created\n"
    assert json.loads(out("pools", "list", "-o", "json")) == [
        {"pool": "default_pool", "slots": 128, "description": "Default pool", "include_deferred": False},
        {"pool": "etl", "slots": 3, "description": "ETL jobs", "include_deferred": False},
    ]
    assert json.loads(out("dags", "trigger", "cli_dag", "-e", "2024-02-04", "-o", "json")) == [
        {
            "dag_id": "cli_dag",
            "run_id": "manual__2024-02-04T00:00:00+00:00",
            "execution_date": "2024-02-04T00:00:00+00:00",
            "state": "queued",
        }
    ]
    runs = json.loads(out("dags", "list-runs", "-d", "cli_dag", "--state", "queued", "-o", "json"))
    assert [r["run_id"] for r in runs] == ["first", "manual__2024-02-04T00:00:00+00:00"]
    assert out("dags", "state", "cli_dag", "2024-02-03T09:05:06+05:00") == "queued\n"
    assert out("tasks", "state", "cli_dag", "work", "2024-02-03T04:05:06Z") == "None\n"
    info = {
        row["attribute"]: row["value"]
        for row in json.loads(out("tasks", "info", "cli_dag", "work", "-o", "json"))
    }
    assert info["bash_command"] == "echo hi" and info["owner"] == "carol"
    assert out("dags", "pause", "cli_dag") == "Dag: cli_dag, paused: True\n"
    assert json.loads(out("pools", "export", "-")) == {
        "default_pool": {"description": "Default pool", "include_deferred": False, "slots": 128},
        "etl": {"description": "ETL jobs, more", "include_deferred": False, "slots": 5},
    }
    assert out("dags", "delete", "cli_dag", "--yes").startswith("Removed ")
    failures = {
        ("dags", "state", "nope", "2024-01-01"): (3, "Error: Dag id nope not found in DagModel"),
        ("pools", "get", "nope"): (3, "Error: Pool 'nope' doesn't exist"),
        ("pools", "delete", "default_pool"): (1, "Error: default_pool cannot be deleted"),
        ("dags", "trigger", "nope"): (3, "Error: Dag id nope not found in DagModel"),
        ("dags", "trigger", "cli_dag", "-c", "[1"): (2, "not valid JSON"),
        ("dags", "trigger", "cli_dag", "-c", "[1]"): (2, "must be a JSON object"),
        ("dags", "state", "cli_dag", "not-a-date"): (2, "Given execution date, not-a-date, could not be"),
        ("pools", "set", "etl", "many", "x"): (2, "'many' is not a valid integer"),
        ("dags", "list-runs", "-d", "cli_dag", "--state", "bogus"): (1, "Error: Invalid state 'bogus'"),
        ("tasks", "info", "cli_dag", "nope"): (3, "Error: Dag id cli_dag not found"),
    }
    for args, (code, message) in failures.items():
        got_code, stdout, stderr = by_args[args]
        assert (got_code, stdout) == (code, ""), (args, stderr)
        assert message in stderr and "Traceback" not in stderr, (args, stderr)


def test_server_down_is_exit_5(tradewind: Run) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        "TRADEWIND__CLI__API_CLIENT": "airflow.api.client.json_client",
        "TRADEWIND__CLI__ENDPOINT_URL": url,
    }
    result = tradewind("pools", "list", env=env)
    assert result.returncode == 5
    assert result.stderr.startswith(f"Error: Cannot reach the Tradewind webserver at {url}: ")
    assert "Traceback" not in result.stderr


def test_server_answering_401_is_exit_4(tradewind: Run) -> None:
    with always_401_server() as url:
        env = {"TRADEWIND__CLI__API_CLIENT": "tradewind.clients.json", "TRADEWIND__CLI__ENDPOINT_URL": url}
        result = tradewind("dags", "trigger", "example", env=env)
    assert result.returncode == 4
    assert result.stderr == f"Error: The server at {url} answered 401 Unauthorized\n"


def test_deny_all_webserver_is_exit_4(tradewind: Run, tmp_path: Path, db_url: str) -> None:
    deny = {"TRADEWIND__API__AUTH_BACKEND": "tradewind.api.auth.backend.deny_all"}
    with live_webserver(tmp_path / "server", db_url, **deny) as url:
        env = {"TRADEWIND__CLI__API_CLIENT": "tradewind.clients.json", "TRADEWIND__CLI__ENDPOINT_URL": url}
        result = tradewind("pools", "list", env=env)
    assert (result.returncode, result.stderr) == (4, "Error: Forbidden\n")


def test_pools_import_and_export_files(tradewind: Run, tmp_path: Path, db_url: str) -> None:
    env = {"TRADEWIND__CORE__SQL_ALCHEMY_CONN": db_url}
    source = tmp_path / "pools.json"
    source.write_text(
        json.dumps({"a": {"slots": 2, "description": "A"}, "b": {"slots": "4", "description": "B"}})
    )
    result = tradewind("pools", "import", str(source), env=env)
    assert (result.returncode, result.stdout) == (0, "Uploaded 2 pool(s)\n"), result.stderr
    target = tmp_path / "out.json"
    result = tradewind("pools", "export", str(target), env=env)
    assert result.stdout == f"Exported 3 pool(s) to {target}\n"
    exported = json.loads(target.read_text())
    assert exported["b"] == {"slots": 4, "description": "B", "include_deferred": False}
    for content, message in [
        ("{", "Error: Invalid JSON in"),
        ("[]", "must hold a JSON object of pools"),
        ('{"c": {"description": "no slots"}}', "must be an object with `slots`"),
        ('{"c": {"slots": 1, "colour": "red"}}', "unknown key(s): colour"),
        ('{"c": {"slots": "x"}}', "Error: Bad value for `slots`: x"),
    ]:
        source.write_text(content)
        result = tradewind("pools", "import", str(source), env=env)
        assert result.returncode == 1 and message in result.stderr, result.stderr
    missing = tradewind("pools", "import", str(tmp_path / "missing.json"), env=env)
    assert missing.returncode == 2 and "No such file" in missing.stderr


def test_delete_asks_for_confirmation(tradewind: Run, db_url: str) -> None:
    env = {"TRADEWIND__CORE__SQL_ALCHEMY_CONN": db_url}
    result = tradewind("dags", "delete", "nope", env=env, input="n\n")
    assert result.returncode == 1 and "Aborted!" in result.stderr
    result = tradewind("dags", "delete", "nope", env=env, input="y\n")
    assert (result.returncode, result.stderr.splitlines()[-1]) == (3, "Error: Dag id nope not found")


@pytest.mark.parametrize(
    "args",
    [
        ("dags", "trigger"),
        ("dags", "list-runs"),
        ("dags", "state"),
        ("dags", "pause"),
        ("dags", "unpause"),
        ("dags", "delete"),
        ("dags", "latest-runs"),
        ("tasks", "info"),
        ("tasks", "state"),
        ("pools",),
        ("pools", "list"),
        ("pools", "get"),
        ("pools", "set"),
        ("pools", "delete"),
        ("pools", "import"),
        ("pools", "export"),
    ],
)
def test_help_loads_nothing_heavy(args: tuple[str, ...]) -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom tradewind.cli.main import main\n"
        f"try:\n    main({[*args, '--help']!r})\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'httpx', 'fastapi', 'yaml')\n"
        "         or m.startswith(('tradewind.clients.local', 'tradewind.clients.json', 'tradewind.store'))]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage: tradewind" in out and out.strip().endswith("HEAVY []")

"""Parsing a folder that mixes Tradewind, Airflow 1.10, Airflow 2.x and broken DAG files."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from tests.loader.loader_helpers import copy_dag_files, error_line, names_file_and_line, task_graph

from tradewind.dag.loader import ParsedFile, find_dag_files, module_name_for, parse_file, parse_files

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_dag_files(tmp_path_factory.mktemp("parse"))


@pytest.fixture(scope="module")
def parsed(folder: Path) -> dict[str, ParsedFile]:
    """Every fixture file parsed once, by two workers, keyed by path relative to the folder."""
    results = parse_files(find_dag_files(folder), timeout=TIMEOUT, processes=2, dags_folder=folder)
    return {Path(r.path).relative_to(folder).as_posix(): r for r in results}


def _dags(result: ParsedFile) -> dict[str, dict[str, object]]:
    assert result.error is None, result.error
    return {str(d["dag_id"]): d for d in result.dags}


def _operators(serialized: dict[str, object]) -> dict[str, str]:
    tasks = serialized["tasks"]
    assert isinstance(tasks, list)
    return {t["task_id"]: t["operator"] for t in tasks}


def test_every_file_gets_one_result_in_path_order(folder: Path) -> None:
    paths = find_dag_files(folder)
    results = parse_files(list(reversed(paths)), timeout=TIMEOUT, processes=2, dags_folder=folder)

    assert [r.path for r in results] == [str(p) for p in reversed(paths)]


def test_result_records_the_file_it_parsed(folder: Path, parsed: dict[str, ParsedFile]) -> None:
    result = parsed["tradewind_native.py"]
    path = folder / "tradewind_native.py"

    assert result.path == str(path)
    assert result.mtime == path.stat().st_mtime
    assert result.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.source == path.read_text()


def test_tradewind_dag_has_its_tasks_and_dependencies(parsed: dict[str, ParsedFile]) -> None:
    dag = _dags(parsed["tradewind_native.py"])["tw_native"]

    assert task_graph(dag) == {
        "start": {"greet", "double"},
        "greet": {"report.render"},
        "report.render": {"report.publish"},
        "report.publish": {"end"},
        "count": {"double"},
        "double": {"end"},
        "end": set(),
    }
    assert dag["schedule"] == "@daily"
    assert dag["params"] == {"name": "world"}
    assert dag["task_groups"] == ["report"]


def test_airflow1_file_loads_unchanged(parsed: dict[str, ParsedFile]) -> None:
    dag = _dags(parsed["airflow1_classic.py"])["af1_classic"]

    assert task_graph(dag) == {
        "latest_only": {"branch"},
        "branch": {"print_date", "sleep"},
        "print_date": {"check"},
        "sleep": {"check"},
        "check": {"work"},
        "work": {"done"},
        "done": set(),
    }
    assert _operators(dag) == {
        "latest_only": "LatestOnlyOperator",
        "branch": "BranchPythonOperator",
        "print_date": "BashOperator",
        "sleep": "BashOperator",
        "check": "ShortCircuitOperator",
        "work": "PythonOperator",
        "done": "DummyOperator",
    }
    retries = {t["task_id"]: t["retries"] for t in dag["tasks"]}
    assert retries["sleep"] == 3 and retries["print_date"] == 1  # default_args apply, explicit wins


def test_airflow1_models_file_with_custom_operator_and_two_dags(parsed: dict[str, ParsedFile]) -> None:
    dags = _dags(parsed["airflow1_models.py"])

    assert task_graph(dags["af1_models"]) == {"hello": {"bye"}, "bye": set()}
    assert _operators(dags["af1_models"])["hello"] == "HelloOperator"
    assert dags["af1_models"]["schedule"] == "@once"
    assert task_graph(dags["af1_models_second"]) == {"only": set()}


def test_airflow2_file_loads_unchanged(parsed: dict[str, ParsedFile]) -> None:
    dag = _dags(parsed["airflow2_classic.py"])["af2_classic"]

    assert task_graph(dag) == {
        "latest": {"pick"},
        "pick": {"fast", "slow"},
        "fast": {"upper", "gate"},
        "slow": {"upper", "gate"},
        "upper": {"load.a", "load.b"},
        "gate": {"load.a", "load.b"},
        "load.a": {"report"},
        "load.b": {"report"},
        "report": set(),
    }
    operators = _operators(dag)
    assert operators["upper"] == "UppercaseOperator"
    assert operators["slow"] == "DummyOperator"
    assert operators["fast"] == "EmptyOperator"
    assert dag["start_date"] == "2024-01-01T00:00:00+00:00"
    assert dag["end_date"] == "2030-01-01T00:00:00+00:00"
    assert dag["schedule"] == "0 6 * * 1-5"


def test_taskflow_dag_called_at_module_level_is_found(parsed: dict[str, ParsedFile]) -> None:
    dag = _dags(parsed["airflow2_taskflow.py"])["af2_taskflow"]

    assert task_graph(dag) == {"extract": {"transform"}, "transform": {"load"}, "load": set()}
    assert dag["schedule"] is None


def test_dag_built_by_a_helper_module_belongs_to_the_importing_file(
    folder: Path, parsed: dict[str, ParsedFile]
) -> None:
    dag = _dags(parsed["uses_helper.py"])["uses_helper"]

    assert task_graph(dag) == {"a": {"b"}, "b": {"c"}, "c": set()}
    assert dag["fileloc"] == str(folder / "uses_helper.py")


def test_ignore_file_keeps_helper_modules_out(parsed: dict[str, ParsedFile]) -> None:
    assert not [name for name in parsed if name.startswith("shared_helpers/")]


def test_file_without_dags_is_not_an_error(parsed: dict[str, ParsedFile]) -> None:
    assert parsed["no_dags.py"].dags == ()
    assert parsed["no_dags.py"].error is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("syntax_error.py", "SyntaxError"),
        ("missing_module.py", "No module named 'tradewind_module_that_does_not_exist'"),
        ("raises.py", "RuntimeError: boom at import"),
        ("cycle.py", "Cycle detected in DAG cycle: a -> b -> c -> a"),
        ("duplicate_task.py", "Task id 'same' has already been added to the DAG duplicate_task"),
        ("bad_cron.py", "Invalid cron expression '61 25 * * *'"),
        ("bad_dag_id.py", "The dag_id 'not a valid id!'"),
        ("bad_task_id.py", "The task_id 'no spaces allowed'"),
        ("bad_trigger_rule.py", "Unknown trigger_rule 'sometimes'"),
        ("sleeps_forever.py", f"took longer than {TIMEOUT:g} seconds"),
    ],
)
def test_broken_file_error_names_its_file_and_line(
    folder: Path, parsed: dict[str, ParsedFile], name: str, expected: str
) -> None:
    path = folder / "broken" / name
    result = parsed[f"broken/{name}"]

    assert result.dags == ()
    assert result.error is not None
    assert expected in result.error
    assert names_file_and_line(result.error, path, error_line(path)), result.error


def test_error_traceback_leaves_out_the_loader(parsed: dict[str, ParsedFile]) -> None:
    error = parsed["broken/sleeps_forever.py"].error
    assert error is not None
    assert error.startswith("Traceback (most recent call last):\n")
    assert "loader.py" not in error
    assert "Timeout: importing" in error


def test_file_that_exits_is_recorded_with_its_exit_code(folder: Path, parsed: dict[str, ParsedFile]) -> None:
    error = parsed["broken/exits.py"].error

    assert error == f"Process died with exit code 3 while importing {folder / 'broken' / 'exits.py'}"


def test_broken_files_do_not_hide_good_ones(parsed: dict[str, ParsedFile]) -> None:
    loaded = {dag_id for r in parsed.values() for dag_id in r.dag_ids}

    assert loaded == {
        "tw_native",
        "af1_classic",
        "af1_models",
        "af1_models_second",
        "af2_classic",
        "af2_taskflow",
        "uses_helper",
        "pollutes",
    }
    assert {name for name, r in parsed.items() if r.error} == {
        f"broken/{p.name}" for p in (Path(__file__).parent / "dag_files" / "broken").glob("*.py")
    } - {"broken/pollutes.py"} | {"broken/syntax_error.py"}


def test_file_that_pollutes_globals_does_not_affect_the_next_ones(folder: Path) -> None:
    paths = [
        folder / "broken" / "pollutes.py",
        folder / "tradewind_native.py",
        folder / "airflow2_classic.py",
    ]

    results = parse_files(paths, timeout=TIMEOUT, processes=1, dags_folder=folder)

    assert [r.dag_ids for r in results] == [("pollutes",), ("tw_native",), ("af2_classic",)]
    assert [r.error for r in results] == [None, None, None]


def test_segfault_costs_only_its_own_file(tmp_path: Path, folder: Path) -> None:
    crash = tmp_path / "crash_dag.py"
    crash.write_text("import ctypes\n\nctypes.string_at(0)\n")

    results = parse_files([crash, folder / "no_dags.py", folder / "tradewind_native.py"], processes=1)

    assert results[0].error is not None
    assert "Process died with exit code -11 (SIGSEGV)" in results[0].error
    assert [r.error for r in results[1:]] == [None, None]
    assert results[2].dag_ids == ("tw_native",)


def test_hang_out_of_reach_of_the_alarm_gets_the_worker_killed(tmp_path: Path, folder: Path) -> None:
    hang = tmp_path / "hang_dag.py"
    hang.write_text(
        "import signal\nimport time\n\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\ntime.sleep(60)\n"
    )

    results = parse_files([hang, folder / "tradewind_native.py"], timeout=0.5, grace=0.5, processes=1)

    assert results[0].error == f"Timeout: importing {hang} took longer than 1 seconds"
    assert results[1].dag_ids == ("tw_native",)


def test_no_paths_no_results() -> None:
    assert parse_files([]) == []


def test_processes_zero_parses_in_this_process(folder: Path) -> None:
    results = parse_files([folder / "tradewind_native.py"], processes=0, dags_folder=folder)

    assert results[0].dag_ids == ("tw_native",)


def test_parse_file_leaves_no_module_or_path_behind(folder: Path) -> None:
    path = folder / "uses_helper.py"
    sys_path_before = list(sys.path)

    result = parse_file(path, timeout=TIMEOUT, dags_folder=folder)

    assert result.dag_ids == ("uses_helper",)
    assert module_name_for(path) not in sys.modules
    assert sys.path == sys_path_before


def test_module_names_are_unique_per_path(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "etl.py", tmp_path / "b" / "etl.py"

    assert module_name_for(first) != module_name_for(second)
    assert module_name_for(first).startswith("unusual_prefix_")
    assert module_name_for(first).endswith("_etl")


def test_valid_dag_next_to_an_invalid_one_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "two_dags.py"
    path.write_text(
        "from tradewind.dag import DAG, EmptyOperator\n"
        "\n"
        "good = DAG('good', schedule=None)\n"
        "EmptyOperator(task_id='a', dag=good)\n"
        "bad = DAG('bad', schedule=None)\n"
        "a = EmptyOperator(task_id='a', dag=bad)\n"
        "b = EmptyOperator(task_id='b', dag=bad)\n"
        "a >> b >> a\n"
    )

    result = parse_file(path, timeout=TIMEOUT)

    assert result.dag_ids == ("good",)
    assert result.error is not None
    assert f"{path}:6:" in result.error
    assert "Cycle detected in DAG bad" in result.error


def test_same_dag_id_twice_in_one_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "twice_dag.py"
    path.write_text(
        "from tradewind.dag import DAG\n\nfirst = DAG('same', schedule=None)\nsecond = DAG('same', schedule=None)\n"
    )

    result = parse_file(path, timeout=TIMEOUT)

    assert result.dag_ids == ("same",)
    assert result.error is not None
    assert f"{path}:4: DAG id 'same' is defined twice in this file" in result.error


def test_unreadable_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    result = parse_file(tmp_path / "gone_dag.py", timeout=TIMEOUT)

    assert result.dags == ()
    assert result.error is not None
    assert "FileNotFoundError" in result.error


def test_file_cannot_swallow_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "stubborn_dag.py"
    path.write_text(
        "import time\n\nwhile True:\n    try:\n        time.sleep(10)\n    except Exception:\n        pass\n"
    )

    result = parse_file(path, timeout=0.2)

    assert result.error is not None
    assert "took longer than 0.2 seconds" in result.error


def test_sys_exit_at_import_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "exit_dag.py"
    path.write_text("import sys\n\nsys.exit(4)\n")

    result = parse_file(path, timeout=TIMEOUT)

    assert result.error is not None
    assert "SystemExit: 4" in result.error

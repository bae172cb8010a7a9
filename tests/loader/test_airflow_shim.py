"""The stand-in ``airflow`` package: present only while DAG files load, never over a real install."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tradewind.dag import EmptyOperator
from tradewind.dag.loader import airflow_compat, parse_file
from tradewind.errors import FailTask, SkipTask

SHIM_DIR = Path(__file__).parents[2] / "src" / "tradewind" / "_airflow_shim"

IMPORT_PATHS = [
    ("airflow", "DAG"),
    ("airflow.models", "DAG"),
    ("airflow.models", "BaseOperator"),
    ("airflow.models.dag", "DAG"),
    ("airflow.models.baseoperator", "BaseOperator"),
    ("airflow.models.baseoperator", "chain"),
    ("airflow.models.baseoperator", "cross_downstream"),
    ("airflow.models.xcom_arg", "XComArg"),
    ("airflow.models.param", "Param"),
    ("airflow.operators.bash", "BashOperator"),
    ("airflow.operators.bash_operator", "BashOperator"),
    ("airflow.operators.python", "PythonOperator"),
    ("airflow.operators.python", "BranchPythonOperator"),
    ("airflow.operators.python", "ShortCircuitOperator"),
    ("airflow.operators.python", "get_current_context"),
    ("airflow.operators.python_operator", "PythonOperator"),
    ("airflow.operators.python_operator", "BranchPythonOperator"),
    ("airflow.operators.python_operator", "ShortCircuitOperator"),
    ("airflow.operators.empty", "EmptyOperator"),
    ("airflow.operators.dummy", "DummyOperator"),
    ("airflow.operators.dummy_operator", "DummyOperator"),
    ("airflow.operators.latest_only", "LatestOnlyOperator"),
    ("airflow.operators.latest_only_operator", "LatestOnlyOperator"),
    ("airflow.decorators", "dag"),
    ("airflow.decorators", "task"),
    ("airflow.exceptions", "AirflowException"),
    ("airflow.exceptions", "AirflowSkipException"),
    ("airflow.exceptions", "AirflowFailException"),
    ("airflow.utils.dates", "days_ago"),
    ("airflow.utils.helpers", "chain"),
    ("airflow.utils.helpers", "cross_downstream"),
    ("airflow.utils.decorators", "apply_defaults"),
    ("airflow.utils.trigger_rule", "TriggerRule"),
    ("airflow.utils.task_group", "TaskGroup"),
    ("airflow.utils.timezone", "utcnow"),
    ("airflow.utils.timezone", "datetime"),
]


def _shim_on_path() -> bool:
    return any(Path(p).resolve() == SHIM_DIR.resolve() for p in sys.path if p)


@pytest.mark.usefixtures("forget_airflow_modules")
@pytest.mark.parametrize(("module", "name"), IMPORT_PATHS, ids=[f"{m}.{n}" for m, n in IMPORT_PATHS])
def test_airflow_import_path_resolves_inside_the_compat_block(module: str, name: str) -> None:
    with airflow_compat():
        imported = importlib.import_module(module)

    assert hasattr(imported, name)
    assert Path(imported.__file__ or "").resolve().is_relative_to(SHIM_DIR.resolve())


@pytest.mark.usefixtures("forget_airflow_modules")
def test_shim_is_on_sys_path_only_inside_the_block() -> None:
    assert not _shim_on_path()
    with airflow_compat():
        assert _shim_on_path()
    assert not _shim_on_path()


@pytest.mark.usefixtures("forget_airflow_modules")
def test_shim_is_off_sys_path_after_loading_an_airflow_file(tmp_path: Path) -> None:
    path = tmp_path / "af_dag.py"
    path.write_text("from airflow import DAG\n\ndag = DAG('af', schedule_interval=None)\n")

    result = parse_file(path, timeout=5)

    assert result.dag_ids == ("af",)
    assert not _shim_on_path()


@pytest.mark.usefixtures("forget_airflow_modules")
def test_shim_is_off_sys_path_even_when_the_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "af_dag.py"
    path.write_text("from airflow import DAG\n\nraise ValueError('broken')\n")

    result = parse_file(path, timeout=5)

    assert result.error is not None
    assert not _shim_on_path()


@pytest.mark.usefixtures("forget_airflow_modules")
def test_airflow_exceptions_are_task_signals() -> None:
    with airflow_compat():
        from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException

    assert issubclass(AirflowSkipException, SkipTask)
    assert issubclass(AirflowFailException, FailTask)
    assert issubclass(AirflowSkipException, AirflowException)
    assert issubclass(AirflowFailException, AirflowException)
    assert not issubclass(AirflowException, SkipTask | FailTask)
    with pytest.raises(SkipTask):
        raise AirflowSkipException("skip me")


@pytest.mark.usefixtures("forget_airflow_modules")
def test_days_ago_is_midnight_utc() -> None:
    with airflow_compat():
        from airflow.utils.dates import days_ago

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert days_ago(0) == today
    assert days_ago(2) == today - timedelta(days=2)
    assert days_ago(1).tzinfo is not None


@pytest.mark.usefixtures("forget_airflow_modules")
def test_timezone_helpers_default_to_utc() -> None:
    with airflow_compat():
        from airflow.utils import timezone

    assert timezone.datetime(2024, 1, 2) == datetime(2024, 1, 2, tzinfo=UTC)
    assert timezone.utcnow().tzinfo is not None
    assert timezone.convert_to_utc(datetime(2024, 1, 2)) == datetime(2024, 1, 2, tzinfo=UTC)


@pytest.mark.usefixtures("forget_airflow_modules")
def test_dummy_operator_is_an_empty_operator_under_its_own_name() -> None:
    with airflow_compat():
        from airflow.operators.dummy import DummyOperator
        from airflow.operators.dummy_operator import DummyOperator as OldDummyOperator

    assert OldDummyOperator is DummyOperator
    assert issubclass(DummyOperator, EmptyOperator)
    assert DummyOperator(task_id="d").operator_name == "DummyOperator"


def _make_fake_real_airflow(site: Path) -> None:
    package = site / "airflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("IS_REAL = True\n")


def test_real_airflow_install_is_never_shadowed(tmp_path: Path) -> None:
    """In a subprocess whose sys.path holds a (fake) real ``airflow``, files see that one."""
    site = tmp_path / "site"
    _make_fake_real_airflow(site)
    dag_file = tmp_path / "probe_dag.py"
    dag_file.write_text(
        textwrap.dedent(
            """\
            import sys

            import airflow
            from tradewind.dag import DAG

            SHIM_ON_PATH = any("_airflow_shim" in p for p in sys.path)
            dag = DAG(f"real_{getattr(airflow, 'IS_REAL', False)}_shim_{SHIM_ON_PATH}", schedule=None)
            """
        )
    )
    script = textwrap.dedent(
        f"""\
        import json
        from pathlib import Path
        from tradewind.dag.loader import parse_files

        results = parse_files([Path({str(dag_file)!r})], timeout=10)
        print(json.dumps({{"dag_ids": results[0].dag_ids, "error": results[0].error}}))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )

    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"dag_ids": ["real_True_shim_False"], "error": None}


def test_without_real_airflow_the_shim_is_used_in_a_fresh_process(tmp_path: Path) -> None:
    """The control for the test above: the same probe sees the shim when nothing else is there."""
    dag_file = tmp_path / "probe_dag.py"
    dag_file.write_text(
        "import airflow\nfrom tradewind.dag import DAG\n\n"
        "dag = DAG(f\"real_{getattr(airflow, 'IS_REAL', False)}\", schedule=None)\n"
    )
    script = (
        "from pathlib import Path\nfrom tradewind.dag.loader import parse_files\n"
        f"print(parse_files([Path({str(dag_file)!r})], timeout=10)[0].dag_ids)\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )

    assert done.stdout.strip() == "('real_False',)"

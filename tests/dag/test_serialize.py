from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradewind.dag import DAG, BashOperator, EmptyOperator, Param, PythonOperator, TaskGroup, task
from tradewind.dag.serialize import SerializedDag, dag_hash, deserialize_dag, serialize_dag
from tradewind.errors import DagDefinitionError, TaskNotFound


def on_failure(context: Any) -> None:
    return None


def build_dag() -> DAG:
    with DAG(
        "full",
        description="every field",
        schedule="0 2 * * *",
        start_date=datetime(2024, 1, 1),
        end_date=datetime(2025, 1, 1),
        timezone="Europe/Amsterdam",
        catchup=False,
        max_active_runs=2,
        max_active_tasks=5,
        params={"n": 1, "p": Param("x", type="string"), "when": datetime(2024, 1, 1, tzinfo=UTC)},
        tags=["a", "b"],
        is_paused_upon_creation=True,
        doc_md="# Full",
        dagrun_timeout=timedelta(hours=1),
        on_failure_callback=on_failure,
    ) as dag:
        bash = BashOperator(
            task_id="bash",
            bash_command="echo hi",
            env={"A": "1"},
            owner="ops",
            email=["x@example.com"],
            retries=3,
            retry_delay=timedelta(seconds=30),
            retry_exponential_backoff=True,
            max_retry_delay=timedelta(minutes=10),
            execution_timeout=timedelta(minutes=5),
            pool="small",
            pool_slots=2,
            priority_weight=10,
            weight_rule="absolute",
            queue="fast",
            depends_on_past=True,
            wait_for_downstream=True,
            trigger_rule="all_done",
            start_date=datetime(2024, 2, 1, tzinfo=UTC),
            end_date=datetime(2024, 12, 1, tzinfo=UTC),
            inlets=["in.csv"],
            outlets=["out.csv"],
            doc_md="bash docs",
            on_retry_callback=on_failure,
        )
        with TaskGroup("grp"):
            python = PythonOperator(
                task_id="py", python_callable=on_failure, op_args=[1], op_kwargs={"k": "v"}
            )
        empty = EmptyOperator(task_id="empty")
        bash >> python >> empty

        @task(multiple_outputs=True, do_xcom_push=True)
        def decorated() -> dict[str, int]:
            return {}

        empty >> decorated()
    return dag


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return json.loads(json.dumps(serialize_dag(build_dag())))


@pytest.fixture(scope="module")
def restored(data: dict[str, Any]) -> SerializedDag:
    return deserialize_dag(data)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dag_id", "full"),
        ("description", "every field"),
        ("fileloc", __file__),
        ("schedule", "0 2 * * *"),
        ("timezone", "Europe/Amsterdam"),
        ("start_date", datetime(2023, 12, 31, 23, tzinfo=UTC)),
        ("end_date", datetime(2024, 12, 31, 23, tzinfo=UTC)),
        ("catchup", False),
        ("max_active_runs", 2),
        ("max_active_tasks", 5),
        ("params", {"n": 1, "p": "x", "when": "2024-01-01T00:00:00+00:00"}),
        ("tags", ("a", "b")),
        ("owners", "airflow, ops"),
        ("is_paused_upon_creation", True),
        ("doc_md", "# Full"),
        ("dagrun_timeout", timedelta(hours=1)),
        ("has_on_failure_callback", True),
        ("has_on_success_callback", False),
        ("task_groups", ("grp",)),
    ],
)
def test_dag_field_round_trips(restored: SerializedDag, name: str, expected: Any) -> None:
    assert getattr(restored, name) == expected


BASH_FIELDS: list[tuple[str, Any]] = [
    ("task_id", "bash"),
    ("operator", "BashOperator"),
    ("upstream_task_ids", ()),
    ("downstream_task_ids", ("grp.py",)),
    ("trigger_rule", "all_done"),
    ("retries", 3),
    ("retry_delay", timedelta(seconds=30)),
    ("retry_exponential_backoff", True),
    ("max_retry_delay", timedelta(minutes=10)),
    ("execution_timeout", timedelta(minutes=5)),
    ("pool", "small"),
    ("pool_slots", 2),
    ("priority_weight", 10),
    ("weight_rule", "absolute"),
    ("effective_priority_weight", 10),
    ("queue", "fast"),
    ("depends_on_past", True),
    ("wait_for_downstream", True),
    ("owner", "ops"),
    ("start_date", datetime(2024, 2, 1, tzinfo=UTC)),
    ("end_date", datetime(2024, 12, 1, tzinfo=UTC)),
    ("is_empty", False),
    ("do_xcom_push", True),
    ("multiple_outputs", False),
    ("inlets", ("in.csv",)),
    ("outlets", ("out.csv",)),
    ("template_fields", ("bash_command", "env", "cwd")),
    ("task_group", None),
    ("has_callbacks", ("on_retry_callback",)),
]


@pytest.mark.parametrize(("name", "expected"), BASH_FIELDS)
def test_task_field_round_trips(restored: SerializedDag, name: str, expected: Any) -> None:
    assert getattr(restored.get_task("bash"), name) == expected


def test_other_operators_round_trip(restored: SerializedDag) -> None:
    python, empty, decorated = (restored.get_task(t) for t in ("grp.py", "empty", "decorated"))
    assert (python.operator, python.task_group, python.upstream_task_ids) == (
        "PythonOperator",
        "grp",
        ("bash",),
    )
    assert python.start_date == datetime(2023, 12, 31, 23, tzinfo=UTC)  # the DAG's
    assert python.effective_priority_weight == 3 and python.template_fields == (
        "templates_dict",
        "op_args",
        "op_kwargs",
    )
    assert empty.is_empty and empty.operator == "EmptyOperator"
    assert decorated.operator == "_PythonDecoratedOperator" and decorated.multiple_outputs


def test_attrs_are_strings_of_public_attributes(restored: SerializedDag) -> None:
    attrs = restored.get_task("bash").attrs
    assert all(isinstance(v, str) for v in attrs.values())
    expected = {
        "task_id": "bash",
        "owner": "ops",
        "operator": "BashOperator",
        "start_date": "2024-02-01T00:00:00+00:00",
        "end_date": "2024-12-01T00:00:00+00:00",
        "retries": "3",
        "retry_delay": "0:00:30",
        "retry_exponential_backoff": "True",
        "max_retry_delay": "0:10:00",
        "execution_timeout": "0:05:00",
        "trigger_rule": "all_done",
        "depends_on_past": "True",
        "pool": "small",
        "pool_slots": "2",
        "queue": "fast",
        "priority_weight": "10",
        "email": "['x@example.com']",
        "params": "{}",
        "upstream_task_ids": "set()",
        "downstream_task_ids": "{'grp.py'}",
        "template_fields": "('bash_command', 'env', 'cwd')",
        "doc_md": "bash docs",
        "bash_command": "echo hi",
        "env": "{'A': '1'}",
        "on_retry_callback": "<function on_failure>",
    }
    assert {k: attrs[k] for k in expected} == expected
    py_attrs = restored.get_task("grp.py").attrs
    assert py_attrs["python_callable"] == "<function on_failure>"
    assert (py_attrs["op_args"], py_attrs["op_kwargs"]) == ("[1]", "{'k': 'v'}")


def test_dict_round_trips_exactly(data: dict[str, Any], restored: SerializedDag) -> None:
    assert restored.to_dict() == data
    assert deserialize_dag(restored.to_dict()) == restored


def test_serialization_is_deterministic() -> None:
    assert serialize_dag(build_dag()) == serialize_dag(build_dag())
    assert dag_hash(serialize_dag(build_dag())) == dag_hash(serialize_dag(build_dag()))


def test_serialization_is_identical_across_processes(tmp_path: Path) -> None:
    dag_file = tmp_path / "pipeline.py"
    dag_file.write_text(
        textwrap.dedent(
            """
            from datetime import datetime
            from tradewind.dag import DAG, PythonOperator

            class Config:
                pass

            with DAG("p", start_date=datetime(2024, 1, 1), params={"cfg": Config()}) as dag:
                PythonOperator(task_id="t", python_callable=lambda: 1, op_kwargs={"c": Config()})
            """
        )
    )
    code = (
        "import runpy, sys; from tradewind.dag.serialize import serialize_dag, dag_hash; "
        f"print(dag_hash(serialize_dag(runpy.run_path({str(dag_file)!r})['dag'])))"
    )
    hashes = {subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
              for _ in range(2)}  # fmt: skip
    assert len(hashes) == 1


def test_changed_dag_changes_the_hash() -> None:
    dag = build_dag()
    before = dag_hash(serialize_dag(dag))
    dag.get_task("bash").retries = 4
    assert dag_hash(serialize_dag(dag)) != before


def test_serialize_validates_the_dag() -> None:
    with DAG("cyclic") as dag:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        a >> b >> a
    with pytest.raises(DagDefinitionError, match="Cycle"):
        serialize_dag(dag)


def test_serialized_dag_schedules_without_the_dag_file(restored: SerializedDag) -> None:
    info = restored.next_run_after(None, now=datetime(2024, 3, 10, 12, tzinfo=UTC))
    assert info is not None
    assert info.logical_date == datetime(2024, 3, 9, 1, tzinfo=UTC)  # 02:00 Amsterdam, catchup off
    manual = restored.data_interval_for(datetime(2024, 3, 10, 12, tzinfo=UTC))
    assert manual.data_interval_end == datetime(2024, 3, 10, 1, tzinfo=UTC)
    assert len(restored.runs_between(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 3, tzinfo=UTC))) == 2


def test_serialized_task_lookup_and_retry_delay(restored: SerializedDag) -> None:
    assert restored.has_task("bash") and not restored.has_task("nope")
    assert restored.task_ids == ["bash", "decorated", "empty", "grp.py"]
    with pytest.raises(TaskNotFound, match="Task nope not found in dag full"):
        restored.get_task("nope")
    bash = restored.task_dict["bash"]
    assert [bash.retry_delay_for(n) for n in (1, 2, 6)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(minutes=10),
    ]

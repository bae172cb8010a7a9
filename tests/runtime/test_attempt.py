"""run_attempt in this process: context, templates, XComs, signals, callbacks, retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tradewind.dag import (
    DAG,
    BashOperator,
    EmptyOperator,
    FailTask,
    PythonOperator,
    ShortCircuitOperator,
    SkipTask,
    task,
)
from tradewind.errors import ShutdownRequested
from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload
from tradewind.runtime.attempt import one_line, retry_state, run_attempt
from tradewind.runtime.xcoms import MemoryXComs, NoXComs, XComSource

WHEN = datetime(2024, 3, 5, 6, 7, 8, tzinfo=UTC)
RUN_ID = "scheduled__2024-03-05T06:07:08+00:00"


def make_dag() -> DAG:
    return DAG("rt", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="@daily", params={"who": "world"})


def attempt(
    dag: DAG,
    task_id: str,
    *,
    try_number: int = 1,
    max_tries: int = 0,
    conf: dict[str, Any] | None = None,
    xcoms: XComSource | None = None,
    limit: int = 1_048_576,
) -> TaskEvent:
    workload = TaskWorkload(
        TaskKey(dag.dag_id, task_id, RUN_ID, try_number), dag.fileloc, WHEN, WHEN, WHEN, "scheduled", False, conf,
        max_tries, None, "default", 1, "/dev/null",
    )  # fmt: skip
    return run_attempt(workload, dag, xcoms=xcoms or NoXComs(), max_xcom_size=limit, hostname="host", pid=123)


def returned(event: TaskEvent) -> Any:
    return json.loads(dict(event.xcoms)["return_value"])


def test_the_context_has_airflows_keys() -> None:
    dag = make_dag()
    seen: dict[str, Any] = {}

    def look(**context: Any) -> None:
        seen.update(context)

    PythonOperator(task_id="look", python_callable=look, dag=dag)

    event = attempt(dag, "look", conf={"who": "conf"})

    assert event.state == "success"
    assert (seen["ds"], seen["ds_nodash"], seen["ts"]) == ("2024-03-05", "20240305", WHEN.isoformat())
    assert seen["logical_date"] == seen["execution_date"] == WHEN
    assert seen["data_interval_start"] == seen["data_interval_end"] == WHEN
    assert seen["run_id"] == RUN_ID and seen["dag_run"].conf == {"who": "conf"}
    assert seen["params"] == {"who": "conf"}  # conf overrides params, as in Airflow 2
    assert seen["ti"] is seen["task_instance"]
    assert (seen["ti"].dag_id, seen["ti"].task_id, seen["ti"].try_number, seen["ti"].hostname) == (
        "rt",
        "look",
        1,
        "host",
    )
    assert seen["macros"].ds_add("2024-03-05", 1) == "2024-03-06"


def test_templated_fields_are_rendered_on_a_copy() -> None:
    dag = make_dag()
    op = PythonOperator(
        task_id="t",
        python_callable=lambda text: text,
        op_kwargs={"text": "{{ ds }} {{ params.who }}"},
        dag=dag,
    )

    event = attempt(dag, "t")

    assert returned(event) == "2024-03-05 world"
    assert op.op_kwargs == {"text": "{{ ds }} {{ params.who }}"}  # the cached DAG keeps its templates


def test_a_private_task_is_rendered_in_place() -> None:
    """In a forked task process the DAG is the process's own copy: no copy of the task is made."""
    dag = make_dag()
    op = PythonOperator(
        task_id="t", python_callable=lambda text: text, op_kwargs={"text": "{{ ds }}"}, dag=dag
    )
    workload = TaskWorkload(
        TaskKey(dag.dag_id, "t", RUN_ID, 1), dag.fileloc, WHEN, WHEN, WHEN, "scheduled", False, None, 0, None,
        "default", 1, "/dev/null",
    )  # fmt: skip

    event = run_attempt(
        workload, dag, xcoms=NoXComs(), max_xcom_size=1024, hostname="h", pid=1, private_task=True
    )

    assert returned(event) == "2024-03-05"
    assert op.op_kwargs == {"text": "2024-03-05"}


def test_xcom_push_and_pull_within_and_across_tasks() -> None:
    dag = make_dag()
    store = MemoryXComs()
    store.put("rt", RUN_ID, "up", "return_value", b'{"v": 1}')
    store.put("rt", RUN_ID, "up", "other", b'"o"')

    def use(ti: Any) -> Any:
        ti.xcom_push("mine", 5)
        return {
            "single": ti.xcom_pull(task_ids="up"),
            "list": ti.xcom_pull(task_ids=["up", "nope"]),
            "key": ti.xcom_pull(task_ids="up", key="other"),
            "any_task": ti.xcom_pull(key="other"),
            "own": ti.xcom_pull(task_ids="use", key="mine"),
            "missing": ti.xcom_pull(task_ids="nope", default="dflt"),
            "elsewhere": ti.xcom_pull(task_ids="up", run_id="another run"),
        }

    PythonOperator(task_id="use", python_callable=use, dag=dag)

    event = attempt(dag, "use", xcoms=store)

    assert returned(event) == {
        "single": {"v": 1}, "list": [{"v": 1}, None], "key": "o", "any_task": "o", "own": 5,
        "missing": "dflt", "elsewhere": None,
    }  # fmt: skip
    assert [k for k, _ in event.xcoms] == ["mine", "return_value"]


def test_taskflow_arguments_and_multiple_outputs() -> None:
    dag = make_dag()
    with dag:

        @task(multiple_outputs=True)
        def split() -> dict[str, int]:
            return {"a": 1, "b": 2}

        @task
        def add(a: int, b: int) -> int:
            return a + b

        parts = split()
        add(parts["a"], parts["b"])

    first = attempt(dag, "split")
    store = MemoryXComs()
    for key, value in first.xcoms:
        store.put("rt", RUN_ID, "split", key, value)

    assert dict(first.xcoms) == {"return_value": b'{"a":1,"b":2}', "a": b"1", "b": b"2"}
    assert returned(attempt(dag, "add", xcoms=store)) == 3


def test_no_xcom_when_do_xcom_push_is_off_or_nothing_returned() -> None:
    dag = make_dag()
    PythonOperator(task_id="off", python_callable=lambda: 1, do_xcom_push=False, dag=dag)
    PythonOperator(task_id="none", python_callable=lambda: None, dag=dag)

    assert attempt(dag, "off").xcoms == ()
    assert attempt(dag, "none").xcoms == ()


@pytest.mark.parametrize(
    ("value", "limit", "message"),
    [
        ("x" * 20, 10, "more than the 10 allowed by [core] max_xcom_size"),
        ({1, 2}, 1000, "cannot be stored as JSON"),
    ],
)
def test_bad_xcom_values_fail_the_attempt_clearly(value: Any, limit: int, message: str) -> None:
    dag = make_dag()
    PythonOperator(task_id="t", python_callable=lambda: value, dag=dag)

    event = attempt(dag, "t", limit=limit)

    assert event.state == "failed" and message in (event.error or "")


def test_signals_and_retries() -> None:
    dag = make_dag()

    def skip() -> None:
        raise SkipTask("later")

    def fail() -> None:
        raise FailTask("never")

    def boom() -> None:
        raise KeyError("k")

    for name, func in {"skip": skip, "fail": fail, "boom": boom}.items():
        PythonOperator(task_id=name, python_callable=func, dag=dag)

    assert attempt(dag, "skip").state == "skipped"
    assert (attempt(dag, "fail", max_tries=5).state, attempt(dag, "fail").error) == (
        "failed",
        "FailTask: never",
    )
    assert attempt(dag, "boom", try_number=2, max_tries=2).state == "up_for_retry"
    assert attempt(dag, "boom", try_number=3, max_tries=2).state == "failed"
    assert attempt(dag, "missing_task").state == "failed"


def test_retry_state_and_one_line() -> None:
    assert [retry_state(n, 2) for n in (1, 2, 3)] == ["up_for_retry", "up_for_retry", "failed"]
    assert one_line(ValueError("first\nsecond")) == "ValueError: first"
    assert one_line(KeyError()) == "KeyError"


def test_short_circuit_and_branch_skip_ids() -> None:
    dag = make_dag()
    with dag:
        gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: False)
        gate >> EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")

    event = attempt(dag, "gate")

    assert (event.state, event.skip_task_ids) == ("success", ("a", "b"))


def test_callbacks_get_the_context_and_cannot_break_the_attempt() -> None:
    dag = make_dag()
    calls: list[str] = []

    def record(name: str) -> Any:
        def callback(context: dict[str, Any]) -> None:
            calls.append(f"{name}:{context['ti'].task_id}:{type(context.get('exception')).__name__}")
            raise RuntimeError("callback trouble")

        return callback

    def boom() -> None:
        raise ValueError("x")

    PythonOperator(task_id="ok", python_callable=lambda: 1, on_execute_callback=record("execute"),
                   on_success_callback=[record("success"), record("success2")], dag=dag)  # fmt: skip
    PythonOperator(task_id="bad", python_callable=boom, on_failure_callback=record("failure"),
                   on_retry_callback=record("retry"), dag=dag)  # fmt: skip

    assert attempt(dag, "ok").state == "success"
    assert attempt(dag, "bad", max_tries=1).state == "up_for_retry"
    assert attempt(dag, "bad").state == "failed"
    assert calls == [
        "execute:ok:NoneType", "success:ok:NoneType", "success2:ok:NoneType",
        "retry:bad:ValueError", "failure:bad:ValueError",
    ]  # fmt: skip


def test_bash_skip_exit_code_and_failure() -> None:
    dag = make_dag()
    BashOperator(task_id="skip", bash_command="exit 99", dag=dag)
    BashOperator(task_id="fail", bash_command="exit 3", dag=dag)
    BashOperator(task_id="ok", bash_command="echo {{ ds_nodash }}", dag=dag)

    assert attempt(dag, "skip").state == "skipped"
    assert attempt(dag, "fail").state == "failed"
    assert returned(attempt(dag, "ok")) == "20240305"


@pytest.mark.parametrize("exc", [KeyboardInterrupt, ShutdownRequested])
def test_interrupts_meant_for_the_caller_are_not_task_failures(exc: type[BaseException]) -> None:
    dag = make_dag()

    def interrupted() -> None:
        raise exc("stop")

    PythonOperator(task_id="t", python_callable=interrupted, dag=dag)

    with pytest.raises(exc):
        attempt(dag, "t")


def test_get_current_context_works_inside_a_running_task() -> None:
    from tradewind.dag import get_current_context

    dag = make_dag()

    def look() -> str:
        return str(get_current_context()["run_id"])

    PythonOperator(task_id="look", python_callable=look, dag=dag)
    event = attempt(dag, "look")
    assert event.state == "success"
    assert returned(event) == RUN_ID

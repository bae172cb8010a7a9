from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.dag._helpers import FakeTaskInstance, run_task

from tradewind.dag import DAG, BashOperator, BranchDecision, Param, TaskGroup, XComArg, dag, task
from tradewind.dag.decorators import TaskDecorator
from tradewind.errors import DagDefinitionError

START = datetime(2024, 1, 1, tzinfo=UTC)


def make_dag() -> DAG:
    return DAG("flow", start_date=START, schedule=None)


def test_calling_a_task_function_creates_a_task_and_returns_its_xcomarg() -> None:
    @task
    def extract() -> int:
        return 1

    with make_dag() as built:
        result = extract()
    assert isinstance(result, XComArg) and result.key == "return_value"
    assert result.operator is built.get_task("extract")
    assert type(result.operator).__name__ == "_PythonDecoratedOperator"


def test_xcomarg_arguments_wire_and_resolve_through_ti() -> None:
    @task
    def extract() -> list[int]:
        return [1, 2, 3]

    @task(task_id="total", retries=2)
    def add(numbers: list[int], extra: dict[str, Any]) -> int:
        return sum(numbers) + len(extra["bonus"][0])

    with make_dag() as built:
        numbers = extract()
        add(numbers, extra={"bonus": [numbers]})
    total = built.get_task("total")
    assert total.upstream_task_ids == {"extract"} and total.retries == 2
    ti = FakeTaskInstance()
    run_task(built, "extract", ti)
    assert run_task(built, "total", ti) == 9
    assert ti.pulls == [("extract", "return_value")] * 2
    assert total.op_args == [numbers]  # the DAG's task keeps the reference, not the value


def test_values_flow_between_taskflow_tasks() -> None:
    @task
    def extract() -> dict[str, int]:
        return {"a": 1, "b": 2}

    @task
    def combine(a: int, b: int, ds: str | None = None) -> str:
        return f"{a + b}@{ds}"

    with make_dag() as built:
        data = extract()
        combine(data["a"], b=data["b"])
    assert built.get_task("extract").multiple_outputs is True  # inferred from -> dict
    ti = FakeTaskInstance()
    run_task(built, "extract", ti)
    assert run_task(built, "combine", ti) == "3@2024-01-01"
    assert ti.pulls == [("extract", "a"), ("extract", "b")]


def test_same_function_twice_gets_numbered_ids() -> None:
    @task
    def step(n: int) -> int:
        return n

    with make_dag() as built:
        step(1)
        step(2)
        step(3)
        with TaskGroup("g"):
            step(4)
            step(5)
    assert built.task_ids == ["step", "step__1", "step__2", "g.step", "g.step__1"]


def test_override_changes_operator_arguments() -> None:
    @task
    def step() -> None:
        return None

    with make_dag() as built:
        step.override(task_id="custom", queue="q")()
    assert built.get_task("custom").queue == "q"


def test_bad_call_arguments_are_definition_errors() -> None:
    @task
    def step(n: int) -> int:
        return n

    with make_dag(), pytest.raises(DagDefinitionError, match=rf"{__file__}:\d+: step"):
        step(1, 2)


def test_task_python_is_the_plain_decorator() -> None:
    @task.python(task_id="py")
    def run() -> int:
        return 7

    assert isinstance(run, TaskDecorator)
    with make_dag() as built:
        run()
    assert run_task(built, "py", FakeTaskInstance()) == 7


def test_task_bash_runs_the_returned_command() -> None:
    @task.bash
    def say(word: str) -> str:
        return f"echo {word} {{{{ ds }}}}"

    with make_dag() as built:
        say("hello")
    assert isinstance(built.get_task("say"), BashOperator)
    assert run_task(built, "say", FakeTaskInstance()) == "hello 2024-01-01"


def test_task_bash_rejects_an_empty_command() -> None:
    @task.bash
    def nothing() -> str:
        return " "

    with make_dag() as built:
        nothing()
    with pytest.raises(TypeError, match="non-empty string"):
        run_task(built, "nothing", FakeTaskInstance())


def test_task_branch_returns_a_branch_decision() -> None:
    @task.branch
    def choose() -> str:
        return "left"

    @task
    def left() -> None:
        return None

    @task
    def right() -> None:
        return None

    with make_dag() as built:
        choose() >> [left(), right()]
    decision = run_task(built, "choose", FakeTaskInstance())
    assert decision == BranchDecision(value="left", skip=frozenset({"right"}), follow=frozenset({"left"}))


def test_task_short_circuit() -> None:
    @task.short_circuit
    def check() -> bool:
        return False

    @task
    def after() -> None:
        return None

    with make_dag() as built:
        check() >> after()
    assert run_task(built, "check", FakeTaskInstance()).skip == {"after"}


def test_classic_operator_output_feeds_a_taskflow_task() -> None:
    @task
    def shout(text: str) -> str:
        return text.upper()

    with make_dag() as built:
        hello = BashOperator(task_id="hello", bash_command="echo hi")
        shout(hello.output)
    assert built.get_task("shout").upstream_task_ids == {"hello"}
    ti = FakeTaskInstance()
    run_task(built, "hello", ti)
    assert run_task(built, "shout", ti) == "HI"


def test_xcomarg_in_a_classic_templated_field_wires_and_resolves() -> None:
    @task
    def command() -> str:
        return "echo from-xcom"

    with make_dag() as built:
        BashOperator(task_id="run", bash_command=command())
    assert built.get_task("run").upstream_task_ids == {"command"}
    ti = FakeTaskInstance()
    run_task(built, "command", ti)
    assert run_task(built, "run", ti) == "from-xcom"


def test_xcomarg_is_not_iterable_and_has_a_readable_repr() -> None:
    with make_dag():
        arg = BashOperator(task_id="t", bash_command="true").output
    with pytest.raises(TypeError):
        iter(arg)
    assert repr(arg["k"]) == "XComArg('t', 'k')"
    assert XComArg(arg.operator) == arg


def test_dag_decorator_builds_a_dag_with_function_params() -> None:
    @task
    def echo(value: Any) -> Any:
        return value

    @dag(schedule="@daily", start_date=START, tags=["t"])
    def my_pipeline(size: int = 3, mode: Any = Param("fast", type="string")) -> None:
        """Docs for the pipeline."""
        echo(size)

    built = my_pipeline()
    assert built.dag_id == "my_pipeline" and built.tags == ["t"]
    assert built.params["size"] == 3 and built.params["mode"] == Param("fast", type="string")
    assert built.doc_md == "Docs for the pipeline."
    assert built.fileloc == __file__
    assert run_task(built, "echo", FakeTaskInstance()) == 3
    assert run_task(built, "echo", FakeTaskInstance(), conf={"size": 9}) == 9
    assert my_pipeline(size=5).params["size"] == 5


def test_bare_dag_decorator_and_explicit_id() -> None:
    @dag
    def bare() -> None:
        return None

    @dag("explicit_id", schedule=None)
    def named() -> None:
        return None

    assert bare().dag_id == "bare" and named().dag_id == "explicit_id"


def test_param_type_is_checked() -> None:
    with pytest.raises(DagDefinitionError, match="not of type"):
        Param(3, type="string")
    with pytest.raises(DagDefinitionError, match="not one of"):
        Param("c", enum=["a", "b"])

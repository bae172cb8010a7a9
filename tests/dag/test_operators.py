from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.dag._helpers import LOGICAL, FakeTaskInstance, context_for, run_task

from tradewind.clock import FixedClock
from tradewind.dag import (
    DAG,
    BaseOperator,
    BashCommandFailed,
    BashOperator,
    BranchDecision,
    BranchPythonOperator,
    EmptyOperator,
    LatestOnlyOperator,
    PythonOperator,
    ShortCircuitOperator,
    SkipTask,
    TaskGroup,
)
from tradewind.dag.context import Context
from tradewind.errors import DagDefinitionError


def make_dag(**kwargs: Any) -> DAG:
    return DAG("ops", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="@daily", **kwargs)


def run_bash(command: str, **kwargs: Any) -> Any:
    conf = kwargs.pop("conf", None)
    with make_dag(params={"who": "dag"}) as dag:
        BashOperator(task_id="bash", bash_command=command, **kwargs)
    return run_task(dag, "bash", FakeTaskInstance(), conf=conf)


def test_bash_returns_the_last_line_of_output() -> None:
    assert run_bash("echo first; echo last") == "last"


def test_bash_with_no_output_returns_none() -> None:
    assert run_bash("true") is None


def test_bash_non_zero_exit_fails() -> None:
    with pytest.raises(BashCommandFailed, match="non-zero exit code 3") as info:
        run_bash("echo oops; exit 3")
    assert info.value.exit_code == 3


def test_bash_skip_exit_code_skips() -> None:
    with pytest.raises(SkipTask):
        run_bash("exit 99")
    with pytest.raises(SkipTask):
        run_bash("exit 5", skip_on_exit_code=[5, 6])
    with pytest.raises(BashCommandFailed):
        run_bash("exit 99", skip_on_exit_code=None)


def test_bash_env_replaces_the_environment_unless_appended() -> None:
    assert run_bash('echo "$GREETING-${HOME:-unset}"', env={"GREETING": "hi"}) == "hi-unset"
    appended = run_bash('echo "$GREETING-$HOME"', env={"GREETING": "hi"}, append_env=True)
    assert appended == f"hi-{os.environ['HOME']}"


def test_bash_sets_airflow_context_variables() -> None:
    assert run_bash('echo "$AIRFLOW_CTX_DAG_ID/$AIRFLOW_CTX_TASK_ID"') == "ops/bash"


def test_bash_templated_command_sees_ds_params_and_conf() -> None:
    result = run_bash("echo {{ ds }} {{ params.who }} {{ dag_run.conf.extra }}", conf={"extra": "x"})
    assert result == "2024-01-01 dag x"


def test_bash_templated_env_and_cwd(tmp_path: Path) -> None:
    result = run_bash('echo "$DAY $(pwd)"', env={"DAY": "{{ ds_nodash }}"}, cwd=str(tmp_path))
    assert result == f"20240101 {tmp_path}"


def test_bash_missing_cwd_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_bash("true", cwd=str(tmp_path / "missing"))


def test_bash_streams_output_to_the_task_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="tradewind.task")
    run_bash("echo one; echo two")
    assert [r.getMessage() for r in caplog.records if r.name == "tradewind.task"][:2] == ["one", "two"]


def test_python_operator_passes_declared_context_keys_and_op_args() -> None:
    seen: dict[str, Any] = {}

    def callable_(a: int, b: int, ds: str, params: dict[str, Any], *, factor: int) -> int:
        seen.update(ds=ds, params=params)
        return (a + b) * factor

    with make_dag(params={"p": 1}) as dag:
        PythonOperator(task_id="py", python_callable=callable_, op_args=[1, 2], op_kwargs={"factor": 10})
    assert run_task(dag, "py", FakeTaskInstance()) == 30
    assert seen == {"ds": "2024-01-01", "params": {"p": 1}}


def test_python_operator_passes_everything_to_var_keyword() -> None:
    def callable_(**context: Any) -> list[str]:
        return sorted(k for k in ("ds", "ti", "dag_run", "extra") if k in context)

    with make_dag() as dag:
        PythonOperator(task_id="py", python_callable=callable_, op_kwargs={"extra": 1})
    assert run_task(dag, "py", FakeTaskInstance()) == ["dag_run", "ds", "extra", "ti"]


def test_python_operator_positional_args_are_not_overridden_by_context() -> None:
    def callable_(ds: str) -> str:
        return ds

    with make_dag() as dag:
        PythonOperator(task_id="py", python_callable=callable_, op_args=["mine"])
    assert run_task(dag, "py", FakeTaskInstance()) == "mine"


def test_python_operator_op_kwargs_win_over_context_keys_of_the_same_name() -> None:
    def named(ds: str, ts: str) -> list[str]:
        return [ds, ts[:4]]

    def anything(**context: Any) -> list[str]:
        return [context["ds"], context["ts"][:4]]

    with make_dag() as dag:
        PythonOperator(task_id="named", python_callable=named, op_kwargs={"ds": "mine"})
        PythonOperator(task_id="anything", python_callable=anything, op_kwargs={"ds": "mine"})
    assert run_task(dag, "named", FakeTaskInstance()) == ["mine", "2024"]
    assert run_task(dag, "anything", FakeTaskInstance()) == ["mine", "2024"]


def test_python_operator_renders_op_kwargs_and_templates_dict() -> None:
    def callable_(day: str, templates_dict: dict[str, str]) -> str:
        return f"{day}/{templates_dict['next']}"

    with make_dag() as dag:
        PythonOperator(
            task_id="py",
            python_callable=callable_,
            op_kwargs={"day": "{{ ds }}"},
            templates_dict={"next": "{{ macros.ds_add(ds, 1) }}"},
        )
    assert run_task(dag, "py", FakeTaskInstance()) == "2024-01-01/2024-01-02"


def test_python_operator_requires_a_callable() -> None:
    with pytest.raises(DagDefinitionError, match="must be callable"):
        PythonOperator(task_id="py", python_callable="not callable")  # type: ignore[arg-type]


def test_branch_skips_the_other_direct_downstream_tasks() -> None:
    with make_dag() as dag:
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
        left, right, other, join = (EmptyOperator(task_id=t) for t in ("left", "right", "other", "join"))
        branch >> [left, right, other]
        [left, right] >> join
    ti = FakeTaskInstance()
    decision = run_task(dag, "branch", ti)
    assert decision == BranchDecision(
        value="left", skip=frozenset({"right", "other"}), follow=frozenset({"left"})
    )
    assert ti.values[("branch", "return_value")] == "left"


def test_branch_keeps_a_direct_downstream_task_reachable_from_the_chosen_one() -> None:
    with make_dag() as dag:
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: ["a"])
        a, b, join = (EmptyOperator(task_id=t) for t in ("a", "b", "join"))
        branch >> [a, b, join]
        a >> join
    assert run_task(dag, "branch", FakeTaskInstance()).skip == {"b"}


def test_branch_to_a_task_group_follows_its_roots() -> None:
    with make_dag() as dag:
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "g")
        with TaskGroup("g") as group:
            EmptyOperator(task_id="inner")
        other = EmptyOperator(task_id="other")
        branch >> [group, other]
    decision = run_task(dag, "branch", FakeTaskInstance())
    assert decision.follow == {"g.inner"} and decision.skip == {"other"}


def test_branch_to_an_unknown_task_fails() -> None:
    with make_dag() as dag:
        BranchPythonOperator(task_id="branch", python_callable=lambda: "ghost")
    with pytest.raises(ValueError, match="ghost"):
        run_task(dag, "branch", FakeTaskInstance())


def _short_circuit_dag(value: Any, **kwargs: Any) -> DAG:
    with make_dag() as dag:
        check = ShortCircuitOperator(task_id="check", python_callable=lambda: value, **kwargs)
        a, b, c = (EmptyOperator(task_id=t) for t in ("a", "b", "c"))
        check >> a >> b
        c >> b
    return dag


def test_short_circuit_falsy_skips_everything_downstream() -> None:
    decision = run_task(_short_circuit_dag(0), "check", FakeTaskInstance())
    assert decision.skip == {"a", "b"} and decision.value == 0


def test_short_circuit_respecting_trigger_rules_skips_only_direct_downstream() -> None:
    dag = _short_circuit_dag(None, ignore_downstream_trigger_rules=False)
    assert run_task(dag, "check", FakeTaskInstance()).skip == {"a"}


def test_short_circuit_truthy_skips_nothing() -> None:
    ti = FakeTaskInstance()
    assert (
        run_task(
            _short_circuit_dag(
                [1],
            ),
            "check",
            ti,
        ).skip
        == frozenset()
    )
    assert ti.values[("check", "return_value")] == [1]


@pytest.mark.parametrize(
    ("now", "external", "skipped"),
    [
        (datetime(2024, 1, 2, 12, tzinfo=UTC), False, frozenset()),
        (datetime(2024, 1, 5, tzinfo=UTC), False, frozenset({"after"})),
        (datetime(2024, 1, 5, tzinfo=UTC), True, frozenset()),
    ],
)
def test_latest_only_skips_unless_the_run_is_the_latest(
    monkeypatch: pytest.MonkeyPatch, now: datetime, external: bool, skipped: frozenset[str]
) -> None:
    monkeypatch.setattr(LatestOnlyOperator, "clock", FixedClock(now))
    with make_dag() as dag:
        LatestOnlyOperator(task_id="latest") >> EmptyOperator(task_id="after")
    assert run_task(dag, "latest", FakeTaskInstance(), external_trigger=external).skip == skipped


def test_empty_operator_does_nothing() -> None:
    with make_dag() as dag:
        EmptyOperator(task_id="e")
    assert run_task(dag, "e", FakeTaskInstance()) is None


def test_custom_operator_renders_its_template_fields_and_executes() -> None:
    class Sum(BaseOperator):
        template_fields = ("numbers", "label")
        ui_color = "#123456"

        def __init__(self, *, numbers: list[Any], label: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.numbers = numbers
            self.label = label

        def execute(self, context: Context) -> str:
            return f"{self.label}={sum(int(n) for n in self.numbers)}"

    with make_dag(render_template_as_native_obj=False) as dag:
        Sum(task_id="sum", numbers=["{{ 1 + 1 }}", 3], label="{{ task.task_id }}")
    assert run_task(dag, "sum", FakeTaskInstance()) == "sum=5"


def test_operator_without_execute_fails_clearly() -> None:
    task = BaseOperator(task_id="base")
    with pytest.raises(NotImplementedError, match="must implement execute"):
        task.execute({})


def test_multiple_outputs_pushes_each_key() -> None:
    with make_dag() as dag:
        PythonOperator(task_id="py", python_callable=lambda: {"a": 1, "b": 2}, multiple_outputs=True)
    ti = FakeTaskInstance()
    run_task(dag, "py", ti)
    assert ti.values == {("py", "return_value"): {"a": 1, "b": 2}, ("py", "a"): 1, ("py", "b"): 2}


def test_do_xcom_push_false_pushes_nothing() -> None:
    with make_dag() as dag:
        PythonOperator(task_id="py", python_callable=lambda: 5, do_xcom_push=False)
    ti = FakeTaskInstance()
    run_task(dag, "py", ti)
    assert ti.values == {}


def test_context_has_airflow_keys() -> None:
    with make_dag(params={"a": 1, "b": 2}) as dag:
        task = EmptyOperator(task_id="e", params={"b": 3})
    context = context_for(dag, task, conf={"a": 10, "new": 1})
    assert context["ds"] == "2024-01-01" and context["ds_nodash"] == "20240101"
    assert context["ts"] == "2024-01-01T00:00:00+00:00" and context["ts_nodash"] == "20240101T000000"
    assert context["ts_nodash_with_tz"] == "20240101T000000+0000"
    assert context["logical_date"] == context["execution_date"] == LOGICAL
    assert context["data_interval_end"] == LOGICAL + timedelta(days=1)
    assert context["prev_ds"] == "2023-12-31" and context["next_ds"] == "2024-01-02"
    assert context["params"] == {"a": 10, "b": 3, "new": 1}
    assert context["dag_run"].conf == {"a": 10, "new": 1} and context["dag_run"].run_id == context["run_id"]
    assert context["task_instance"] is context["ti"] and context["task"] is task and context["dag"] is dag
    assert context["conf"].get("core", "x", fallback="fb") == "fb"
    assert context["var"]["value"].get("missing", "dflt") == "dflt"


def test_conf_does_not_override_params_when_disabled() -> None:
    with make_dag(params={"a": 1}) as dag:
        task = EmptyOperator(task_id="e")
    context = context_for(dag, task, conf={"a": 10}, conf_overrides_params=False, params_override={"z": 0})
    assert context["params"] == {"a": 1, "z": 0}

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
import pytest

from tradewind.dag import (
    DAG,
    BaseOperator,
    BashOperator,
    EmptyOperator,
    PythonOperator,
    TaskGroup,
    TriggerRule,
    chain,
    cross_downstream,
)
from tradewind.dag.context import Context
from tradewind.errors import DagDefinitionError, TaskNotFound

START = datetime(2024, 1, 1, tzinfo=UTC)


def make_dag(dag_id: str = "example", **kwargs: Any) -> DAG:
    kwargs.setdefault("start_date", START)
    return DAG(dag_id, **kwargs)


def empties(*ids: str) -> list[EmptyOperator]:
    return [EmptyOperator(task_id=task_id) for task_id in ids]


def edges(dag: DAG) -> set[tuple[str, str]]:
    return {(t.task_id, d) for t in dag.tasks for d in t.downstream_task_ids}


def test_tasks_created_in_a_with_block_join_the_dag() -> None:
    with make_dag() as dag:
        a, b = empties("a", "b")
    assert dag.task_ids == ["a", "b"] and a.dag is dag and b.dag_id == "example"
    outside = EmptyOperator(task_id="outside")
    assert outside.dag is None


def test_shift_operators_wire_both_ways() -> None:
    with make_dag() as dag:
        a, b, c = empties("a", "b", "c")
        assert (a >> b) is b
        assert (c << b) is b
    assert edges(dag) == {("a", "b"), ("b", "c")}
    assert b.upstream_task_ids == {"a"} and b.downstream_task_ids == {"c"}


def test_lists_on_either_side() -> None:
    with make_dag() as dag:
        a, b, c, d, e = empties("a", "b", "c", "d", "e")
        a >> [b, c]
        [b, c] >> d
        [d] << e
    assert edges(dag) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("e", "d")}


def test_set_upstream_and_downstream() -> None:
    with make_dag() as dag:
        a, b, c = empties("a", "b", "c")
        a.set_downstream([b, c])
        c.set_upstream(b)
    assert edges(dag) == {("a", "b"), ("a", "c"), ("b", "c")}
    assert [t.task_id for t in a.downstream_list] == ["b", "c"]


def test_chain_wires_lists_pairwise() -> None:
    with make_dag() as dag:
        a, b, c, d, e, f = empties("a", "b", "c", "d", "e", "f")
        chain(a, [b, c], [d, e], f)
    assert edges(dag) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "e"), ("d", "f"), ("e", "f")}


def test_chain_rejects_lists_of_different_lengths() -> None:
    with make_dag():
        a, b, c = empties("a", "b", "c")
        with pytest.raises(DagDefinitionError, match="different length"):
            chain([a, b], [c])


def test_cross_downstream_wires_every_pair() -> None:
    with make_dag() as dag:
        a, b, c, d = empties("a", "b", "c", "d")
        cross_downstream([a, b], [c, d])
    assert edges(dag) == {("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")}


def test_task_groups_prefix_ids_and_wire_as_a_unit() -> None:
    with make_dag() as dag:
        start, end = empties("start", "end")
        with TaskGroup("extract") as group:
            x, y = empties("x", "y")
            x >> y
            with TaskGroup("inner") as inner:
                (z,) = empties("z")
        start >> group >> end
    assert x.task_id == "extract.x" and z.task_id == "extract.inner.z"
    assert inner.group_id == "extract.inner"
    assert {t.task_id for t in group.roots} == {"extract.x", "extract.inner.z"}
    assert edges(dag) == {
        ("start", "extract.x"),
        ("start", "extract.inner.z"),
        ("extract.x", "extract.y"),
        ("extract.y", "end"),
        ("extract.inner.z", "end"),
    }
    assert x.task_group is group and y.task_group is group
    assert sorted(dag.task_group_dict) == ["extract", "extract.inner"]


def test_task_group_without_prefix() -> None:
    with make_dag() as dag, TaskGroup("g", prefix_group_id=False):
        empties("plain")
    assert dag.task_ids == ["plain"]


def test_duplicate_task_group_id_is_rejected() -> None:
    with make_dag():
        TaskGroup("g")
        with pytest.raises(DagDefinitionError, match="'g' has already been added"):
            TaskGroup("g")


def test_task_group_default_args_apply_on_top_of_the_dags() -> None:
    with make_dag(default_args={"retries": 1, "queue": "q1"}):
        with TaskGroup("g", default_args={"retries": 4}):
            (inside,) = empties("inside")
        (outside,) = empties("outside")
    assert (inside.retries, inside.queue) == (4, "q1")
    assert (outside.retries, outside.queue) == (1, "q1")


def test_default_args_fill_only_arguments_the_operator_accepts() -> None:
    defaults = {"owner": "data", "retries": 3, "bash_command": "echo hi", "unknown_key": 1, "email": ["a@b"]}
    with make_dag(default_args=defaults):
        bash = BashOperator(task_id="bash")
        empty = EmptyOperator(task_id="empty", retries=0)
    assert (bash.owner, bash.retries, bash.bash_command, bash.email) == ("data", 3, "echo hi", ["a@b"])
    assert (empty.owner, empty.retries) == ("data", 0)
    assert not hasattr(empty, "bash_command")


def test_default_args_start_date_is_used_by_the_dag() -> None:
    dag = DAG("d", default_args={"start_date": datetime(2024, 2, 1)})
    assert dag.start_date == datetime(2024, 2, 1, tzinfo=UTC)


def test_operator_defaults_match_airflow() -> None:
    (task,) = empties("t")
    assert task.owner == "airflow" and task.pool == "default_pool" and task.queue == "default"
    assert task.priority_weight == 1 and task.weight_rule == "downstream"
    assert task.trigger_rule is TriggerRule.ALL_SUCCESS and task.retries == 0
    assert task.retry_delay == timedelta(minutes=5) and task.do_xcom_push


def test_retry_delay_accepts_seconds_and_exponential_backoff_is_capped() -> None:
    task = EmptyOperator(
        task_id="t", retry_delay=10, retry_exponential_backoff=True, max_retry_delay=timedelta(seconds=35)
    )
    assert task.retry_delay == timedelta(seconds=10)
    assert [task.retry_delay_for(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 35, 35]


def test_dag_arguments_and_aliases() -> None:
    dag = make_dag(
        schedule_interval="@hourly",
        concurrency=3,
        tags=["a"],
        access_control={"role": {"can_read"}},
        default_view="graph",
        orientation="LR",
    )
    assert dag.timetable.summary == "@hourly" and dag.max_active_tasks == 3
    assert dag.catchup is True and dag.max_active_runs == 16 and dag.tags == ["a"]
    assert dag.fileloc == __file__


def test_default_schedule_is_one_day() -> None:
    assert make_dag().timetable.summary == "timedelta:86400"


def test_schedule_and_schedule_interval_together_are_rejected() -> None:
    with pytest.raises(DagDefinitionError, match="only one"):
        make_dag(schedule="@daily", schedule_interval="@daily")


def test_bad_cron_names_the_dag_file() -> None:
    with pytest.raises(DagDefinitionError, match=rf"{__file__}:\d+: Invalid cron"):
        make_dag(schedule="not a cron at all")


def test_unknown_dag_argument_is_rejected() -> None:
    with pytest.raises(DagDefinitionError, match="shedule"):
        make_dag(shedule="@daily")


def test_naive_start_date_is_read_in_the_dag_timezone() -> None:
    dag = DAG("d", start_date=datetime(2024, 1, 1), timezone="Europe/Amsterdam")
    assert dag.start_date == datetime(2023, 12, 31, 23, tzinfo=UTC)


def test_timezone_comes_from_an_aware_start_date() -> None:
    dag = DAG("d", start_date=pendulum.datetime(2024, 6, 1, tz="America/New_York"))
    assert str(dag.timezone) == "America/New_York"
    assert type(dag.start_date) is datetime and dag.start_date == datetime(2024, 6, 1, 4, tzinfo=UTC)


def test_task_dates_are_bounded_by_the_dags() -> None:
    with make_dag(end_date=datetime(2024, 6, 1, tzinfo=UTC)):
        early = EmptyOperator(task_id="early", start_date=datetime(2023, 1, 1))
        late = EmptyOperator(task_id="late", start_date=datetime(2024, 3, 1))
        default = EmptyOperator(task_id="default")
    assert early.start_date == START and default.start_date == START
    assert late.start_date == datetime(2024, 3, 1, tzinfo=UTC)
    assert late.end_date == datetime(2024, 6, 1, tzinfo=UTC)


def test_cycle_is_reported_with_its_task_ids() -> None:
    with make_dag() as dag:
        a, b, c, d = empties("a", "b", "c", "d")
        d >> a >> b >> c >> a
    with pytest.raises(DagDefinitionError, match=r"Cycle detected in DAG example: a -> b -> c -> a") as info:
        dag.validate()
    assert f"{__file__}:" in str(info.value)


def test_self_loop_is_a_cycle() -> None:
    with make_dag() as dag:
        (a,) = empties("a")
        a >> a
    assert dag.find_cycle() == ["a", "a"]


def test_long_chain_validates_without_recursion_errors() -> None:
    with make_dag() as dag:
        chain(*empties(*(f"t{i}" for i in range(3000))))
    dag.validate()
    assert dag.find_cycle() is None


def test_duplicate_task_id_is_rejected_with_the_line() -> None:
    with make_dag():
        EmptyOperator(task_id="same")
        with pytest.raises(
            DagDefinitionError, match=rf"{__file__}:\d+: Task id 'same' has already been added"
        ):
            EmptyOperator(task_id="same")


@pytest.mark.parametrize("task_id", ["has space", "slash/", "", "x" * 251, "ünïcode"])
def test_bad_task_ids_are_rejected(task_id: str) -> None:
    with pytest.raises(DagDefinitionError, match="task_id"):
        EmptyOperator(task_id=task_id)


@pytest.mark.parametrize("dag_id", ["bad id", "a" * 251, "semi;colon"])
def test_bad_dag_ids_are_rejected(dag_id: str) -> None:
    with pytest.raises(DagDefinitionError, match="dag_id"):
        DAG(dag_id)


def test_valid_ids_allow_dots_dashes_and_underscores() -> None:
    assert DAG("a.b-c_D9").dag_id == "a.b-c_D9"


def test_unknown_trigger_rule_is_rejected() -> None:
    with pytest.raises(DagDefinitionError, match=rf"{__file__}:\d+: Unknown trigger_rule 'sometimes'"):
        EmptyOperator(task_id="t", trigger_rule="sometimes")


def test_trigger_rule_aliases_and_enum_values() -> None:
    assert EmptyOperator(task_id="a", trigger_rule="dummy").trigger_rule is TriggerRule.ALWAYS
    assert EmptyOperator(task_id="b", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS).trigger_rule == (
        "none_failed_min_one_success"
    )


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"weight_rule": "sideways"}, "weight_rule"),
        ({"pool_slots": 0}, "pool slots"),
        ({"retries": -1}, "retries must be >= 0"),
        ({"retry_delay": "soon"}, "retry_delay"),
    ],
)
def test_bad_task_arguments_are_rejected(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(DagDefinitionError, match=pattern):
        EmptyOperator(task_id="t", **kwargs)


def test_unknown_operator_argument_is_rejected_by_name() -> None:
    with pytest.raises(DagDefinitionError, match=r"Invalid arguments were passed to BashOperator .*colour"):
        BashOperator(task_id="t", bash_command="echo", colour="red")


def test_missing_operator_argument_is_a_definition_error_with_the_line() -> None:
    with pytest.raises(DagDefinitionError, match=rf"{__file__}:\d+: BashOperator.*bash_command"):
        BashOperator(task_id="t", bash_comand="echo")


def test_accepted_airflow_arguments_do_not_fail() -> None:
    task = PythonOperator(
        task_id="t", python_callable=print, provide_context=True, executor_config={"k": 1}, sla=timedelta(1)
    )
    assert task.executor_config == {"k": 1}


def test_wiring_tasks_from_two_dags_is_rejected() -> None:
    with make_dag("one"):
        (a,) = empties("a")
    with make_dag("two"):
        (b,) = empties("b")
    with pytest.raises(DagDefinitionError, match="more than one DAG"):
        a >> b


def test_wiring_attaches_a_dagless_task_to_the_other_tasks_dag() -> None:
    with make_dag() as dag:
        (a,) = empties("a")
    loose = EmptyOperator(task_id="loose")
    a >> loose
    assert loose.dag is dag and "loose" in dag.task_dict


def test_wiring_two_dagless_tasks_is_rejected() -> None:
    a, b = empties("a", "b")
    with pytest.raises(DagDefinitionError, match="don't have DAGs"):
        a >> b


def test_effective_priority_weight_per_weight_rule() -> None:
    with make_dag() as dag:
        a, b, c = empties("a", "b", "c")
        a >> b >> c
        up = EmptyOperator(task_id="up", weight_rule="upstream")
        absolute = EmptyOperator(task_id="abs", weight_rule="absolute", priority_weight=7)
        c >> [up, absolute]
    assert [dag.effective_priority_weight(t) for t in ("a", "b", "c")] == [11, 10, 9]  # abs counts its own 7
    assert dag.effective_priority_weight("up") == 4
    assert dag.effective_priority_weight("abs") == 7


def test_three_task_chain_has_weights_three_two_one() -> None:
    with make_dag() as dag:
        chain(*empties("a", "b", "c"))
    assert [dag.effective_priority_weight(t) for t in ("a", "b", "c")] == [3, 2, 1]


def test_diamond_counts_each_downstream_task_once() -> None:
    with make_dag() as dag:
        a, b, c, d = empties("a", "b", "c", "d")
        a >> [b, c] >> d
    assert dag.effective_priority_weight("a") == 4


def test_get_task_raises_task_not_found() -> None:
    dag = make_dag()
    with pytest.raises(TaskNotFound, match="Task nope not found in dag example"):
        dag.get_task("nope")


def test_roots_leaves_and_owner() -> None:
    with make_dag() as dag:
        a = EmptyOperator(task_id="a", owner="zed")
        b = EmptyOperator(task_id="b", owner="amy")
        a >> b
    assert dag.roots == [a] and dag.leaves == [b] and dag.owner == "amy, zed"


def test_custom_operator_gets_default_args_for_its_own_arguments() -> None:
    class Greeter(BaseOperator):
        template_fields = ("name",)

        def __init__(self, *, name: str = "world", **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.name = name

        def execute(self, context: Context) -> str:
            return f"hello {self.name}"

    with make_dag(default_args={"name": "ada"}):
        task = Greeter(task_id="greet")
    assert task.execute({}) == "hello ada"


def test_operators_keep_few_instance_attributes_so_their_dicts_stay_small() -> None:
    """A runner copies the page tables of every operator it imported at each fork."""
    with make_dag(
        default_args={"owner": "data", "retries": 2, "retry_delay": 60, "pool": "p", "email": "a@b"}
    ):
        python = PythonOperator(task_id="p", python_callable=print, op_kwargs={"a": 1})
        bash = BashOperator(task_id="b", bash_command="true", execution_timeout=5)
    for task in (python, bash):
        # A dict sharing its class's key table: ~0.3 KB; past 29 keys, a table of its own: ~1.6 KB.
        assert sys.getsizeof(vars(task)) < 600, sorted(vars(task))
    assert (python.owner, python.retries, python.retry_delay, python.pool) == (
        "data",
        2,
        timedelta(seconds=60),
        "p",
    )
    assert (python.queue, python.trigger_rule, python.do_xcom_push, python.templates_dict) == (
        "default", TriggerRule.ALL_SUCCESS, True, None,
    )  # fmt: skip
    assert bash.execution_timeout == timedelta(seconds=5)


def test_init_arguments_win_over_class_attributes_and_earlier_assignments_as_in_airflow() -> None:
    class Special(BaseOperator):
        retries = 7  # a class attribute of the same name does not change the default
        pool = "special"

        def __init__(self, **kwargs: Any) -> None:
            self.queue = "set-before-super"  # overwritten by BaseOperator.__init__, as in Airflow
            super().__init__(**kwargs)

        def execute(self, context: Context) -> None:
            return None

    with make_dag():
        plain = Special(task_id="plain")
        given = Special(task_id="given", pool="special", queue="q")
    assert (plain.retries, plain.pool, plain.queue) == (0, "default_pool", "default")
    assert (given.retries, given.pool, given.queue) == (0, "special", "q")


def test_definition_site_points_at_the_user_line() -> None:
    task = EmptyOperator(task_id="here")
    filename, line = task._definition_site or ("", 0)
    assert filename == __file__ and line > 0


def test_is_empty_only_without_callbacks() -> None:
    assert EmptyOperator(task_id="a").is_empty
    assert not EmptyOperator(task_id="b", on_success_callback=print).is_empty
    assert not BashOperator(task_id="c", bash_command="true").is_empty

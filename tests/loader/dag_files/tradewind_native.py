"""Tradewind's own authoring API: context manager, TaskFlow, groups, params, chain."""

from datetime import UTC, datetime

from tradewind.dag import (
    DAG,
    BashOperator,
    EmptyOperator,
    Param,
    PythonOperator,
    TaskGroup,
    TriggerRule,
    chain,
    task,
)


def _greet(name: str) -> str:
    return f"hello {name}"


with DAG(
    dag_id="tw_native",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    params={"name": Param("world", type="string")},
    default_args={"retries": 2},
):
    start = EmptyOperator(task_id="start")
    greet = PythonOperator(task_id="greet", python_callable=_greet, op_kwargs={"name": "{{ params.name }}"})

    with TaskGroup("report") as report:
        render = BashOperator(task_id="render", bash_command="echo {{ ds }}")
        publish = BashOperator(task_id="publish", bash_command="echo published")
        render >> publish

    @task
    def count() -> int:
        return 3

    @task
    def double(n: int) -> int:
        return n * 2

    end = EmptyOperator(task_id="end", trigger_rule=TriggerRule.ALL_DONE)
    chain(start, greet, report, end)
    doubled = double(count())
    start >> doubled.operator
    doubled >> end

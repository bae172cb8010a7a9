"""Airflow 2.x import paths, unchanged: a custom operator, task groups, timezone helpers."""

import pendulum
from airflow.models.baseoperator import BaseOperator, chain, cross_downstream
from airflow.models.dag import DAG
from airflow.models.param import Param
from airflow.models.xcom_arg import XComArg
from airflow.operators.bash import BashOperator
from airflow.operators.dummy import DummyOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.latest_only import LatestOnlyOperator
from airflow.operators.python import (
    BranchPythonOperator,
    PythonOperator,
    ShortCircuitOperator,
    get_current_context,
)
from airflow.utils import timezone
from airflow.utils.task_group import TaskGroup
from airflow.utils.trigger_rule import TriggerRule


class UppercaseOperator(BaseOperator):
    template_fields = ("text",)

    def __init__(self, *, text: str, **kwargs):
        super().__init__(**kwargs)
        self.text = text

    def execute(self, context):
        return self.text.upper()


def _pick():
    return "fast"


def _report():
    context = get_current_context()
    return context["ds"]


with DAG(
    dag_id="af2_classic",
    schedule="0 6 * * 1-5",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    end_date=timezone.datetime(2030, 1, 1),
    catchup=False,
    params={"limit": Param(10, type="integer")},
    tags=["compat"],
) as dag:
    latest = LatestOnlyOperator(task_id="latest")
    pick = BranchPythonOperator(task_id="pick", python_callable=_pick)
    fast = EmptyOperator(task_id="fast")
    slow = DummyOperator(task_id="slow")
    upper = UppercaseOperator(task_id="upper", text="{{ ds }}")
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: timezone.utcnow() is not None)
    with TaskGroup(group_id="load") as load:
        a = BashOperator(task_id="a", bash_command="echo a")
        b = BashOperator(task_id="b", bash_command="echo b")
    report = PythonOperator(
        task_id="report", python_callable=_report, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    )
    chain(latest, pick, [fast, slow])
    cross_downstream([fast, slow], [upper, gate])
    upper_result = XComArg(upper)
    [upper, gate] >> load >> report

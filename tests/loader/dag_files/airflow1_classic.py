"""An Airflow 1.10 DAG file, unchanged: schedule_interval, default_args, dag=dag, provide_context."""

from datetime import timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.operators.latest_only_operator import LatestOnlyOperator
from airflow.operators.python_operator import BranchPythonOperator, PythonOperator, ShortCircuitOperator
from airflow.utils.dates import days_ago
from airflow.utils.helpers import chain

default_args = {
    "owner": "airflow",
    "depends_on_past": False,
    "start_date": days_ago(2),
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}

dag = DAG(
    "af1_classic",
    default_args=default_args,
    description="A simple tutorial DAG",
    schedule_interval=timedelta(days=1),
)


def maybe_skip(**context):
    if context.get("params", {}).get("skip"):
        raise AirflowSkipException("asked to skip")
    if context.get("params", {}).get("fail"):
        raise AirflowFailException("asked to fail")
    if context.get("params", {}).get("error"):
        raise AirflowException("asked to error")
    return "ok"


def choose(**context):
    return "print_date"


latest_only = LatestOnlyOperator(task_id="latest_only", dag=dag)
branch = BranchPythonOperator(task_id="branch", python_callable=choose, provide_context=True, dag=dag)
print_date = BashOperator(task_id="print_date", bash_command="date", dag=dag)
sleep = BashOperator(task_id="sleep", bash_command="sleep 1", retries=3, dag=dag)
check = ShortCircuitOperator(task_id="check", python_callable=lambda: True, dag=dag)
work = PythonOperator(task_id="work", python_callable=maybe_skip, provide_context=True, dag=dag)
done = DummyOperator(task_id="done", dag=dag)

chain(latest_only, branch, [print_date, sleep], check)
check >> work >> done

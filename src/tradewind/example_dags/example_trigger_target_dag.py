"""A DAG meant to be triggered with a conf, e.g. through the REST API::

    curl -X POST http://localhost:8080/api/experimental/dags/example_trigger_target_dag/dag_runs \\
        -H 'Content-Type: application/json' -d '{"conf": {"message": "hello"}}'

It has no schedule; both tasks read the run's conf.
"""

from datetime import UTC, datetime

from tradewind.dag import DAG, BashOperator, PythonOperator


def run_this_func(dag_run=None, **kwargs):
    """Print the message the run was triggered with."""
    print(f"Remotely received value of {dag_run.conf.get('message')} for key=message")


with DAG(
    dag_id="example_trigger_target_dag",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    tags=["example"],
) as dag:
    run_this = PythonOperator(task_id="run_this", python_callable=run_this_func)

    bash_task = BashOperator(task_id="bash_task", bash_command="echo 'Here is the conf: {{ dag_run.conf }}'")
    run_this >> bash_task

"""Bash tasks, Jinja templating and fan-in: Airflow's ``example_bash_operator``.

``{{ ds }}`` and ``{{ task_instance_key_str }}`` are rendered just before each task runs.
Exit code 99 skips a task instead of failing it (``skip_on_exit_code``).
"""

from datetime import UTC, datetime, timedelta

from tradewind.dag import DAG, BashOperator, EmptyOperator

with DAG(
    dag_id="example_bash_operator",
    schedule="0 0 * * *",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    dagrun_timeout=timedelta(minutes=60),
    tags=["example", "example2"],
    params={"example_key": "example_value"},
) as dag:
    run_this_last = EmptyOperator(task_id="run_this_last")

    run_this = BashOperator(task_id="run_after_loop", bash_command="echo 1")
    run_this >> run_this_last

    for i in range(3):
        runme = BashOperator(
            task_id=f"runme_{i}",
            bash_command='echo "{{ task_instance_key_str }}" && sleep 0.1',
        )
        runme >> run_this

    also_run_this = BashOperator(
        task_id="also_run_this",
        bash_command='echo "ds={{ ds }} ti_key={{ task_instance_key_str }}"',
    )
    also_run_this >> run_this_last

    this_will_skip = BashOperator(task_id="this_will_skip", bash_command='echo "hello world"; exit 99;')
    this_will_skip >> run_this_last

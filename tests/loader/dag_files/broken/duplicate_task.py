from datetime import UTC, datetime

from tradewind.dag import DAG, EmptyOperator

with DAG("duplicate_task", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC)):
    EmptyOperator(task_id="same")
    EmptyOperator(task_id="same")  # error-line

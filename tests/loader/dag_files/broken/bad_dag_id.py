from datetime import UTC, datetime

from tradewind.dag import DAG, EmptyOperator

with DAG("not a valid id!", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC)):  # error-line
    EmptyOperator(task_id="a")

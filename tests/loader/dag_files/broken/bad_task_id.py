from datetime import UTC, datetime

from tradewind.dag import DAG, EmptyOperator

with DAG("bad_task_id", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC)):
    EmptyOperator(task_id="no spaces allowed")  # error-line

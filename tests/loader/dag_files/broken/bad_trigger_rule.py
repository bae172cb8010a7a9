from datetime import UTC, datetime

from tradewind.dag import DAG, EmptyOperator

with DAG("bad_trigger_rule", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC)):
    EmptyOperator(task_id="a", trigger_rule="sometimes")  # error-line

from datetime import UTC, datetime

from tradewind.dag import DAG, EmptyOperator

with DAG("cycle", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC)):
    a = EmptyOperator(task_id="a")  # error-line
    b = EmptyOperator(task_id="b")
    c = EmptyOperator(task_id="c")
    a >> b >> c >> a

from datetime import UTC, datetime

from tradewind.dag import DAG, EmptyOperator

with DAG("bad_cron", schedule="61 25 * * *", start_date=datetime(2024, 1, 1, tzinfo=UTC)):  # error-line
    EmptyOperator(task_id="a")

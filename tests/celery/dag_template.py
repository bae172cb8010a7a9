"""DAGs for the Celery tests; ``QUEUE_A`` and ``QUEUE_B`` are replaced per test (isolated queues)."""

import os
import time
from datetime import datetime, timedelta

from tradewind.dag import DAG, PythonOperator

START = datetime(2024, 1, 1)
QA, QB = "QUEUE_A", "QUEUE_B"


def whoami():
    time.sleep(0.5)
    return os.environ.get("TW_TEST_WORKER", "?")


def produce():
    return {"value": 41, "worker": os.environ.get("TW_TEST_WORKER", "?")}


def consume(ti):
    pulled = ti.xcom_pull(task_ids="produce")
    return {
        "value": pulled["value"] + 1,
        "from": pulled["worker"],
        "worker": os.environ.get("TW_TEST_WORKER"),
    }


def flaky(ti):
    if ti.try_number < 2:
        raise ValueError("first try fails")
    return ti.try_number


def slow():
    time.sleep(30)


def killable(ti):
    print("attempt", ti.try_number, "on", os.environ.get("TW_TEST_WORKER"), flush=True)
    if ti.try_number == 1:
        time.sleep(60)
    return os.environ.get("TW_TEST_WORKER")


def short():
    time.sleep(0.2)


with DAG("parallel", schedule=None, start_date=START, max_active_tasks=16):
    for i in range(8):
        PythonOperator(task_id=f"p{i}", python_callable=whoami, queue=QA)

with DAG("routing", schedule=None, start_date=START):
    PythonOperator(task_id="on_a", python_callable=whoami, queue=QA)
    PythonOperator(task_id="on_b", python_callable=whoami, queue=QB)

with DAG("xcoms", schedule=None, start_date=START):
    PythonOperator(task_id="produce", python_callable=produce, queue=QA) >> PythonOperator(
        task_id="consume", python_callable=consume, queue=QB
    )

with DAG("retries", schedule=None, start_date=START):
    PythonOperator(task_id="flaky", python_callable=flaky, queue=QA, retries=2, retry_delay=timedelta(0))

with DAG("timeouts", schedule=None, start_date=START):
    PythonOperator(task_id="slow", python_callable=slow, queue=QA, execution_timeout=timedelta(seconds=1))

with DAG("killed", schedule=None, start_date=START):
    PythonOperator(task_id="victim", python_callable=killable, queue=QA, retries=1, retry_delay=timedelta(0))

with DAG("many", schedule=None, start_date=START, max_active_tasks=64):
    for i in range(30):
        PythonOperator(task_id=f"s{i:02d}", python_callable=short, queue=QA)

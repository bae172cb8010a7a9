"""DAGs the scheduler's end-to-end tests run with real task processes (LocalExecutor)."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timedelta

from tradewind.dag import DAG, BranchPythonOperator, EmptyOperator, PythonOperator, ShortCircuitOperator

START = datetime(2024, 1, 1)
RULES = ["all_success", "all_failed", "all_done", "one_success", "one_failed", "none_failed",
         "none_failed_min_one_success", "none_skipped", "always"]  # fmt: skip


def record(dag_run, task_instance, **_):
    """Append this attempt's start and end to the file named by the run's conf["out"]."""
    out = (dag_run.conf or {}).get("out")
    start = time.time()
    time.sleep(float((dag_run.conf or {}).get("sleep", 0.05)))
    if out:
        line = {
            "task": task_instance.task_id,
            "try": task_instance.try_number,
            "start": start,
            "end": time.time(),
        }
        with open(out, "a") as fh:
            fh.write(json.dumps(line) + "\n")


def fail(**_):
    raise RuntimeError("boom")


def noop(**_):
    return None


with DAG("e2e_xcom", schedule=None, start_date=START) as xcom_dag:
    push = PythonOperator(task_id="push", python_callable=lambda: {"n": 41})
    pull = PythonOperator(task_id="pull", python_callable=lambda ti: ti.xcom_pull(task_ids="push")["n"] + 1)
    EmptyOperator(task_id="start") >> push >> pull

with DAG("e2e_rules", schedule=None, start_date=START) as rules_dag:
    ok = PythonOperator(task_id="ok", python_callable=noop)
    bad = PythonOperator(task_id="bad", python_callable=fail)
    for rule in RULES:
        [ok, bad] >> PythonOperator(task_id=f"t_{rule}", python_callable=noop, trigger_rule=rule)

with DAG("e2e_branch", schedule=None, start_date=START) as branch_dag:
    branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
    left = PythonOperator(task_id="left", python_callable=noop)
    right = PythonOperator(task_id="right", python_callable=noop)
    after_right = PythonOperator(task_id="after_right", python_callable=noop)
    join = PythonOperator(task_id="join", python_callable=noop, trigger_rule="none_failed_min_one_success")
    branch >> [left, right]
    right >> after_right
    [left, after_right] >> join

with DAG("e2e_short", schedule=None, start_date=START) as short_dag:
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: False)
    (
        gate
        >> PythonOperator(task_id="one", python_callable=noop)
        >> PythonOperator(task_id="two", python_callable=noop)
    )


def fail_first_try(ti, **_):
    if ti.try_number < 2:
        raise RuntimeError("first try fails")
    return ti.try_number


with DAG("e2e_retry", schedule=None, start_date=START) as retry_dag:
    flaky = PythonOperator(
        task_id="flaky", python_callable=fail_first_try, retries=2, retry_delay=timedelta(0)
    )
    flaky >> PythonOperator(task_id="after", python_callable=noop)

with DAG("e2e_exhausted", schedule=None, start_date=START) as exhausted_dag:
    PythonOperator(task_id="always_fails", python_callable=fail, retries=1, retry_delay=timedelta(0))

with DAG("e2e_timeout", schedule=None, start_date=START) as timeout_dag:
    PythonOperator(
        task_id="slow", python_callable=lambda: time.sleep(30), execution_timeout=timedelta(seconds=1)
    )

with DAG("e2e_crash", schedule=None, start_date=START) as crash_dag:
    PythonOperator(task_id="crash", python_callable=lambda: os.kill(os.getpid(), signal.SIGKILL))

with DAG("e2e_pool", schedule=None, start_date=START, max_active_tasks=64) as pool_dag:
    for i in range(50):
        PythonOperator(task_id=f"p{i:02d}", python_callable=record, pool="three")

with DAG("e2e_long", schedule=None, start_date=START, max_active_tasks=16) as long_dag:
    for i in range(4):
        previous = None
        for j in range(5):
            task = PythonOperator(
                task_id=f"c{i}_{j}", python_callable=record, retries=3, retry_delay=timedelta(0)
            )
            if previous is not None:
                previous >> task
            previous = task

with DAG("e2e_daily", schedule="@daily", start_date=START, end_date=datetime(2024, 1, 3), catchup=True,
         max_active_runs=1) as daily_dag:  # fmt: skip
    PythonOperator(task_id="work", python_callable=record)

"""The DAG the several-schedulers tests run: 20 no-op tasks, half of the middle ones in a small pool."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta

from tradewind.dag import DAG, PythonOperator

POOL = "ha_pool"


def record(dag_run, task_instance, **_):
    """Append this attempt's run, task, try, pool and span to the file named by conf["out"]."""
    conf = dag_run.conf or {}
    start = time.time()
    pause = float(conf.get("sleep", 0))
    if pause:
        time.sleep(pause)
    line = {"run": dag_run.run_id, "task": task_instance.task_id, "try": task_instance.try_number,
            "pool": task_instance.pool, "start": start, "end": time.time(), "pid": os.getpid()}  # fmt: skip
    with open(conf["out"], "a") as fh:
        fh.write(json.dumps(line) + "\n")


with DAG("ha_fan", schedule=None, start_date=datetime(2024, 1, 1), max_active_runs=1000,
         max_active_tasks=16, default_args={"retries": 1, "retry_delay": timedelta(0)}) as ha_dag:  # fmt: skip
    first = PythonOperator(task_id="first", python_callable=record)
    last = PythonOperator(task_id="last", python_callable=record)
    for i in range(18):
        pool = POOL if i % 2 else "default_pool"
        first >> PythonOperator(task_id=f"mid{i:02d}", python_callable=record, pool=pool) >> last

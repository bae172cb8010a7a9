"""The DAG the executor contract suite runs; copied into each test's folder.

Importing it appends the importing pid to ``<this file>.imports``, so tests can count imports.
Tasks that leave traces write them next to this file.
"""

import ctypes
import logging
import os
import random
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from tradewind.dag import (
    DAG,
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    FailTask,
    PythonOperator,
    SkipTask,
    task,
)

HERE = Path(__file__).resolve().parent
with open(f"{__file__}.imports", "a") as _imports:
    _imports.write(f"{os.getpid()}\n")


def _push(ti):
    ti.xcom_push("extra", {"n": 1})
    print("pushing a value")
    return [1, 2, 3]


def _fail():
    print("about to fail")
    raise ValueError("bad value")


def _skip():
    raise SkipTask("not today")


def _fail_now():
    raise FailTask("no retry for this")


def _exit3():
    print("exiting hard")
    sys.stdout.flush()
    os._exit(3)


def _segfault():
    ctypes.string_at(0)


def _sigkill():
    os.kill(os.getpid(), signal.SIGKILL)


def _hang():
    time.sleep(600)


def _hang_ignoring_sigterm():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        time.sleep(0.05)


def _pull(ti):
    return {
        "one": ti.xcom_pull(task_ids="upstream"),
        "many": ti.xcom_pull(task_ids=["upstream", "missing"], default="none"),
        "key": ti.xcom_pull(task_ids="upstream", key="other"),
    }


def _slot(ti):
    with open(HERE / "slots.log", "a") as out:
        out.write(f"start {time.time()}\n")
    time.sleep(0.3)
    with open(HERE / "slots.log", "a") as out:
        out.write(f"end {time.time()}\n")


def _write_pid():
    (HERE / "task.pid").write_text(str(os.getpid()))
    time.sleep(600)


def _threads_forks_and_random():
    """Threads, logging and a fork of its own in a task process; its random numbers are its own."""
    seen, release = [], threading.Event()

    def helper():
        seen.append(threading.current_thread().name)
        release.wait(10)

    worker = threading.Thread(target=helper, name="helper")
    worker.start()
    logging.getLogger("contract").warning("logged from %s", threading.current_thread().name)
    pid = os.fork()  # while the helper runs: the grandchild must know itself alone
    if pid == 0:
        alone = threading.active_count() == 1 and threading.main_thread() is threading.current_thread()
        os._exit(0 if alone else 1)
    _, status = os.waitpid(pid, 0)
    release.set()
    worker.join(10)
    return {"threads": seen, "grandchild": os.waitstatus_to_exitcode(status), "random": random.random()}


def _on_success(context):
    (HERE / "callbacks.log").open("a").write(f"success {context['ti'].task_id}\n")


def _on_failure(context):
    (HERE / "callbacks.log").open("a").write(f"failure {type(context['exception']).__name__}\n")
    raise RuntimeError("a broken callback")


TREE = (
    f"sleep 300 & echo $! >> {HERE}/tree.pids; sleep 300 & echo $! >> {HERE}/tree.pids; "
    f"echo $$ >> {HERE}/tree.pids; wait"
)

with DAG("contract", start_date=datetime(2024, 1, 1, tzinfo=UTC), schedule="@daily", catchup=False) as dag:
    PythonOperator(task_id="push", python_callable=_push, on_success_callback=_on_success)
    PythonOperator(task_id="fail", python_callable=_fail, retries=1, on_failure_callback=_on_failure)
    PythonOperator(task_id="skip", python_callable=_skip)
    PythonOperator(task_id="fail_now", python_callable=_fail_now, retries=3)
    PythonOperator(task_id="exit3", python_callable=_exit3, retries=1)
    PythonOperator(task_id="segfault", python_callable=_segfault)
    PythonOperator(task_id="sigkill", python_callable=_sigkill)
    PythonOperator(task_id="hang", python_callable=_hang, execution_timeout=1)
    PythonOperator(task_id="hang_hard", python_callable=_hang_ignoring_sigterm, execution_timeout=1)
    PythonOperator(task_id="pull", python_callable=_pull)
    PythonOperator(task_id="write_pid", python_callable=_write_pid)
    PythonOperator(task_id="noop", python_callable=lambda: None)
    PythonOperator(task_id="threads", python_callable=_threads_forks_and_random)
    for i in range(6):
        PythonOperator(task_id=f"slot_{i}", python_callable=_slot)
    BashOperator(
        task_id="bash_templated", bash_command="echo {{ ds }} {{ run_id }} {{ dag_run.conf.get('x', '-') }}"
    )
    BashOperator(task_id="bash_skip", bash_command="echo skipping; exit 99")
    BashOperator(task_id="bash_fail", bash_command="echo to-stdout; echo to-stderr >&2; exit 4")
    BashOperator(task_id="bash_tree", bash_command=TREE, execution_timeout=1)
    branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
    branch >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]

    @task
    def upstream_value():
        return {"from": "upstream"}

    @task
    def consume(value):
        return [value, "consumed"]

    consume(upstream_value())

"""Run throwaway attempts in the runner before it forks anything.

Much of a first attempt's cost is one-time work: lazy imports (``_strptime`` for the
``ds`` macros), logging's formatter, pickling a TaskEvent. Done once
in the runner, every forked task process inherits it instead of paying it again.
The warm-up DAG is built here, not imported, so no user code runs.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from tradewind.executors.base import TaskKey, TaskWorkload
from tradewind.runtime.attempt import prepare_attempt_state, run_attempt
from tradewind.runtime.locks import instance_lock
from tradewind.runtime.logs import task_log_handler, write_end, write_start
from tradewind.runtime.wire import encode
from tradewind.runtime.xcoms import NoXComs
from tradewind.tasklog import write_lines_directly

_WHEN = datetime(2000, 1, 1, tzinfo=UTC)
# CPython 3.11 rewrites a function's bytecode as it warms up and specializes it; run once,
# the attempt path would do that in every task process, copying its code objects' pages.
# Twenty rounds leave it specialized in the runner (measured: 612 -> 589 page faults a task).
_ROUNDS = 20


def warm_up(lock_dir: str) -> None:
    """Exercise the attempt path, with logs going nowhere (``lock_dir``: the runner's)."""
    from tradewind.dag import DAG, PythonOperator

    dag = DAG("__tradewind_warmup__", start_date=_WHEN, schedule=None, fileloc=__file__)
    # No template: Jinja is loaded (and warmed) only for DAGs whose tasks render one.
    PythonOperator(task_id="noop", python_callable=_noop, op_kwargs={"day": "today"}, dag=dag)
    workload = TaskWorkload(
        TaskKey(dag.dag_id, "noop", "warmup", 1), __file__, _WHEN, _WHEN, _WHEN, "manual", False, None, 0,
        None, "default", 1, os.devnull,
    )  # fmt: skip
    with open(os.devnull, "w") as sink, instance_lock(lock_dir, workload.key):
        root = logging.getLogger()
        previous, previous_handlers = root.level, root.handlers
        root.handlers = [task_log_handler(sink)]
        root.setLevel(logging.INFO)
        write_lines_directly(sink.fileno())  # as in a task process
        try:
            for _ in range(_ROUNDS):
                write_start(workload, os.getpid(), "warmup")
                prepared = prepare_attempt_state(workload, dag, xcoms=NoXComs(), max_xcom_size=0, hostname="")
                event = run_attempt(
                    workload, dag, xcoms=NoXComs(), max_xcom_size=0, hostname="", pid=0, prepared=prepared
                )
                write_end(workload, event.state, event.error, 0.0)
                encode(event)
        finally:
            write_lines_directly(-1)
            root.handlers = previous_handlers
            root.setLevel(previous)


def _noop(day: str) -> str:
    return day

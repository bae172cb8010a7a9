"""Run a task, or a whole DAG, in this process with output on the terminal (``tasks test``, ``dags test``).

Nothing is recorded: XComs pushed by a task of ``dags test`` are kept in memory for the tasks
after it. Dependencies and trigger rules follow the scheduler's table; retries happen at once.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload
from tradewind.runtime.attempt import run_attempt
from tradewind.runtime.logs import task_log_handler, write_end, write_start
from tradewind.runtime.xcoms import MemoryXComs, XComSource

if TYPE_CHECKING:
    from tradewind.dag import DAG, BaseOperator


def adhoc_workload(
    dag: DAG,
    task: BaseOperator,
    *,
    logical_date: datetime,
    run_id: str,
    try_number: int = 1,
    conf: dict[str, Any] | None = None,
) -> TaskWorkload:
    """A workload for running ``task`` outside any recorded run."""
    check_logical_date(dag, logical_date)
    interval = dag.data_interval_for(logical_date)
    timeout = task.execution_timeout.total_seconds() if task.execution_timeout else None
    return TaskWorkload(
        key=TaskKey(dag.dag_id, task.task_id, run_id, try_number),
        fileloc=dag.fileloc,
        logical_date=logical_date,
        data_interval_start=interval.data_interval_start,
        data_interval_end=interval.data_interval_end,
        run_type="manual",
        external_trigger=True,
        conf=conf,
        max_tries=task.retries,
        execution_timeout=timeout,
        queue=task.queue,
        priority_weight=task.priority_weight,
        log_path=os.devnull,
        pool=task.pool,
    )


def check_logical_date(dag: DAG, logical_date: datetime) -> None:
    """Refuse a date the DAG's schedule cannot place (near year 1 or 9999): every task would fail."""
    from tradewind.errors import DateOutOfRange
    from tradewind.timeutil import isoformat

    if not dag.timetable.is_in_range(logical_date, dag.timezone):
        raise DateOutOfRange(isoformat(logical_date))


def run_in_foreground(
    workload: TaskWorkload, dag: DAG, *, stream: typing.TextIO, xcoms: XComSource, max_xcom_size: int
) -> TaskEvent:
    """Run one attempt here; its log lines go to ``stream`` (task prints go to stdout as usual)."""
    handler = task_log_handler(stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    started = time.monotonic()
    try:
        write_start(workload, os.getpid(), socket.gethostname())
        event = run_attempt(
            workload,
            dag,
            xcoms=xcoms,
            max_xcom_size=max_xcom_size,
            hostname=socket.gethostname(),
            pid=os.getpid(),
        )
        write_end(workload, event.state, event.error, started)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    return event


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    task_id: str
    state: str
    error: str | None = None
    duration: float = 0.0


def topological_order(dag: DAG) -> list[str]:
    """Task ids, each after all its upstream tasks; ties in priority-weight, then id, order."""
    pending = {t.task_id: len(t.upstream_task_ids) for t in dag.tasks}
    ready = sorted((tid for tid, n in pending.items() if n == 0), key=lambda t: _rank(dag, t))
    order: list[str] = []
    while ready:
        task_id = ready.pop(0)
        order.append(task_id)
        for child in dag.task_dict[task_id].downstream_task_ids:
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)
        ready.sort(key=lambda t: _rank(dag, t))
    return order


def _rank(dag: DAG, task_id: str) -> tuple[int, str]:
    return (-dag.task_dict[task_id].priority_weight, task_id)


def run_dag_in_foreground(
    dag: DAG,
    *,
    logical_date: datetime,
    run_id: str,
    conf: dict[str, Any] | None,
    stream: typing.TextIO,
    max_xcom_size: int,
    on_start: Callable[[str, int, int], None] = lambda task_id, index, total: None,
    on_end: Callable[[TaskOutcome], None] = lambda outcome: None,
) -> dict[str, str]:
    """Run every task of ``dag`` once, in dependency order; return the final state of each."""
    check_logical_date(dag, logical_date)
    from tradewind.models.states import TaskState
    from tradewind.scheduler.decisions import UpstreamCounts, Verdict, trigger_verdict

    xcoms = MemoryXComs()
    states: dict[str, str] = {}
    skipped: set[str] = set()
    order = topological_order(dag)
    for index, task_id in enumerate(order, start=1):
        task = dag.task_dict[task_id]
        up = UpstreamCounts.of(TaskState(states[u]) for u in task.upstream_task_ids)
        verdict = Verdict.SKIP if task_id in skipped else trigger_verdict(task.trigger_rule, up)
        on_start(task_id, index, len(order))
        started = time.monotonic()
        if verdict != Verdict.RUN:
            state = "skipped" if verdict == Verdict.SKIP else "upstream_failed"
            outcome = TaskOutcome(task_id, state)
        else:
            event = _run_with_retries(dag, task, logical_date, run_id, conf, stream, xcoms, max_xcom_size)
            skipped.update(event.skip_task_ids)
            outcome = TaskOutcome(task_id, event.state, event.error, time.monotonic() - started)
        states[task_id] = outcome.state
        on_end(outcome)
    return states


def _run_with_retries(
    dag: DAG,
    task: BaseOperator,
    logical_date: datetime,
    run_id: str,
    conf: dict[str, Any] | None,
    stream: typing.TextIO,
    xcoms: MemoryXComs,
    max_xcom_size: int,
) -> TaskEvent:
    try_number = 1
    while True:
        workload = adhoc_workload(
            dag, task, logical_date=logical_date, run_id=run_id, try_number=try_number, conf=conf
        )
        event = run_in_foreground(workload, dag, stream=stream, xcoms=xcoms, max_xcom_size=max_xcom_size)
        for key, value in event.xcoms:
            xcoms.put(dag.dag_id, run_id, task.task_id, key, value)
        if event.state != "up_for_retry":
            return event
        try_number += 1

"""Scheduler jobs and what a (re)started scheduler does about work its dead predecessors left.

A scheduler registers a ``job`` row (``SchedulerJob``) and heartbeats it. A job is dead when
its heartbeat is older than ``[scheduler] scheduler_health_check_threshold``, or when it ran
on this host and its process is gone (so a scheduler restarted right after a SIGKILL does not
wait for the threshold). Task instances a dead job left behind are reset:

* ``queued`` (handed to the executor, never reported running) -> ``scheduled`` with the same
  try number: the attempt never started, so it is simply submitted again;
* ``running`` -> ``up_for_retry`` (with the task's retry delay) or ``failed`` when its tries
  are used up: its process died with its scheduler, like an Airflow zombie.

The executor makes task processes die with their scheduler and holds a per-instance lock,
so a reset instance never runs twice at the same time.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tradewind.models.states import TaskState
from tradewind.scheduler.decisions import retry_delay
from tradewind.scheduler.specs import DagSpec
from tradewind.store import Store

JOB_TYPE = "SchedulerJob"


@dataclass(frozen=True, slots=True)
class ResetSummary:
    dead_jobs: tuple[int, ...]
    requeued: int
    retried: int
    failed: int


def is_pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def dead_job_ids(store: Store, *, me: int, hostname: str, now: datetime, threshold: float) -> list[int]:
    """Running scheduler jobs that stopped heartbeating or whose process on this host is gone."""
    limit = now - timedelta(seconds=threshold)
    dead = []
    for job in store.running_jobs(JOB_TYPE):
        if job.id == me:
            continue
        expired = job.latest_heartbeat < limit
        gone_here = job.hostname == hostname and (job.pid == os.getpid() or not is_pid_alive(job.pid))
        if expired or gone_here:
            dead.append(job.id)
    return dead


def reset_orphans(
    store: Store,
    *,
    me: int,
    hostname: str,
    now: datetime,
    threshold: float,
    spec_for: Callable[[str], DagSpec | None],
) -> ResetSummary:
    """End dead scheduler jobs and reset the task instances they had queued or running."""
    dead = dead_job_ids(store, me=me, hostname=hostname, now=now, threshold=threshold)
    store.end_jobs(dead, state="failed", now=now)
    alive = [job.id for job in store.running_jobs(JOB_TYPE)]
    return reset_task_instances(
        store, store.orphaned_task_instances(alive, JOB_TYPE), now, spec_for, tuple(dead)
    )


def reset_task_instances(
    store: Store,
    rows: Iterable[Any],
    now: datetime,
    spec_for: Callable[[str], DagSpec | None],
    dead: tuple[int, ...] = (),
) -> ResetSummary:
    """Reset queued/running instances whose scheduler is gone (see the module docstring)."""
    counts = {TaskState.SCHEDULED: 0, TaskState.UP_FOR_RETRY: 0, TaskState.FAILED: 0}
    for row in rows:
        state, values = _reset_values(row, now, spec_for(row.dag_id))
        store.update_task_instances(row.dag_id, row.run_id, [row.task_id], values)
        counts[state] += 1
    return ResetSummary(dead, counts[TaskState.SCHEDULED], counts[TaskState.UP_FOR_RETRY],
                        counts[TaskState.FAILED])  # fmt: skip


def _reset_values(row: Any, now: datetime, spec: DagSpec | None) -> tuple[TaskState, dict[str, Any]]:
    base: dict[str, Any] = {"queued_by_job_id": None, "updated_at": now}
    if row.state == TaskState.QUEUED.value:
        tries = max(row.try_number - 1, 0)
        return TaskState.SCHEDULED, base | {"state": TaskState.SCHEDULED.value, "try_number": tries}
    ended = base | {"end_date": now}
    if row.try_number <= row.max_tries:
        task = spec.tasks.get(row.task_id) if spec is not None else None
        delay = retry_delay(task, row.try_number) if task is not None else timedelta(0)
        return TaskState.UP_FOR_RETRY, ended | {
            "state": TaskState.UP_FOR_RETRY.value,
            "next_retry_at": now + delay,
        }
    return TaskState.FAILED, ended | {"state": TaskState.FAILED.value}

"""Scheduler jobs, and what the living do about the work of a dead scheduler.

A scheduler registers a ``job`` row (``SchedulerJob``) and heartbeats it. A job is dead when
its heartbeat is older than ``[scheduler] scheduler_health_check_threshold``, or when it ran
on this host and its process is gone (so a scheduler restarted right after a SIGKILL does not
wait for the threshold). Every scheduler looks for dead peers when it starts and at each of
its heartbeats; the one whose fenced ``UPDATE job SET state='failed'`` ends a dead job (see
``Store.end_dead_jobs``) resets the task instances that job left behind:

* ``queued`` (handed to the executor, not recorded running) -> ``scheduled``, keeping its
  try number: the attempt may have started (running states are written in batches), so
  the next one is a new try with its own log, never a second run of the same try. Only
  a graceful shutdown, which knows its unstarted attempts, gives the try back;
* ``running`` -> ``up_for_retry`` (with the task's retry delay) or ``failed`` when its tries
  are used up: its process died with its scheduler, like an Airflow zombie.

The executor makes task processes die with their scheduler and holds a per-instance lock,
so a reset instance never runs twice at the same time. The dead job's DAG runs are then
claimable: the next scheduler to heartbeat adopts them (``Store.claim_orphaned_dag_runs``).

Executors whose attempts outlive the scheduler (they have an ``adopt`` method: Celery's
workers keep running) change this: resetting would make the worker stop a healthy task. The
reaper then resets only instances whose run is finished; the others stay as they are until
the scheduler that claims or starts their run takes them over (``Store.adopt_task_instances``)
and hands them to its executor's ``adopt``, which follows them to their end. The same holds
for a graceful stop: the job ends, its attempts keep running for the next scheduler. An
adopted attempt whose worker died is found by the zombie check (no ``last_heartbeat_at``
for ``[scheduler] zombie_threshold_sec``), and one no worker ever claimed (its message was
lost) is queued again as a new try once it has been ``queued`` for ``[scheduler]
task_queued_timeout`` (see ``Scheduler``).
A scheduler that was only frozen finds out at its next heartbeat (which fails once its job
is ``failed``) and stops without touching those runs again.
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


def dead_job_ids(
    store: Store, *, me: int, hostname: str, now: datetime, threshold: float
) -> tuple[list[int], list[int]]:
    """Running scheduler jobs that stopped heartbeating, and those whose process on this host is gone."""
    limit = now - timedelta(seconds=threshold)
    expired, gone = [], []
    for job in store.running_jobs(JOB_TYPE):
        if job.id == me:
            continue
        if job.hostname == hostname and (job.pid == os.getpid() or not is_pid_alive(job.pid)):
            gone.append(job.id)
        elif job.latest_heartbeat < limit:
            expired.append(job.id)
    return expired, gone


def reap_dead_jobs(
    store: Store,
    *,
    me: int,
    hostname: str,
    now: datetime,
    threshold: float,
    spec_for: Callable[[str], DagSpec | None],
    always_reset: bool = False,
    adoptable: bool = False,
) -> ResetSummary:
    """End dead scheduler jobs and reset the task instances they had queued or running.

    Instances are looked for when this call ended a job, or with ``always_reset`` (at start:
    a job may have been ended without its work being reset). With ``adoptable`` (the
    executor can follow attempts it did not submit), only instances of finished runs are
    reset: the others are adopted with their runs.
    """
    expired, gone = dead_job_ids(store, me=me, hostname=hostname, now=now, threshold=threshold)
    limit = now - timedelta(seconds=threshold)
    dead = store.end_dead_jobs(expired, gone, expired_before=limit, now=now)
    if not dead and not always_reset:
        return ResetSummary((), 0, 0, 0)
    rows = store.orphaned_task_instances(JOB_TYPE, finished_runs_only=adoptable)
    return reset_task_instances(store, rows, now, spec_for, tuple(dead))


def reset_task_instances(
    store: Store,
    rows: Iterable[Any],
    now: datetime,
    spec_for: Callable[[str], DagSpec | None],
    dead: tuple[int, ...] = (),
    *,
    graceful: bool = False,
) -> ResetSummary:
    """Reset queued/running instances whose scheduler is gone (see the module docstring)."""
    counts = {TaskState.SCHEDULED: 0, TaskState.UP_FOR_RETRY: 0, TaskState.FAILED: 0}
    for row in rows:
        state, values = _reset_values(row, now, spec_for(row.dag_id), graceful=graceful)
        counts[state] += store.reset_task_instance(row, values)
    return ResetSummary(dead, counts[TaskState.SCHEDULED], counts[TaskState.UP_FOR_RETRY],
                        counts[TaskState.FAILED])  # fmt: skip


def _reset_values(
    row: Any, now: datetime, spec: DagSpec | None, *, graceful: bool
) -> tuple[TaskState, dict[str, Any]]:
    base: dict[str, Any] = {"queued_by_job_id": None, "updated_at": now}
    if row.state == TaskState.QUEUED.value:
        tries = max(row.try_number - 1, 0) if graceful else row.try_number
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

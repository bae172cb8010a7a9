"""State names, equal to Airflow's strings, and the named groups the scheduler reasons with."""

from __future__ import annotations

from enum import StrEnum


class DagRunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class TaskState(StrEnum):
    NONE = "none"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    UP_FOR_RETRY = "up_for_retry"
    UPSTREAM_FAILED = "upstream_failed"
    SKIPPED = "skipped"
    REMOVED = "removed"


class DagRunType(StrEnum):
    MANUAL = "manual"
    SCHEDULED = "scheduled"
    BACKFILL = "backfill"


FINISHED_RUN_STATES = frozenset({DagRunState.SUCCESS, DagRunState.FAILED})
UNFINISHED_RUN_STATES = frozenset({DagRunState.QUEUED, DagRunState.RUNNING})

FINISHED_TASK_STATES = frozenset(
    {TaskState.SUCCESS, TaskState.FAILED, TaskState.UPSTREAM_FAILED, TaskState.SKIPPED, TaskState.REMOVED}
)
ACTIVE_TASK_STATES = frozenset({TaskState.QUEUED, TaskState.RUNNING})

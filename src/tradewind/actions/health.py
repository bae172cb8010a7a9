"""Health: the scheduler is healthy when one of its jobs heartbeated within the threshold.

Several schedulers (and workers) may run at once: :func:`alive_jobs` lists the jobs with a
recent heartbeat, for ``tradewind jobs check`` and the ``schedulers``/``workers`` fields of
``/health``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tradewind.store import Store
from tradewind.values import HealthInfo

SCHEDULER_JOB = "SchedulerJob"
WORKER_JOB = "WorkerJob"


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A running job (scheduler, worker) with a heartbeat within the threshold."""

    id: int
    job_type: str
    hostname: str
    pid: int | None
    start_date: datetime
    latest_heartbeat: datetime


def health(store: Store, *, now: datetime, threshold: float) -> HealthInfo:
    """Read the newest scheduler heartbeat; reaching the database at all makes it healthy."""
    heartbeat = store.latest_heartbeat()
    healthy = heartbeat is not None and now - heartbeat <= timedelta(seconds=threshold)
    return HealthInfo(
        metadatabase_healthy=True, scheduler_healthy=healthy, latest_scheduler_heartbeat=heartbeat
    )


def alive_jobs(
    store: Store,
    *,
    now: datetime,
    threshold: float,
    job_type: str | None = None,
    hostname: str | None = None,
    limit: int = 0,
) -> list[JobInfo]:
    """Running jobs whose heartbeat is at most ``threshold`` seconds old, newest first (``limit`` 0: all)."""
    rows = store.live_jobs(job_type, since=now - timedelta(seconds=threshold), hostname=hostname)
    jobs = [JobInfo(r.id, r.job_type, r.hostname, r.pid, r.start_date, r.latest_heartbeat) for r in rows]
    return jobs[:limit] if limit > 0 else jobs


def job_health(store: Store, *, now: datetime, threshold: float) -> dict[str, list[JobInfo]]:
    """Live schedulers and workers, for the extension fields of ``/health``."""
    return {
        "schedulers": alive_jobs(store, now=now, threshold=threshold, job_type=SCHEDULER_JOB),
        "workers": alive_jobs(store, now=now, threshold=threshold, job_type=WORKER_JOB),
    }

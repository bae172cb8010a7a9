"""``GET /health``: a database that cannot be reached is reported, not raised.

:func:`health_document` is the whole body: Airflow's shape (``metadatabase``, ``scheduler``)
plus two extension fields, ``schedulers`` and ``workers``: how many are alive (heartbeat
within ``[scheduler] scheduler_health_check_threshold``) and which.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from tradewind.actions.health import JobInfo, health, job_health
from tradewind.api import schemas
from tradewind.store import Database
from tradewind.timeutil import isoformat
from tradewind.values import HealthInfo

logger = logging.getLogger("tradewind.api")


def check_health(db: Database, *, now: datetime, threshold: float) -> HealthInfo:
    try:
        with db.transaction(write=False) as store:
            return health(store, now=now, threshold=threshold)
    except SQLAlchemyError as exc:
        logger.warning("Health check cannot reach the metadata database: %s", type(exc).__name__)
        return HealthInfo(
            metadatabase_healthy=False, scheduler_healthy=False, latest_scheduler_heartbeat=None
        )


def health_document(db: Database, *, now: datetime, threshold: float) -> dict[str, Any]:
    """The ``/health`` body, with the ``schedulers`` and ``workers`` extension fields."""
    document = schemas.health_to_json(check_health(db, now=now, threshold=threshold))
    try:
        with db.transaction(write=False) as store:
            jobs = job_health(store, now=now, threshold=threshold)
    except SQLAlchemyError:
        jobs = {"schedulers": [], "workers": []}
    return document | {name: _jobs_to_json(found) for name, found in jobs.items()}


def _jobs_to_json(jobs: list[JobInfo]) -> dict[str, Any]:
    return {
        "count": len(jobs),
        "jobs": [
            {
                "id": job.id,
                "hostname": job.hostname,
                "pid": job.pid,
                "latest_heartbeat": isoformat(job.latest_heartbeat.astimezone(UTC)),
            }
            for job in jobs
        ],
    }

"""Health: the scheduler is healthy when it heartbeated within the threshold."""

from __future__ import annotations

from datetime import datetime, timedelta

from tradewind.store import Store
from tradewind.values import HealthInfo


def health(store: Store, *, now: datetime, threshold: float) -> HealthInfo:
    """Read the newest scheduler heartbeat; reaching the database at all makes it healthy."""
    heartbeat = store.latest_heartbeat()
    healthy = heartbeat is not None and now - heartbeat <= timedelta(seconds=threshold)
    return HealthInfo(
        metadatabase_healthy=True, scheduler_healthy=healthy, latest_scheduler_heartbeat=heartbeat
    )

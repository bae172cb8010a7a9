"""``GET /health``: a database that cannot be reached is reported, not raised."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from tradewind.actions.health import health
from tradewind.store import Database
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

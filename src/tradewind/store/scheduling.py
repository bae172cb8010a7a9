"""Queries used by the scheduler (row locks, ready task instances, heartbeats)."""

from __future__ import annotations

from sqlalchemy.orm import Session


class SchedulerQueries:
    session: Session

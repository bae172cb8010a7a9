"""Table definitions only: no queries, no sessions, no business rules."""

from __future__ import annotations

from tradewind.models.base import Base
from tradewind.models.dags import DagCode, DagModel, DagTag, ImportErrorRecord, SerializedDagModel
from tradewind.models.jobs import Job
from tradewind.models.log import EventLog
from tradewind.models.pools import Pool
from tradewind.models.runs import DagRun, TaskInstance, XCom
from tradewind.models.users import User

__all__ = [
    "Base",
    "DagCode",
    "DagModel",
    "DagRun",
    "DagTag",
    "EventLog",
    "ImportErrorRecord",
    "Job",
    "Pool",
    "SerializedDagModel",
    "TaskInstance",
    "User",
    "XCom",
]

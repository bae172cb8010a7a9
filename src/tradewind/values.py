"""The plain values actions return and both clients hand back (a leaf module: stdlib only).

Every value here round-trips through the JSON wire format of ``api/schemas.py``: what the
HTTP client parses from a response equals what the local client gets from the action.
Datetimes are aware; :attr:`TriggerResult.execution_date` keeps the offset the caller used,
every other datetime is UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tradewind.timeutil import isoformat


def _iso(value: datetime | None) -> str:
    return "None" if value is None else isoformat(value)


#: One listed run as the store returns it and the API writes it out: :class:`DagRunInfo`'s
#: fields in order, but each date as its :func:`~tradewind.timeutil.isoformat` text (UTC):
#: building frozen values and formatting dates cost more than the rest of a 100-run listing.
RunRow = tuple[int, str, str, str, str, str | None, str | None, str, bool, dict[str, Any] | None]


def _date_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class DagRunInfo:
    """One DAG run, as ``GET …/dag_runs`` lists it."""

    id: int
    dag_id: str
    run_id: str
    state: str
    execution_date: datetime
    start_date: datetime | None = None
    end_date: datetime | None = None
    run_type: str = "manual"
    external_trigger: bool = False
    conf: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: RunRow) -> DagRunInfo:
        id, dag_id, run_id, state, date, start, end, run_type, external_trigger, conf = row
        return cls(
            id, dag_id, run_id, state, datetime.fromisoformat(date), _date_or_none(start),
            _date_or_none(end), run_type, external_trigger, conf,
        )  # fmt: skip

    def to_row(self) -> RunRow:
        start, end = self.start_date, self.end_date
        return (
            self.id, self.dag_id, self.run_id, self.state, isoformat(self.execution_date),
            None if start is None else isoformat(start), None if end is None else isoformat(end),
            self.run_type, self.external_trigger, self.conf,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class TriggerResult:
    """A run created by a trigger; ``execution_date`` keeps the caller's offset."""

    dag_id: str
    run_id: str
    execution_date: datetime
    state: str
    queued_at: datetime | None
    external_trigger: bool = True

    @property
    def message(self) -> str:
        """Airflow's wording: ``Created <DagRun … externally triggered: True>``."""
        return (
            f"Created <DagRun {self.dag_id} @ {_iso(self.execution_date)}: {self.run_id}, "
            f"state:{self.state}, queued_at: {_iso(self.queued_at)}. "
            f"externally triggered: {self.external_trigger}>"
        )


@dataclass(frozen=True, slots=True)
class LatestRun:
    """The run with the newest execution_date of one DAG."""

    dag_id: str
    execution_date: datetime
    start_date: datetime | None


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task's public attributes, every value a string as Airflow returned them."""

    dag_id: str
    task_id: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskInstanceInfo:
    """One task instance of one run; ``state`` None is Airflow's "none"."""

    dag_id: str
    task_id: str
    run_id: str
    execution_date: datetime
    state: str | None
    try_number: int
    max_tries: int
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    hostname: str
    unixname: str
    pid: int | None
    pool: str
    pool_slots: int
    queue: str
    priority_weight: int
    operator: str | None
    queued_dttm: datetime | None
    map_index: int = -1


@dataclass(frozen=True, slots=True)
class TaskLineage:
    inlets: list[Any]
    outlets: list[Any]


@dataclass(frozen=True, slots=True)
class LineageInfo:
    """Inlets and outlets of the tasks of one run that declare any."""

    dag_id: str
    execution_date: datetime
    task_ids: dict[str, TaskLineage] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PauseState:
    dag_id: str
    is_paused: bool


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """A pool and how many of its slots running and queued task instances hold."""

    id: int
    pool: str
    slots: int
    description: str
    include_deferred: bool = False
    running_slots: int = 0
    queued_slots: int = 0

    @property
    def occupied_slots(self) -> int:
        return self.running_slots + self.queued_slots

    @property
    def open_slots(self) -> int:
        return self.slots - self.occupied_slots


@dataclass(frozen=True, slots=True)
class DeleteResult:
    """What deleting a DAG removed."""

    dag_id: str
    count: int

    @property
    def message(self) -> str:
        return f"Removed {self.count} record(s)"


@dataclass(frozen=True, slots=True)
class DagSource:
    """The source of the file that defines a DAG."""

    dag_id: str
    source: str


@dataclass(frozen=True, slots=True)
class HealthInfo:
    """``GET /health``: is the database reachable, has the scheduler heartbeated lately."""

    metadatabase_healthy: bool
    scheduler_healthy: bool
    latest_scheduler_heartbeat: datetime | None

"""Schedules with Airflow 2 data-interval semantics.

A scheduled run covers one data interval ``[data_interval_start, data_interval_end)``; its
``logical_date`` is the interval's start and it is due once ``data_interval_end <= now``.
So the run for 2024-01-01 of a ``@daily`` DAG is created just after midnight on 2024-01-02.

Cron expressions are evaluated in the DAG's time zone: ``0 2 * * *`` in Europe/Amsterdam
fires at 02:00 local time all year. At the spring-forward switch a local time that does not
exist fires at the first instant after the gap; at the fall-back switch a schedule restricted
to certain hours fires once, at the first occurrence of the repeated hour, while an every-hour
schedule fires on both real instants. Every datetime returned is timezone-aware UTC.

Inputs may be naive (taken as UTC), aware stdlib datetimes, or pendulum DateTimes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradewind.errors import DagDefinitionError

PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

_DELTA_PREFIX = "timedelta:"


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run a schedule asks for. All three datetimes are aware UTC."""

    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime

    @property
    def run_after(self) -> datetime:
        """The earliest time the run may be created: the end of its data interval."""
        return self.data_interval_end

    def is_due(self, now: datetime) -> bool:
        return self.run_after <= as_utc(now)


class Schedule(ABC):
    """When a DAG runs. ``summary`` is what the database stores (see :func:`parse_schedule_summary`)."""

    summary: str | None

    @abstractmethod
    def next_run_after(
        self,
        last_logical_date: datetime | None,
        *,
        start_date: datetime | None,
        end_date: datetime | None = None,
        catchup: bool = True,
        now: datetime,
        tz: tzinfo | str = UTC,
    ) -> RunInfo | None:
        """The next run to create after the last scheduled one, or None when there is none.

        The run is returned whether or not it is due yet: create it once ``info.is_due(now)``.
        ``last_logical_date`` is the logical date of the latest *scheduled* run (None for a
        DAG that never ran). With ``catchup=False`` only the latest complete interval is
        proposed (never one before ``start_date``); ``now`` is only used for that.
        """

    @abstractmethod
    def data_interval_for(self, logical_date: datetime, tz: tzinfo | str = UTC) -> RunInfo:
        """The run for a manual trigger at ``logical_date``: the last complete interval before it."""

    @abstractmethod
    def runs_between(self, start: datetime, end: datetime, tz: tzinfo | str = UTC) -> list[RunInfo]:
        """Every scheduled run whose logical date is in ``[start, end]`` (for backfills)."""

    def next_logical_date(self, logical_date: datetime, tz: tzinfo | str = UTC) -> datetime | None:
        """The logical date of the scheduled run after ``logical_date`` (None if not periodic)."""
        return None

    def previous_logical_date(self, logical_date: datetime, tz: tzinfo | str = UTC) -> datetime | None:
        """The logical date of the scheduled run before ``logical_date`` (None if not periodic)."""
        return None

    def is_in_range(self, logical_date: datetime, tz: tzinfo | str = UTC) -> bool:
        """Whether a run at ``logical_date`` can be dated: its interval and the neighbouring
        points a task's context names (``prev_ds``, ``next_ds``, ``yesterday_ds``,
        ``tomorrow_ds``) stay within years 1-9999."""
        try:
            (
                logical_date - timedelta(days=2),
                logical_date + timedelta(days=2),
            )  # a day, and one for time zones
            self.data_interval_for(logical_date, tz)
            self.next_logical_date(logical_date, tz)
            self.previous_logical_date(logical_date, tz)
        except (OverflowError, ValueError):
            return False
        return True

    @property
    def is_periodic(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and type(other) is type(self) and other.summary == self.summary

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.summary))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary!r})"


class NullSchedule(Schedule):
    """``schedule=None``: runs only when triggered."""

    summary: str | None = None

    def next_run_after(
        self,
        last_logical_date: datetime | None,
        *,
        start_date: datetime | None,
        end_date: datetime | None = None,
        catchup: bool = True,
        now: datetime,
        tz: tzinfo | str = UTC,
    ) -> RunInfo | None:
        return None

    def data_interval_for(self, logical_date: datetime, tz: tzinfo | str = UTC) -> RunInfo:
        at = as_utc(logical_date)
        return RunInfo(at, at, at)

    def runs_between(self, start: datetime, end: datetime, tz: tzinfo | str = UTC) -> list[RunInfo]:
        return []


class OnceSchedule(NullSchedule):
    """``@once``: a single run at ``start_date``, due as soon as ``start_date`` has passed."""

    summary = "@once"

    def next_run_after(
        self,
        last_logical_date: datetime | None,
        *,
        start_date: datetime | None,
        end_date: datetime | None = None,
        catchup: bool = True,
        now: datetime,
        tz: tzinfo | str = UTC,
    ) -> RunInfo | None:
        if last_logical_date is not None or start_date is None:
            return None
        at = as_utc(start_date)
        return RunInfo(at, at, at)

    def runs_between(self, start: datetime, end: datetime, tz: tzinfo | str = UTC) -> list[RunInfo]:
        at = as_utc(start)
        return [RunInfo(at, at, at)] if at <= as_utc(end) else []


class _PeriodicSchedule(Schedule):
    """Shared Airflow 2 logic; subclasses say how to step between interval boundaries."""

    @abstractmethod
    def _after(self, at: datetime, tz: tzinfo) -> datetime:
        """The first boundary strictly after ``at``."""

    @abstractmethod
    def _before(self, at: datetime, tz: tzinfo) -> datetime:
        """The last boundary strictly before ``at``."""

    @abstractmethod
    def _align_next(self, at: datetime, tz: tzinfo) -> datetime:
        """``at`` if it is a boundary, else the next boundary."""

    @abstractmethod
    def _latest_start(self, now: datetime, start_date: datetime, tz: tzinfo) -> datetime:
        """Start of the latest interval that has ended at ``now``."""

    @property
    def is_periodic(self) -> bool:
        return True

    def next_run_after(
        self,
        last_logical_date: datetime | None,
        *,
        start_date: datetime | None,
        end_date: datetime | None = None,
        catchup: bool = True,
        now: datetime,
        tz: tzinfo | str = UTC,
    ) -> RunInfo | None:
        if start_date is None:
            return None
        zone = load_timezone(tz)
        start_date = as_utc(start_date)
        if last_logical_date is None:
            start = self._align_next(start_date, zone)
        else:
            start = self._after(as_utc(last_logical_date), zone)
        if not catchup:
            start = max(start, self._latest_start(as_utc(now), start_date, zone))
        if end_date is not None and start > as_utc(end_date):
            return None
        return RunInfo(start, start, self._after(start, zone))

    def data_interval_for(self, logical_date: datetime, tz: tzinfo | str = UTC) -> RunInfo:
        zone = load_timezone(tz)
        at = as_utc(logical_date)
        end = self._align_prev(at, zone)
        return RunInfo(at, self._before(end, zone), end)

    def _align_prev(self, at: datetime, tz: tzinfo) -> datetime:
        aligned = self._align_next(at, tz)
        return at if aligned == at else self._before(at, tz)

    def runs_between(self, start: datetime, end: datetime, tz: tzinfo | str = UTC) -> list[RunInfo]:
        zone = load_timezone(tz)
        end = as_utc(end)
        runs: list[RunInfo] = []
        current = self._align_next(as_utc(start), zone)
        while current <= end:
            following = self._after(current, zone)
            runs.append(RunInfo(current, current, following))
            current = following
        return runs

    def next_logical_date(self, logical_date: datetime, tz: tzinfo | str = UTC) -> datetime | None:
        return self._after(as_utc(logical_date), load_timezone(tz))

    def previous_logical_date(self, logical_date: datetime, tz: tzinfo | str = UTC) -> datetime | None:
        return self._before(as_utc(logical_date), load_timezone(tz))


class CronSchedule(_PeriodicSchedule):
    """A 5-field cron expression (or a preset such as ``@daily``) in the DAG's time zone."""

    def __init__(self, expression: str, summary: str | None = None) -> None:
        self.expression = expression
        self.summary = summary or expression
        hours = _croniter(expression).expanded[1]
        # Restricted hours run once per local day-hour: skip the repeated fall-back hour.
        self._skips_repeated_hour = len(hours) < 24 and hours != ["*"]

    def _is_repeat(self, local: datetime) -> bool:
        return (
            self._skips_repeated_hour
            and local.fold == 1
            and local.replace(fold=0).utcoffset() != local.utcoffset()
        )

    def _after(self, at: datetime, tz: tzinfo) -> datetime:
        it = _croniter(self.expression, at.astimezone(tz))
        while True:
            local: datetime = it.get_next(datetime)
            found = local.astimezone(UTC)
            if found > at and not self._is_repeat(local):
                return found

    def _before(self, at: datetime, tz: tzinfo) -> datetime:
        it = _croniter(self.expression, at.astimezone(tz))
        while True:
            local: datetime = it.get_prev(datetime)
            found = local.astimezone(UTC)
            if found < at and not self._is_repeat(local):
                return found

    def _align_next(self, at: datetime, tz: tzinfo) -> datetime:
        if at.second == 0 and at.microsecond == 0 and self._after(at - timedelta(minutes=1), tz) == at:
            return at
        return self._after(at, tz)

    def _latest_start(self, now: datetime, start_date: datetime, tz: tzinfo) -> datetime:
        return self._before(self._align_prev(now, tz), tz)


class DeltaSchedule(_PeriodicSchedule):
    """A fixed duration between runs, anchored at the DAG's start_date (time zones do not matter)."""

    def __init__(self, delta: timedelta) -> None:
        if delta <= timedelta(0):
            raise DagDefinitionError(f"A timedelta schedule must be positive, got {delta}")
        self.delta = delta
        seconds = delta.total_seconds()
        self.summary = _DELTA_PREFIX + (str(int(seconds)) if seconds.is_integer() else str(seconds))

    def _after(self, at: datetime, tz: tzinfo) -> datetime:
        return at + self.delta

    def _before(self, at: datetime, tz: tzinfo) -> datetime:
        return at - self.delta

    def _align_next(self, at: datetime, tz: tzinfo) -> datetime:
        return at

    def _align_prev(self, at: datetime, tz: tzinfo) -> datetime:
        return at

    def _latest_start(self, now: datetime, start_date: datetime, tz: tzinfo) -> datetime:
        completed = (now - start_date) // self.delta
        return start_date + (completed - 1) * self.delta


def parse_schedule(value: object) -> Schedule:
    """The Schedule for a DAG's ``schedule`` argument; raises DagDefinitionError if invalid.

    Accepts None (or ``"None"``), ``@once``, the presets in :data:`PRESETS`, a 5-field cron
    string, a positive ``timedelta``, or a Schedule instance.
    """
    if isinstance(value, Schedule):
        return value
    if value is None or value == "None":
        return NullSchedule()
    if isinstance(value, timedelta):
        return DeltaSchedule(value)
    if isinstance(value, str):
        return _parse_schedule_string(value.strip())
    raise DagDefinitionError(
        f"Unsupported schedule {value!r}: use a cron string, a preset, a timedelta or None"
    )


def _parse_schedule_string(value: str) -> Schedule:
    if value == "@once":
        return OnceSchedule()
    if value in PRESETS:
        return CronSchedule(PRESETS[value], summary=value)
    if value.startswith("@"):
        raise DagDefinitionError(f"Unsupported schedule preset {value!r}")
    if len(value.split()) != 5:
        raise DagDefinitionError(f"Invalid cron expression {value!r}: expected 5 fields")
    try:
        return CronSchedule(value)
    except (ValueError, KeyError, TypeError) as exc:
        raise DagDefinitionError(f"Invalid cron expression {value!r}: {exc}") from None


def parse_schedule_summary(summary: str | None) -> Schedule:
    """Rebuild a Schedule from :attr:`Schedule.summary` as stored in the database."""
    if summary is not None and summary.startswith(_DELTA_PREFIX):
        return DeltaSchedule(timedelta(seconds=float(summary[len(_DELTA_PREFIX) :])))
    return parse_schedule(summary)


def as_utc(value: datetime) -> datetime:
    """``value`` as a stdlib aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    converted = value.astimezone(UTC)
    return datetime(
        converted.year,
        converted.month,
        converted.day,
        converted.hour,
        converted.minute,
        converted.second,
        converted.microsecond,
        tzinfo=UTC,
    )


def load_timezone(value: tzinfo | str) -> tzinfo:
    """A tzinfo from an IANA name, ``"UTC"``, a ``"+HH:MM"`` offset, or a tzinfo (returned as is)."""
    if not isinstance(value, str):
        return value
    if value.upper() in ("UTC", "Z"):
        return UTC
    if value[:1] in "+-" and len(value) == 6:
        sign = 1 if value[0] == "+" else -1
        return timezone(sign * timedelta(hours=int(value[1:3]), minutes=int(value[4:6])))
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise DagDefinitionError(f"Unknown time zone {value!r}") from None


def timezone_name(tz: tzinfo) -> str:
    """The name :func:`load_timezone` reads back: IANA key, ``"UTC"`` or ``"+HH:MM"``."""
    key = getattr(tz, "key", None) or getattr(tz, "name", None)
    if isinstance(key, str) and key:
        return "UTC" if key in ("UTC", "Etc/UTC") else key
    offset = tz.utcoffset(None) or timedelta(0)
    if offset == timedelta(0):
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class _Schedulable(Protocol):
    @property
    def timetable(self) -> Schedule: ...
    @property
    def start_date(self) -> datetime | None: ...
    @property
    def end_date(self) -> datetime | None: ...
    @property
    def catchup(self) -> bool: ...
    @property
    def schedule_tz(self) -> tzinfo: ...
    def task_start_dates(self) -> Iterable[datetime | None]: ...


class ScheduledDag:
    """Schedule questions a DAG answers the same way whether it is live or deserialized.

    A subclass provides ``timetable``, ``start_date``, ``end_date``, ``catchup``,
    ``schedule_tz`` and ``task_start_dates()``.
    """

    __slots__ = ()

    def next_run_after(
        self: _Schedulable, last_logical_date: datetime | None, *, now: datetime
    ) -> RunInfo | None:
        """The next scheduled run (see :meth:`Schedule.next_run_after`); create it once due."""
        return self.timetable.next_run_after(
            last_logical_date,
            start_date=_schedule_start(self),
            end_date=self.end_date,
            catchup=self.catchup,
            now=now,
            tz=self.schedule_tz,
        )

    def data_interval_for(self: _Schedulable, logical_date: datetime) -> RunInfo:
        """The data interval of a manual run at ``logical_date``."""
        return self.timetable.data_interval_for(logical_date, self.schedule_tz)

    def runs_between(self: _Schedulable, start: datetime, end: datetime) -> list[RunInfo]:
        return self.timetable.runs_between(start, end, self.schedule_tz)


def _schedule_start(dag: _Schedulable) -> datetime | None:
    """The DAG's start_date, or else its earliest task start_date, as in Airflow."""
    if dag.start_date is not None:
        return dag.start_date
    starts = [d for d in dag.task_start_dates() if d is not None]
    return min(starts) if starts else None


def _croniter(expression: str, start: datetime | None = None) -> Any:
    """croniter, imported on first use: a DAG without a cron schedule never loads it (it is
    megabytes that every forked task process would otherwise share and unmap)."""
    from croniter import croniter

    return croniter(expression, start)

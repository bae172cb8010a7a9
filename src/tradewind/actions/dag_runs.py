"""Trigger a DAG, list its runs, read a run's state, and the newest run of every DAG."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from tradewind.actions.common import ID_MAX_LENGTH, check_text, record_event, require_run, require_serialized
from tradewind.dag.schedules import parse_schedule_summary
from tradewind.errors import BadRequest, DagNotFound, DagRunAlreadyExists, DateOutOfRange
from tradewind.models.states import DagRunState, DagRunType
from tradewind.runconf import coerce_conf
from tradewind.scheduler.nudges import nudge_schedulers
from tradewind.scheduler.specs import TaskSpec, task_specs
from tradewind.store import Store
from tradewind.timeutil import isoformat, to_utc
from tradewind.values import DagRunInfo, LatestRun, RunRow, TriggerResult

# Two triggers in the same second keep their microseconds; past that, step by a microsecond.
_EXTRA_ATTEMPTS = 16


def trigger_dag(
    store: Store,
    dag_id: str,
    *,
    now: datetime,
    run_id: str | None = None,
    conf: Mapping[str, Any] | str | None = None,
    execution_date: datetime | None = None,
    replace_microseconds: bool | None = None,
    owner: str | None = None,
) -> TriggerResult:
    """Create a manual run (queued) of a DAG, paused or not.

    Without ``execution_date`` the run is dated ``now`` without microseconds (unless
    ``replace_microseconds`` is False); if a run already has that date, the microseconds are
    kept instead, so two triggers in one second make two runs. An explicit date keeps its
    microseconds unless ``replace_microseconds`` is True, and a duplicate is an error. ``conf``
    is a mapping or a JSON string holding an object.
    """
    data = require_serialized(store, dag_id)
    conf_dict = coerce_conf(conf)
    if run_id:
        check_text(run_id, "run_id", max_length=ID_MAX_LENGTH)
    tasks = task_specs(data)
    for date in _candidate_dates(now, execution_date, replace_microseconds):
        wanted_run_id = run_id or f"manual__{isoformat(date)}"
        if _insert_run(store, data, tasks, wanted_run_id, date, conf_dict, now):
            record_event(
                store,
                "trigger_dag",
                now=now,
                owner=owner,
                dag_id=dag_id,
                run_id=wanted_run_id,
                extra={"execution_date": isoformat(date), "conf_keys": sorted(conf_dict or {})},
            )
            nudge_schedulers(store)  # they start it at once rather than at their next poll
            state = DagRunState.QUEUED.value
            return TriggerResult(dag_id, wanted_run_id, date, state, now, external_trigger=True)
        if execution_date is not None or (run_id and store.find_dag_run(dag_id, run_id=run_id)):
            break
    raise DagRunAlreadyExists(
        f"A DAG Run already exists for DAG {dag_id} at {isoformat(date)} with run id {wanted_run_id}"
    )


def _candidate_dates(now: datetime, given: datetime | None, replace: bool | None) -> Iterator[datetime]:
    if given is not None:
        yield given.replace(microsecond=0) if replace else given
        return
    if replace is not False:
        yield now.replace(microsecond=0)
    if now.microsecond or replace is False:
        yield now
    for step in range(1, _EXTRA_ATTEMPTS + 1):
        yield now + timedelta(microseconds=step)


def _insert_run(
    store: Store,
    data: dict[str, Any],
    tasks: list[TaskSpec],
    run_id: str,
    date: datetime,
    conf: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Whether the run was created; False when a run has that run_id or execution_date."""
    dag_id = data["dag_id"]
    try:
        created = store.insert_dag_run(
            dag_id,
            tasks,
            run_id=run_id,
            execution_date=to_utc(date),
            run_type=DagRunType.MANUAL.value,
            now=now,
            conf=conf,
            external_trigger=True,
            data_interval=_data_interval(data, date),
        )
    except IntegrityError:  # only the foreign key is left to refuse it: the DAG was deleted meanwhile
        raise DagNotFound(f"Dag id {dag_id} not found in DagModel") from None
    return created is not None


def _data_interval(data: dict[str, Any], date: datetime) -> tuple[datetime, datetime]:
    schedule = parse_schedule_summary(data.get("schedule"))
    tz = data.get("timezone") or "UTC"
    if not schedule.is_in_range(to_utc(date), tz):  # such a run could only fail
        raise DateOutOfRange(isoformat(date))
    info = schedule.data_interval_for(to_utc(date), tz)
    return info.data_interval_start, info.data_interval_end


def dag_run_rows(
    store: Store,
    dag_id: str,
    *,
    state: str | None = None,
    execution_date_gte: datetime | None = None,
    execution_date_lte: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[RunRow]:
    """A DAG's runs, oldest first. An unknown DAG is a BadRequest (400), as in Airflow.

    As rows (dates as ISO text): the API writes its JSON straight from them. The local client
    gets the same rows as values from :func:`dag_runs`.
    """
    rows = store.dag_runs(
        dag_id,
        state=parse_run_state(state),
        start=_utc_or_none(execution_date_gte),
        end=_utc_or_none(execution_date_lte),
        limit=_non_negative(limit, "limit"),
        offset=_non_negative(offset, "offset") or 0,
    )
    if not rows and store.find_dag(dag_id) is None:  # runs imply their DAG: look only when there are none
        raise BadRequest(f"Dag id {dag_id} not found in DagModel")
    return rows


def dag_runs(
    store: Store,
    dag_id: str,
    *,
    state: str | None = None,
    execution_date_gte: datetime | None = None,
    execution_date_lte: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[DagRunInfo]:
    """:func:`dag_run_rows` as values."""
    rows = dag_run_rows(
        store,
        dag_id,
        state=state,
        execution_date_gte=execution_date_gte,
        execution_date_lte=execution_date_lte,
        limit=limit,
        offset=offset,
    )
    return [DagRunInfo.from_row(row) for row in rows]


def parse_run_state(state: str | None) -> str | None:
    """The state filter, checked against the known run states."""
    if state is None:
        return None
    valid = [s.value for s in DagRunState]
    if state not in valid:
        raise BadRequest(f"Invalid state {state!r}: valid states are {', '.join(valid)}")
    return state


def _non_negative(value: int | None, name: str) -> int | None:
    if value is not None and value < 0:
        raise BadRequest(f"Bad value for `{name}`: {value}")
    return value


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


def dag_run_state(store: Store, dag_id: str, execution_date: datetime) -> str:
    """The state of the run at that instant."""
    require_serialized(store, dag_id)
    return require_run(store, dag_id, execution_date).state


def latest_runs(store: Store) -> list[LatestRun]:
    """For every DAG that has runs, its run with the newest execution_date."""
    return [LatestRun(run.dag_id, run.execution_date, run.start_date) for run in store.latest_dag_runs()]

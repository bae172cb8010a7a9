"""Reading the API's JSON shapes back into the values of :mod:`tradewind.values`.

The JSON client cannot import ``tradewind.api`` (it must stay importable without the web
stack), so the readers of the response shapes live here; the contract suite checks that
what they return equals what the local client gets from the actions. Fields only Tradewind
sends (``dag_id``, ``state`` … in a trigger response) have defaults, so responses of an
Airflow webserver parse too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

from tradewind.values import (
    DagRunInfo,
    DeleteResult,
    HealthInfo,
    LatestRun,
    LineageInfo,
    PoolInfo,
    TaskInstanceInfo,
    TaskLineage,
    TriggerResult,
)

_TI_DATES = frozenset({"execution_date", "start_date", "end_date", "queued_dttm"})
_TI_INTS = frozenset({"try_number", "max_tries", "pid", "pool_slots", "priority_weight", "map_index"})
_TI_TEXTS = frozenset({"hostname", "unixname", "pool", "queue"})


def date_or_none(value: Any) -> datetime | None:
    """A response date: ISO 8601, or ``""``/``None``/``"None"`` when unset."""
    if value in (None, "", "None"):
        return None
    return datetime.fromisoformat(value)


def trigger(dag_id: str, data: Mapping[str, Any]) -> TriggerResult:
    return TriggerResult(
        dag_id=data.get("dag_id", dag_id),
        run_id=data["run_id"],
        execution_date=datetime.fromisoformat(data["execution_date"]),
        state=data.get("state", "queued"),
        queued_at=date_or_none(data.get("queued_at")),
    )


def dag_run(data: Mapping[str, Any]) -> DagRunInfo:
    return DagRunInfo(
        id=int(data["id"]),
        dag_id=data["dag_id"],
        run_id=data["run_id"],
        state=data["state"],
        execution_date=datetime.fromisoformat(data["execution_date"]),
        start_date=date_or_none(data.get("start_date")),
        end_date=date_or_none(data.get("end_date")),
        run_type=data.get("run_type", "manual"),
        external_trigger=bool(data.get("external_trigger", False)),
        conf=data.get("conf"),
    )


def latest_run(data: Mapping[str, Any]) -> LatestRun:
    return LatestRun(
        data["dag_id"], datetime.fromisoformat(data["execution_date"]), date_or_none(data.get("start_date"))
    )


def task_instance(data: Mapping[str, Any]) -> TaskInstanceInfo:
    """Airflow sends every attribute as a string, ``"None"`` when unset."""
    return TaskInstanceInfo(**{f.name: _ti_value(f.name, data[f.name]) for f in fields(TaskInstanceInfo)})


def _ti_value(name: str, text: str) -> Any:
    if text == "None" and name not in _TI_TEXTS:
        return None
    if name in _TI_DATES:
        return datetime.fromisoformat(text)
    if name in _TI_INTS:
        return int(text)
    return float(text) if name == "duration" else text


def lineage(dag_id: str, execution_date: datetime, data: Mapping[str, Any]) -> LineageInfo:
    found = {
        task_id: TaskLineage(list(value["inlets"]), list(value["outlets"]))
        for task_id, value in data["task_ids"].items()
    }
    return LineageInfo(dag_id, execution_date, found)


def pool(data: Mapping[str, Any]) -> PoolInfo:
    return PoolInfo(
        id=int(data["id"]),
        pool=data["pool"],
        slots=int(data["slots"]),
        description=data.get("description") or "",
        include_deferred=bool(data.get("include_deferred", False)),
        running_slots=int(data.get("running_slots", 0)),
        queued_slots=int(data.get("queued_slots", 0)),
    )


def delete_result(dag_id: str, data: Mapping[str, Any]) -> DeleteResult:
    return DeleteResult(dag_id, int(data["count"]))


def health(data: Mapping[str, Any]) -> HealthInfo:
    scheduler = data["scheduler"]
    return HealthInfo(
        metadatabase_healthy=data["metadatabase"]["status"] == "healthy",
        scheduler_healthy=scheduler["status"] == "healthy",
        latest_scheduler_heartbeat=date_or_none(scheduler.get("latest_scheduler_heartbeat")),
    )

"""DAG <-> plain JSON dict, for the database, the scheduler and the API.

The scheduler and the API never import DAG files: they read :class:`SerializedDag` and
:class:`SerializedTask`, rebuilt from the dict :func:`serialize_dag` produced. The dict holds
only JSON types (datetimes as ISO strings, durations as seconds) and is deterministic: the
same DAG always gives the same dict, so a changed file shows as a changed hash.

Shape (other components code against these keys)::

    {"dag_id", "description", "fileloc", "schedule", "timezone", "start_date", "end_date",
     "catchup", "max_active_runs", "max_active_tasks", "params", "tags", "owners",
     "is_paused_upon_creation", "doc_md", "dagrun_timeout", "has_on_success_callback",
     "has_on_failure_callback", "task_groups", "tasks": [{"task_id", "operator", ...}]}
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from types import FunctionType, MethodType
from typing import Any

from tradewind.dag.baseoperator import BaseOperator, retry_delay_for
from tradewind.dag.dag import DAG
from tradewind.dag.params import Param
from tradewind.dag.schedules import (
    Schedule,
    ScheduledDag,
    load_timezone,
    parse_schedule_summary,
    timezone_name,
)
from tradewind.errors import TaskNotFound

FORMAT_VERSION = 1


def serialize_dag(dag: DAG) -> dict[str, Any]:
    """The JSON-safe dict for ``dag``; validates it first (raises DagDefinitionError)."""
    dag.validate()
    return {
        "__version": FORMAT_VERSION,
        "dag_id": dag.dag_id,
        "description": dag.description,
        "fileloc": dag.fileloc,
        "schedule": dag.timetable.summary,
        "timezone": timezone_name(dag.timezone),
        "start_date": _iso(dag.start_date),
        "end_date": _iso(dag.end_date),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "params": {key: _json_safe(_param_value(value)) for key, value in dag.params.items()},
        "tags": list(dag.tags),
        "owners": dag.owner,
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "doc_md": dag.doc_md,
        "dagrun_timeout": _seconds(dag.dagrun_timeout),
        "has_on_success_callback": dag.on_success_callback is not None,
        "has_on_failure_callback": dag.on_failure_callback is not None,
        "task_groups": sorted(dag.task_group_dict),
        "tasks": [_serialize_task(dag, dag.task_dict[task_id]) for task_id in sorted(dag.task_dict)],
    }


def _serialize_task(dag: DAG, task: BaseOperator) -> dict[str, Any]:
    group = task.task_group
    return {
        "task_id": task.task_id,
        "operator": task.operator_name,
        "upstream_task_ids": sorted(task.upstream_task_ids),
        "downstream_task_ids": sorted(task.downstream_task_ids),
        "trigger_rule": task.trigger_rule.value,
        "retries": task.retries,
        "retry_delay": _seconds(task.retry_delay),
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay": _seconds(task.max_retry_delay),
        "execution_timeout": _seconds(task.execution_timeout),
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "priority_weight": task.priority_weight,
        "weight_rule": task.weight_rule.value,
        "effective_priority_weight": dag.effective_priority_weight(task.task_id),
        "queue": task.queue,
        "depends_on_past": task.depends_on_past,
        "wait_for_downstream": task.wait_for_downstream,
        "owner": task.owner,
        "start_date": _iso(task.start_date),
        "end_date": _iso(task.end_date),
        "is_empty": task.is_empty,
        "do_xcom_push": task.do_xcom_push,
        "multiple_outputs": task.multiple_outputs,
        "inlets": [_json_safe(item) for item in task.inlets],
        "outlets": [_json_safe(item) for item in task.outlets],
        "template_fields": list(task.template_fields),
        "task_group": group.group_id if group is not None else None,
        "has_callbacks": _callback_names(task),
        "attrs": task_attrs(task),
    }


def _callback_names(task: BaseOperator) -> list[str]:
    names = ("on_execute_callback", "on_success_callback", "on_failure_callback", "on_retry_callback")
    return [name for name in names if getattr(task, name) is not None]


# --- the "every value a string" view of a task (the experimental API's task endpoint) --------

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_SKIPPED_ATTRS = frozenset({"dag", "task_group", "default_args"})


def task_attrs(task: BaseOperator) -> dict[str, str]:
    """The task's public attributes, each as ``str(value)``; sorted by name.

    Datetimes are ISO strings, sets are shown sorted, and memory addresses are dropped from
    reprs (``<function f>``) so the result is the same in every process.
    """
    values: dict[str, Any] = {}
    for klass in reversed(type(task).__mro__):
        values.update({k: v for k, v in vars(klass).items() if _is_public_class_attr(k, v)})
    values.update({k: v for k, v in vars(task).items() if not k.startswith("_") and k not in _SKIPPED_ATTRS})
    values["operator"] = task.operator_name
    values["dag_id"] = task.dag_id
    values["task_group"] = task.task_group.group_id if task.task_group is not None else None
    values["is_empty"] = task.is_empty
    return {name: _as_text(values[name]) for name in sorted(values)}


def _is_public_class_attr(name: str, value: Any) -> bool:
    if name.startswith("_") or name in _SKIPPED_ATTRS:
        return False
    return not isinstance(value, FunctionType | MethodType | property | staticmethod | classmethod | type)


def _as_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(repr(v) for v in value)) + "}" if value else "set()"
    if isinstance(value, FunctionType):
        return f"<function {value.__qualname__}>"
    return _ADDRESS.sub("", str(value))


# --- JSON helpers ------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _param_value(value: Any) -> Any:
    return value.value if isinstance(value, Param) else value


def _json_safe(value: Any) -> Any:
    """``value`` if JSON can hold it (recursively), else ``str(value)``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    return _as_text(value)


def _parse_datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _parse_seconds(value: float | None) -> timedelta | None:
    return timedelta(seconds=value) if value is not None else None


# --- the read side ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SerializedTask:
    """A task as the scheduler and API see it (read-only; dates aware UTC, durations timedelta)."""

    task_id: str
    operator: str
    upstream_task_ids: tuple[str, ...]
    downstream_task_ids: tuple[str, ...]
    trigger_rule: str
    retries: int
    retry_delay: timedelta
    retry_exponential_backoff: bool
    max_retry_delay: timedelta | None
    execution_timeout: timedelta | None
    pool: str
    pool_slots: int
    priority_weight: int
    weight_rule: str
    effective_priority_weight: int
    queue: str
    depends_on_past: bool
    wait_for_downstream: bool
    owner: str
    start_date: datetime | None
    end_date: datetime | None
    is_empty: bool
    do_xcom_push: bool
    multiple_outputs: bool
    inlets: tuple[Any, ...]
    outlets: tuple[Any, ...]
    template_fields: tuple[str, ...]
    task_group: str | None
    has_callbacks: tuple[str, ...]
    attrs: Mapping[str, str] = field(default_factory=dict)

    def retry_delay_for(self, try_number: int) -> timedelta:
        """How long to wait before retry number ``try_number`` (1 for the first retry)."""
        return retry_delay_for(
            self.retry_delay, self.retry_exponential_backoff, self.max_retry_delay, try_number
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "operator": self.operator,
            "upstream_task_ids": list(self.upstream_task_ids),
            "downstream_task_ids": list(self.downstream_task_ids),
            "trigger_rule": self.trigger_rule,
            "retries": self.retries,
            "retry_delay": _seconds(self.retry_delay),
            "retry_exponential_backoff": self.retry_exponential_backoff,
            "max_retry_delay": _seconds(self.max_retry_delay),
            "execution_timeout": _seconds(self.execution_timeout),
            "pool": self.pool,
            "pool_slots": self.pool_slots,
            "priority_weight": self.priority_weight,
            "weight_rule": self.weight_rule,
            "effective_priority_weight": self.effective_priority_weight,
            "queue": self.queue,
            "depends_on_past": self.depends_on_past,
            "wait_for_downstream": self.wait_for_downstream,
            "owner": self.owner,
            "start_date": _iso(self.start_date),
            "end_date": _iso(self.end_date),
            "is_empty": self.is_empty,
            "do_xcom_push": self.do_xcom_push,
            "multiple_outputs": self.multiple_outputs,
            "inlets": list(self.inlets),
            "outlets": list(self.outlets),
            "template_fields": list(self.template_fields),
            "task_group": self.task_group,
            "has_callbacks": list(self.has_callbacks),
            "attrs": dict(self.attrs),
        }


def _deserialize_task(data: Mapping[str, Any]) -> SerializedTask:
    return SerializedTask(
        task_id=data["task_id"],
        operator=data["operator"],
        upstream_task_ids=tuple(data["upstream_task_ids"]),
        downstream_task_ids=tuple(data["downstream_task_ids"]),
        trigger_rule=data["trigger_rule"],
        retries=data["retries"],
        retry_delay=_parse_seconds(data["retry_delay"]) or timedelta(0),
        retry_exponential_backoff=data["retry_exponential_backoff"],
        max_retry_delay=_parse_seconds(data["max_retry_delay"]),
        execution_timeout=_parse_seconds(data["execution_timeout"]),
        pool=data["pool"],
        pool_slots=data["pool_slots"],
        priority_weight=data["priority_weight"],
        weight_rule=data["weight_rule"],
        effective_priority_weight=data["effective_priority_weight"],
        queue=data["queue"],
        depends_on_past=data["depends_on_past"],
        wait_for_downstream=data.get("wait_for_downstream", False),
        owner=data["owner"],
        start_date=_parse_datetime(data["start_date"]),
        end_date=_parse_datetime(data["end_date"]),
        is_empty=data["is_empty"],
        do_xcom_push=data.get("do_xcom_push", True),
        multiple_outputs=data.get("multiple_outputs", False),
        inlets=tuple(data["inlets"]),
        outlets=tuple(data["outlets"]),
        template_fields=tuple(data["template_fields"]),
        task_group=data["task_group"],
        has_callbacks=tuple(data.get("has_callbacks", ())),
        attrs=dict(data.get("attrs", {})),
    )


@dataclass(frozen=True, slots=True)
class SerializedDag(ScheduledDag):
    """A DAG as the scheduler and API see it, without importing its file."""

    dag_id: str
    description: str | None
    fileloc: str
    schedule: str | None
    timezone: str
    start_date: datetime | None
    end_date: datetime | None
    catchup: bool
    max_active_runs: int
    max_active_tasks: int
    params: Mapping[str, Any]
    tags: tuple[str, ...]
    owners: str
    is_paused_upon_creation: bool | None
    doc_md: str | None
    dagrun_timeout: timedelta | None
    tasks: tuple[SerializedTask, ...]
    has_on_success_callback: bool = False
    has_on_failure_callback: bool = False
    task_groups: tuple[str, ...] = ()

    @property
    def task_dict(self) -> dict[str, SerializedTask]:
        return {t.task_id: t for t in self.tasks}

    @property
    def task_ids(self) -> list[str]:
        return [t.task_id for t in self.tasks]

    def get_task(self, task_id: str) -> SerializedTask:
        """The task called ``task_id``; raises TaskNotFound with Airflow's message."""
        for candidate in self.tasks:
            if candidate.task_id == task_id:
                return candidate
        raise TaskNotFound(f"Task {task_id} not found in dag {self.dag_id}")

    def has_task(self, task_id: str) -> bool:
        return any(t.task_id == task_id for t in self.tasks)

    @property
    def timetable(self) -> Schedule:
        return parse_schedule_summary(self.schedule)

    @property
    def tzinfo(self) -> tzinfo:
        return load_timezone(self.timezone)

    @property
    def schedule_tz(self) -> _dt.tzinfo:
        return load_timezone(self.timezone)

    def task_start_dates(self) -> Iterable[datetime | None]:
        return (t.start_date for t in self.tasks)

    def to_dict(self) -> dict[str, Any]:
        """The dict :func:`serialize_dag` produced for the same DAG."""
        return {
            "__version": FORMAT_VERSION,
            "dag_id": self.dag_id,
            "description": self.description,
            "fileloc": self.fileloc,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "start_date": _iso(self.start_date),
            "end_date": _iso(self.end_date),
            "catchup": self.catchup,
            "max_active_runs": self.max_active_runs,
            "max_active_tasks": self.max_active_tasks,
            "params": dict(self.params),
            "tags": list(self.tags),
            "owners": self.owners,
            "is_paused_upon_creation": self.is_paused_upon_creation,
            "doc_md": self.doc_md,
            "dagrun_timeout": _seconds(self.dagrun_timeout),
            "has_on_success_callback": self.has_on_success_callback,
            "has_on_failure_callback": self.has_on_failure_callback,
            "task_groups": list(self.task_groups),
            "tasks": [t.to_dict() for t in self.tasks],
        }


def deserialize_dag(data: Mapping[str, Any]) -> SerializedDag:
    """The read-only DAG for a dict made by :func:`serialize_dag` (also after a JSON round trip)."""
    return SerializedDag(
        dag_id=data["dag_id"],
        description=data["description"],
        fileloc=data["fileloc"],
        schedule=data["schedule"],
        timezone=data["timezone"],
        start_date=_parse_datetime(data["start_date"]),
        end_date=_parse_datetime(data["end_date"]),
        catchup=data["catchup"],
        max_active_runs=data["max_active_runs"],
        max_active_tasks=data["max_active_tasks"],
        params=dict(data["params"]),
        tags=tuple(data["tags"]),
        owners=data["owners"],
        is_paused_upon_creation=data["is_paused_upon_creation"],
        doc_md=data["doc_md"],
        dagrun_timeout=_parse_seconds(data["dagrun_timeout"]),
        tasks=tuple(_deserialize_task(t) for t in data["tasks"]),
        has_on_success_callback=data.get("has_on_success_callback", False),
        has_on_failure_callback=data.get("has_on_failure_callback", False),
        task_groups=tuple(data.get("task_groups", ())),
    )


def dag_hash(data: Mapping[str, Any]) -> str:
    """A stable hash of a serialized DAG, to notice that a file changed."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()

"""The template/execute context: Airflow's keys, built from plain values.

The runtime calls :func:`build_context` with what it knows about the run and passes the
result to ``task.render_template_fields(context)`` and then ``task.execute(context)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from tradewind.dag import macros
from tradewind.dag.params import NOTSET, Param
from tradewind.dag.schedules import as_utc

if TYPE_CHECKING:
    from tradewind.dag.baseoperator import BaseOperator
    from tradewind.dag.dag import DAG

Context: TypeAlias = dict[str, Any]


class XComPuller(Protocol):
    """What a task needs from its task instance (``context["ti"]``) to read upstream results."""

    def xcom_pull(
        self,
        task_ids: str | list[str] | None = None,
        key: str = "return_value",
        dag_id: str | None = None,
        run_id: str | None = None,
        default: Any = None,
    ) -> Any:
        """The XCom ``key`` pushed by ``task_ids`` in this run (``default`` when absent)."""
        ...


@dataclass(frozen=True, slots=True)
class DagRunView:
    """``context["dag_run"]`` when the runtime does not pass its own run object."""

    dag_id: str
    run_id: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    conf: dict[str, Any] = field(default_factory=dict)
    external_trigger: bool = False
    run_type: str = "scheduled"

    @property
    def execution_date(self) -> datetime:
        return self.logical_date


class ConfigView:
    """``context["conf"]``: Airflow exposed its configuration here; we expose none of ours."""

    def get(self, section: str, key: str, fallback: Any = None, **kwargs: Any) -> Any:
        return fallback

    def has_option(self, section: str, key: str) -> bool:
        return False


class _VariableAccessor:
    """``{{ var.value.x }}`` placeholder: there is no Variable store, so names are undefined."""

    def get(self, key: str, default_var: Any = None) -> Any:
        return default_var


def build_context(
    dag: DAG,
    task: BaseOperator,
    *,
    run_id: str,
    logical_date: datetime,
    data_interval_start: datetime,
    data_interval_end: datetime,
    conf: dict[str, Any] | None,
    params_override: dict[str, Any] | None = None,
    ti: XComPuller | None = None,
    dag_run: Any = None,
    try_number: int = 1,
    external_trigger: bool = False,
    run_type: str = "scheduled",
    conf_overrides_params: bool = True,
    test_mode: bool = False,
) -> Context:
    """Airflow's context keys for one try of ``task`` in one run.

    Datetimes are stdlib aware UTC. ``params`` is the DAG's params, then the task's, then
    (when ``conf_overrides_params``, Airflow 2's default) the run's conf, then
    ``params_override``; :class:`Param` values are resolved and checked.
    """
    logical = as_utc(logical_date)
    conf = dict(conf or {})
    if dag_run is None:
        dag_run = DagRunView(
            dag.dag_id, run_id, logical, as_utc(data_interval_start), as_utc(data_interval_end),
            conf, external_trigger, run_type,
        )  # fmt: skip
    context: Context = {
        **_date_keys(dag, logical),
        "data_interval_start": as_utc(data_interval_start),
        "data_interval_end": as_utc(data_interval_end),
        "run_id": run_id,
        "dag": dag,
        "task": task,
        "dag_run": dag_run,
        "ti": ti,
        "task_instance": ti,
        "try_number": try_number,
        "params": merge_params(dag, task, conf if conf_overrides_params else {}, params_override),
        "macros": macros,
        "conf": ConfigView(),
        "test_mode": test_mode,
        "var": {"value": _VariableAccessor(), "json": _VariableAccessor()},
        "conn": None,
        "inlets": task.inlets,
        "outlets": task.outlets,
        "templates_dict": getattr(task, "templates_dict", None),
        "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{logical.strftime('%Y%m%d')}",
        "expanded_ti_count": None,
        "map_index": -1,
    }
    return context


_DATE_KEYS: dict[tuple[int, Any, datetime], tuple[Any, dict[str, Any]]] = {}
_DATE_KEYS_LIMIT = 256


def warm_date_keys(dag: DAG, logical_date: datetime) -> None:
    """Compute the date keys of a run ahead (a task runner does, before it forks its tasks).

    They depend only on the DAG's schedule and the logical date, and cost a schedule lookup
    and several ``strptime`` calls; every task of the run then reuses them.
    """
    _date_keys(dag, as_utc(logical_date))


def _date_keys(dag: DAG, logical: datetime) -> dict[str, Any]:
    timetable = dag.timetable
    key = (id(timetable), dag.timezone, logical)
    cached = _DATE_KEYS.get(key)
    if cached is not None and cached[0] is timetable:  # the entry holds it: ids are not reused
        return cached[1]
    keys = _compute_date_keys(dag, logical)
    if len(_DATE_KEYS) >= _DATE_KEYS_LIMIT:
        _DATE_KEYS.clear()
    _DATE_KEYS[key] = (timetable, keys)
    return keys


def _compute_date_keys(dag: DAG, logical: datetime) -> dict[str, Any]:
    previous = dag.timetable.previous_logical_date(logical, dag.timezone)
    following = dag.timetable.next_logical_date(logical, dag.timezone)
    ds = logical.strftime("%Y-%m-%d")
    return {
        "ds": ds,
        "ds_nodash": ds.replace("-", ""),
        "ts": logical.isoformat(),
        "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": logical.isoformat().replace("-", "").replace(":", ""),
        "logical_date": logical,
        "execution_date": logical,
        "yesterday_ds": macros.ds_add(ds, -1),
        "yesterday_ds_nodash": macros.ds_add(ds, -1).replace("-", ""),
        "tomorrow_ds": macros.ds_add(ds, 1),
        "tomorrow_ds_nodash": macros.ds_add(ds, 1).replace("-", ""),
        "prev_execution_date": previous,
        "next_execution_date": following,
        "prev_ds": _ds(previous),
        "prev_ds_nodash": _ds(previous, "%Y%m%d"),
        "next_ds": _ds(following),
        "next_ds_nodash": _ds(following, "%Y%m%d"),
        "prev_data_interval_start_success": None,
        "prev_data_interval_end_success": None,
        "prev_start_date_success": None,
    }


def _ds(value: datetime | None, fmt: str = "%Y-%m-%d") -> str | None:
    return value.strftime(fmt) if value is not None else None


def merge_params(
    dag: DAG,
    task: BaseOperator,
    conf: dict[str, Any],
    override: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Plain param values: DAG params < task params < conf < override."""
    declared: dict[str, Any] = {**dag.params, **task.params}
    given = {**conf, **(override or {})}
    merged: dict[str, Any] = {}
    for key, value in declared.items():
        supplied = given.get(key, NOTSET)
        if isinstance(value, Param):
            merged[key] = value.resolve(supplied)
        else:
            merged[key] = value if supplied is NOTSET else supplied
    for key, value in given.items():
        merged.setdefault(key, value)
    return merged


_CURRENT: list[dict[str, Any]] = []


@contextmanager
def set_current_context(context: dict[str, Any]) -> Iterator[None]:
    """Make ``context`` what :func:`get_current_context` returns while a task runs."""
    push_current_context(context)
    try:
        yield
    finally:
        pop_current_context()


def push_current_context(context: dict[str, Any]) -> None:
    """The bare form of :func:`set_current_context`: pair it with :func:`pop_current_context`."""
    _CURRENT.append(context)


def pop_current_context() -> None:
    _CURRENT.pop()


def get_current_context() -> dict[str, Any]:
    """The running task's context, for code that cannot take it as an argument (as in Airflow 2)."""
    if not _CURRENT:
        raise RuntimeError("get_current_context() can only be called while a task is running")
    return _CURRENT[-1]

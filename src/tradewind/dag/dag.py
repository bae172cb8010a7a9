"""DAG: a named graph of tasks with a schedule.

A DAG is a context manager: operators and task groups created inside ``with DAG(...)``
join it. Duplicate task ids are rejected when a task is added; cycles are found by
:meth:`DAG.validate`, which the loader and the serializer call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tradewind.dag import _stack
from tradewind.dag._sites import Site, located, user_site
from tradewind.dag.ids import validate_id
from tradewind.dag.schedules import (
    Schedule,
    ScheduledDag,
    as_utc,
    load_timezone,
    parse_schedule,
    timezone_name,
)
from tradewind.dag.taskgroup import TaskGroup
from tradewind.dag.templating import make_jinja_env
from tradewind.dag.trigger_rules import WeightRule
from tradewind.errors import DagDefinitionError, TaskNotFound

if TYPE_CHECKING:
    import jinja2

    from tradewind.dag.baseoperator import BaseOperator

Callback = Callable[..., Any]

DEFAULT_SCHEDULE = timedelta(days=1)
"""Airflow 2's default when neither ``schedule`` nor ``schedule_interval`` is given."""

_UNSET: Any = object()

# Airflow DAG arguments we accept so existing files load, and do not act on.
_IGNORED_ARGS = frozenset(
    {
        "access_control",
        "default_view",
        "orientation",
        "sla_miss_callback",
        "owner_links",
        "auto_register",
        "fail_stop",
        "dag_display_name",
        "full_filepath",
        "max_consecutive_failed_dag_runs",
        "on_skipped_callback",
        "safe",
    }
)


class DAG(ScheduledDag):
    """A workflow: tasks, their dependencies, and when to run them.

    ``schedule`` takes a cron string, a preset (``@daily``...), a ``timedelta`` or None
    (``schedule_interval`` is the Airflow alias). Naive ``start_date``/``end_date`` are read
    in ``timezone`` (default: the start date's own zone, else UTC); all dates are stored
    as aware UTC and ``timezone`` is kept for evaluating cron expressions.
    """

    def __init__(
        self,
        dag_id: str,
        description: str | None = None,
        schedule: Any = _UNSET,
        schedule_interval: Any = _UNSET,
        timetable: Schedule | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        catchup: bool = True,
        max_active_runs: int = 16,
        max_active_tasks: int | None = None,
        concurrency: int | None = None,
        default_args: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        is_paused_upon_creation: bool | None = None,
        doc_md: str | None = None,
        dagrun_timeout: timedelta | None = None,
        on_failure_callback: Callback | None = None,
        on_success_callback: Callback | None = None,
        user_defined_macros: dict[str, Any] | None = None,
        user_defined_filters: dict[str, Callable[..., Any]] | None = None,
        template_searchpath: str | Iterable[str] | None = None,
        template_undefined: type[jinja2.Undefined] | None = None,
        render_template_as_native_obj: bool = False,
        jinja_environment_kwargs: dict[str, Any] | None = None,
        timezone: tzinfo | str | None = None,
        fileloc: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._definition_site: Site = user_site()
        self.fileloc = fileloc or self._definition_site[0]
        self._reject_unknown(kwargs)
        self.dag_id = validate_id(dag_id, "dag_id", self._definition_site)
        self.description = description
        self.default_args: dict[str, Any] = dict(default_args or {})
        self._set_schedule(schedule, schedule_interval, timetable)
        self._set_dates(start_date, end_date, timezone)
        self.catchup = catchup
        self.max_active_runs = max_active_runs
        self.max_active_tasks = max_active_tasks or concurrency or 16
        self.params: dict[str, Any] = {**self.default_args.get("params", {}), **(params or {})}
        self.tags: list[str] = list(tags or [])
        self.is_paused_upon_creation = is_paused_upon_creation
        self.doc_md = doc_md
        self.dagrun_timeout = dagrun_timeout
        self.on_failure_callback = on_failure_callback
        self.on_success_callback = on_success_callback
        self.user_defined_macros = user_defined_macros
        self.user_defined_filters = user_defined_filters
        self.template_searchpath = _as_paths(template_searchpath)
        self.template_undefined = template_undefined
        self.render_template_as_native_obj = render_template_as_native_obj
        self.jinja_environment_kwargs = jinja_environment_kwargs
        self.task_dict: dict[str, BaseOperator] = {}
        self.task_group = TaskGroup(None, dag=self, default_args=None)
        self._groups: dict[str, TaskGroup] = {}
        self._jinja_env: jinja2.Environment | None = None

    def _reject_unknown(self, kwargs: dict[str, Any]) -> None:
        unknown = sorted(set(kwargs) - _IGNORED_ARGS)
        if unknown:
            message = f"Invalid arguments were passed to DAG: {', '.join(unknown)}"
            raise DagDefinitionError(located(self._definition_site, message))

    def _set_schedule(self, schedule: Any, schedule_interval: Any, timetable: Schedule | None) -> None:
        given = [v for v in (schedule, schedule_interval) if v is not _UNSET]
        if timetable is not None:
            given.append(timetable)
        if len(given) > 1:
            message = "Pass only one of schedule, schedule_interval and timetable"
            raise DagDefinitionError(located(self._definition_site, message))
        self.schedule_interval = given[0] if given else DEFAULT_SCHEDULE
        try:
            self.timetable: Schedule = parse_schedule(self.schedule_interval)
        except DagDefinitionError as exc:
            raise DagDefinitionError(located(self._definition_site, exc.message)) from None

    def _set_dates(
        self, start_date: datetime | None, end_date: datetime | None, tz: tzinfo | str | None
    ) -> None:
        start_date = start_date or self.default_args.get("start_date")
        end_date = end_date or self.default_args.get("end_date")
        if tz is None and start_date is not None and start_date.tzinfo is not None:
            tz = start_date.tzinfo
        # Normalise pendulum (or any) zones to stdlib ones so dates compare and pickle plainly.
        if isinstance(tz, str):
            tz = load_timezone(tz)
        self.timezone: tzinfo = load_timezone(timezone_name(tz)) if tz is not None else UTC
        self.start_date = self.localize(start_date)
        self.end_date = self.localize(end_date)

    def localize(self, value: datetime | None) -> datetime | None:
        """``value`` as aware UTC; a naive value is read as wall-clock time in the DAG's zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.timezone)
        return as_utc(value)

    # --- tasks --------------------------------------------------------------------

    def add_task(self, task: BaseOperator) -> None:
        """Add ``task``; raises DagDefinitionError if its id is taken by another task."""
        existing = self.task_dict.get(task.task_id)
        if existing is task:
            return
        if existing is not None:
            message = f"Task id '{task.task_id}' has already been added to the DAG {self.dag_id}"
            raise DagDefinitionError(located(task._definition_site, message))
        task.start_date = self._task_date(task.start_date, self.start_date, max)
        task.end_date = self._task_date(task.end_date, self.end_date, min)
        task.dag = self
        self.task_dict[task.task_id] = task

    def _task_date(
        self, own: datetime | None, dags: datetime | None, pick: Callable[[datetime, datetime], datetime]
    ) -> datetime | None:
        """The task's date bounded by the DAG's, as Airflow does (later start, earlier end)."""
        own = self.localize(own)
        if own is None or dags is None:
            return own or dags
        return pick(own, dags)

    def add_tasks(self, tasks: Iterable[BaseOperator]) -> None:
        for task in tasks:
            self.add_task(task)

    def register_group(self, group: TaskGroup) -> None:
        group_id = group.group_id
        assert group_id is not None
        if group_id in self._groups:
            message = f"TaskGroup id '{group_id}' has already been added to the DAG {self.dag_id}"
            raise DagDefinitionError(located(group._definition_site, message))
        self._groups[group_id] = group

    @property
    def task_group_dict(self) -> dict[str, TaskGroup]:
        return dict(self._groups)

    @property
    def tasks(self) -> list[BaseOperator]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    def has_task(self, task_id: str) -> bool:
        return task_id in self.task_dict

    def get_task(self, task_id: str) -> BaseOperator:
        """The task called ``task_id``; raises TaskNotFound."""
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise TaskNotFound(f"Task {task_id} not found in dag {self.dag_id}") from None

    @property
    def roots(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.downstream_task_ids]

    @property
    def owner(self) -> str:
        """The distinct task owners, sorted and comma-joined (Airflow's ``DagModel.owners``)."""
        return ", ".join(sorted({t.owner for t in self.task_dict.values()}))

    @property
    def folder(self) -> str:
        return os.path.dirname(self.fileloc)

    def relatives(self, task_id: str, *, upstream: bool = False) -> set[str]:
        """Ids of every task transitively upstream (or downstream) of ``task_id``."""
        found: set[str] = set()
        pending = [task_id]
        while pending:
            task = self.task_dict[pending.pop()]
            for other in task.upstream_task_ids if upstream else task.downstream_task_ids:
                if other not in found:
                    found.add(other)
                    pending.append(other)
        return found

    # --- validation ---------------------------------------------------------------

    def validate(self) -> None:
        """Raise DagDefinitionError if the DAG is invalid: an edge to an unknown task, or a cycle."""
        for task in self.task_dict.values():
            missing = sorted((task.upstream_task_ids | task.downstream_task_ids) - set(self.task_dict))
            if missing:
                message = f"Task {task.task_id} is wired to tasks not in DAG {self.dag_id}: {missing}"
                raise DagDefinitionError(located(task._definition_site, message))
        cycle = self.find_cycle()
        if cycle:
            first = self.task_dict[cycle[0]]
            message = f"Cycle detected in DAG {self.dag_id}: {' -> '.join(cycle)}"
            raise DagDefinitionError(located(first._definition_site or self._definition_site, message))

    def find_cycle(self) -> list[str] | None:
        """A cycle as a list of task ids (first id repeated at the end), or None."""
        done: set[str] = set()
        for start in sorted(self.task_dict):
            if start not in done:
                cycle = self._cycle_from(start, done)
                if cycle:
                    return cycle
        return None

    def _cycle_from(self, start: str, done: set[str]) -> list[str] | None:
        """Iterative depth-first search (deep DAGs would overflow recursion)."""
        path: list[str] = [start]
        on_path = {start}
        stack = [iter(sorted(self.task_dict[start].downstream_task_ids))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if child in on_path:
                return [*path[path.index(child) :], child]
            if child not in done:
                path.append(child)
                on_path.add(child)
                stack.append(iter(sorted(self.task_dict[child].downstream_task_ids)))
        return None

    # --- priority -----------------------------------------------------------------

    def effective_priority_weight(self, task_id: str) -> int:
        """The task's weight per its weight_rule (downstream: own + all downstream tasks' own)."""
        task = self.get_task(task_id)
        if task.weight_rule == WeightRule.ABSOLUTE:
            return task.priority_weight
        others = self.relatives(task_id, upstream=task.weight_rule == WeightRule.UPSTREAM)
        return task.priority_weight + sum(self.task_dict[i].priority_weight for i in others)

    # --- schedule (next_run_after, data_interval_for, runs_between: see ScheduledDag) ---

    @property
    def schedule_tz(self) -> tzinfo:
        return self.timezone

    def task_start_dates(self) -> Iterable[datetime | None]:
        return (t.start_date for t in self.task_dict.values())

    # --- templating and context ---------------------------------------------------

    def get_template_env(self) -> jinja2.Environment:
        """The Jinja environment for this DAG's tasks (built once)."""
        if self._jinja_env is None:
            self._jinja_env = make_jinja_env(self)
        return self._jinja_env

    def __enter__(self) -> DAG:
        _stack.push_dag(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _stack.pop_dag()

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"


def _as_paths(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)

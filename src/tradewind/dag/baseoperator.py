"""BaseOperator: the task definition every operator extends.

Subclasses implement ``execute(self, context)`` and may declare ``template_fields`` (names of
attributes rendered with Jinja before ``execute``), ``template_ext`` and ``ui_color``.

``default_args`` (from the DAG, its task groups, or the ``default_args=`` argument) fill any
``__init__`` argument of the operator's class hierarchy that was not passed; keys no
``__init__`` accepts are silently ignored. Any other unknown keyword raises DagDefinitionError.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from tradewind.dag import _stack
from tradewind.dag._sites import Site, located, user_site
from tradewind.dag.branching import BranchDecision
from tradewind.dag.ids import validate_id
from tradewind.dag.relations import DependencyMixin
from tradewind.dag.schedules import as_utc
from tradewind.dag.templating import make_jinja_env, needs_jinja, render_value
from tradewind.dag.trigger_rules import TriggerRule, WeightRule, parse_trigger_rule, parse_weight_rule
from tradewind.dag.xcomarg import RETURN_KEY, XComArg, iter_xcom_args
from tradewind.errors import DagDefinitionError

if TYPE_CHECKING:
    import jinja2

    from tradewind.dag.context import Context
    from tradewind.dag.dag import DAG
    from tradewind.dag.taskgroup import TaskGroup

Callback = Callable[..., Any]
_Init = TypeVar("_Init", bound=Callable[..., None])

# Airflow arguments we accept so existing DAG files load, and do not act on.
_IGNORED_ARGS = frozenset(
    {
        "provide_context",
        "sla",
        "resources",
        "run_as_user",
        "task_concurrency",
        "max_active_tis_per_dag",
        "max_active_tis_per_dagrun",
        "ignore_first_depends_on_past",
        "wait_for_past_depends_before_skipping",
        "on_skipped_callback",
        "owner_links",
        "map_index_template",
        "doc",
        "doc_json",
        "doc_yaml",
        "doc_rst",
        "task_display_name",
        "logger_name",
        "allow_nested_operators",
        "start_from_trigger",
        "start_trigger_args",
    }
)

log = logging.getLogger("tradewind.task")


def _accepted_args(cls: type) -> frozenset[str]:
    """Names every ``__init__`` in the class hierarchy accepts (cached per class)."""
    cached: frozenset[str] | None = cls.__dict__.get("_accepted_args_cache")
    if cached is not None:
        return cached
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for param in inspect.signature(init).parameters.values():
            if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                names.add(param.name)
    names.discard("self")
    accepted = frozenset(names)
    type.__setattr__(cls, "_accepted_args_cache", accepted)
    return accepted


def _positional_names(cls: type, count: int) -> list[str]:
    if not count:
        return []
    init = next(k.__dict__["__init__"] for k in cls.__mro__ if "__init__" in k.__dict__)
    params = list(inspect.signature(init).parameters.values())[1:]
    return [p.name for p in params[:count]]


def _apply_defaults(init: _Init) -> _Init:
    """Wrap an ``__init__`` so default_args are merged in once, at the outermost call."""

    @functools.wraps(init)
    def wrapper(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
        if self.__dict__.get("_init_started"):
            init(self, *args, **kwargs)
            return
        self.__dict__["_init_started"] = True
        self.__dict__["_definition_site"] = user_site()
        _merge_default_args(type(self), args, kwargs)
        try:
            init(self, *args, **kwargs)
        except TypeError as exc:
            if exc.__traceback__ is None or exc.__traceback__.tb_next is not None:
                raise  # raised inside __init__, not by the call's arguments
            message = f"{type(self).__name__}: {exc}"
            raise DagDefinitionError(located(self._definition_site, message)) from None
        self._wire_template_xcom_args()

    return wrapper  # type: ignore[return-value]


def _merge_default_args(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    dag = kwargs.get("dag") or _stack.current_dag()
    group = kwargs.get("task_group") or _stack.current_group(dag)
    defaults = {**(dag.default_args if dag else {}), **(group.default_args if group else {})}
    defaults.update(kwargs.pop("default_args", None) or {})
    if not defaults:
        return
    accepted = _accepted_args(cls)
    given = set(kwargs) | set(_positional_names(cls, len(args)))
    for key, value in defaults.items():
        if key in accepted and key not in given:
            kwargs[key] = value


def _as_timedelta(value: timedelta | float | None, name: str) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    raise DagDefinitionError(f"{name} must be a timedelta or a number of seconds, got {value!r}")


_NO_DEFAULT = object()
_EMPTY_AS_IS = frozenset({list, dict, tuple, set, str})  # empty, rendering gives back an equal value


class BaseOperator(DependencyMixin):
    """A task definition. Subclasses implement :meth:`execute`."""

    template_fields: ClassVar[Sequence[str]] = ()
    template_ext: ClassVar[Sequence[str]] = ()
    template_fields_renderers: ClassVar[dict[str, str]] = {}
    ui_color: ClassVar[str] = "#fff"
    ui_fgcolor: ClassVar[str] = "#000"
    _is_empty_operator: ClassVar[bool] = False

    # The defaults of __init__, read through the class until an instance is given another
    # value (see _set_shared). CPython shares one key table among instances of up to 29
    # attributes: past that, each operator's __dict__ grows from ~0.3 to ~1.6 KB, and a
    # runner pays for every imported operator's pages at every fork.
    owner: str = "airflow"
    email: str | Iterable[str] | None = None
    email_on_retry: bool = True
    email_on_failure: bool = True
    retries: int = 0
    retry_delay: timedelta = timedelta(seconds=300)
    retry_exponential_backoff: bool = False
    max_retry_delay: timedelta | None = None
    depends_on_past: bool = False
    wait_for_downstream: bool = False
    priority_weight: int = 1
    weight_rule: WeightRule = WeightRule.DOWNSTREAM
    queue: str = "default"
    pool: str = "default_pool"
    pool_slots: int = 1
    trigger_rule: TriggerRule = TriggerRule.ALL_SUCCESS
    execution_timeout: timedelta | None = None
    on_execute_callback: Callback | None = None
    on_failure_callback: Callback | None = None
    on_success_callback: Callback | None = None
    on_retry_callback: Callback | None = None
    do_xcom_push: bool = True
    multiple_outputs: bool = False
    doc_md: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            type.__setattr__(cls, "__init__", _apply_defaults(cls.__dict__["__init__"]))

    def __init__(
        self,
        task_id: str,
        owner: str = "airflow",
        email: str | Iterable[str] | None = None,
        email_on_retry: bool = True,
        email_on_failure: bool = True,
        retries: int | None = 0,
        retry_delay: timedelta | float = timedelta(seconds=300),
        retry_exponential_backoff: bool = False,
        max_retry_delay: timedelta | float | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        depends_on_past: bool = False,
        wait_for_downstream: bool = False,
        dag: DAG | None = None,
        params: dict[str, Any] | None = None,
        default_args: dict[str, Any] | None = None,
        priority_weight: int = 1,
        weight_rule: str = WeightRule.DOWNSTREAM,
        queue: str = "default",
        pool: str | None = None,
        pool_slots: int = 1,
        execution_timeout: timedelta | float | None = None,
        on_execute_callback: Callback | None = None,
        on_failure_callback: Callback | None = None,
        on_success_callback: Callback | None = None,
        on_retry_callback: Callback | None = None,
        trigger_rule: str = TriggerRule.ALL_SUCCESS,
        executor_config: dict[str, Any] | None = None,
        do_xcom_push: bool = True,
        multiple_outputs: bool = False,
        inlets: Any = None,
        outlets: Any = None,
        task_group: TaskGroup | None = None,
        doc_md: str | None = None,
        **kwargs: Any,
    ) -> None:
        site: Site | None = self.__dict__.get("_definition_site")
        self._reject_unknown(kwargs, task_id, site)
        validate_id(task_id, "task_id", site)
        shared = self._set_shared
        shared("owner", owner)
        shared("email", email)
        shared("email_on_retry", email_on_retry)
        shared("email_on_failure", email_on_failure)
        self._set_retry_options(retries, retry_delay, retry_exponential_backoff, max_retry_delay, site)
        # Naive dates are read in the DAG's time zone once the task joins a DAG (see DAG.add_task).
        self.start_date = start_date
        self.end_date = end_date
        shared("depends_on_past", depends_on_past)
        shared("wait_for_downstream", wait_for_downstream)
        self.params: dict[str, Any] = dict(params or {})
        self._set_scheduling_options(
            priority_weight, weight_rule, queue, pool, pool_slots, trigger_rule, site
        )
        shared("execution_timeout", _as_timedelta(execution_timeout, "execution_timeout"))
        shared("on_execute_callback", on_execute_callback)
        shared("on_failure_callback", on_failure_callback)
        shared("on_success_callback", on_success_callback)
        shared("on_retry_callback", on_retry_callback)
        self.executor_config = executor_config or {}
        shared("do_xcom_push", do_xcom_push)
        shared("multiple_outputs", multiple_outputs)
        self.inlets = _as_list(inlets)
        self.outlets = _as_list(outlets)
        shared("doc_md", doc_md)
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self._attach(task_id, dag, task_group)

    def _reject_unknown(self, kwargs: dict[str, Any], task_id: str, site: Site | None) -> None:
        unknown = sorted(set(kwargs) - _IGNORED_ARGS)
        if unknown:
            raise DagDefinitionError(
                located(
                    site,
                    f"Invalid arguments were passed to {type(self).__name__} (task_id: {task_id}). "
                    f"Invalid arguments were: {', '.join(unknown)}",
                )
            )

    def _set_retry_options(
        self,
        retries: int | None,
        retry_delay: timedelta | float,
        exponential: bool,
        max_retry_delay: timedelta | float | None,
        site: Site | None,
    ) -> None:
        try:
            count = int(retries or 0)
        except (TypeError, ValueError):
            raise DagDefinitionError(located(site, f"retries must be an integer, got {retries!r}")) from None
        if count < 0:
            raise DagDefinitionError(located(site, f"retries must be >= 0, got {count}"))
        self._set_shared("retries", count)
        self._set_shared("retry_delay", _as_timedelta(retry_delay, "retry_delay") or timedelta(0))
        self._set_shared("retry_exponential_backoff", exponential)
        self._set_shared("max_retry_delay", _as_timedelta(max_retry_delay, "max_retry_delay"))

    def _set_scheduling_options(
        self,
        priority_weight: int,
        weight_rule: str,
        queue: str,
        pool: str | None,
        pool_slots: int,
        trigger_rule: str,
        site: Site | None,
    ) -> None:
        try:
            self._set_shared("weight_rule", parse_weight_rule(weight_rule))
            self._set_shared("trigger_rule", parse_trigger_rule(trigger_rule))
        except DagDefinitionError as exc:
            raise DagDefinitionError(located(site, exc.message)) from None
        if not isinstance(pool_slots, int) or pool_slots < 1:
            raise DagDefinitionError(located(site, f"pool slots for a task must be >= 1, got {pool_slots!r}"))
        self._set_shared("priority_weight", int(priority_weight))
        self._set_shared("queue", queue)
        self._set_shared("pool", pool or "default_pool")
        self._set_shared("pool_slots", pool_slots)

    def _set_shared(self, name: str, value: Any) -> None:
        """``setattr(self, name, value)``, unless the class already gives that very value.

        A value set on the instance before (by a subclass's ``__init__``) is dropped, so the
        instance reads the same as if it had been set.
        """
        default = getattr(type(self), name, _NO_DEFAULT)
        if default is value or (type(default) is type(value) and default == value):
            self.__dict__.pop(name, None)
        else:
            setattr(self, name, value)

    def _attach(self, task_id: str, dag: DAG | None, task_group: TaskGroup | None) -> None:
        dag = dag or (task_group.dag if task_group else None) or _stack.current_dag()
        group = task_group or _stack.current_group(dag)
        self.task_group = group
        self.task_id = group.child_id(task_id) if group is not None else task_id
        self.dag: DAG | None = None
        if group is not None and dag is None:
            dag = group.dag
        if dag is not None:
            dag.add_task(self)
        else:
            self.start_date = as_utc(self.start_date) if self.start_date is not None else None
            self.end_date = as_utc(self.end_date) if self.end_date is not None else None
        if group is not None:
            group.add(self)

    def _wire_template_xcom_args(self) -> None:
        """Passing ``t1.output`` (or an XComArg in a list/dict) to a templated field wires ``t1``."""
        for name in self.template_fields:
            for arg in iter_xcom_args(getattr(self, name, None)):
                self.set_upstream(arg.operator)

    # --- identity -----------------------------------------------------------------

    @property
    def dag_id(self) -> str | None:
        return self.dag.dag_id if self.dag is not None else None

    @property
    def operator_name(self) -> str:
        """The class name shown to users and stored as ``operator``."""
        return type(self).__name__

    @property
    def is_empty(self) -> bool:
        """True when the scheduler may mark the task successful without running it."""
        return (
            self._is_empty_operator
            and not self.on_execute_callback
            and not self.on_success_callback
            and not self.outlets
        )

    @property
    def output(self) -> XComArg:
        """This task's return value, as an argument for other tasks."""
        return XComArg(self)

    @property
    def log(self) -> logging.Logger:
        return log

    def __repr__(self) -> str:
        return f"<Task({type(self).__name__}): {self.task_id}>"

    # --- relations ----------------------------------------------------------------

    @property
    def roots(self) -> list[BaseOperator]:
        return [self]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self]

    def add_edge_to(self, downstream: BaseOperator) -> None:
        """Make ``downstream`` run after this task; both end up in the same DAG."""
        dag = self._shared_dag(downstream)
        if downstream.task_id not in dag.task_dict:
            dag.add_task(downstream)
        if self.task_id not in dag.task_dict:
            dag.add_task(self)
        self.downstream_task_ids.add(downstream.task_id)
        downstream.upstream_task_ids.add(self.task_id)

    def _shared_dag(self, other: BaseOperator) -> DAG:
        if self.dag is not None and other.dag is not None and self.dag is not other.dag:
            raise DagDefinitionError(
                located(
                    other._definition_site,
                    f"Tried to set relationships between tasks in more than one DAG: "
                    f"{self.task_id} ({self.dag.dag_id}) and {other.task_id} ({other.dag.dag_id})",
                )
            )
        dag = self.dag or other.dag
        if dag is None:
            raise DagDefinitionError(
                located(
                    other._definition_site,
                    f"Tried to create relationships between tasks that don't have DAGs yet: "
                    f"{self.task_id} and {other.task_id}",
                )
            )
        return dag

    @property
    def upstream_list(self) -> list[BaseOperator]:
        return [self._require_dag().task_dict[i] for i in sorted(self.upstream_task_ids)]

    @property
    def downstream_list(self) -> list[BaseOperator]:
        return [self._require_dag().task_dict[i] for i in sorted(self.downstream_task_ids)]

    def get_direct_relative_ids(self, upstream: bool = False) -> set[str]:
        return set(self.upstream_task_ids if upstream else self.downstream_task_ids)

    def get_flat_relative_ids(self, upstream: bool = False) -> set[str]:
        """Ids of every task upstream (or downstream) of this one, transitively."""
        return self._require_dag().relatives(self.task_id, upstream=upstream)

    def _require_dag(self) -> DAG:
        if self.dag is None:
            raise DagDefinitionError(f"Operator {self.task_id} has not been assigned to a DAG yet")
        return self.dag

    @property
    def _definition_site(self) -> Site | None:
        site: Site | None = self.__dict__.get("_definition_site")
        return site

    # --- running ------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Do the work; the return value is pushed to XCom as ``return_value``."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute(context)")

    def prepare_for_execution(self) -> Self:
        """A shallow copy to render and execute, so the DAG's own task keeps its templates.

        ``render_template_fields`` replaces attributes in place (as in Airflow); a runtime
        that runs the same DAG object more than once renders a copy instead.
        """
        return copy.copy(self)

    def get_template_env(self) -> jinja2.Environment:
        if self.dag is not None:
            return self.dag.get_template_env()
        return make_jinja_env(None)

    def render_template(
        self, content: Any, context: Context, jinja_env: jinja2.Environment | None = None
    ) -> Any:
        """``content`` rendered with Jinja (see :func:`tradewind.dag.templating.render_value`)."""
        return render_value(content, context, jinja_env or self.get_template_env, self.template_ext)

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render every attribute named in ``template_fields`` in place, before ``execute``."""
        env = jinja_env or self.get_template_env
        for name in self.template_fields:
            value = getattr(self, name)
            if value is None or (type(value) in _EMPTY_AS_IS and not value):
                continue  # nothing to render (op_args=[] and op_kwargs={} of most Python tasks)
            setattr(self, name, render_value(value, context, env, self.template_ext))

    def prepare_to_fork(self) -> None:
        """Compute now what every attempt would compute alike; forked attempts inherit it.

        The runner calls it before forking a task process (an optional hook).
        """

    def needs_jinja(self) -> bool:
        """Whether rendering this task's fields would use Jinja (most tasks' do not)."""
        return any(needs_jinja(getattr(self, name), self.template_ext) for name in self.template_fields)

    def xcom_values(self, result: Any) -> list[tuple[str, Any]]:
        """The (key, value) XComs to push after ``execute`` returned ``result``.

        Empty when ``do_xcom_push`` is off or the result is None. With ``multiple_outputs``
        a dict result is pushed whole as ``return_value`` and also key by key.
        """
        if isinstance(result, BranchDecision):
            result = result.value
        if not self.do_xcom_push or result is None:
            return []
        pushes: list[tuple[str, Any]] = [(RETURN_KEY, result)]
        if self.multiple_outputs:
            if not isinstance(result, dict) or not all(isinstance(k, str) for k in result):
                raise TypeError(
                    f"Returned output was type {type(result).__name__} expected dictionary for multiple_outputs"
                )
            pushes.extend(result.items())
        return pushes

    def retry_delay_for(self, try_number: int) -> timedelta:
        """How long to wait before retry number ``try_number`` (1 for the first retry)."""
        return retry_delay_for(
            self.retry_delay, self.retry_exponential_backoff, self.max_retry_delay, try_number
        )


MAX_RETRY_DELAY = timedelta(hours=24)


def retry_delay_for(
    delay: timedelta, exponential: bool, max_delay: timedelta | None, try_number: int
) -> timedelta:
    """``delay``, doubled for each earlier retry when ``exponential``, capped at ``max_delay`` (24h)."""
    if not exponential:
        return delay
    grown = delay * (1 << max(try_number - 1, 0))
    return min(grown, max_delay or MAX_RETRY_DELAY, MAX_RETRY_DELAY)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


type.__setattr__(BaseOperator, "__init__", _apply_defaults(BaseOperator.__dict__["__init__"]))

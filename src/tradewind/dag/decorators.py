"""TaskFlow: ``@task`` turns a function into a task factory, ``@dag`` a function into a DAG factory.

Calling a ``@task`` function inside a DAG creates a task and returns an
:class:`~tradewind.dag.xcomarg.XComArg` for its return value. Passing that XComArg (or a
list or dict holding some) to another task makes it downstream; when it runs, the value is
pulled with ``context["ti"].xcom_pull(task_ids=..., key=...)``.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar, overload

from tradewind.dag import _stack
from tradewind.dag._sites import located, user_site
from tradewind.dag.baseoperator import BaseOperator
from tradewind.dag.branching import BranchDecision
from tradewind.dag.context import Context
from tradewind.dag.dag import DAG
from tradewind.dag.operators import (
    BashOperator,
    PythonOperator,
    branch_decision,
    context_kwargs,
    short_circuit_decision,
)
from tradewind.dag.params import Param
from tradewind.dag.taskgroup import TaskGroup
from tradewind.dag.xcomarg import DagParam, XComArg
from tradewind.errors import DagDefinitionError

F = TypeVar("F", bound=Callable[..., Any])


class _PythonDecoratedOperator(PythonOperator):
    """The task a ``@task`` function call creates (the class name is Airflow's)."""

    custom_operator_name = "@task"


class _BranchPythonDecoratedOperator(_PythonDecoratedOperator):
    custom_operator_name = "@task.branch"

    def execute(self, context: Context) -> BranchDecision:
        return branch_decision(self, super().execute(context))


class _ShortCircuitDecoratedOperator(_PythonDecoratedOperator):
    custom_operator_name = "@task.short_circuit"

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def execute(self, context: Context) -> BranchDecision:
        value = super().execute(context)
        return short_circuit_decision(self, value, self.ignore_downstream_trigger_rules)


class _BashDecoratedOperator(BashOperator):
    """``@task.bash``: the function returns the command, which is then rendered and run."""

    custom_operator_name = "@task.bash"
    template_fields: ClassVar[Sequence[str]] = ("bash_command", "env", "cwd", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: list[Any] | None = None,
        op_kwargs: dict[str, Any] | None = None,
        multiple_outputs: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(bash_command="", multiple_outputs=multiple_outputs, **kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})

    def execute(self, context: Context) -> str | None:
        kwargs = context_kwargs(self.python_callable, self.op_args, context, self.op_kwargs)
        command = self.python_callable(*self.op_args, **kwargs)
        if not isinstance(command, str) or not command.strip():
            raise TypeError("The returned value from the @task.bash callable must be a non-empty string.")
        self.bash_command = self.render_template(command, context)
        return self.run_command(self.bash_command, context)


class TaskDecorator(Generic[F]):
    """A ``@task`` function: calling it inside a DAG adds a task and returns its XComArg."""

    def __init__(self, function: F, operator_class: type[BaseOperator], kwargs: dict[str, Any]) -> None:
        self.function = function
        self.operator_class = operator_class
        self.kwargs = kwargs
        self._signature = inspect.signature(function)
        self.__doc__ = function.__doc__
        self.__name__ = getattr(function, "__name__", "task")

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        try:
            self._signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise DagDefinitionError(located(user_site(), f"{self.__name__}: {exc}")) from None
        options = dict(self.kwargs)
        dag = options.get("dag") or _stack.current_dag()
        group = options.get("task_group") or _stack.current_group(dag)
        options["task_id"] = unique_task_id(options.get("task_id") or self.__name__, dag, group)
        options.setdefault("multiple_outputs", _returns_dict(self.function))
        operator = self.operator_class(
            python_callable=self.function, op_args=list(args), op_kwargs=kwargs, **options
        )
        return XComArg(operator)

    def override(self, **kwargs: Any) -> TaskDecorator[F]:
        """A copy with other operator arguments: ``add.override(task_id="add_2")(1, 2)``."""
        return TaskDecorator(self.function, self.operator_class, {**self.kwargs, **kwargs})


def unique_task_id(task_id: str, dag: DAG | None, group: TaskGroup | None) -> str:
    """``task_id``, or ``task_id__N`` when calling the same function again, as Airflow names them."""
    if dag is None:
        return task_id
    full = group.child_id(task_id) if group is not None else task_id
    if full not in dag.task_dict:
        return task_id
    core = re.split(r"__\d+$", task_id)[0]
    full_core = group.child_id(core) if group is not None else core
    pattern = re.compile(rf"^{re.escape(full_core)}__(\d+)$")
    suffixes = [int(m.group(1)) for m in map(pattern.match, dag.task_dict) if m]
    return f"{core}__{max(suffixes, default=0) + 1}"


def _returns_dict(function: Callable[..., Any]) -> bool:
    """Airflow infers ``multiple_outputs`` from a ``-> dict[...]`` return annotation."""
    try:
        annotation = typing.get_type_hints(function).get("return")
    except Exception:  # unresolvable string annotations: fall back to the raw text
        raw = getattr(function, "__annotations__", {}).get("return")
        return isinstance(raw, str) and raw.replace("typing.", "").lower().startswith("dict")
    origin = typing.get_origin(annotation) or annotation
    return origin is dict


def _task_factory(operator_class: type[BaseOperator]) -> Callable[..., Any]:
    def decorate(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        if python_callable is not None:
            return TaskDecorator(python_callable, operator_class, kwargs)
        return lambda function: TaskDecorator(function, operator_class, kwargs)

    return decorate


class _TaskDecoratorCollection:
    """``@task``, ``@task(...)``, ``@task.python``, ``@task.bash``, ``@task.branch``, ``@task.short_circuit``."""

    python = staticmethod(_task_factory(_PythonDecoratedOperator))
    bash = staticmethod(_task_factory(_BashDecoratedOperator))
    branch = staticmethod(_task_factory(_BranchPythonDecoratedOperator))
    short_circuit = staticmethod(_task_factory(_ShortCircuitDecoratedOperator))

    @overload
    def __call__(self, python_callable: F) -> TaskDecorator[F]: ...

    @overload
    def __call__(self, python_callable: None = None, **kwargs: Any) -> Callable[[F], TaskDecorator[F]]: ...

    def __call__(self, python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        return self.python(python_callable, **kwargs)


task = _TaskDecoratorCollection()


class DagFactory:
    """An ``@dag`` function: calling it builds and returns the DAG.

    The function's parameters become DAG params (defaults, overridden by the call's
    arguments); inside the body they are :class:`DagParam` placeholders that tasks resolve
    from ``context["params"]`` when they run.
    """

    def __init__(self, function: Callable[..., Any], dag_kwargs: dict[str, Any]) -> None:
        self.function = function
        self.dag_kwargs = dag_kwargs
        self._signature = inspect.signature(function)
        self.__doc__ = function.__doc__
        self.__name__ = getattr(function, "__name__", "dag")

    def __call__(self, *args: Any, **kwargs: Any) -> DAG:
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise DagDefinitionError(located(user_site(), f"{self.__name__}: {exc}")) from None
        bound.apply_defaults()
        options = dict(self.dag_kwargs)
        dag_id = options.pop("dag_id", None) or self.__name__
        params = {**options.pop("params", {}), **bound.arguments}
        options.setdefault("doc_md", inspect.cleandoc(self.__doc__) if self.__doc__ else None)
        with DAG(dag_id, params=params, **options) as built:
            placeholders = {name: DagParam(name, _default(value)) for name, value in bound.arguments.items()}
            self.function(**placeholders)
        return built


def _default(value: Any) -> Any:
    return value.value if isinstance(value, Param) else value


def dag(dag_id: str | Callable[..., Any] | None = None, **dag_kwargs: Any) -> Any:
    """``@dag`` or ``@dag(schedule=..., start_date=...)``: the dag_id defaults to the function name."""
    if callable(dag_id):
        return DagFactory(dag_id, dag_kwargs)
    if dag_id is not None:
        dag_kwargs["dag_id"] = dag_id
    return lambda function: DagFactory(function, dag_kwargs)

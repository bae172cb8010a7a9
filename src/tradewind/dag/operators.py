"""The built-in operators: Bash, Python, Branch, ShortCircuit, Empty and LatestOnly."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import subprocess
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from tradewind.clock import Clock, SystemClock
from tradewind.dag._sites import located
from tradewind.dag.baseoperator import BaseOperator
from tradewind.dag.branching import BranchDecision
from tradewind.dag.context import Context
from tradewind.dag.schedules import as_utc
from tradewind.dag.templating import needs_jinja, render_value
from tradewind.errors import DagDefinitionError, SkipTask
from tradewind.tasklog import info


class BashCommandFailed(RuntimeError):
    """A bash command exited with a non-zero code (other than a skip code)."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(f"Bash command failed. The command returned a non-zero exit code {exit_code}.")
        self.exit_code = exit_code


class EmptyOperator(BaseOperator):
    """Does nothing. Without callbacks the scheduler completes it without running it (``is_empty``)."""

    ui_color = "#e8f7e4"
    _is_empty_operator = True

    def execute(self, context: Context) -> None:
        return None


class BashOperator(BaseOperator):
    """Run ``bash -c <bash_command>`` and return the last line of its output.

    Output lines go to the ``tradewind.task`` logger at INFO. Exit code
    ``skip_on_exit_code`` (99 by default) skips the task; any other non-zero code raises
    :class:`BashCommandFailed`. ``env`` replaces the process environment unless
    ``append_env`` is set; ``AIRFLOW_CTX_*`` variables are added either way.
    """

    template_fields: ClassVar[Sequence[str]] = ("bash_command", "env", "cwd")
    template_fields_renderers = {"bash_command": "bash", "env": "json"}
    template_ext: ClassVar[Sequence[str]] = (".sh", ".bash")
    ui_color = "#f0ede4"
    env: dict[str, str] | None = None  # class defaults: see BaseOperator._set_shared
    append_env: bool = False
    output_encoding: str = "utf-8"
    skip_on_exit_code: int | Collection[int] | None = 99
    cwd: str | None = None

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        output_encoding: str = "utf-8",
        skip_on_exit_code: int | Collection[int] | None = 99,
        cwd: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self._set_shared("env", env)
        self._set_shared("append_env", append_env)
        self._set_shared("output_encoding", output_encoding)
        self._set_shared("skip_on_exit_code", skip_on_exit_code)
        self._set_shared("cwd", cwd)

    def prepare_to_fork(self) -> None:
        bash_path()

    def execute(self, context: Context) -> str | None:
        return self.run_command(self.bash_command, context)

    def run_command(self, command: str, context: Context) -> str | None:
        """Run ``command`` with ``bash -c``; return the last output line (None if no output)."""
        with subprocess.Popen(
            [bash_path(), "-c", command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self._checked_cwd(),
            env=self._environment(context),
            start_new_session=True,
            restore_signals=True,
        ) as process:
            last_line = self._stream_output(process)
            exit_code = process.wait()
        if exit_code in _as_codes(self.skip_on_exit_code):
            raise SkipTask(f"Bash command returned exit code {exit_code}. Skipping.")
        if exit_code != 0:
            raise BashCommandFailed(exit_code)
        return last_line

    def _stream_output(self, process: subprocess.Popen[bytes]) -> str | None:
        assert process.stdout is not None
        last_line: str | None = None
        for raw in iter(process.stdout.readline, b""):
            last_line = raw.decode(self.output_encoding, errors="backslashreplace").rstrip("\n")
            self.log.info("%s", last_line)
        return last_line

    def _checked_cwd(self) -> str | None:
        if self.cwd is None:
            return None
        if not os.path.exists(self.cwd):
            raise FileNotFoundError(f"Can not find the cwd: {self.cwd}")
        if not os.path.isdir(self.cwd):
            raise NotADirectoryError(f"The cwd {self.cwd} must be a directory")
        return self.cwd

    def _environment(self, context: Context) -> dict[str, str]:
        base = dict(os.environ) if self.env is None or self.append_env else {}
        base.update({str(k): str(v) for k, v in (self.env or {}).items()})
        base.update(context_env_vars(context))
        return base

    def on_kill(self) -> None:
        """Nothing to do here: the runtime kills the process group it started."""
        return None


def _as_codes(value: int | Collection[int] | None) -> Collection[int]:
    if value is None:
        return ()
    return (value,) if isinstance(value, int) else value


def context_env_vars(context: Context) -> dict[str, str]:
    """Airflow's ``AIRFLOW_CTX_*`` variables for a subprocess (only the keys known)."""
    task = context.get("task")
    dag = context.get("dag")
    logical = context.get("logical_date")
    values = {
        "AIRFLOW_CTX_DAG_ID": getattr(dag, "dag_id", None),
        "AIRFLOW_CTX_TASK_ID": getattr(task, "task_id", None),
        "AIRFLOW_CTX_EXECUTION_DATE": logical.isoformat() if isinstance(logical, datetime) else None,
        "AIRFLOW_CTX_TRY_NUMBER": str(context["try_number"]) if "try_number" in context else None,
        "AIRFLOW_CTX_DAG_RUN_ID": context.get("run_id"),
        "AIRFLOW_CTX_DAG_OWNER": getattr(task, "owner", None),
    }
    return {key: value for key, value in values.items() if value}


@functools.cache
def bash_path() -> str:
    """bash's absolute path on this process's PATH (a task's ``env`` may have none), found once.

    A plain PATH walk rather than ``shutil.which``: shutil imports three compression modules
    into the task runner, whose every mapping each forked task process copies and unmaps.
    """
    for folder in os.get_exec_path():
        candidate = os.path.join(folder, "bash")
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return "bash"


def context_kwargs(
    func: Callable[..., Any], op_args: Sequence[Any], context: Mapping[str, Any], op_kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The keyword arguments to call ``func`` with, as Airflow 2 decides them.

    The context merged with ``op_kwargs`` (which win) when ``func`` takes ``**kwargs``, else
    only the names its signature declares and ``op_args`` does not already fill. The merge
    is made only when it is passed on whole: in a task process, copying the context touches
    (and so copies) the page of every value in it.
    """
    shape = parameters_of(func)
    if shape.takes_any:
        return {**context, **op_kwargs}
    filled = shape.positional[: len(op_args)]
    kwargs: dict[str, Any] = {}
    for name in shape.keywords:
        if name in op_kwargs:
            kwargs[name] = op_kwargs[name]
        elif name in context:
            kwargs[name] = context[name]
    for name in filled:
        kwargs.pop(name, None)
    return kwargs


@dataclass(frozen=True, slots=True)
class CallableShape:
    """What :func:`context_kwargs` needs of a signature."""

    takes_any: bool  # a ``**kwargs`` parameter
    positional: tuple[str, ...]  # names op_args fill, in order
    keywords: tuple[str, ...]  # names that may be passed by keyword


_shapes: weakref.WeakKeyDictionary[Callable[..., Any], CallableShape] = weakref.WeakKeyDictionary()


def parameters_of(func: Callable[..., Any]) -> CallableShape:
    """``func``'s :class:`CallableShape`, remembered per function.

    The runner computes it before forking (see ``PythonOperator.prepare_to_fork``), so task
    processes skip ``inspect.signature``, one of the larger costs of a short task's start.
    """
    try:  # not contextlib.suppress: its first use in a task process copies pages
        if (known := _shapes.get(func)) is not None:
            return known
    except TypeError:  # not weak-referenceable (a builtin): not remembered
        pass
    parameters = inspect.signature(func).parameters.values()
    shape = CallableShape(
        takes_any=any(p.kind == p.VAR_KEYWORD for p in parameters),
        positional=tuple(
            p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ),
        keywords=tuple(p.name for p in parameters if p.kind != p.POSITIONAL_ONLY),
    )
    with contextlib.suppress(TypeError):
        _shapes[func] = shape
    return shape


class PythonOperator(BaseOperator):
    """Call ``python_callable(*op_args, **op_kwargs)`` and return its result.

    Context keys the callable's signature names (``ds``, ``ti``, ``params``...) are passed
    too, or the whole context when it takes ``**kwargs``, as in Airflow 2.
    """

    template_fields: ClassVar[Sequence[str]] = ("templates_dict", "op_args", "op_kwargs")
    template_fields_renderers = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    ui_color = "#ffefeb"
    templates_dict: dict[str, Any] | None = None  # class defaults: see BaseOperator._set_shared
    templates_exts: list[str] | None = None
    show_return_value_in_logs: bool = True

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Iterable[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        templates_exts: Sequence[str] | None = None,
        show_return_value_in_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        if not callable(python_callable):
            site = self.__dict__.get("_definition_site")
            raise DagDefinitionError(located(site, "`python_callable` param must be callable"))
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self._set_shared("templates_dict", templates_dict)
        self._set_shared("templates_exts", list(templates_exts) if templates_exts else None)
        self._set_shared("show_return_value_in_logs", show_return_value_in_logs)

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        if self.templates_exts and self.templates_dict:
            # templates_exts names the files templates_dict values may point at.
            env = jinja_env or self.get_template_env
            self.templates_dict = render_value(self.templates_dict, context, env, self.templates_exts)

    def prepare_to_fork(self) -> None:
        parameters_of(self.python_callable)

    def needs_jinja(self) -> bool:
        if self.templates_exts and needs_jinja(self.templates_dict, self.templates_exts):
            return True
        return super().needs_jinja()

    def execute(self, context: Context) -> Any:
        context["templates_dict"] = self.templates_dict
        result = self.execute_callable(context)
        if self.show_return_value_in_logs:
            info(self.log, "Done. Returned value was: %s", result)
        return result

    def execute_callable(self, context: Context) -> Any:
        kwargs = context_kwargs(self.python_callable, self.op_args, context, self.op_kwargs)
        return self.python_callable(*self.op_args, **kwargs)


def _follow_ids(task: BaseOperator, chosen: str | Iterable[str] | None) -> frozenset[str]:
    """Branch results as task ids; a TaskGroup id stands for the group's root tasks."""
    ids = [chosen] if isinstance(chosen, str) else list(chosen or [])
    dag = task._require_dag()
    groups = dag.task_group_dict
    resolved: set[str] = set()
    for task_id in ids:
        if task_id in groups:
            resolved.update(t.task_id for t in groups[task_id].roots)
        elif task_id in dag.task_dict:
            resolved.add(task_id)
        else:
            raise ValueError(
                f"'branch_task_ids' must contain only valid task_ids. Invalid tasks found: {task_id}"
            )
    return frozenset(resolved)


def branch_decision(task: BaseOperator, chosen: Any) -> BranchDecision:
    """Skip the direct downstream tasks not chosen and not downstream of a chosen one."""
    follow = _follow_ids(task, chosen)
    dag = task._require_dag()
    reachable = set(follow)
    for task_id in follow:
        reachable |= dag.relatives(task_id)
    skip = frozenset(task.downstream_task_ids - reachable)
    return BranchDecision(value=chosen, skip=skip, follow=follow)


class BranchPythonOperator(PythonOperator):
    """Follow the task id(s) the callable returns; skip the other direct downstream tasks.

    ``execute`` returns a :class:`~tradewind.dag.branching.BranchDecision`.
    """

    def execute(self, context: Context) -> BranchDecision:
        return branch_decision(self, super().execute(context))


def short_circuit_decision(
    task: BaseOperator, value: Any, ignore_downstream_trigger_rules: bool
) -> BranchDecision:
    """Nothing skipped for a truthy ``value``; else every downstream task (or the direct ones)."""
    if value:
        return BranchDecision(value=value, skip=frozenset(), follow=frozenset(task.downstream_task_ids))
    if ignore_downstream_trigger_rules:
        skip = task.get_flat_relative_ids(upstream=False)
    else:
        skip = set(task.downstream_task_ids)
    return BranchDecision(value=value, skip=frozenset(skip))


class ShortCircuitOperator(PythonOperator):
    """Skip downstream tasks when the callable returns a falsy value.

    With ``ignore_downstream_trigger_rules=True`` (the default) every task downstream is
    skipped; otherwise only the direct ones, and trigger rules decide for the rest.
    ``execute`` returns a :class:`~tradewind.dag.branching.BranchDecision`.
    """

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def execute(self, context: Context) -> BranchDecision:
        value = super().execute(context)
        return short_circuit_decision(self, value, self.ignore_downstream_trigger_rules)


class LatestOnlyOperator(BaseOperator):
    """Skip the direct downstream tasks unless this is the latest scheduled run.

    The run is the latest when now is in ``[data_interval_end, next data_interval_end)``,
    or when it was triggered externally. ``clock`` is a class attribute tests can replace.
    """

    ui_color = "#e9ffdb"
    clock: Clock = SystemClock()

    def execute(self, context: Context) -> BranchDecision:
        everything = frozenset(self.downstream_task_ids)
        if self._is_latest(context):
            return BranchDecision(value=None, skip=frozenset(), follow=everything)
        return BranchDecision(value=None, skip=everything)

    def _is_latest(self, context: Context) -> bool:
        if getattr(context.get("dag_run"), "external_trigger", False):
            return True
        dag = self._require_dag()
        left = as_utc(context["data_interval_end"])
        right = dag.timetable.next_logical_date(left, dag.timezone)
        if right is None:  # not periodic: nothing later can supersede this run
            return True
        now = as_utc(self.clock.now())
        return left <= now < right

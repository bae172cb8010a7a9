"""Run one attempt of one task in the current process: the user-code boundary of a task.

Whatever the task does, :func:`run_attempt` returns the attempt's final
:class:`~tradewind.executors.base.TaskEvent`; tracebacks go to the ``tradewind.task``
logger (the task's log file), and only a one-line reason goes into the event. Where the
attempt runs (a forked process, or inline) and where its output goes is the caller's affair.

How an attempt ends:

=============================================  ==============================================
``execute`` returns                            ``success`` (XComs pushed, branch skips listed)
raises ``SkipTask`` (bash skip exit code)      ``skipped``
raises ``FailTask``                            ``failed``, no retry
raises anything else, is terminated,           ``up_for_retry`` if ``try_number <= max_tries``
or an XCom is too large / not JSON             else ``failed``
=============================================  ==============================================

Callbacks (``on_execute``, ``on_success``, ``on_failure``, ``on_retry``) run here, with the
context; their exceptions are logged, never raised.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import signal
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from tradewind.dag.branching import unwrap_result
from tradewind.dag.context import pop_current_context, push_current_context
from tradewind.errors import FailTask, ShutdownRequested, SkipTask, TaskNotFound
from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload
from tradewind.runtime.task_instance import RuntimeTaskInstance
from tradewind.runtime.xcoms import XComSource
from tradewind.tasklog import info

if TYPE_CHECKING:
    from tradewind.dag import DAG, BaseOperator

log = logging.getLogger("tradewind.task")

_MAX_ERROR_LENGTH = 1000


class TaskTerminated(BaseException):
    """Raised in the task process when it receives SIGTERM (timeout or shutdown).

    A BaseException so that ``except Exception`` in task code cannot swallow it.
    """


def retry_state(try_number: int, max_tries: int) -> str:
    """The state of an attempt that failed and may retry: ``up_for_retry`` or ``failed``."""
    return "up_for_retry" if try_number <= max_tries else "failed"


def one_line(exc: BaseException) -> str:
    """A short reason for an event: ``ValueError: bad input`` (first line, truncated)."""
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return message[:_MAX_ERROR_LENGTH]


@dataclass(slots=True)
class _Outcome:
    state: str
    error: str | None = None
    exception: BaseException | None = None
    skip: frozenset[str] = field(default_factory=frozenset)


@dataclass(slots=True)
class PreparedAttempt:
    """What a task process would build first, built by the runner before it forks.

    Built for a batch of forks in one go, these objects sit together on a few pages; built
    in each task process, the code that builds them would touch (and copy) many more.
    """

    task: BaseOperator
    ti: RuntimeTaskInstance
    context: dict[str, Any]


def prepare_attempt_state(
    workload: TaskWorkload, dag: DAG, *, xcoms: XComSource, max_xcom_size: int, hostname: str
) -> PreparedAttempt | None:
    """The task, its ``ti`` and context for a forked attempt of ``workload``; None if building
    them fails (the attempt then builds them itself, and fails with the error in its log)."""
    try:
        task = dag.get_task(workload.key.task_id)
        ti = RuntimeTaskInstance(
            workload, task, xcoms=xcoms, max_xcom_size=max_xcom_size, hostname=hostname, pid=0,
            start_date=_NOT_STARTED,
        )  # fmt: skip
        return PreparedAttempt(task, ti, _build_context(workload, dag, task, ti))
    except Exception:
        return None


_NOT_STARTED = datetime(1970, 1, 1, tzinfo=UTC)


def run_attempt(
    workload: TaskWorkload,
    dag: DAG,
    *,
    xcoms: XComSource,
    max_xcom_size: int,
    hostname: str,
    pid: int,
    private_task: bool = False,
    prepared: PreparedAttempt | None = None,
) -> TaskEvent:
    """Run the attempt ``workload`` describes, with ``dag`` already imported; never raises.

    The task object is copied first, so rendering templates never changes the DAG held
    in a cache (the inline executor and ``dags test`` reuse it), unless ``private_task``
    says the DAG is this process's own (a forked task process: its copy dies with it).
    ``prepared`` (a forked task process's, from :func:`prepare_attempt_state`) saves
    building the task instance and the context here.
    """
    key = workload.key
    context: dict[str, Any] | None = None
    if prepared is not None:
        task, ti, context = prepared.task, prepared.ti, prepared.context
        ti.pid, ti.start_date = pid, datetime.now(UTC)
    else:
        try:
            task = dag.get_task(key.task_id)
            if not private_task:
                task = copy.copy(task)
        except TaskNotFound as exc:
            log.error("%s", exc.message)
            return _final_event(key, _Outcome("failed", exc.message), (), pid, hostname)
        ti = RuntimeTaskInstance(
            workload, task, xcoms=xcoms, max_xcom_size=max_xcom_size, hostname=hostname, pid=pid,
            start_date=datetime.now(UTC),
        )  # fmt: skip
    outcome, context = _execute(workload, dag, task, ti, context)
    ti.state = outcome.state
    _log_outcome(key, outcome)
    if context is not None:
        _after_callbacks(task, outcome, context)
    return _final_event(key, outcome, ti.pushed, pid, hostname)


def prepare_attempt(workload: TaskWorkload, dag: DAG) -> None:
    """Build ahead what an attempt of ``dag`` would otherwise build in its own process.

    Called by the runner before it forks, so that task processes inherit the run's date
    keys, what the task prepares (:meth:`~tradewind.dag.BaseOperator.prepare_to_fork`) and,
    if the task renders templates, a warm Jinja environment, instead of each building (and
    paying for) them. Jinja is left unloaded while no task needs it.
    Errors are left for the attempt itself to raise, in its own process.
    """
    from tradewind.dag.context import warm_date_keys

    with contextlib.suppress(Exception):
        task = dag.task_dict.get(workload.key.task_id)
        if task is not None:
            task.prepare_to_fork()
            if task.needs_jinja():
                warm_template_env(dag)
    with contextlib.suppress(Exception):
        warm_date_keys(dag, workload.logical_date)


def warm_template_env(dag: DAG) -> None:
    """Build ``dag``'s Jinja environment and compile one template with it, once per DAG."""
    if dag not in _warm_dags:
        dag.get_template_env().from_string("{{ ds }}").render(ds="")
        _warm_dags.add(dag)


_warm_dags: weakref.WeakSet[DAG] = weakref.WeakSet()


def _execute(
    workload: TaskWorkload,
    dag: DAG,
    task: BaseOperator,
    ti: RuntimeTaskInstance,
    context: dict[str, Any] | None = None,
) -> tuple[_Outcome, dict[str, Any] | None]:
    key = workload.key
    try:
        if context is None:
            context = _build_context(workload, dag, task, ti)
        # get_current_context() returns it meanwhile (no context manager: this path runs in
        # every fresh task process, where each extra code path costs copied pages)
        push_current_context(context)
        try:
            result = _render_and_execute(task, context)
            for xcom_key, value in task.xcom_values(result):
                ti.xcom_push(xcom_key, value)
        finally:
            pop_current_context()
        return _Outcome("success", skip=_skip_ids(result)), context
    except SkipTask as exc:
        log.info("Skipping the task: %s", exc)
        return _Outcome("skipped"), context
    except FailTask as exc:
        log.error("Task failed without retry", exc_info=exc)
        return _Outcome("failed", one_line(exc), exc), context
    except (KeyboardInterrupt, ShutdownRequested):
        raise  # meant for whoever runs us (matters inline: the CLI or the scheduler itself)
    except BaseException as exc:  # the user-code boundary: whatever escapes becomes a state
        log.error("Task failed with exception", exc_info=exc)
        return _Outcome(retry_state(key.try_number, workload.max_tries), one_line(exc), exc), context


def _render_and_execute(task: BaseOperator, context: dict[str, Any]) -> Any:
    task.render_template_fields(context)
    context["task"] = task
    run_callbacks(task.on_execute_callback, context, "on_execute_callback")
    info(log, "Executing %r on %s", task, context["logical_date"].isoformat())
    return task.execute(context)


def _skip_ids(result: Any) -> frozenset[str]:
    return unwrap_result(result)[1]


def _build_context(
    workload: TaskWorkload, dag: DAG, task: BaseOperator, ti: RuntimeTaskInstance
) -> dict[str, Any]:
    from tradewind.dag.context import build_context

    return build_context(
        dag,
        task,
        run_id=workload.key.run_id,
        logical_date=workload.logical_date,
        data_interval_start=workload.data_interval_start,
        data_interval_end=workload.data_interval_end,
        conf=workload.conf,
        ti=ti,
        try_number=workload.key.try_number,
        external_trigger=workload.external_trigger,
        run_type=workload.run_type,
    )


def _log_outcome(key: TaskKey, outcome: _Outcome) -> None:
    info(
        log,
        "Marking task as %s. dag_id=%s, task_id=%s, run_id=%s, try_number=%d",
        outcome.state.upper(), key.dag_id, key.task_id, key.run_id, key.try_number,
    )  # fmt: skip


def _after_callbacks(task: BaseOperator, outcome: _Outcome, context: dict[str, Any]) -> None:
    if outcome.exception is not None:
        context["exception"] = outcome.exception
    names = {
        "success": "on_success_callback",
        "failed": "on_failure_callback",
        "up_for_retry": "on_retry_callback",
    }
    name = names.get(outcome.state)
    if name is not None:
        run_callbacks(getattr(task, name, None), context, name)


def run_callbacks(callbacks: Any, context: dict[str, Any], name: str) -> None:
    """Call a callback (or each of a list) with the context; log, never raise, what they raise."""
    if not callbacks:
        return
    for callback in callbacks if isinstance(callbacks, list | tuple) else [callbacks]:
        try:
            callback(context)
        except Exception:
            log.exception("Error in %s (ignored)", name)


def _final_event(
    key: TaskKey, outcome: _Outcome, xcoms: tuple[tuple[str, bytes], ...], pid: int, hostname: str
) -> TaskEvent:
    return TaskEvent(
        key=key,
        state=outcome.state,
        at=datetime.now(UTC),
        pid=pid,
        hostname=hostname,
        xcoms=xcoms,
        skip_task_ids=tuple(sorted(outcome.skip)),
        error=outcome.error,
    )


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`TaskTerminated` inside the block (main thread only)."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise TaskTerminated(f"Task received signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

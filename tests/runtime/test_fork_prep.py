"""What the runner prepares before forking, so task processes do less: same results either way."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradewind.dag import DAG, Param, PythonOperator, build_context
from tradewind.dag import context as context_module
from tradewind.executors.base import TaskKey, TaskWorkload
from tradewind.runtime.attempt import prepare_attempt, prepare_attempt_state, run_attempt
from tradewind.runtime.child import fd_spans
from tradewind.runtime.locks import acquire_instance_lock, instance_lock, lock_offset
from tradewind.runtime.logs import make_log_folder, open_log
from tradewind.runtime.xcoms import NoXComs

WHEN = datetime(2024, 3, 1, tzinfo=UTC)
KEY = TaskKey("d", "t", "r", 1)


class _Fields:
    template_fields = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value


def _dag() -> DAG:
    dag = DAG("d", start_date=WHEN, schedule="@daily", fileloc=__file__)
    PythonOperator(task_id="t", python_callable=lambda: None, dag=dag)
    return dag


def _workload(log_path: str) -> TaskWorkload:
    return TaskWorkload(
        KEY, __file__, WHEN, WHEN, WHEN, "manual", False, None, 0, None, "default", 1, log_path
    )


def _context(dag: DAG) -> dict[str, object]:
    context = build_context(
        dag, dag.get_task("t"), run_id="r", logical_date=WHEN, data_interval_start=WHEN,
        data_interval_end=WHEN, conf=None,
    )  # fmt: skip
    return {k: v for k, v in context.items() if k not in ("conf", "var", "dag_run")}  # fresh objects


def test_prepared_attempts_get_the_same_context(tmp_path: Path) -> None:
    context_module._DATE_KEYS.clear()
    cold = _context(_dag())
    dag = _dag()
    prepare_attempt(_workload(str(tmp_path / "1.log")), dag)

    assert dag._jinja_env is None  # nothing to render: Jinja stays unloaded in the runner
    assert len(context_module._DATE_KEYS) == 2
    assert _context(dag) == {**cold, "dag": dag, "task": dag.get_task("t")}
    assert _context(dag)["yesterday_ds"] == "2024-02-29"


@pytest.mark.parametrize(
    ("arguments", "renders"),
    [
        ({}, False),
        ({"op_kwargs": {"day": "today", "n": 3}, "op_args": ["a", ("b", {"c"})]}, False),
        ({"op_kwargs": {"day": "{{ ds }}"}}, True),
        ({"op_args": [["x", {"k": "{% if true %}y{% endif %}"}]]}, True),
        ({"op_kwargs": {"nested": _Fields("{{ ds }}")}}, True),
        ({"op_kwargs": {"nested": _Fields("plain")}}, False),
        ({"templates_dict": {"q": "query.sql"}, "templates_exts": [".sql"]}, True),
        ({"templates_dict": {"q": "query.sql"}}, False),  # no extensions: a plain string
    ],
)
def test_the_jinja_environment_is_prepared_for_tasks_that_render(
    tmp_path: Path, arguments: dict[str, Any], renders: bool
) -> None:
    dag = DAG("d", start_date=WHEN, schedule=None, fileloc=__file__)
    task = PythonOperator(task_id="t", python_callable=lambda: None, dag=dag, **arguments)
    assert task.needs_jinja() is renders
    prepare_attempt(_workload(str(tmp_path / "1.log")), dag)
    assert (dag._jinja_env is not None) is renders


def test_date_keys_follow_the_schedule_of_each_dag() -> None:
    daily, hourly = _dag(), DAG("h", start_date=WHEN, schedule="@hourly")
    PythonOperator(task_id="t", python_callable=lambda: None, dag=hourly)
    assert _context(daily)["next_execution_date"] == datetime(2024, 3, 2, tzinfo=UTC)
    assert _context(hourly)["next_execution_date"] == datetime(2024, 3, 1, 1, tzinfo=UTC)


def test_a_precomputed_offset_locks_the_same_instance(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        with instance_lock(str(tmp_path), KEY, offset=lock_offset(KEY)):
            marks.write_text("held")
            time.sleep(0.4)
        os._exit(0)
    while not marks.exists():
        time.sleep(0.01)
    waited: list[bool] = []
    with instance_lock(tmp_path, TaskKey("d", "t", "r", 2), on_wait=lambda: waited.append(True)):
        pass
    os.waitpid(pid, 0)
    assert waited == [True]


def test_log_folders_are_made_whatever_is_missing(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c" / "1.log"
    make_log_folder(str(deep))
    make_log_folder(str(deep))  # exists: fine
    make_log_folder(str(deep.parent / "d" / "1.log"))  # one level: the usual case
    assert (deep.parent / "d").is_dir()
    os.close(open_log(str(tmp_path / "x" / "y" / "1.log")))
    assert (tmp_path / "x" / "y" / "1.log").exists()


def _close(fds: list[int], keep: int = -1) -> None:
    """What a task process does with the spans the runner worked out."""
    for low, high in fd_spans(fds, keep):
        os.closerange(low, high)


def test_fd_spans_close_exactly_the_given_fds() -> None:
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(6)]
    kept = fds[2]
    try:
        _close([fd for fd in fds if fd != kept] + [fds[-1]])  # duplicates and gaps
        assert [_is_open(fd) for fd in fds] == [fd == kept for fd in fds]
        _close([])
    finally:
        os.close(kept)


def test_fd_spans_leave_out_the_fd_to_keep() -> None:
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(5)]
    kept = fds[1]
    try:
        _close(fds, keep=kept)  # the runner passes every fd of the batch; each child keeps its own
        assert [_is_open(fd) for fd in fds] == [fd == kept for fd in fds]
    finally:
        os.close(kept)


def test_a_bare_instance_lock_is_held_until_its_fd_is_closed(tmp_path: Path) -> None:
    fd = acquire_instance_lock(tmp_path, KEY)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: must not get the lock while the parent holds it
        waited: list[bool] = []
        with instance_lock(tmp_path, TaskKey("d", "t", "r", 2), on_wait=lambda: waited.append(True)):
            pass
        os._exit(0 if waited == [True] else 1)
    time.sleep(0.2)
    os.close(fd)  # releases it: the child goes on
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _seen_dag(seen: dict[str, Any], params: dict[str, Any] | None = None) -> DAG:
    dag = DAG("d", start_date=WHEN, schedule="@daily", fileloc=__file__, params=params or {})

    def record(ti: Any, ds: str, **context: Any) -> str:
        seen.update(pid=ti.pid, start_date=ti.start_date, ds=ds, context=context)
        return ds

    PythonOperator(task_id="t", python_callable=record, dag=dag)
    return dag


def test_a_prepared_attempt_runs_as_one_built_in_the_task_process(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    dag, workload = _seen_dag(seen), _workload(str(tmp_path / "1.log"))
    prepared = prepare_attempt_state(workload, dag, xcoms=NoXComs(), max_xcom_size=0, hostname="h")
    assert prepared is not None and prepared.ti.pid == 0
    before = datetime.now(UTC)

    event = run_attempt(
        workload, dag, xcoms=NoXComs(), max_xcom_size=0, hostname="h", pid=4242, prepared=prepared
    )

    assert (event.state, event.pid, dict(event.xcoms)) == ("success", 4242, {"return_value": b'"2024-03-01"'})
    assert seen["pid"] == 4242 and seen["start_date"] >= before  # stamped when it ran, not when built
    assert seen["ds"] == "2024-03-01" and seen["context"]["task_instance"] is prepared.ti


def test_an_attempt_whose_context_fails_to_build_is_not_prepared_and_fails_itself(tmp_path: Path) -> None:
    dag = _seen_dag({}, params={"n": Param(type="integer")})  # required, and no value given
    workload = _workload(str(tmp_path / "1.log"))

    assert prepare_attempt_state(workload, dag, xcoms=NoXComs(), max_xcom_size=0, hostname="h") is None
    event = run_attempt(workload, dag, xcoms=NoXComs(), max_xcom_size=0, hostname="h", pid=1)
    assert event.state == "failed" and event.error is not None and "n" in event.error
    missing = TaskKey("d", "nope", "r", 1)
    unknown = TaskWorkload(
        missing, __file__, WHEN, WHEN, WHEN, "manual", False, None, 0, None, "default", 1, ""
    )
    assert prepare_attempt_state(unknown, dag, xcoms=NoXComs(), max_xcom_size=0, hostname="h") is None


def test_fd_spans_cover_exactly_the_fds_but_the_kept_one() -> None:
    assert fd_spans([12, 5, 3, 4, 9, 10], keep=10) == ((3, 6), (9, 10), (12, 13))
    assert fd_spans([7], keep=7) == () and fd_spans([]) == ()

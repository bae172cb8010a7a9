"""One suite for every executor: what the scheduler may rely on, whoever runs the task."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from tradewind.executors.base import Executor
from tradewind.models import DagModel, DagRun, TaskInstance, XCom
from tradewind.store import Database

from .conftest import DEFAULT_RUN_ID, Site, final, run_all

MakeExecutor = Callable[..., Executor]
KINDS = ["inline", "sequential", "local"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_success_reports_running_then_success_with_xcoms(
    kind: str, site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor(kind)
    workload = site.workload("push")

    events = run_all(executor, [workload])[workload.key]

    assert [e.state for e in events] == ["running", "success"]
    assert events[0].pid is not None and events[0].hostname
    assert dict(events[1].xcoms) == {"extra": b'{"n":1}', "return_value": b"[1,2,3]"}
    assert events[1].at.tzinfo is not None and events[1].error is None
    assert executor.running() == set()
    assert executor.events() == []


def test_failure_with_retries_left_is_up_for_retry_then_failed(
    kind: str, site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor(kind)
    first, second = site.workload("fail", max_tries=1), site.workload("fail", try_number=2, max_tries=1)

    try1 = final(run_all(executor, [first])[first.key])
    try2 = final(run_all(executor, [second])[second.key])

    assert (try1.state, try1.error) == ("up_for_retry", "ValueError: bad value")
    assert try2.state == "failed"


def test_each_try_has_its_own_log_with_the_traceback(
    kind: str, site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor(kind)
    first, second = site.workload("fail", max_tries=1), site.workload("fail", try_number=2, max_tries=1)
    run_all(executor, [first, second])

    log1, log2 = site.log_of(first), site.log_of(second)

    assert first.log_path.endswith("/contract/manual__2024-01-01T00:00:00+00:00/fail/1.log")
    assert "Starting attempt 1 of 2" in log1 and "Starting attempt 2 of 2" in log2
    for text in (log1, log2):
        assert "about to fail" in text
        assert "Traceback (most recent call last)" in text and "ValueError: bad value" in text
    assert "Attempt ended in state up_for_retry" in log1
    assert "Attempt ended in state failed" in log2


def test_runs_whose_ids_once_shared_a_log_folder_log_apart(
    kind: str, site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor(kind)
    run_ids = ["a/b/../c", "a_b_.._c", ".", "_."]
    workloads = [site.workload("noop", run_id=run_id) for run_id in run_ids]
    run_all(executor, workloads)

    assert len({w.log_path for w in workloads}) == len(run_ids)
    for workload in workloads:
        starts = [line for line in site.log_of(workload).splitlines() if "Starting attempt" in line]
        assert len(starts) == 1 and f", run {workload.key.run_id} (pid " in starts[0]
        assert site.logs.resolve() in Path(workload.log_path).resolve().parents


def test_skip_and_fail_signals(kind: str, site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor(kind)
    skip, fail_now = site.workload("skip"), site.workload("fail_now", max_tries=3)

    events = run_all(executor, [skip, fail_now])

    assert final(events[skip.key]).state == "skipped"
    assert (final(events[fail_now.key]).state, final(events[fail_now.key]).error) == (
        "failed",
        "FailTask: no retry for this",
    )


def test_bash_exit_codes(kind: str, site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor(kind)
    skip, fail = site.workload("bash_skip"), site.workload("bash_fail", max_tries=1)

    events = run_all(executor, [skip, fail])

    assert final(events[skip.key]).state == "skipped"
    failed = final(events[fail.key])
    assert failed.state == "up_for_retry" and "exit code 4" in (failed.error or "")
    log = site.log_of(fail)
    assert "to-stdout" in log and "to-stderr" in log


def test_templated_bash_command(kind: str, site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor(kind)
    workload = site.workload("bash_templated", conf={"x": "from-conf"})

    event = final(run_all(executor, [workload])[workload.key])

    assert event.state == "success"
    assert json.loads(dict(event.xcoms)["return_value"]) == f"2024-01-01 {DEFAULT_RUN_ID} from-conf"


def test_branch_reports_skipped_task_ids(kind: str, site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor(kind)
    workload = site.workload("branch")

    event = final(run_all(executor, [workload])[workload.key])

    assert (event.state, event.skip_task_ids) == ("success", ("right",))
    assert dict(event.xcoms)["return_value"] == b'"left"'


def test_callbacks_run_with_context_and_their_errors_are_logged(
    kind: str, site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor(kind)
    ok, bad = site.workload("push"), site.workload("fail")

    events = run_all(executor, [ok, bad])

    assert final(events[bad.key]).state == "failed"  # the callback's own error changes nothing
    assert sorted((site.dags / "callbacks.log").read_text().splitlines()) == [
        "failure ValueError",
        "success push",
    ]
    assert "Error in on_failure_callback (ignored)" in site.log_of(bad)
    assert "RuntimeError: a broken callback" in site.log_of(bad)


def test_too_large_xcom_fails_the_task(kind: str, site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor(kind, max_xcom_size=4)
    workload = site.workload("push")

    event = final(run_all(executor, [workload])[workload.key])

    assert event.state == "failed"
    assert event.error is not None and "max_xcom_size" in event.error
    assert "XComTooLarge" in site.log_of(workload)


def test_xcom_pull_reads_what_upstream_pushed(
    kind: str, site: Site, make_executor: MakeExecutor, db: Database
) -> None:
    _record_upstream_xcoms(
        db,
        {
            "upstream": {"return_value": [1, 2], "other": "x"},
            "upstream_value": {"return_value": {"from": "db"}},
        },
    )
    executor = make_executor(kind, db_url=db.url.render_as_string(hide_password=False))
    pull, consume = site.workload("pull"), site.workload("consume")

    events = run_all(executor, [pull, consume])

    pulled = json.loads(dict(final(events[pull.key]).xcoms)["return_value"])
    assert pulled == {"one": [1, 2], "many": [[1, 2], "none"], "key": "x"}
    consumed = json.loads(dict(final(events[consume.key]).xcoms)["return_value"])
    assert consumed == [{"from": "db"}, "consumed"]  # TaskFlow arguments are pulled too


def test_unknown_task_fails_without_crashing_the_executor(
    kind: str, site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor(kind)
    missing, fine = site.workload("no_such_task"), site.workload("noop")

    events = run_all(executor, [missing, fine])

    assert final(events[missing.key]).state == "failed"
    assert final(events[fine.key]).state == "success"


def _record_upstream_xcoms(db: Database, values: dict[str, dict[str, object]]) -> None:
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(
            insert(DagModel), [{"dag_id": "contract", "fileloc": "x", "is_paused": False, "is_active": True}]
        )
        conn.execute(
            insert(DagRun),
            [
                {
                    "dag_id": "contract",
                    "run_id": DEFAULT_RUN_ID,
                    "execution_date": datetime(2024, 1, 1, tzinfo=UTC),
                    "state": "running",
                    "run_type": "manual",
                    "external_trigger": True,
                }
            ],
        )
        conn.execute(
            insert(TaskInstance),
            [
                {
                    "dag_id": "contract",
                    "run_id": DEFAULT_RUN_ID,
                    "task_id": task_id,
                    "state": "success",
                    "pool": "default_pool",
                }
                for task_id in values
            ],
        )
        conn.execute(
            insert(XCom),
            [
                {"dag_id": "contract", "run_id": DEFAULT_RUN_ID, "task_id": task_id, "key": key,
                 "value": json.dumps(value).encode(), "timestamp": now}
                for task_id, pushed in values.items()
                for key, value in pushed.items()
            ],
        )  # fmt: skip


def test_pid_in_running_event_is_the_task_process(kind: str, site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor(kind)
    workload = site.workload("noop")

    running = run_all(executor, [workload])[workload.key][0]

    if kind == "inline":
        assert running.pid == os.getpid()
    else:
        assert running.pid != os.getpid()


def test_task_processes_use_threads_logging_fork_and_their_own_random_numbers(
    kind: str, site: Site, make_executor: MakeExecutor
) -> None:
    """Task processes are forked without threading's and logging's at-fork hooks (see
    runtime.forkhooks): what those hooks are for must still work, and random's still runs."""
    executor = make_executor(kind)
    first, second = site.workload("threads"), site.workload("threads", run_id="manual__second")

    events = run_all(executor, [first, second])

    results = [json.loads(dict(final(events[w.key]).xcoms)["return_value"]) for w in (first, second)]
    assert [(r["threads"], r["grandchild"]) for r in results] == [(["helper"], 0), (["helper"], 0)]
    assert results[0]["random"] != results[1]["random"]
    assert "logged from MainThread" in site.log_of(first)

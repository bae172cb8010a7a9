"""What only process-based executors promise: isolation, timeouts, slots, the warm runner, cleanup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tradewind.executors.base import Executor
from tradewind.executors.local import LocalExecutor
from tradewind.store import Database

from .conftest import Site, collect, final, is_alive, run_all, wait_for
from .test_contract import _record_upstream_xcoms

MakeExecutor = Callable[..., Executor]


@pytest.fixture(params=["sequential", "local"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(
    ("task_id", "max_tries", "state", "error"),
    [
        ("exit3", 1, "up_for_retry", "Task process exited with code 3 before reporting a result"),
        ("segfault", 0, "failed", "Task process was killed by signal SIGSEGV"),
        ("sigkill", 0, "failed", "Task process was killed by signal SIGKILL"),
    ],
)
def test_a_crashing_task_is_reported_and_harms_nothing(
    kind: str, site: Site, make_executor: MakeExecutor, task_id: str, max_tries: int, state: str, error: str
) -> None:
    executor = make_executor(kind)
    crash, after = site.workload(task_id, max_tries=max_tries), site.workload("noop")

    events = run_all(executor, [crash, after])

    assert (final(events[crash.key]).state, final(events[crash.key]).error) == (state, error)
    assert final(events[after.key]).state == "success"
    if task_id == "exit3":
        assert "exiting hard" in site.log_of(crash)


def test_timeout_terminates_a_hung_task_with_a_traceback(
    kind: str, site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor(kind)
    workload = site.workload("hang", timeout=1.0)
    started = time.monotonic()

    event = final(run_all(executor, [workload])[workload.key])

    assert time.monotonic() - started < 5
    assert (event.state, event.error) == ("failed", "Task timed out after 1 seconds (execution_timeout)")
    assert "TaskTerminated: Task received signal SIGTERM" in site.log_of(workload)


def test_a_task_ignoring_sigterm_is_killed_after_the_grace_period(
    site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor("local")
    workload = site.workload("hang_hard", timeout=0.5, max_tries=1)
    started = time.monotonic()

    event = final(run_all(executor, [workload])[workload.key])

    assert 1.4 < time.monotonic() - started < 5  # 0.5 s timeout + 1 s grace
    assert (event.state, event.error) == (
        "up_for_retry",
        "Task timed out after 0.5 seconds (execution_timeout)",
    )


def test_timeout_kills_the_whole_process_tree(kind: str, site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor(kind)
    workload = site.workload("bash_tree", timeout=1.0)
    pids_file = site.dags / "tree.pids"

    events = run_all(executor, [workload])[workload.key]

    assert final(events).state == "failed"
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 3  # two sleeps and their bash
    pids.append(events[0].pid or 0)
    assert wait_for(lambda: not any(is_alive(p) for p in pids), 5), [p for p in pids if is_alive(p)]


def test_parallelism_bounds_concurrent_tasks(site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor("local", parallelism=2)
    workloads = [site.workload(f"slot_{i}") for i in range(6)]

    for workload in workloads:
        executor.submit(workload)
    assert executor.running() == {w.key for w in workloads}  # queued ones count as running
    events = collect(executor, [w.key for w in workloads])

    assert all(final(e).state == "success" for e in events.values())
    assert _max_overlap(site.dags / "slots.log") == 2


def test_a_workload_submitted_twice_is_refused_while_queued_or_running(
    site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor("local", parallelism=1)
    started, queued = site.workload("slot_0"), site.workload("slot_1")
    executor.submit(started)
    executor.submit(queued)  # waits for the one slot

    for again in (started, queued):
        with pytest.raises(ValueError, match="already submitted"):
            executor.submit(again)
    events = collect(executor, [started.key, queued.key])
    assert [final(events[k]).state for k in (started.key, queued.key)] == ["success", "success"]
    executor.submit(queued)  # finished: its key is free again
    assert final(collect(executor, [queued.key])[queued.key]).state == "success"


def test_sequential_runs_one_at_a_time(site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor("sequential")

    run_all(executor, [site.workload(f"slot_{i}") for i in range(3)])

    assert _max_overlap(site.dags / "slots.log") == 1


def _max_overlap(path: Path) -> int:
    marks = sorted(
        (float(t), 1 if kind == "start" else -1)
        for kind, t in (line.split() for line in path.read_text().splitlines())
    )
    current = peak = 0
    for _, delta in marks:
        current += delta
        peak = max(peak, current)
    return peak


def test_the_runner_imports_a_dag_file_once_and_again_when_it_changes(
    site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor("local")
    assert isinstance(executor, LocalExecutor)

    run_all(executor, [site.workload("noop", run_id=f"run_{i}") for i in range(5)])
    assert site.imports() == [str(executor.runner_pid)]

    stat = site.fileloc.stat()
    os.utime(site.fileloc, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    run_all(executor, [site.workload("noop", run_id="after_change")])
    assert site.imports() == [str(executor.runner_pid)] * 2


def test_logging_settings_of_a_dag_file_apply_to_the_runtimes_own_lines(
    site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor("local")
    plain = site.workload("noop", run_id="plain")
    run_all(executor, [plain])
    assert "Starting attempt" in site.log_of(plain) and "Executing <Task" in site.log_of(plain)

    with site.fileloc.open("a") as dag_file:  # a DAG file quietening the task logger, as some do
        dag_file.write('\nimport logging\nlogging.getLogger("tradewind.task").setLevel(logging.WARNING)\n')
    stat = site.fileloc.stat()
    os.utime(site.fileloc, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    quiet = site.workload("noop", run_id="quiet")
    assert final(run_all(executor, [quiet])[quiet.key]).state == "success"
    assert "Starting attempt" in site.log_of(quiet) and "Executing <Task" not in site.log_of(quiet)


def test_the_runner_imports_the_xcom_driver_once_a_task_has_used_it(
    site: Site, make_executor: MakeExecutor, db: Database
) -> None:
    """Tasks that never pull XComs are not made to fork a runner holding psycopg (~10 MB)."""
    _record_upstream_xcoms(db, {"upstream": {"return_value": [1, 2], "other": "x"}})
    executor = make_executor("local", db_url=db.url.render_as_string(hide_password=False))
    assert isinstance(executor, LocalExecutor)
    driver = "_sqlite3" if db.url.get_backend_name() == "sqlite" else "psycopg"

    run_all(executor, [site.workload("noop", run_id="first")])
    assert driver not in _mapped_files(executor.runner_pid)

    pull = site.workload("pull")
    assert final(run_all(executor, [pull])[pull.key]).state == "success"
    assert wait_for(lambda: driver in _mapped_files(executor.runner_pid))


def _mapped_files(pid: int | None) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_broken_dag_file_fails_the_attempt_with_its_traceback(
    site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor("local")
    site.fileloc.write_text("from tradewind.dag import DAG\nraise RuntimeError('broken dag file')\n")
    workload = site.workload("noop", max_tries=1)

    event = final(run_all(executor, [workload])[workload.key])

    assert (event.state, event.error) == ("up_for_retry", "RuntimeError: broken dag file")
    assert "RuntimeError: broken dag file" in site.log_of(workload)


def test_if_the_runner_dies_its_tasks_are_reported_and_killed(
    site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor("local")
    assert isinstance(executor, LocalExecutor)
    workload = site.workload("write_pid", max_tries=1)
    executor.submit(workload)
    task_pid = _task_pid(site)

    os.kill(executor.runner_pid or 0, signal.SIGKILL)
    event = final(collect(executor, [workload.key])[workload.key])

    assert event.state == "up_for_retry" and "runner died" in (event.error or "")
    assert wait_for(lambda: not is_alive(task_pid), 5)
    after = site.workload("noop")
    assert final(run_all(executor, [after])[after.key]).state == "success"  # a new runner took over


def test_stop_without_wait_terminates_and_reports_running_tasks(
    site: Site, make_executor: MakeExecutor
) -> None:
    executor = make_executor("local")
    workload = site.workload("write_pid")
    executor.submit(workload)
    task_pid = _task_pid(site)

    executor.stop(wait=False)

    finals = [e for e in executor.events() if e.state != "running"]
    assert [(e.key, e.state) for e in finals] == [(workload.key, "failed")]
    assert "shutting down" in (finals[0].error or "")
    assert not is_alive(task_pid)


def test_stop_with_wait_lets_running_tasks_finish(site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor("local")
    workload = site.workload("slot_0")
    executor.submit(workload)
    assert wait_for(lambda: (site.dags / "slots.log").exists())

    executor.stop(wait=True)

    assert [e.state for e in executor.events()] == ["running", "success"]


def test_an_instance_never_runs_twice_at_once(site: Site, make_executor: MakeExecutor) -> None:
    first, second = make_executor("local"), make_executor("local")
    try1, try2 = site.workload("slot_0"), site.workload("slot_0", try_number=2)

    first.submit(try1)
    second.submit(try2)
    collect(first, [try1.key])
    collect(second, [try2.key])

    assert _max_overlap(site.dags / "slots.log") == 1


OWNER = textwrap.dedent(
    """
    import sys, time
    from tradewind.executors import stop_on_signals
    from tradewind.executors.local import LocalExecutor
    sys.path.insert(0, {tests!r})
    from executors.conftest import Site
    site = Site(__import__("pathlib").Path({root!r}))
    executor = LocalExecutor(lock_dir=site.locks, dags_folder=site.dags, kill_grace=1.0)
    executor.start()
    executor.submit(site.workload({task!r}))
    with stop_on_signals(executor):
        while True:
            executor.wait(1.0)
            for event in executor.events():
                print(event.state, event.pid, flush=True)
    """
)


def _start_owner(site: Site, task_id: str) -> subprocess.Popen[str]:
    code = OWNER.format(tests=str(Path(__file__).parent.parent), root=str(site.root), task=task_id)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_when_the_owner_dies_running_tasks_die(site: Site) -> None:
    owner = _start_owner(site, "bash_tree")
    try:
        assert owner.stdout is not None
        state, pid = owner.stdout.readline().split()
        assert state == "running"
        pids_file = site.dags / "tree.pids"
        assert wait_for(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 3)
        pids = [int(pid), *(int(p) for p in pids_file.read_text().split())]
        assert all(is_alive(p) for p in pids)

        owner.kill()

        assert wait_for(lambda: not any(is_alive(p) for p in pids), 5), [p for p in pids if is_alive(p)]
    finally:
        owner.kill()
        owner.wait()


def test_sigterm_to_the_owner_stops_the_executor_gracefully(site: Site) -> None:
    owner = _start_owner(site, "write_pid")
    try:
        assert owner.stdout is not None
        state, pid = owner.stdout.readline().split()
        assert state == "running"

        owner.send_signal(signal.SIGTERM)
        owner.wait(timeout=10)

        assert owner.returncode != 0  # ShutdownRequested ended the owner's loop
        assert wait_for(lambda: not is_alive(int(pid)), 2)
    finally:
        owner.kill()
        owner.wait()


def test_event_xcoms_arrive_as_the_json_bytes_pushed(site: Site, make_executor: MakeExecutor) -> None:
    executor = make_executor("local")
    workload = site.workload("push")

    event = final(run_all(executor, [workload])[workload.key])

    assert json.loads(dict(event.xcoms)["return_value"]) == [1, 2, 3]


def test_wakeup_from_another_thread_ends_a_wait_at_once(site: Site, make_executor: MakeExecutor) -> None:
    import threading

    executor = make_executor("local")
    assert isinstance(executor, LocalExecutor)
    timer = threading.Timer(0.2, executor.wakeup)
    started = time.monotonic()
    timer.start()

    assert executor.wait(10.0) is False
    assert time.monotonic() - started < 5.0
    assert executor.wait(0.05) is False  # the wakeup was consumed
    timer.join()


def test_wakeup_before_start_and_after_stop_is_harmless(site: Site) -> None:
    executor = LocalExecutor(lock_dir=site.locks, dags_folder=site.dags)
    executor.wakeup()
    assert executor.wait(0.01) is False
    executor.start()
    executor.stop()
    executor.wakeup()
    assert executor.wait(0.01) is False


def _task_pid(site: Site) -> int:
    """The pid the ``write_pid`` task writes, once written whole (it is not written atomically)."""
    path = site.dags / "task.pid"
    assert wait_for(lambda: path.exists() and path.read_text().strip() != "")
    return int(path.read_text())


def test_a_workload_that_cannot_be_encoded_fails_alone(
    kind: str, site: Site, make_executor: MakeExecutor
) -> None:
    """A conf too deep to pickle (stored before the trigger refused such confs) fails its attempt only."""
    executor = make_executor(kind)
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    bad, after = site.workload("noop", conf={"a": deep}), site.workload("noop", run_id="other")

    events = run_all(executor, [bad, after])

    assert final(events[bad.key]).state == "failed"
    assert "cannot be sent to a worker: RecursionError" in (final(events[bad.key]).error or "")
    assert "ERROR - The attempt cannot be sent to a worker: RecursionError" in site.log_of(bad)
    assert final(events[after.key]).state == "success"
    assert executor.running() == set()

"""The pure parts: message round trips, task ids, the log server's path safety."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradewind.celery_worker.logserver import LogServer, fetch_log, is_authorized, resolve_log, sign
from tradewind.celery_worker.messages import (
    event_from_dict,
    event_to_dict,
    localize,
    task_id_for,
    workload_from_dict,
    workload_to_dict,
)
from tradewind.executors.base import TaskEvent, TaskKey, TaskWorkload, log_path_for

KEY = TaskKey("dag", "task", "manual__2024-01-01T00:00:00+00:00", 2)
WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def test_a_workload_survives_the_trip_through_json() -> None:
    import json

    workload = TaskWorkload(KEY, "/dags/d.py", WHEN, WHEN, WHEN, "manual", True, {"a": [1]}, 3, 2.5, "q", 7,
                            "/logs/x.log", "pool_a")  # fmt: skip
    assert workload_from_dict(json.loads(json.dumps(workload_to_dict(workload)))) == workload


@pytest.mark.parametrize(
    ("fileloc", "sent", "found"),
    [
        ("/srv/dags/team/d.py", "team/d.py", "{mine}/team/d.py"),  # inside: the worker's folder
        ("/srv/dags/team/gone.py", "team/gone.py", "/srv/dags/team/gone.py"),  # not there: as sent
        ("/usr/lib/tw/example_dags/e.py", None, "/usr/lib/tw/example_dags/e.py"),  # outside: as sent
    ],
)
def test_a_worker_finds_dag_files_and_writes_logs_under_its_own_folders(
    fileloc: str, sent: str | None, found: str, tmp_path: Path
) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "d.py").touch()
    workload = TaskWorkload(KEY, fileloc, WHEN, WHEN, WHEN, "manual", True, None, 0, None, "q", 1,
                            "/srv/logs/dag/run/task/2.log")  # fmt: skip
    payload = workload_to_dict(workload, "/srv/dags/")

    local = localize(workload_from_dict(payload), payload, tmp_path, Path("/var/tw/logs"))

    assert payload["dags_fileloc"] == sent
    assert local.fileloc == found.format(mine=tmp_path)
    assert local.log_path == "/var/tw/logs/dag/manual__2024-01-01T00:00:00+00:00/task/2.log"
    assert local.key == workload.key and local.conf == workload.conf


@pytest.mark.parametrize("relative", ["../etc/x.py", "/etc/x.py", "a/../../x.py"])
def test_a_relative_dag_path_cannot_leave_the_workers_dags_folder(relative: str) -> None:
    workload = TaskWorkload(KEY, "/srv/dags/d.py", WHEN, WHEN, WHEN, "manual", True, None, 0, None, "q", 1,
                            "/x.log")  # fmt: skip
    payload = workload_to_dict(workload) | {"dags_fileloc": relative}

    assert localize(workload, payload, Path("/opt/flows"), Path("/logs")).fileloc == "/srv/dags/d.py"


def test_an_event_survives_the_trip_through_json() -> None:
    import json

    event = TaskEvent(KEY, "success", WHEN, 12, "host", ((b"return_value"[:6].decode(), b'{"x":"\\u00e9"}'),),
                      ("skip_me",), None)  # fmt: skip
    assert event_from_dict(json.loads(json.dumps(event_to_dict(event, started_at=WHEN)))) == event


def test_task_ids_are_stable_per_attempt_and_namespace() -> None:
    assert task_id_for(KEY, "db1") == task_id_for(KEY, "db1")
    assert task_id_for(KEY, "db1") != task_id_for(KEY, "db2")
    assert task_id_for(KEY, "db1") != task_id_for(TaskKey("dag", "task", KEY.run_id, 3), "db1")


def test_the_log_server_serves_logs_and_nothing_else(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "d" / "r" / "t").mkdir(parents=True)
    (logs / "d" / "r" / "t" / "1.log").write_text("hello\n")
    (tmp_path / "secret.log").write_text("no")
    (logs / "d" / "r" / "t" / "2.log").symlink_to(tmp_path / "secret.log")
    assert resolve_log(logs, "/log/d/r/t/1.log") == (logs / "d" / "r" / "t" / "1.log").resolve()
    for bad in ("/log/../secret.log", "/log/d/r/t/2.log", "/log/d/r/t/%2e%2e/%2e%2e/%2e%2e/../secret.log",
                "/log/d/r/t/3.log", "/etc/passwd", "/log/d/r/t"):  # fmt: skip
        assert resolve_log(logs, bad) is None, bad

    server = LogServer(logs, "127.0.0.1", 0, secret="s3cret")
    server.start()
    try:
        assert fetch_log("127.0.0.1", server.port, "d/r/t/1.log", "s3cret") == "hello\n"
        assert fetch_log("127.0.0.1", server.port, "d/r/t/3.log", "s3cret") is None
        base = f"http://127.0.0.1:{server.port}"
        for header in (None, "Bearer nope", f"Bearer {sign('/log/d/r/t/1.log', 'other')}",
                       f"Bearer {sign('/log/d/r/t/2.log', 's3cret')}",  # signed for another path
                       f"Bearer {sign('/log/d/r/t/1.log', 's3cret', now=time.time() - 120)}"):  # fmt: skip
            request = urllib.request.Request(f"{base}/log/d/r/t/1.log")
            if header:
                request.add_header("Authorization", header)
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(request, timeout=5)
            assert info.value.code == 403, header
            info.value.close()
        with pytest.raises(OSError, match="answered 403"):
            fetch_log("127.0.0.1", server.port, "d/r/t/1.log", "wrong")
    finally:
        server.stop()


def test_the_log_server_finds_logs_of_run_ids_that_needed_escaping(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    paths = {
        run_id: log_path_for(logs, TaskKey("d", "t", run_id, 1)) for run_id in ("a/b/../c", "a_b_.._c", "x%y")
    }
    for run_id, path in paths.items():
        path.parent.mkdir(parents=True)
        path.write_text(f"{run_id}\n")
    server = LogServer(logs, "127.0.0.1", 0, secret="s3cret")
    server.start()
    try:
        for run_id, path in paths.items():
            relative = path.relative_to(logs).as_posix()  # what ``tasks logs`` asks for
            assert fetch_log("127.0.0.1", server.port, relative, "s3cret") == f"{run_id}\n"
    finally:
        server.stop()


def test_the_log_server_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="log_server_secret"):
        LogServer(tmp_path, "127.0.0.1", 0, secret="")


def test_tokens_are_path_bound_and_expire() -> None:
    token = sign("/log/a.log", "k", now=1000.0)
    assert is_authorized(f"Bearer {token}", "/log/a.log", "k", now=1000.0)
    assert not is_authorized(f"Bearer {token}", "/log/b.log", "k", now=1000.0)
    assert not is_authorized(f"Bearer {token}", "/log/a.log", "k", now=1000.0 + 61)
    assert not is_authorized(f"Bearer {token}", "/log/a.log", "", now=1000.0)

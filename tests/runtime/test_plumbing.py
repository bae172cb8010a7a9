"""The small pieces: message framing, log paths, the instance lock, the DAG cache, log capture."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tradewind.errors import DagNotFound
from tradewind.executors.base import TaskEvent, TaskKey, log_path_for
from tradewind.runtime.dags import DagCache, DagImportTimeout
from tradewind.runtime.locks import instance_lock, lock_offset
from tradewind.runtime.logs import output_to
from tradewind.runtime.wire import DriverUsed, FrameReader, StopCommand, decode, encode

KEY = TaskKey("d", "t", "r", 1)


def test_frames_survive_any_chunking() -> None:
    messages = [
        StopCommand(terminate=True),
        TaskEvent(KEY, "success", datetime.now(UTC), xcoms=(("k", b"x" * 70_000),)),
    ]
    data = b"".join(encode(m) for m in messages)
    reader = FrameReader()

    received = [m for i in range(0, len(data), 777) for m in reader.feed(data[i : i + 777])]

    assert received == messages
    assert list(reader.feed(b"")) == []


@pytest.mark.parametrize(
    "event",
    [
        TaskEvent(KEY, "running", datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC), 4242, "host"),
        TaskEvent(
            TaskKey("d", "t", "manual__2024-05-06T07:08:09+00:00", 3),
            "up_for_retry",
            datetime.now(UTC),
            None,
            "",
            xcoms=(("return_value", b"[1,2]"), ("k", b"")),
            skip_task_ids=("a", "b"),
            error="ValueError: bad \u00e9 value",
        ),
        TaskEvent(KEY, "success", datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        TaskEvent(KEY, "success", datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=5)))),
    ],
)
def test_events_travel_as_plain_values_and_come_back_equal(event: TaskEvent) -> None:
    frame = encode(event)

    assert frame[4:5] == b"E"  # not a pickle: no class lookups in the sending process
    decoded = decode(frame)
    assert decoded == event and decoded.at.utcoffset() == timedelta(0)
    assert type(decoded.key) is TaskKey and type(decoded.xcoms) is tuple


class _Reason(str):
    """A str subclass: marshal writes exact built-in types only."""


def test_an_event_marshal_cannot_write_is_pickled_instead() -> None:
    odd = [
        TaskEvent(KEY, "failed", datetime.now(UTC), error=_Reason("boom")),
        TaskEvent(KEY, "failed", datetime(2024, 1, 1)),  # naive
    ]
    for event in odd:
        frame = encode(event)
        assert frame[4:5] == b"P" and decode(frame) == event


def test_whole_frames_pass_on_undecoded_and_decode_later() -> None:
    """What the runner does with a task process's final event: forward the frame as it came."""
    messages = [DriverUsed(), TaskEvent(KEY, "failed", datetime.now(UTC), error="boom")]
    data = b"".join(encode(m) for m in messages)
    reader = FrameReader()

    frames = [f for i in range(0, len(data), 5) for f in reader.frames(data[i : i + 5])]

    assert frames == [encode(m) for m in messages]
    assert [decode(f) for f in frames] == messages
    assert frames[0] == encode(DriverUsed())  # a constant: the runner compares bytes, not objects


@pytest.mark.parametrize(
    "run_id",
    [
        "manual__2024-05-06T07:08:09+00:00",
        "scheduled__2024-05-06T00:00:00+00:00",
        "backfill__2024-05-06T00:00:00+00:00",
        "dataset_triggered__2024-05-06T07:08:09.123456+00:00",
        "my-run_1:2+3.x",
        "_.",
        "a_b_.._c",
    ],
)
def test_ordinary_run_ids_keep_their_plain_log_folder(tmp_path: Path, run_id: str) -> None:
    """Logs written before the escape scheme existed are still found."""
    assert (
        log_path_for(tmp_path, TaskKey("d.x-1", "t_2", run_id, 3))
        == tmp_path / "d.x-1" / run_id / "t_2" / "3.log"
    )


def test_distinct_ids_get_distinct_log_files(tmp_path: Path) -> None:
    run_ids = [
        "a/b/../c",
        "a_b_.._c",
        "a%2Fb%2F..%2Fc",
        ".",
        "_.",
        "%2E",
        "..",
        "_..",
        "...",
        "",
        "%",
        "a\\b",
        "a\0b",
    ]
    paths = {log_path_for(tmp_path, TaskKey("d", "t", run_id, 1)) for run_id in run_ids}
    assert len(paths) == len(run_ids)
    dag_ids = [".", "..", "_.", "_.."]  # valid dag and task ids too
    assert len({log_path_for(tmp_path, TaskKey(d, d, "r", 1)) for d in dag_ids}) == len(dag_ids)


@pytest.mark.parametrize("value", ["..", ".", "", "../../etc", "/etc/passwd", "a/../../b", "..\\..", "\0"])
def test_a_log_path_never_leaves_the_log_folder(tmp_path: Path, value: str) -> None:
    path = log_path_for(tmp_path, TaskKey(value, value, value, 1))
    assert len(path.relative_to(tmp_path).parts) == 4
    assert not {".", "..", ""} & set(path.relative_to(tmp_path).parts)
    assert path.resolve().is_relative_to(tmp_path.resolve())


def test_the_instance_lock_excludes_other_processes_until_release(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    other_try = TaskKey("d", "t", "r", 2)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        with instance_lock(tmp_path, KEY):
            marks.write_text("held")
            time.sleep(0.5)
        os._exit(0)
    while not marks.exists():
        time.sleep(0.01)
    waited: list[bool] = []
    started = time.monotonic()

    with instance_lock(tmp_path, other_try, on_wait=lambda: waited.append(True)):
        held_for = time.monotonic() - started

    os.waitpid(pid, 0)
    assert waited == [True] and held_for > 0.3


def test_different_instances_do_not_contend(tmp_path: Path) -> None:
    assert lock_offset(KEY) == lock_offset(TaskKey("d", "t", "r", 9))
    assert lock_offset(KEY) != lock_offset(TaskKey("d", "t2", "r", 1))
    with instance_lock(tmp_path, KEY), instance_lock(tmp_path, TaskKey("d", "t2", "r", 1)):
        pass


def test_dag_cache_imports_once_and_again_after_a_change(tmp_path: Path) -> None:
    path = tmp_path / "one_dag.py"
    path.write_text("from tradewind.dag import DAG\ndag = DAG('one', schedule=None)\n")
    cache = DagCache()

    first = cache.get_dag(str(path), "one")
    assert cache.get_dag(str(path), "one") is first and cache.imports == 1
    path.write_text("from tradewind.dag import DAG\ndag = DAG('one', schedule=None, description='v2')\n")
    assert cache.get_dag(str(path), "one").description == "v2" and cache.imports == 2
    with pytest.raises(DagNotFound):
        cache.get_dag(str(path), "other")


def test_dag_cache_limits_import_time(tmp_path: Path) -> None:
    path = tmp_path / "slow_dag.py"
    path.write_text("import time\ntime.sleep(5)\n")

    with pytest.raises(DagImportTimeout):
        DagCache(import_timeout=0.2).get_dag(str(path), "x")


def test_output_to_captures_fds_and_streams_then_restores(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "a" / "b.log"

    with output_to(str(log)):
        print("via print")
        os.write(1, b"via fd 1\n")
        os.write(2, b"via fd 2\n")
        sys.stderr.write("via stderr\n")
    print("after")

    text = log.read_text()
    assert all(s in text for s in ("via print", "via fd 1", "via fd 2", "via stderr"))
    assert "after" in capfd.readouterr().out

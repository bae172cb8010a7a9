"""The host probe the benchmarks print first: each figure is measured, and none hangs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import hostprobe  # noqa: E402  (a script's module, beside the benchmarks)


def test_each_figure_is_a_positive_measurement(tmp_path: Path) -> None:
    assert 0 < hostprobe.python_loop_ms() < 5000
    assert 0 < hostprobe.page_fault_us(pages=256) < 10_000
    assert 0 < hostprobe.fork_ms(forks=5) < 5000
    assert 0 < hostprobe.new_log_us(tmp_path, logs=20) < 1_000_000


def test_new_logs_are_created_in_the_folder_and_left_there(tmp_path: Path) -> None:
    hostprobe.new_log_us(tmp_path, logs=7)
    (probe,) = tmp_path.iterdir()  # one subfolder, so the benchmark's own files are untouched
    assert probe.name.startswith("hostprobe-")
    assert sorted(f.relative_to(probe).as_posix() for f in probe.rglob("*.log")) == [
        f"{i}/1.log" for i in range(7)
    ]


def test_the_line_says_when_creating_files_is_slow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hostprobe, "SLOW_NEW_LOG_US", 1_000_000)
    assert "SLOW" not in hostprobe.summary(tmp_path)
    monkeypatch.setattr(hostprobe, "SLOW_NEW_LOG_US", 0)
    assert re.search(r", new log \d+ µs \(SLOW: files were deleted", hostprobe.summary(tmp_path))


@pytest.mark.timeout(30)
def test_wakeup_round_trip_ends_and_restores_affinity() -> None:
    before = os.sched_getaffinity(0)
    value = hostprobe.wakeup_us(round_trips=50)
    assert os.sched_getaffinity(0) == before
    if len(before) < 2:
        assert value is None
    else:
        assert value is not None and 0 < value < 1_000_000


def test_the_script_prints_one_line_of_figures(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "hostprobe.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    ).stdout
    assert re.fullmatch(
        r"host: python \d+ ms/M iterations, page fault [\d.]+ µs, fork [\d.]+ ms, "
        r"wake-up (\d+ µs|n/a \(one CPU\)), new log \d+ µs( \(SLOW: [^)]*\))? "
        r"\(see benchmarks/hostprobe\.py\)\n",
        out,
    ), out
    (scratch,) = tmp_path.iterdir()  # left behind: deleting files slows creating them for minutes
    assert scratch.name.startswith("tradewind-hostprobe-")
    assert len(list(scratch.rglob("*.log"))) == 200

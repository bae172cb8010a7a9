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


def test_each_figure_is_a_positive_measurement() -> None:
    assert 0 < hostprobe.python_loop_ms() < 5000
    assert 0 < hostprobe.page_fault_us(pages=256) < 10_000
    assert 0 < hostprobe.fork_ms(forks=5) < 5000


@pytest.mark.timeout(30)
def test_wakeup_round_trip_ends_and_restores_affinity() -> None:
    before = os.sched_getaffinity(0)
    value = hostprobe.wakeup_us(round_trips=50)
    assert os.sched_getaffinity(0) == before
    if len(before) < 2:
        assert value is None
    else:
        assert value is not None and 0 < value < 1_000_000


def test_the_script_prints_one_line_of_figures() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "hostprobe.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert re.fullmatch(
        r"host: python \d+ ms/M iterations, page fault [\d.]+ µs, fork [\d.]+ ms, "
        r"wake-up (\d+ µs|n/a \(one CPU\)) \(see benchmarks/hostprobe\.py\)\n",
        out,
    ), out

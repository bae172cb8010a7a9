from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def tradewind(tmp_path: Path) -> Run:
    """Run the real ``tradewind`` command in a subprocess with its own TRADEWIND_HOME."""

    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
        environ["TRADEWIND_HOME"] = str(tmp_path / "home")
        environ.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "tradewind", *args],
            env=environ,
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
        )

    return run

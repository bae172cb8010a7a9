"""Importing the light parts of Tradewind must not pull in heavy or server-side modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "fastapi", "starlette", "celery", "uvicorn", "tradewind.store", "tradewind.api")


def _imported_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import tradewind",
        "import tradewind.dag",
        "from tradewind import DAG",
        "import tradewind.cli.main",
        "from tradewind.clients import make_client",
        "import tradewind.clients.json",
    ],
)
def test_light_imports(statement: str) -> None:
    loaded = _imported_after(statement)
    assert not {m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)}


def test_public_all_is_unique_and_resolvable() -> None:
    import tradewind

    names = [n for n in tradewind.__all__ if n != "__version__"]
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(tradewind, name) is not None

"""Every ``ini`` snippet in the README and the docs is a valid ``tradewind.cfg`` as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tradewind.config import load_config

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SNIPPETS = [
    pytest.param(text, id=f"{path.name}:{text[:40]!r}")
    for path in DOCUMENTS
    for text in re.findall(r"```ini\n(.*?)```", path.read_text(), flags=re.DOTALL)
]


def test_the_documents_have_config_snippets() -> None:
    assert len(SNIPPETS) >= 10


@pytest.mark.parametrize("text", SNIPPETS)
def test_a_documented_config_snippet_loads(text: str, tmp_path: Path) -> None:
    (tmp_path / "tradewind.cfg").write_text(text)
    load_config(tmp_path, environ={})  # a bad key or value raises ConfigError
    values = re.findall(r"(?m)^\w+ *= *(.*)$", text)
    assert values
    assert not [v for v in values if "#" in v], (
        "tradewind.cfg has no inline comments: they become part of the value"
    )

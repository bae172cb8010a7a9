"""The README's DAG example must load as written."""

from __future__ import annotations

import re
from pathlib import Path

from tradewind.dag.loader import parse_files

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_dag_example_loads(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    dag_blocks = [b for b in blocks if "with DAG(" in b]
    assert dag_blocks
    for i, block in enumerate(dag_blocks):
        (tmp_path / f"readme_{i}.py").write_text(block)
    parsed = parse_files(sorted(tmp_path.iterdir()))
    assert [p.error for p in parsed] == [None] * len(dag_blocks)
    tasks = {t["task_id"]: t for t in parsed[0].dags[0]["tasks"]}
    assert tasks["load"]["upstream_task_ids"] == ["extract", "transform"]

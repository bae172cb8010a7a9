"""The task runner imports only what task processes need.

Every page of the runner's memory is one more page table entry that each ``fork()``
copies and each task process's exit tears down (a few hundredths of a millisecond per
megabyte, per task), so modules the runtime does not use stay out of it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from tradewind.dag.importing import module_name_for
from tradewind.executors.base import TaskKey
from tradewind.runtime.locks import lock_offset

# Each was in the runner before: OpenSSL behind hashlib, the pure-Python pickler, socket
# (for gethostname), and the DAG loader with its serializer (the parser's, not the runner's).
KEPT_OUT = ("hashlib", "_hashlib", "pickle", "socket", "tradewind.dag.loader", "tradewind.dag.serialize")
HEAVY = ("sqlalchemy", "jinja2", "psycopg", "celery", "tradewind.store", "tradewind.config")

DAG_FILE = """
from datetime import datetime, timezone
from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.operators.bash import BashOperator

with DAG("light", start_date=datetime(2024, 1, 1, tzinfo=timezone.utc), schedule=None):
    PythonOperator(task_id="p", python_callable=print) >> BashOperator(task_id="b", bash_command="true")
"""

RUNNER_STATE = """
import sys
from tradewind.runtime import runner
from tradewind.runtime.dags import DagCache
from tradewind.runtime.wire import RunnerSettings

runner.preload(RunnerSettings(None, 1000, sys.argv[1]))  # what the runner imports and warms up
DagCache().get_dag(sys.argv[2], "light")  # and a DAG file it runs tasks of
print("\\n".join(sys.modules))
"""


def test_the_runner_leaves_out_what_task_processes_do_not_use(tmp_path: Path) -> None:
    dag_file = tmp_path / "light.py"
    dag_file.write_text(DAG_FILE)
    out = subprocess.run(
        [sys.executable, "-c", RUNNER_STATE, str(tmp_path / "locks"), str(dag_file)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    loaded = set(out.split())
    assert "tradewind.dag.importing" in loaded and "tradewind.runtime.child" in loaded
    assert module_name_for(dag_file) in loaded
    assert not loaded & set(KEPT_OUT)
    assert not {m for m in loaded if m.startswith(HEAVY)}


def test_names_and_lock_offsets_are_the_sha1_ones_airflow_and_earlier_versions_used() -> None:
    path = Path("/dags/etl.py")
    digest = hashlib.sha1(str(path).encode()).hexdigest()
    assert module_name_for(path) == f"unusual_prefix_{digest}_etl"
    # A runner of the previous release on the same machine must lock the same bytes.
    key = TaskKey("d", "t", "r", 1)
    assert lock_offset(key) == int(hashlib.sha1(b"d\0r\0t").hexdigest()[:15], 16)

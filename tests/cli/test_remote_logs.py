"""`tasks logs` reads a try's log from the worker that ran it, with a signed request."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.cli.conftest import Run

from tradewind.celery_worker.logserver import LogServer
from tradewind.models import DagModel
from tradewind.store import Database

RUN_ID = "manual__2024-01-01T00:00:00+00:00"
WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def _record_a_remote_try(db_url: str) -> None:
    db = Database(db_url)
    with db.transaction() as store:
        store.session.add(DagModel(dag_id="d", fileloc="/dags/d.py"))
        store.session.flush()
        dag = {"dag_id": "d", "tasks": [{"task_id": "t", "operator": "BashOperator"}]}
        store.create_dag_run(dag, run_id=RUN_ID, execution_date=WHEN, run_type="manual", now=WHEN)
        ti = store.find_task_instance("d", RUN_ID, "t")
        assert ti is not None
        ti.hostname, ti.try_number, ti.state = "127.0.0.1", 1, "success"
    db.dispose()


def test_a_log_on_another_machine_is_fetched(tradewind: Run, tmp_path: Path, db_url: str) -> None:
    _record_a_remote_try(db_url)
    worker_logs = tmp_path / "worker-logs"
    (worker_logs / "d" / RUN_ID / "t").mkdir(parents=True)
    (worker_logs / "d" / RUN_ID / "t" / "1.log").write_text("ran on the worker\n")
    server = LogServer(worker_logs, "127.0.0.1", 0, secret="shared")
    server.start()
    env = {
        "TRADEWIND__CORE__SQL_ALCHEMY_CONN": db_url,
        "TRADEWIND__LOGGING__LOG_SERVER_SECRET": "shared",
        "TRADEWIND__CELERY__WORKER_LOG_SERVER_PORT": str(server.port),
    }
    try:
        fetched = tradewind("tasks", "logs", "d", "t", RUN_ID, env=env)
        assert (fetched.returncode, fetched.stdout) == (0, "ran on the worker\n"), fetched.stderr
        by_date = tradewind("tasks", "logs", "d", "t", "2024-01-01", env=env)
        assert by_date.stdout == "ran on the worker\n"
        refused = tradewind(
            "tasks", "logs", "d", "t", RUN_ID, env=env | {"TRADEWIND__LOGGING__LOG_SERVER_SECRET": "x"}
        )
        assert refused.returncode == 5
        assert "answered 403" in refused.stderr and "Traceback" not in refused.stderr
        missing = tradewind("tasks", "logs", "d", "t", RUN_ID, "--try", "2", env=env)
        assert missing.returncode == 3
        assert missing.stderr.startswith("Error: No log for try 2 of d.t")
    finally:
        server.stop()

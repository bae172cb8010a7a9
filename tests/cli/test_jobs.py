"""``tradewind jobs check`` and the job fields of ``/health``, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner, Result

from tradewind.api.health import health_document
from tradewind.cli.env import Env
from tradewind.cli.jobs import command
from tradewind.clock import utcnow
from tradewind.config import Config
from tradewind.store import Database


def check(config: Config, db: Database, *args: str) -> Result:
    env = Env()
    env.__dict__.update(config=config, db=db)
    return CliRunner().invoke(command, ["check", *args], obj=env)


def add_job(db: Database, job_type: str, hostname: str, age: float = 0.0, state: str = "running") -> int:
    with db.transaction() as store:
        job_id = store.add_job(job_type, hostname=hostname, pid=1, now=utcnow() - timedelta(seconds=age))
        if state != "running":
            store.end_jobs([job_id], state=state, now=utcnow())
    return job_id


def test_no_alive_job_exits_1(config: Config, db: Database) -> None:
    add_job(db, "SchedulerJob", "h1", age=3600)
    add_job(db, "SchedulerJob", "h2", state="success")
    result = check(config, db)
    assert result.exit_code == 1 and "No alive jobs found." in result.output


def test_one_alive_scheduler_exits_0(config: Config, db: Database) -> None:
    add_job(db, "SchedulerJob", "h1")
    result = check(config, db, "--job-type", "SchedulerJob", "--hostname", "h1")
    assert result.exit_code == 0 and result.output.strip() == "Found one alive job."
    assert check(config, db, "--hostname", "elsewhere").exit_code == 1
    assert check(config, db, "--job-type", "WorkerJob").exit_code == 1


def test_several_alive_jobs_need_allow_multiple(config: Config, db: Database) -> None:
    add_job(db, "SchedulerJob", "h1")
    add_job(db, "SchedulerJob", "h2")
    assert check(config, db).exit_code == 0  # --limit 1 looks at the newest only
    result = check(config, db, "--limit", "5")
    assert result.exit_code == 1 and "Found 2 alive jobs. Expected only one." in result.output
    result = check(config, db, "--limit", "5", "--allow-multiple")
    assert result.exit_code == 0 and result.output.strip() == "Found 2 alive jobs."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--allow-multiple"], "you must set the limit to a value greater than 1"),
        (["--hostname", "h", "--local"], "can't use --hostname and --local"),
    ],
)
def test_bad_option_combinations(config: Config, db: Database, args: list[str], message: str) -> None:
    result = check(config, db, *args)
    assert result.exit_code == 1 and message in result.output


def test_health_reports_live_schedulers_and_workers(db: Database) -> None:
    add_job(db, "SchedulerJob", "h1")
    add_job(db, "SchedulerJob", "h2", age=3600)
    add_job(db, "WorkerJob", "w1")
    document = health_document(db, now=utcnow(), threshold=30)
    assert document["scheduler"]["status"] == "healthy"
    assert document["schedulers"]["count"] == 1 and document["schedulers"]["jobs"][0]["hostname"] == "h1"
    assert document["workers"]["count"] == 1

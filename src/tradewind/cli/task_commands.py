"""``tasks test``, ``dags test`` and ``tasks logs``: run tasks in the foreground, read their logs.

The lead wires ``tasks_test`` and ``tasks_logs`` into the ``tasks`` group and ``dags_test``
into ``dags``. The test commands import the DAG file in this process and record nothing.
"""

from __future__ import annotations

import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tradewind.cli.env import Env, pass_env

if TYPE_CHECKING:
    from tradewind.config import Config
    from tradewind.dag import DAG
    from tradewind.runtime.foreground import TaskOutcome
    from tradewind.runtime.xcoms import XComSource

_FAILED = {"failed", "up_for_retry", "upstream_failed"}


@click.command("test")
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("execution_date", required=False)
@pass_env
def tasks_test(env: Env, dag_id: str, task_id: str, execution_date: str | None) -> None:
    """Run one task now, ignoring its dependencies and recording nothing; print its log.

    XComs are pulled from the recorded run at EXECUTION_DATE (default: now), if there is one.
    """
    from tradewind.runtime.foreground import adhoc_workload, run_in_foreground

    dag = _find_dag(env.config, dag_id)
    task = dag.get_task(task_id)
    when = _parse_date(execution_date, env.config)
    run_id, xcoms = _recorded_run(env, dag_id, when)
    workload = adhoc_workload(dag, task, logical_date=when, run_id=run_id)
    event = run_in_foreground(
        workload, dag, stream=sys.stdout, xcoms=xcoms, max_xcom_size=env.config.core.max_xcom_size
    )
    click.echo(f"Task {dag_id}.{task_id} ended: {event.state}" + (f" ({event.error})" if event.error else ""))
    if event.state in _FAILED:
        raise click.exceptions.Exit(1)


@click.command("test")
@click.argument("dag_id")
@click.argument("execution_date", required=False)
@click.option("--conf", "-c", "conf_text", help="JSON object passed to the run as its conf.")
@pass_env
def dags_test(env: Env, dag_id: str, execution_date: str | None, conf_text: str | None) -> None:
    """Run every task of a DAG once, in dependency order, in this process; record nothing.

    Trigger rules and branch skips apply; a task that fails with retries left is retried at once.
    """
    from tradewind.runtime.foreground import run_dag_in_foreground

    dag = _find_dag(env.config, dag_id)
    when = _parse_date(execution_date, env.config)
    states = run_dag_in_foreground(
        dag,
        logical_date=when,
        run_id=f"test__{when.isoformat()}",
        conf=_parse_conf(conf_text),
        stream=sys.stdout,
        max_xcom_size=env.config.core.max_xcom_size,
        on_start=lambda task_id, index, total: click.echo(f"[{index}/{total}] {task_id}: starting"),
        on_end=_echo_outcome,
    )
    failed = sorted(t for t, s in states.items() if s in _FAILED)
    summary = ", ".join(f"{s}: {n}" for s, n in sorted(_count(states.values()).items()))
    click.echo(f"DAG {dag_id} finished ({summary})")
    if failed:
        click.echo(f"Failed tasks: {', '.join(failed)}", err=True)
        raise click.exceptions.Exit(1)


@click.command("logs")
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("execution_date_or_run_id")
@click.option("--try", "try_number", type=int, help="The try to show (default: the latest).")
@pass_env
def tasks_logs(
    env: Env, dag_id: str, task_id: str, execution_date_or_run_id: str, try_number: int | None
) -> None:
    """Print the log of a task instance's try.

    A log written on another machine (a Celery worker) is fetched from that worker's log
    server, which needs the same ``[logging] log_server_secret`` here and there.
    """
    from tradewind.errors import TaskInstanceNotFound
    from tradewind.executors.base import TaskKey, log_path_for

    run_id = _resolve_run_id(env, dag_id, execution_date_or_run_id)
    folder = log_path_for(env.config.log_folder, TaskKey(dag_id, task_id, run_id, 1)).parent
    with env.db.transaction(write=False) as store:
        ti = store.find_task_instance(dag_id, run_id, task_id)
    local = sorted(int(p.stem) for p in folder.glob("*.log") if p.stem.isdigit())
    number = try_number if try_number is not None else max([*local, ti.try_number if ti else 1, 1])
    path = folder / f"{number}.log"
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    if text is None and ti is not None and ti.hostname:
        text = _remote_log(env, ti.hostname, path)
    if text is None and try_number is None and local:  # the newest try has not logged yet
        number, path = local[-1], folder / f"{local[-1]}.log"
        text = path.read_text(encoding="utf-8", errors="replace")
    if text is None:
        raise TaskInstanceNotFound(f"No log for try {number} of {dag_id}.{task_id} in run {run_id} ({path})")
    click.echo(text, nl=False)


def _remote_log(env: Env, hostname: str, path: Path) -> str | None:
    """The log from the worker that ran the try, if this machine may ask for it."""
    from tradewind.celery_worker.logserver import fetch_log
    from tradewind.errors import ConnectionFailed

    secret = str.__str__(env.config.logging.log_server_secret)
    port = env.config.celery.worker_log_server_port
    if not secret or not port or hostname == socket.gethostname():
        return None
    relative = path.relative_to(env.config.log_folder).as_posix()
    try:
        return fetch_log(hostname, port, relative, secret)
    except OSError as exc:
        raise ConnectionFailed(f"Cannot fetch the log from {hostname}:{port}: {exc}") from None


# --- helpers ------------------------------------------------------------------------------


def _find_dag(config: Config, dag_id: str) -> DAG:
    from tradewind.dag.loader import example_dags_folder
    from tradewind.runtime.dags import find_dag

    folders = [config.dags_folder] + ([example_dags_folder()] if config.core.load_examples else [])
    return find_dag(dag_id, folders)


def _parse_date(text: str | None, config: Config) -> datetime:
    from tradewind.timeutil import parse_date

    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    return parse_date(text, config.timezone).astimezone(UTC)


def _parse_conf(text: str | None) -> dict[str, Any] | None:
    from tradewind.errors import InvalidConf

    if text is None:
        return None
    try:
        conf = json.loads(text)
    except ValueError:
        raise InvalidConf("--conf must be a JSON object") from None
    if not isinstance(conf, dict):
        raise InvalidConf()
    return conf


def _recorded_run(env: Env, dag_id: str, when: datetime) -> tuple[str, XComSource]:
    """The run at ``when`` and its XComs if the database has one, else a temporary run id."""
    from tradewind.runtime.xcoms import DatabaseXComs, NoXComs

    if not _has_database(env.config):
        return f"test__{when.isoformat()}", NoXComs()
    try:
        with env.db.transaction(write=False) as store:
            run = store.find_dag_run(dag_id, execution_date=when)
            run_id = run.run_id if run is not None else None
    except Exception:  # no database, or not initialised: there is nothing to pull then
        run_id = None
    if run_id is None:
        return f"test__{when.isoformat()}", NoXComs()
    return run_id, DatabaseXComs(database=env.db)


def _has_database(config: Config) -> bool:
    """False for a SQLite file that does not exist: merely looking would create it."""
    from tradewind.store import normalize_url

    url = normalize_url(str.__str__(config.core.sql_alchemy_conn))
    return not url.drivername.startswith("sqlite") or not url.database or Path(url.database).exists()


def _resolve_run_id(env: Env, dag_id: str, value: str) -> str:
    """``value`` if a run has that id; else the id of the run at that execution date."""
    from tradewind.errors import DagRunNotFound, InvalidDate
    from tradewind.timeutil import parse_date

    with env.db.transaction(write=False) as store:
        if store.find_dag_run(dag_id, run_id=value) is not None:
            return value
        try:
            when = parse_date(value, env.config.timezone)
        except InvalidDate:
            return value  # logs may outlive their run's row
        run = store.find_dag_run(dag_id, execution_date=when)
    if run is None:
        raise DagRunNotFound(f"DagRun for {dag_id} with run_id or execution_date of {value!r} not found")
    return run.run_id


def _echo_outcome(outcome: TaskOutcome) -> None:
    reason = f": {outcome.error}" if outcome.error else ""
    click.echo(f"Task {outcome.task_id} ended: {outcome.state} ({outcome.duration:.2f}s){reason}")


def _count(states: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return counts

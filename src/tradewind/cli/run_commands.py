"""``tradewind tasks clear`` and ``tradewind dags backfill`` (wired into their groups by ``cli/main.py``).

``dags backfill`` creates queued ``backfill`` runs for every schedule point in the range, then
waits for them with progress. If a live scheduler is running it picks the runs up; otherwise
the command runs a scheduler in the foreground (the configured executor, no DAG parsing) until
the backfill is done, so it works on a laptop with nothing else started. That scheduler only
starts the backfill's own runs: it creates no scheduled runs and leaves every other run alone. Backfill runs start
even if the DAG is paused, and count towards ``max_active_runs``.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import click

from tradewind.cli.env import Env, pass_env

_FINISHED = ("success", "failed")


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    from tradewind.timeutil import parse_date

    return parse_date(value)


@click.command("clear")
@click.argument("dag_id")
@click.option("-t", "--task-regex", help="Clear only tasks whose id matches this regex.")
@click.option("-s", "--start-date", callback=_date, help="Only runs on or after this logical date.")
@click.option("-e", "--end-date", callback=_date, help="Only runs on or before this logical date.")
@click.option("-f", "--only-failed", is_flag=True, help="Only failed and upstream_failed instances.")
@click.option("-d", "--downstream", is_flag=True, help="Also clear the matching tasks' downstream tasks.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_env
def tasks_clear(env: Env, dag_id: str, task_regex: str | None, start_date: datetime | None,
                end_date: datetime | None, only_failed: bool, downstream: bool, yes: bool) -> None:  # fmt: skip
    """Reset task instances to none so that the scheduler runs them again."""
    from tradewind.clock import utcnow
    from tradewind.scheduler.clearing import ClearSelection, clear, task_instances_to_clear

    selection = ClearSelection(task_regex, start_date, end_date, only_failed, downstream)
    with env.db.transaction() as store:
        keys = task_instances_to_clear(store, dag_id, selection)
        if not keys:
            click.echo("No task instances to clear")
            return
        if not yes:
            click.echo("\n".join(f"<TaskInstance: {d}.{t} {r}>" for d, r, t in keys))
            click.confirm(f"Clear {len(keys)} task instance(s)?", abort=True)
        clear(store, keys, now=utcnow())
    click.echo(f"Cleared {len(keys)} task instance(s)")


@click.command("backfill")
@click.argument("dag_id")
@click.option("-s", "--start-date", callback=_date, required=True, help="First logical date (inclusive).")
@click.option("-e", "--end-date", callback=_date, required=True, help="Last logical date (inclusive).")
@click.option("--no-wait", is_flag=True, help="Only create the runs; a running scheduler executes them.")
@pass_env
def dags_backfill(env: Env, dag_id: str, start_date: datetime, end_date: datetime, no_wait: bool) -> None:
    """Run a DAG for every schedule point between two dates."""
    from tradewind.clock import utcnow
    from tradewind.scheduler.clearing import create_backfill_runs

    with env.db.transaction() as store:
        run_ids = create_backfill_runs(store, dag_id, start_date, end_date, now=utcnow())
    click.echo(f"Created {len(run_ids)} backfill run(s) of {dag_id}")
    if not run_ids or no_wait:
        return
    if _live_scheduler(env):
        click.echo("A scheduler is running: waiting for it to run them")
        _show_progress(env, dag_id, run_ids)
        return
    _run_in_foreground(env, dag_id, run_ids)


def _live_scheduler(env: Env) -> bool:
    from tradewind.clock import utcnow
    from tradewind.scheduler.recovery import JOB_TYPE, is_pid_alive

    limit = utcnow() - timedelta(seconds=env.config.scheduler.scheduler_health_check_threshold)
    with env.db.transaction(write=False) as store:
        jobs = store.running_jobs(JOB_TYPE)
    return any(job.latest_heartbeat >= limit and is_pid_alive(job.pid) for job in jobs)


def _run_in_foreground(env: Env, dag_id: str, run_ids: list[str]) -> None:
    import signal

    from tradewind.scheduler.main import build_scheduler, stop_event_on_signals
    from tradewind.store.scheduling import RunScope

    scope = RunScope(dag_id, frozenset(run_ids))
    scheduler = build_scheduler(env.config, env.db, parse=False, scope=scope)
    with stop_event_on_signals(signal.SIGTERM, signal.SIGINT) as stop:
        thread = threading.Thread(target=scheduler.run, args=(stop,), name="tradewind-backfill")
        thread.start()
        try:
            _show_progress(env, dag_id, run_ids, stop=stop)
        finally:
            stop.set()
            thread.join()


def _show_progress(env: Env, dag_id: str, run_ids: list[str], stop: threading.Event | None = None) -> None:
    last: tuple[int, int, int] | None = None
    while stop is None or not stop.is_set():
        with env.db.transaction(write=False) as store:
            states = [getattr(store.find_dag_run(dag_id, run_id=r), "state", None) for r in run_ids]
        done = (states.count("success"), states.count("failed"), sum(s == "running" for s in states))
        if done != last:
            click.echo(f"{done[0] + done[1]}/{len(run_ids)} runs finished "
                       f"(success {done[0]}, failed {done[1]}, running {done[2]})")  # fmt: skip
            last = done
        if done[0] + done[1] == len(run_ids):
            if done[1]:
                raise click.ClickException(f"{done[1]} backfill run(s) failed")
            return
        time.sleep(0.2)

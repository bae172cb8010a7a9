"""``tradewind scheduler``: run the scheduler in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import click

from tradewind.cli.env import Env, pass_env

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@click.command("scheduler")
@click.option("--no-parse", is_flag=True, help="Do not parse the DAG folder (another process does).")
@pass_env
def command(env: Env, no_parse: bool) -> None:
    """Schedule DAG runs and their tasks on the configured executor.

    SIGTERM or Ctrl-C stops submitting work, lets running tasks finish for a while, then
    stops them and marks the scheduler job ended; a second signal exits at once.

    Several schedulers may run against one PostgreSQL database (on SQLite a second one
    refuses to start); see docs/deployment.md.
    """
    import logging
    import os
    import signal

    from tradewind.scheduler.main import run_scheduler, stop_event_on_signals

    config = env.config
    logging.basicConfig(level=config.logging.logging_level.upper(), format=LOG_FORMAT)
    with stop_event_on_signals(signal.SIGTERM, signal.SIGINT) as stop:
        click.echo(f"Scheduler started (executor {config.core.executor}, pid {os.getpid()})")
        healthy = run_scheduler(config, env.db, stop, parse=not no_parse)
    if not healthy:
        raise click.ClickException(
            "Scheduler stopped: another scheduler declared it dead and adopted its work"
        )
    click.echo("Scheduler stopped")

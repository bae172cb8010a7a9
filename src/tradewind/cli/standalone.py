"""``tradewind standalone``: everything on one machine, for a laptop.

Initialises the database if needed, starts the webserver (``tradewind webserver``) as a
child process, prints its URL, and runs the scheduler in this process. Ctrl-C or SIGTERM
stops both. If the webserver cannot start, the scheduler still runs.
"""

from __future__ import annotations

import subprocess

import click

from tradewind.cli.env import Env, pass_env


@click.command("standalone")
@pass_env
def command(env: Env) -> None:
    """Initialise the database, then run the scheduler and the webserver together."""
    import logging
    import signal

    from tradewind.cli.scheduler import LOG_FORMAT
    from tradewind.config import write_default_config
    from tradewind.scheduler.main import run_scheduler, stop_event_on_signals
    from tradewind.store.migrate import init_db

    config = env.config
    logging.basicConfig(level=config.logging.logging_level.upper(), format=LOG_FORMAT)
    if write_default_config(config.config_file):
        click.echo(f"Wrote default configuration to {config.config_file}")
    init_db(env.db)
    webserver = _start_webserver(env)
    try:
        with stop_event_on_signals(signal.SIGTERM, signal.SIGINT) as stop:
            run_scheduler(config, env.db, stop)
    finally:
        _stop(webserver)
    click.echo("Standalone stopped")


def _start_webserver(env: Env) -> subprocess.Popen[bytes] | None:
    import importlib.util
    import os
    import sys

    if importlib.util.find_spec("tradewind.cli.webserver") is None:
        click.echo(
            "The webserver is not available in this installation; running the scheduler only", err=True
        )
        return None
    environ = os.environ | {"TRADEWIND_HOME": str(env.config.home)}
    process = subprocess.Popen([sys.executable, "-m", "tradewind", "webserver"], env=environ)
    web = env.config.webserver
    click.echo(
        f"Tradewind is running: API at http://{web.host}:{web.port}/api/experimental/ (Ctrl-C to stop)"
    )
    return process


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

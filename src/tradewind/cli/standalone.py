"""``tradewind standalone``: everything on one machine, for a laptop.

Initialises the database if needed, starts the webserver (``tradewind webserver``) as a
child process, prints its URL, and runs the scheduler in this process. Ctrl-C or SIGTERM
stops both. If the webserver cannot start, the scheduler still runs.

Secure by default even on a laptop: the first start writes a config that uses password
authentication for the API and creates an ``admin`` user whose random password is printed
once and kept in a file only its owner can read.
"""

from __future__ import annotations

import subprocess

import click

from tradewind.cli.env import Env, pass_env

PASSWORD_AUTH = "tradewind.api.auth.backend.password_auth"


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

    # Handle SIGTERM from the first moment, so a stop during start-up never orphans the webserver.
    with stop_event_on_signals(signal.SIGTERM, signal.SIGINT) as stop:
        if write_default_config(env.config.config_file, {"api": {"auth_backend": PASSWORD_AUTH}}):
            click.echo(f"Wrote default configuration to {env.config.config_file} (API: password auth)")
            del env.config  # reload: the new file chose the auth backend
        config = env.config
        logging.basicConfig(level=config.logging.logging_level.upper(), format=LOG_FORMAT)
        init_db(env.db)
        _ensure_admin(env)
        webserver = None if stop.is_set() else _start_webserver(env)
        healthy = True
        try:
            if not stop.is_set():
                healthy = run_scheduler(config, env.db, stop)
        finally:
            _stop(webserver)
    if not healthy:
        raise click.ClickException(
            "Scheduler stopped: another scheduler declared it dead and adopted its work"
        )
    click.echo("Standalone stopped")


def _ensure_admin(env: Env) -> None:
    """With password auth, make sure someone can log in: show a new admin password once."""
    from tradewind.actions.users import STANDALONE_PASSWORD_FILE, ensure_admin_user
    from tradewind.api.auth.backend import ALIASES

    backend = env.config.api.auth_backend
    if ALIASES.get(backend, backend) != PASSWORD_AUTH:
        return
    password = ensure_admin_user(env.db, env.config.home)
    path = env.config.home / STANDALONE_PASSWORD_FILE
    if password is None:
        click.echo(f"API login: user admin, password in {path}")
        return
    click.echo(f"API login: user admin, password {password} (shown once; also in {path}, mode 0600)")


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

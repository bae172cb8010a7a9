"""``tradewind db``: create, upgrade, reset and check the metadata database."""

from __future__ import annotations

import click

from tradewind.cli.env import Env, pass_env


@click.group("db")
def command() -> None:
    """Manage the metadata database."""


@command.command("init")
@pass_env
def init(env: Env) -> None:
    """Write a default config file if missing, then create or upgrade the schema."""
    from tradewind.config import write_default_config
    from tradewind.store.migrate import init_db

    if write_default_config(env.config.config_file):
        click.echo(f"Wrote default configuration to {env.config.config_file}")
    init_db(env.db)
    click.echo(f"Initialised the database at {_where(env)}")


@command.command("upgrade")
@pass_env
def upgrade(env: Env) -> None:
    """Apply pending migrations."""
    from tradewind.store.migrate import init_db

    init_db(env.db)
    click.echo("Database is up to date")


@command.command("reset")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_env
def reset(env: Env, yes: bool) -> None:
    """Drop every table and start from an empty database."""
    from tradewind.store.migrate import reset_db

    if not yes:
        click.confirm(f"This drops all data in {_where(env)}. Proceed?", abort=True)
    reset_db(env.db)
    click.echo("Database reset")


@command.command("check")
@pass_env
def check(env: Env) -> None:
    """Exit non-zero unless the database is reachable and at the newest schema."""
    from sqlalchemy.exc import SQLAlchemyError

    from tradewind.errors import ConfigError
    from tradewind.store.migrate import current_revision, head_revision

    try:
        current = current_revision(env.db)
    except SQLAlchemyError as exc:
        raise ConfigError(f"Cannot reach the database at {_where(env)}: {type(exc).__name__}") from None
    if current != head_revision():
        raise ConfigError(
            f"Database schema is at {current}, expected {head_revision()}: run `tradewind db upgrade`"
        )
    click.echo(f"Database is reachable and at revision {current}")


def _where(env: Env) -> str:
    return env.db.url.render_as_string(hide_password=True)

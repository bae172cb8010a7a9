"""``tradewind config``: what the running configuration is, secrets masked."""

from __future__ import annotations

import click

from tradewind.cli.env import Env, pass_env
from tradewind.cli.output import echo_rows, output_option


@click.group("config")
def command() -> None:
    """Show the configuration."""


@command.command("get-value")
@click.argument("section")
@click.argument("key")
@pass_env
def get_value(env: Env, section: str, key: str) -> None:
    """Print one value."""
    from tradewind.config import get_value as read

    click.echo(read(env.config, section.lower(), key.lower()))


@command.command("list")
@output_option
@pass_env
def list_values(env: Env, output: str) -> None:
    """List every value (secrets masked)."""
    from tradewind.config import iter_values

    rows = [{"section": s, "key": k, "value": v} for s, k, v in iter_values(env.config)]
    echo_rows(rows, output)

"""``tradewind pools``: list, read, set, delete, import and export pools through the client.

The file format of ``import``/``export`` is Airflow's::

    {"my_pool": {"slots": 4, "description": "Four at a time", "include_deferred": false}}
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

import click

from tradewind.cli.env import Env, pass_env
from tradewind.cli.output import echo_rows, output_option

if TYPE_CHECKING:
    from tradewind.values import PoolInfo

COLUMNS = ["pool", "slots", "description", "include_deferred"]
_FILE_KEYS = frozenset({"slots", "description", "include_deferred"})


@click.group("pools")
def command() -> None:
    """Manage pools."""


def _row(pool: PoolInfo) -> dict[str, Any]:
    return {
        "pool": pool.pool,
        "slots": pool.slots,
        "description": pool.description,
        "include_deferred": pool.include_deferred,
    }


@command.command("list")
@output_option
@pass_env
def list_pools(env: Env, output: str) -> None:
    """List pools."""
    echo_rows([_row(pool) for pool in env.client.pools()], output, columns=COLUMNS)


@command.command("get")
@click.argument("name")
@output_option
@pass_env
def get(env: Env, name: str, output: str) -> None:
    """Show one pool."""
    echo_rows([_row(env.client.get_pool(name))], output, columns=COLUMNS)


@command.command("set")
@click.argument("name")
@click.argument("slots", type=click.IntRange(min=0))
@click.argument("description")
@click.option("--include-deferred/--no-include-deferred", default=None, help="Count deferred tasks too.")
@pass_env
def set_pool(env: Env, name: str, slots: int, description: str, include_deferred: bool | None) -> None:
    """Create a pool, or update the pool of that name."""
    pool = env.client.create_or_update_pool(name, slots, description, include_deferred=include_deferred)
    click.echo(f"Pool {pool.pool} created")


@command.command("delete")
@click.argument("name")
@pass_env
def delete(env: Env, name: str) -> None:
    """Delete a pool (not default_pool)."""
    pool = env.client.delete_pool(name)
    click.echo(f"Pool {pool.pool} deleted")


@command.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@pass_env
def import_pools(env: Env, file: TextIO) -> None:
    """Create or update the pools of a JSON file (``-`` for standard input)."""
    pools = read_pool_file(file)
    for name, spec in pools.items():
        env.client.create_or_update_pool(
            name, spec["slots"], spec.get("description"), include_deferred=spec.get("include_deferred")
        )
    click.echo(f"Uploaded {len(pools)} pool(s)")


@command.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"))
@pass_env
def export_pools(env: Env, file: TextIO) -> None:
    """Write every pool to a JSON file (``-`` for standard output)."""
    pools = {
        pool.pool: {
            "description": pool.description,
            "include_deferred": pool.include_deferred,
            "slots": pool.slots,
        }
        for pool in env.client.pools()
    }
    file.write(json.dumps(pools, indent=4, sort_keys=True) + "\n")
    if file.name not in ("-", "<stdout>"):
        click.echo(f"Exported {len(pools)} pool(s) to {file.name}")


def read_pool_file(file: TextIO) -> dict[str, dict[str, Any]]:
    """The pools of an import file, checked before any is written."""
    from tradewind.errors import BadRequest

    try:
        data = json.load(file)
    except ValueError as exc:
        raise BadRequest(f"Invalid JSON in {file.name}: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{file.name} must hold a JSON object of pools: {{name: {{slots, description}}}}")
    for name, spec in data.items():
        if not isinstance(spec, dict) or "slots" not in spec:
            raise BadRequest(f"Pool {name!r} in {file.name} must be an object with `slots`")
        unknown = sorted(set(spec) - _FILE_KEYS)
        if unknown:
            raise BadRequest(f"Pool {name!r} in {file.name} has unknown key(s): {', '.join(unknown)}")
    return data

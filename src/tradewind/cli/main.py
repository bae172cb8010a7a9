"""The ``tradewind`` command. Subcommands load lazily so ``--help`` stays fast."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from tradewind.cli.env import Env

COMMANDS: dict[str, tuple[str, str]] = {
    "celery": ("tradewind.cli.celery", "Run Celery workers."),
    "config": ("tradewind.cli.config", "Show the configuration."),
    "dags": ("tradewind.cli.dags", "Manage DAGs and their runs."),
    "db": ("tradewind.cli.db", "Manage the metadata database."),
    "jobs": ("tradewind.cli.jobs", "Check scheduler and worker heartbeats."),
    "pools": ("tradewind.cli.pools", "Manage pools."),
    "scheduler": ("tradewind.cli.scheduler", "Run the scheduler."),
    "standalone": ("tradewind.cli.standalone", "Run everything on one machine."),
    "tasks": ("tradewind.cli.tasks", "Inspect and run tasks."),
    "users": ("tradewind.cli.users", "Manage API users."),
    "version": ("tradewind.cli.version", "Show the version."),
    "webserver": ("tradewind.cli.webserver", "Run the API webserver."),
}


# Subcommands that live outside their group's module, added when the group loads.
SUBCOMMANDS: dict[str, dict[str, str]] = {
    "dags": {
        "backfill": "tradewind.cli.run_commands:dags_backfill",
        "test": "tradewind.cli.task_commands:dags_test",
    },
    "tasks": {
        "clear": "tradewind.cli.run_commands:tasks_clear",
        "logs": "tradewind.cli.task_commands:tasks_logs",
        "test": "tradewind.cli.task_commands:tasks_test",
    },
}


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (click docs: complex.md)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (module, _) in COMMANDS.items() if _available(module))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _available(entry[0]):
            return None
        command = importlib.import_module(entry[0]).command
        assert isinstance(command, click.Command)
        if isinstance(command, click.Group):
            _add_subcommands(command, SUBCOMMANDS.get(cmd_name, {}))
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _add_subcommands(group: click.Group, table: dict[str, str]) -> None:
    for name, target in table.items():
        module, _, attr = target.partition(":")
        if name not in group.commands and _available(module):
            group.add_command(getattr(importlib.import_module(module), attr), name)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Tradewind: workflows as Python code, with Airflow's experimental REST API."""
    ctx.obj = Env()


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: errors we raise on purpose become ``Error: ...`` and an exit code."""
    from tradewind.errors import TradewindError

    try:
        return cli.main(args=argv, prog_name="tradewind", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except TradewindError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)

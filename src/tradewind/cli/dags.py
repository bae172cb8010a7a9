"""``tradewind dags``: list DAGs and import errors, parse the folder, and (through the client) runs."""

from __future__ import annotations

import click

from tradewind.cli.env import Env, pass_env
from tradewind.cli.output import echo_rows, output_option


@click.group("dags")
def command() -> None:
    """Manage DAGs and their runs."""


@command.command("list")
@output_option
@pass_env
def list_dags(env: Env, output: str) -> None:
    """List the DAGs the database knows (run `dags reserialize` to parse the folder now)."""
    with env.db.transaction(write=False) as store:
        rows = [
            {"dag_id": d.dag_id, "fileloc": d.fileloc, "owners": d.owners, "is_paused": d.is_paused}
            for d in store.dags()
        ]
    echo_rows(rows, output, columns=["dag_id", "fileloc", "owners", "is_paused"])


@command.command("list-import-errors")
@output_option
@pass_env
def list_import_errors(env: Env, output: str) -> None:
    """List DAG files that failed to load, with their errors."""
    with env.db.transaction(write=False) as store:
        rows = [{"filepath": e.filename, "error": e.stacktrace} for e in store.import_errors()]
    echo_rows(rows, output, columns=["filepath", "error"])


@command.command("reserialize")
@pass_env
def reserialize(env: Env) -> None:
    """Parse the DAG folder now and store what it defines."""
    from tradewind.parsing import sync_once

    config = env.config
    result = sync_once(
        env.db,
        config.dags_folder,
        include_examples=config.core.load_examples,
        timeout=config.core.dag_file_processor_timeout,
    )
    click.echo(
        f"Parsed {result.parsed} file(s): {result.dags} DAG(s), {result.errors} import error(s), "
        f"{result.deactivated} DAG(s) deactivated"
    )

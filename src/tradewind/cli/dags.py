"""``tradewind dags``: list DAGs and import errors, parse the folder, and (through the client) runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
        paused_at_creation=config.core.dags_are_paused_at_creation,
    )
    click.echo(
        f"Parsed {result.parsed} file(s): {result.dags} DAG(s), {result.errors} import error(s), "
        f"{result.deactivated} DAG(s) deactivated"
    )


# ---- through the configured client ([cli] api_client) ----------------------------------


if TYPE_CHECKING:
    _TextType = click.ParamType[str]
    _ObjectType = click.ParamType[dict[str, Any]]
else:  # older click releases have no generic ParamType
    _TextType = _ObjectType = click.ParamType


class DateText(_TextType):
    """A date as the API accepts it (``2024-01-01``, ``2024-01-01T10:00:00+02:00`` …), kept as text.

    Checked here so a bad date is a usage error; the command parses it in ``[core]
    default_timezone`` (see :func:`parse_cli_date`).
    """

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from tradewind.errors import InvalidDate
        from tradewind.timeutil import parse_date

        try:
            parse_date(str(value))
        except InvalidDate as exc:
            self.fail(exc.message, param, ctx)
        return str(value)


class JsonObject(_ObjectType):
    """A JSON object given on the command line, e.g. ``'{"key": "value"}'``."""

    name = "json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        try:
            data = json.loads(value)
        except ValueError as exc:
            self.fail(f"not valid JSON: {exc}", param, ctx)
        except RecursionError:  # the interpreter's limit is far above what a conf may hold anyway
            from tradewind.runconf import MAX_CONF_DEPTH

            self.fail(f"nested deeper than {MAX_CONF_DEPTH} levels", param, ctx)
        if not isinstance(data, dict):
            self.fail('must be a JSON object, e.g. \'{"key": "value"}\'', param, ctx)
        return data


DATE = DateText()
JSON_OBJECT = JsonObject()


def parse_cli_date(env: Env, text: str) -> datetime:
    """A date argument, naive values in ``[core] default_timezone``."""
    from tradewind.timeutil import parse_date

    return parse_date(text, env.config.timezone)


def iso_or_blank(value: datetime | None) -> str:
    from tradewind.timeutil import isoformat

    return "" if value is None else isoformat(value)


@command.command("trigger")
@click.argument("dag_id")
@click.option("--conf", "-c", type=JSON_OBJECT, help="The run's conf, a JSON object.")
@click.option("--run-id", "-r", help="The run's id.  [default: manual__<execution date>]")
@click.option("--exec-date", "-e", "exec_date", type=DATE, help="The run's execution date.  [default: now]")
@output_option
@pass_env
def trigger(
    env: Env, dag_id: str, conf: dict[str, Any] | None, run_id: str | None, exec_date: str | None, output: str
) -> None:
    """Trigger a DAG run (it starts when the scheduler picks it up)."""
    when = None if exec_date is None else parse_cli_date(env, exec_date)
    result = env.client.trigger_dag(dag_id, run_id=run_id, conf=conf, execution_date=when)
    row = {
        "dag_id": result.dag_id,
        "run_id": result.run_id,
        "execution_date": iso_or_blank(result.execution_date),
        "state": result.state,
    }
    echo_rows([row], output)


RUN_COLUMNS = ["dag_id", "run_id", "state", "execution_date", "start_date", "end_date"]


@command.command("list-runs")
@click.option("--dag-id", "-d", required=True, help="The DAG whose runs to list.")
@click.option("--state", help="Only runs in this state (queued, running, success, failed).")
@click.option("--start-date", type=DATE, help="Only runs with an execution date at or after this.")
@click.option("--end-date", type=DATE, help="Only runs with an execution date at or before this.")
@output_option
@pass_env
def list_runs(
    env: Env, dag_id: str, state: str | None, start_date: str | None, end_date: str | None, output: str
) -> None:
    """List a DAG's runs, oldest first."""
    runs = env.client.dag_runs(
        dag_id,
        state=state,
        execution_date_gte=None if start_date is None else parse_cli_date(env, start_date),
        execution_date_lte=None if end_date is None else parse_cli_date(env, end_date),
    )
    rows = [
        {
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "state": run.state,
            "execution_date": iso_or_blank(run.execution_date),
            "start_date": iso_or_blank(run.start_date),
            "end_date": iso_or_blank(run.end_date),
        }
        for run in runs
    ]
    echo_rows(rows, output, columns=RUN_COLUMNS)


@command.command("state")
@click.argument("dag_id")
@click.argument("execution_date", type=DATE)
@pass_env
def state(env: Env, dag_id: str, execution_date: str) -> None:
    """Print the state of the DAG's run at EXECUTION_DATE."""
    click.echo(env.client.dag_run_state(dag_id, parse_cli_date(env, execution_date)))


@command.command("pause")
@click.argument("dag_id")
@pass_env
def pause(env: Env, dag_id: str) -> None:
    """Pause a DAG: no new runs or tasks start until it is unpaused."""
    result = env.client.set_paused(dag_id, True)
    click.echo(f"Dag: {result.dag_id}, paused: {result.is_paused}")


@command.command("unpause")
@click.argument("dag_id")
@pass_env
def unpause(env: Env, dag_id: str) -> None:
    """Unpause a DAG."""
    result = env.client.set_paused(dag_id, False)
    click.echo(f"Dag: {result.dag_id}, paused: {result.is_paused}")


@command.command("delete")
@click.argument("dag_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_env
def delete(env: Env, dag_id: str, yes: bool) -> None:
    """Delete all records of a DAG (runs, task instances, XComs …).

    A DAG whose file is still in the DAG folder comes back at the next parse.
    """
    if not yes:
        click.confirm(
            f"This will drop all existing records related to the DAG {dag_id}. Proceed?", abort=True
        )
    click.echo(env.client.delete_dag(dag_id).message)


@command.command("latest-runs")
@output_option
@pass_env
def latest_runs(env: Env, output: str) -> None:
    """List the run with the newest execution date of every DAG that has runs."""
    rows = [
        {
            "dag_id": run.dag_id,
            "execution_date": iso_or_blank(run.execution_date),
            "start_date": iso_or_blank(run.start_date),
        }
        for run in env.client.latest_runs()
    ]
    echo_rows(rows, output, columns=["dag_id", "execution_date", "start_date"])

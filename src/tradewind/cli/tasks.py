"""``tradewind tasks``: a DAG's tasks from the stored DAG; a task's attributes and state through the client."""

from __future__ import annotations

from typing import Any

import click

from tradewind.cli.dags import DATE, parse_cli_date
from tradewind.cli.env import Env, pass_env
from tradewind.cli.output import echo_rows, output_option


@click.group("tasks")
def command() -> None:
    """Inspect and run tasks."""


@command.command("list")
@click.argument("dag_id")
@click.option("--tree", "-t", is_flag=True, help="Show the dependency tree.")
@pass_env
def list_tasks(env: Env, dag_id: str, tree: bool) -> None:
    """List a DAG's tasks."""
    from tradewind.errors import DagNotFound

    with env.db.transaction(write=False) as store:
        data = store.serialized_dag(dag_id)
    if data is None:
        raise DagNotFound(f"Dag id {dag_id} not found")
    tasks = {t["task_id"]: t for t in data["tasks"]}
    if not tree:
        click.echo("\n".join(sorted(tasks)))
        return
    roots = sorted(t for t, info in tasks.items() if not info["upstream_task_ids"])
    for root in roots:
        _echo_tree(tasks, root, 0)


def _echo_tree(tasks: dict[str, Any], task_id: str, depth: int) -> None:
    info = tasks[task_id]
    click.echo(f"{'    ' * depth}<Task({info['operator']}): {task_id}>")
    for child in sorted(info["downstream_task_ids"]):
        _echo_tree(tasks, child, depth + 1)


@command.command("info")
@click.argument("dag_id")
@click.argument("task_id")
@output_option
@pass_env
def info(env: Env, dag_id: str, task_id: str, output: str) -> None:
    """Print a task's attributes (what ``GET …/dags/DAG_ID/tasks/TASK_ID`` answers)."""
    task = env.client.task_info(dag_id, task_id)
    rows = [{"attribute": key, "value": task.attributes[key]} for key in sorted(task.attributes)]
    echo_rows(rows, output, columns=["attribute", "value"])


@command.command("state")
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("execution_date", type=DATE)
@pass_env
def state(env: Env, dag_id: str, task_id: str, execution_date: str) -> None:
    """Print the state of a task instance (``None`` when it has none yet)."""
    ti = env.client.task_instance_info(dag_id, parse_cli_date(env, execution_date), task_id)
    click.echo(str(ti.state))

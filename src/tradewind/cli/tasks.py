"""``tradewind tasks``: inspect a DAG's tasks from the stored (serialized) DAG."""

from __future__ import annotations

from typing import Any

import click

from tradewind.cli.env import Env, pass_env


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

"""The DAG and TaskGroup that ``with`` blocks have made current while a DAG file runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradewind.dag.dag import DAG
    from tradewind.dag.taskgroup import TaskGroup

_dags: list[DAG] = []
_groups: list[TaskGroup] = []


def push_dag(dag: DAG) -> None:
    _dags.append(dag)


def pop_dag() -> None:
    _dags.pop()


def current_dag() -> DAG | None:
    return _dags[-1] if _dags else None


def push_group(group: TaskGroup) -> None:
    _groups.append(group)


def pop_group() -> None:
    _groups.pop()


def current_group(dag: DAG | None) -> TaskGroup | None:
    """The innermost open group of ``dag``, else its root group."""
    for group in reversed(_groups):
        if group.dag is dag:
            return group
    return dag.task_group if dag is not None else None

"""Helper module next to the DAG files, excluded by the .tradewindignore file."""

from datetime import UTC, datetime

from tradewind import DAG as Graph
from tradewind import BashOperator


def make_dag(name, steps):
    graph = Graph(name, schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC))
    previous = None
    for step in steps:
        current = BashOperator(task_id=step, bash_command=f"echo {step}", dag=graph)
        if previous is not None:
            previous >> current
        previous = current
    return graph

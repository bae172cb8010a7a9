"""``airflow.decorators``: the TaskFlow ``@dag`` and ``@task``."""

from tradewind.dag import dag, task

__all__ = ["dag", "task"]

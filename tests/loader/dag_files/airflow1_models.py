"""Airflow 1.10 style through ``airflow.models`` with a custom operator using apply_defaults."""

from airflow import models
from airflow.models import DAG as ModelsDAG
from airflow.models import BaseOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.utils.dates import days_ago
from airflow.utils.decorators import apply_defaults


class HelloOperator(BaseOperator):
    @apply_defaults
    def __init__(self, name, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = name

    def execute(self, context):
        return f"Hello {self.name}"


with models.DAG("af1_models", schedule_interval="@once", start_date=days_ago(1)) as dag:
    hello = HelloOperator(task_id="hello", name="world")
    bye = DummyOperator(task_id="bye")
    hello >> bye

other = ModelsDAG("af1_models_second", schedule_interval=None, start_date=days_ago(1))
DummyOperator(task_id="only", dag=other)

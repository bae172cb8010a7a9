"""Airflow 2 TaskFlow: a @dag function called at module level without keeping the result."""

import pendulum
from airflow.decorators import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["example"])
def af2_taskflow():
    @task()
    def extract() -> dict:
        return {"1001": 301.27, "1002": 433.21}

    @task(multiple_outputs=True)
    def transform(order_data: dict) -> dict:
        return {"total_order_value": sum(order_data.values())}

    @task()
    def load(total_order_value: float) -> None:
        print(f"Total order value is: {total_order_value:.2f}")

    summary = transform(extract())
    load(summary["total_order_value"])


af2_taskflow()

"""Python callables two ways: a classic PythonOperator and TaskFlow ``@task`` functions.

TaskFlow functions pass values through XCom: ``summarize(extract())`` wires ``extract``
upstream of ``summarize`` and hands its return value over at run time.
"""

from datetime import UTC, datetime
from pprint import pprint

from tradewind.dag import DAG, PythonOperator, task


def print_context(ds=None, **kwargs):
    """Print the logical date and the rest of the context."""
    pprint(kwargs)
    print(ds)
    return "Whatever you return gets printed in the logs"


with DAG(
    dag_id="example_python_operator",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    tags=["example"],
) as dag:
    print_the_context = PythonOperator(task_id="print_the_context", python_callable=print_context)

    @task
    def extract() -> dict[str, float]:
        """Pretend to read orders."""
        return {"1001": 301.27, "1002": 433.21, "1003": 502.22}

    @task(multiple_outputs=True)
    def summarize(orders: dict[str, float]) -> dict[str, float]:
        return {"total": round(sum(orders.values()), 2), "count": len(orders)}

    @task
    def report(total: float, count: int) -> None:
        print(f"{count} orders worth {total:.2f}")

    summary = summarize(extract())
    print_the_context >> summary
    report(summary["total"], summary["count"])

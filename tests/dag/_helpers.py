"""Small builders shared by the tests of tradewind.dag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tradewind.dag import DAG, BaseOperator
from tradewind.dag.context import Context, build_context

LOGICAL = datetime(2024, 1, 1, tzinfo=UTC)


class FakeTaskInstance:
    """A task instance whose XComs live in a dict keyed by (task_id, key)."""

    def __init__(self, values: dict[tuple[str, str], Any] | None = None) -> None:
        self.values = dict(values or {})
        self.pulls: list[tuple[Any, str]] = []

    def xcom_pull(
        self,
        task_ids: str | list[str] | None = None,
        key: str = "return_value",
        dag_id: str | None = None,
        run_id: str | None = None,
        default: Any = None,
    ) -> Any:
        self.pulls.append((task_ids, key))
        if isinstance(task_ids, list):
            return [self.values.get((t, key), default) for t in task_ids]
        return self.values.get((str(task_ids), key), default)

    def push(self, task: BaseOperator, result: Any) -> None:
        for key, value in task.xcom_values(result):
            self.values[(task.task_id, key)] = value


def context_for(
    dag: DAG,
    task: BaseOperator,
    *,
    conf: dict[str, Any] | None = None,
    ti: FakeTaskInstance | None = None,
    logical_date: datetime = LOGICAL,
    **kwargs: Any,
) -> Context:
    return build_context(
        dag,
        task,
        run_id=f"scheduled__{logical_date.isoformat()}",
        logical_date=logical_date,
        data_interval_start=logical_date,
        data_interval_end=logical_date + timedelta(days=1),
        conf=conf,
        ti=ti or FakeTaskInstance(),
        **kwargs,
    )


def run_task(dag: DAG, task_id: str, ti: FakeTaskInstance, **kwargs: Any) -> Any:
    """Render and execute one task the way the runtime does, pushing its XComs to ``ti``."""
    task = dag.get_task(task_id).prepare_for_execution()
    context = context_for(dag, task, ti=ti, **kwargs)
    task.render_template_fields(context)
    result = task.execute(context)
    ti.push(task, result)
    return result

from tradewind.dag import EmptyOperator


class DummyOperator(EmptyOperator):
    """Airflow's old name for ``EmptyOperator``; a subclass so the task reports its own name."""


__all__ = ["DummyOperator"]

"""``airflow.models``: the authoring classes Airflow DAG files import from here."""

from tradewind.dag import DAG, BaseOperator, Param, XComArg

__all__ = ["DAG", "BaseOperator", "Param", "XComArg"]

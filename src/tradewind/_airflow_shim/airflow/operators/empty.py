from tradewind.dag import EmptyOperator

__all__ = ["EmptyOperator"]

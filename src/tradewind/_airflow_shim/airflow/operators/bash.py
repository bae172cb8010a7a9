from tradewind.dag import BashOperator

__all__ = ["BashOperator"]

from tradewind.dag import LatestOnlyOperator

__all__ = ["LatestOnlyOperator"]

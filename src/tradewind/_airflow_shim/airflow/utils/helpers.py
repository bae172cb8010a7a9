from tradewind.dag import chain, cross_downstream

__all__ = ["chain", "cross_downstream"]

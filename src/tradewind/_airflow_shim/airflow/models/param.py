from tradewind.dag import Param

__all__ = ["Param"]

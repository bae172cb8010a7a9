from tradewind.dag import XComArg

__all__ = ["XComArg"]

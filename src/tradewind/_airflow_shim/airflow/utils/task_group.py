from tradewind.dag import TaskGroup

__all__ = ["TaskGroup"]

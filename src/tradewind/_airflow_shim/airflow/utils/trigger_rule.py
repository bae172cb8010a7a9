from tradewind.dag import TriggerRule

__all__ = ["TriggerRule"]

from tradewind.dag import DAG

__all__ = ["DAG"]

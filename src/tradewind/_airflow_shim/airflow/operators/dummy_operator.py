from .dummy import DummyOperator

__all__ = ["DummyOperator"]

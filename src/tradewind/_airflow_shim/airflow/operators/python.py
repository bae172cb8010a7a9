from tradewind.dag import BranchPythonOperator, PythonOperator, ShortCircuitOperator

try:
    from tradewind.dag import get_current_context
except ImportError:

    def get_current_context():
        """Stand-in until ``tradewind.dag`` provides it: ask for the context as callable arguments."""
        raise RuntimeError(
            "get_current_context() is not available in this Tradewind version; "
            "accept the context keys (ds, ti, params, ...) as arguments of the callable instead"
        )


__all__ = ["BranchPythonOperator", "PythonOperator", "ShortCircuitOperator", "get_current_context"]

from tradewind.dag import BranchPythonOperator, PythonOperator, ShortCircuitOperator, get_current_context

__all__ = ["BranchPythonOperator", "PythonOperator", "ShortCircuitOperator", "get_current_context"]

from tradewind.dag import BranchPythonOperator, PythonOperator, ShortCircuitOperator

__all__ = ["BranchPythonOperator", "PythonOperator", "ShortCircuitOperator"]

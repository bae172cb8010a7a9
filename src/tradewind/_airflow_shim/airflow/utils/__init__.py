"""``airflow.utils``: the few helpers DAG files call while being defined."""

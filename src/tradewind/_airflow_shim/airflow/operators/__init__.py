"""``airflow.operators``: one module per Airflow 1.10 and 2.x import path."""

"""A stand-in ``airflow`` package so Airflow DAG files load unchanged.

The directory holding this file is put at the front of ``sys.path`` by
:func:`tradewind.dag.importing.airflow_compat` only while DAG files are imported, and only
when the real Airflow is not installed, so it never shadows a real install. Every module
under ``airflow/`` only re-exports names from :mod:`tradewind.dag` (plus a few tiny
helpers Airflow DAG files call at module level, such as ``days_ago``).
"""

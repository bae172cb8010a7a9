"""A DAG built by a helper module that lives in the dags folder (which is on sys.path)."""

from shared_helpers.factory import make_dag

dag = make_dag("uses_helper", ["a", "b", "c"])

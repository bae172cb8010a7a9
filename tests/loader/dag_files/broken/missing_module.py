import tradewind_module_that_does_not_exist  # noqa: F401  # error-line

from tradewind.dag import DAG

dag = DAG("missing_module", schedule=None)

"""Replaces the DAG class and sys.path entries for whoever imports after it in the same process."""

import os
import sys

import tradewind.dag
from tradewind.dag import DAG

dag = DAG("pollutes", schedule=None)
tradewind.dag.DAG = None
tradewind.dag.EmptyOperator = None
sys.path.insert(0, "/nonexistent/polluted")
os.environ["TRADEWIND_POLLUTED"] = "1"

"""The authoring surface: DAGs, operators, task groups and the TaskFlow decorators.

Imports only the stdlib, croniter, jinja2 and Tradewind's leaf modules (errors, clock).
"""

from __future__ import annotations

from tradewind.dag.baseoperator import BaseOperator
from tradewind.dag.branching import BranchDecision
from tradewind.dag.context import Context, build_context, get_current_context
from tradewind.dag.dag import DAG
from tradewind.dag.decorators import dag, task
from tradewind.dag.operators import (
    BashCommandFailed,
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    LatestOnlyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from tradewind.dag.params import Param
from tradewind.dag.relations import chain, cross_downstream
from tradewind.dag.schedules import RunInfo, Schedule, parse_schedule, parse_schedule_summary
from tradewind.dag.taskgroup import TaskGroup
from tradewind.dag.trigger_rules import TriggerRule, WeightRule
from tradewind.dag.xcomarg import XComArg
from tradewind.errors import FailTask, SkipTask

__all__ = [
    "DAG",
    "BaseOperator",
    "BashCommandFailed",
    "BashOperator",
    "BranchDecision",
    "BranchPythonOperator",
    "Context",
    "EmptyOperator",
    "FailTask",
    "LatestOnlyOperator",
    "Param",
    "PythonOperator",
    "RunInfo",
    "Schedule",
    "ShortCircuitOperator",
    "SkipTask",
    "TaskGroup",
    "TriggerRule",
    "WeightRule",
    "XComArg",
    "build_context",
    "chain",
    "cross_downstream",
    "dag",
    "get_current_context",
    "parse_schedule",
    "parse_schedule_summary",
    "task",
]

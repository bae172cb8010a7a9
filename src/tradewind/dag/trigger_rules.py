"""Trigger rules and weight rules: the string values are Airflow's."""

from __future__ import annotations

from enum import StrEnum

from tradewind.errors import DagDefinitionError


class TriggerRule(StrEnum):
    """When a task may run, given the states of its direct upstream tasks."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"


class WeightRule(StrEnum):
    """How a task's effective priority weight is computed from its neighbours."""

    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    ABSOLUTE = "absolute"


# Names older Airflow versions used for the same rules.
_TRIGGER_RULE_ALIASES = {
    "dummy": TriggerRule.ALWAYS,
    "none_failed_or_skipped": TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
}


def parse_trigger_rule(value: str) -> TriggerRule:
    """The TriggerRule named ``value``; raises DagDefinitionError for an unknown name."""
    if value in _TRIGGER_RULE_ALIASES:
        return _TRIGGER_RULE_ALIASES[value]
    try:
        return TriggerRule(value)
    except ValueError:
        choices = ", ".join(rule.value for rule in TriggerRule)
        raise DagDefinitionError(f"Unknown trigger_rule {value!r}; expected one of: {choices}") from None


def parse_weight_rule(value: str) -> WeightRule:
    """The WeightRule named ``value``; raises DagDefinitionError for an unknown name."""
    try:
        return WeightRule(value)
    except ValueError:
        choices = ", ".join(rule.value for rule in WeightRule)
        raise DagDefinitionError(f"Unknown weight_rule {value!r}; expected one of: {choices}") from None

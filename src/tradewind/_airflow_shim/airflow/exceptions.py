"""Airflow's task-control exceptions, mapped onto Tradewind's task signals.

``AirflowSkipException`` *is a* :class:`tradewind.errors.SkipTask` (and
``AirflowFailException`` a ``FailTask``), so the task runtime treats them the same,
while ``except AirflowException`` in user code still catches them as in Airflow.
"""

from tradewind.errors import FailTask, SkipTask


class AirflowException(Exception):
    """Base of Airflow's exceptions; raising it fails the task (with retries)."""


class AirflowSkipException(SkipTask, AirflowException):
    """Mark the task instance skipped."""


class AirflowFailException(FailTask, AirflowException):
    """Mark the task instance failed without retrying."""


__all__ = ["AirflowException", "AirflowFailException", "AirflowSkipException"]

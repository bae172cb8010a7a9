"""How branching tasks tell the runtime which downstream tasks to skip.

``BranchPythonOperator``, ``ShortCircuitOperator``, ``LatestOnlyOperator`` and the
``@task.branch`` / ``@task.short_circuit`` tasks return a :class:`BranchDecision` from
``execute``. The runtime marks every id in ``skip`` as skipped (in the same run) and pushes
``value`` to XCom as the task's return value (``task.xcom_values(result)`` unwraps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BranchDecision:
    """The outcome of a branching task.

    ``skip``: task ids the runtime marks skipped now. ``follow``: ids chosen to run (for logs
    and the UI; they are left to their trigger rules). ``value``: what the callable returned.
    """

    value: Any
    skip: frozenset[str]
    follow: frozenset[str] = frozenset()


def unwrap_result(result: Any) -> tuple[Any, frozenset[str]]:
    """``(value to push to XCom, task ids to skip)`` for whatever ``execute`` returned."""
    if isinstance(result, BranchDecision):
        return result.value, result.skip
    return result, frozenset()

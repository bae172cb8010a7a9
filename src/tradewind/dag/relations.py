"""``>>`` / ``<<`` wiring shared by tasks, task groups and XComArgs, plus ``chain``.

Anything with ``roots`` and ``leaves`` can be wired: ``x >> y`` makes every leaf of ``x``
upstream of every root of ``y``. A task is its own root and leaf; a TaskGroup's roots are
its tasks with no upstream inside the group, its leaves those with no downstream inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeAlias

from tradewind.errors import DagDefinitionError

if TYPE_CHECKING:
    from tradewind.dag.baseoperator import BaseOperator


class DependencyMixin:
    @property
    def roots(self) -> list[BaseOperator]:
        raise NotImplementedError

    @property
    def leaves(self) -> list[BaseOperator]:
        raise NotImplementedError

    def set_downstream(self, other: Wirable) -> None:
        """Make ``other`` (one node or a list) run after this one."""
        for target in _as_nodes(other):
            _wire(self, target)

    def set_upstream(self, other: Wirable) -> None:
        """Make ``other`` (one node or a list) run before this one."""
        for source in _as_nodes(other):
            _wire(source, self)

    def __rshift__(self, other: Wirable) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Wirable) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Wirable) -> Any:
        # [a, b] >> self
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Wirable) -> Any:
        # [a, b] << self
        self.set_downstream(other)
        return self


Wirable: TypeAlias = "DependencyMixin | Sequence[DependencyMixin]"


def _as_nodes(value: Wirable) -> list[DependencyMixin]:
    if isinstance(value, DependencyMixin):
        return [value]
    if isinstance(value, list | tuple | set):
        nodes = list(value)
        for node in nodes:
            if not isinstance(node, DependencyMixin):
                raise DagDefinitionError(f"Relationships can only be set between tasks, got {node!r}")
        return nodes
    raise DagDefinitionError(f"Relationships can only be set between tasks, got {value!r}")


def _wire(upstream: DependencyMixin, downstream: DependencyMixin) -> None:
    for leaf in upstream.leaves:
        for root in downstream.roots:
            leaf.add_edge_to(root)


def chain(*elements: Wirable) -> None:
    """Wire ``elements`` one after the other.

    Two adjacent lists must have the same length and are wired pairwise
    (``chain(a, [b, c], [d, e], f)`` gives a>>b>>d>>f and a>>c>>e>>f), as in Airflow.
    """
    for left, right in pairwise(elements):
        if isinstance(left, DependencyMixin):
            left.set_downstream(right)
        elif isinstance(right, DependencyMixin):
            right.set_upstream(left)
        else:
            _chain_pairwise(left, right)


def _chain_pairwise(left: Sequence[DependencyMixin], right: Sequence[DependencyMixin]) -> None:
    if len(left) != len(right):
        raise DagDefinitionError(
            f"Chain not supported for different length Iterable. Got {len(left)} and {len(right)}."
        )
    for up, down in zip(left, right, strict=True):
        up.set_downstream(down)


def cross_downstream(from_tasks: Sequence[DependencyMixin], to_tasks: Wirable) -> None:
    """Make every task in ``to_tasks`` downstream of every task in ``from_tasks``."""
    for task in from_tasks:
        task.set_downstream(to_tasks)

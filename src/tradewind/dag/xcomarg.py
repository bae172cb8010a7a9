"""References to values only known at run time: another task's XCom, or a DAG param."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from tradewind.dag.relations import DependencyMixin

if TYPE_CHECKING:
    from tradewind.dag.baseoperator import BaseOperator
    from tradewind.dag.context import Context

RETURN_KEY = "return_value"


class Resolvable:
    """A value an operator argument holds until the task runs; rendering calls :meth:`resolve`."""

    def resolve(self, context: Context) -> Any:
        raise NotImplementedError


class XComArg(Resolvable, DependencyMixin):
    """The XCom ``key`` pushed by ``operator``; passing it to a task makes that task downstream.

    ``XComArg(t1)`` and ``t1.output`` name ``t1``'s return value; ``arg["k"]`` names the key
    ``k`` of a task with ``multiple_outputs=True``.
    """

    def __init__(self, operator: BaseOperator, key: str = RETURN_KEY) -> None:
        self.operator = operator
        self.key = key

    def __getitem__(self, key: str) -> XComArg:
        return XComArg(self.operator, key)

    def __iter__(self) -> NoReturn:
        # Without this, Python would iterate by calling __getitem__(0), (1)... forever.
        raise TypeError("'XComArg' object is not iterable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, XComArg):
            return NotImplemented
        return self.operator is other.operator and self.key == other.key

    def __hash__(self) -> int:
        return hash((id(self.operator), self.key))

    def __repr__(self) -> str:
        if self.key == RETURN_KEY:
            return f"XComArg({self.operator.task_id!r})"
        return f"XComArg({self.operator.task_id!r}, {self.key!r})"

    @property
    def roots(self) -> list[BaseOperator]:
        return [self.operator]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self.operator]

    def resolve(self, context: Context) -> Any:
        """The value, pulled through ``context["ti"].xcom_pull``."""
        return context["ti"].xcom_pull(task_ids=self.operator.task_id, key=self.key)


class DagParam(Resolvable):
    """A parameter of an ``@dag`` function, read from ``context["params"]`` at run time."""

    def __init__(self, name: str, default: Any = None) -> None:
        self.name = name
        self.default = default

    def resolve(self, context: Context) -> Any:
        return context["params"].get(self.name, self.default)

    def __repr__(self) -> str:
        return f"DagParam({self.name!r})"


def iter_xcom_args(value: Any) -> Iterator[XComArg]:
    """Every XComArg inside ``value``, looking through lists, tuples, sets and dict values."""
    if isinstance(value, XComArg):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from iter_xcom_args(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_xcom_args(item)

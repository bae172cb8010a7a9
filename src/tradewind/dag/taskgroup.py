"""TaskGroup: a named set of tasks that prefixes their ids and can be wired as a unit."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tradewind.dag import _stack
from tradewind.dag._sites import located, user_site
from tradewind.dag.ids import validate_id
from tradewind.dag.relations import DependencyMixin
from tradewind.errors import DagDefinitionError

if TYPE_CHECKING:
    from tradewind.dag.baseoperator import BaseOperator
    from tradewind.dag.dag import DAG


class TaskGroup(DependencyMixin):
    """A group of tasks; ``with TaskGroup("g"):`` makes tasks created inside it ``g.<task_id>``.

    ``a >> group`` wires ``a`` to the group's roots, ``group >> b`` wires its leaves to ``b``.
    Groups nest; a group's ``default_args`` apply on top of the DAG's.
    """

    def __init__(
        self,
        group_id: str | None,
        prefix_group_id: bool = True,
        parent_group: TaskGroup | None = None,
        dag: DAG | None = None,
        default_args: dict[str, Any] | None = None,
        tooltip: str = "",
        ui_color: str = "CornflowerBlue",
        ui_fgcolor: str = "#000",
        add_suffix_on_collision: bool = False,
    ) -> None:
        self.prefix_group_id = prefix_group_id
        self.tooltip = tooltip
        self.ui_color = ui_color
        self.ui_fgcolor = ui_fgcolor
        self.children: dict[str, BaseOperator | TaskGroup] = {}
        self._definition_site = user_site()
        if group_id is None:  # the root group of a DAG
            self.dag = dag
            self.parent_group = None
            self._group_id: str | None = None
            self.default_args: dict[str, Any] = dict(default_args or {})
            return
        validate_id(group_id, "group_id", self._definition_site)
        self.dag = dag or (parent_group.dag if parent_group else _stack.current_dag())
        self.parent_group = parent_group or _stack.current_group(self.dag)
        self._group_id = group_id
        parent_defaults = self.parent_group.default_args if self.parent_group else {}
        self.default_args = {**parent_defaults, **(default_args or {})}
        if self.parent_group is not None:
            self.parent_group.add(self)

    @property
    def group_id(self) -> str | None:
        """The full id: prefixed with the parent's id when the parent prefixes ids."""
        parent = self.parent_group
        if self._group_id and parent is not None and parent.prefix_group_id and parent._group_id:
            return parent.child_id(self._group_id)
        return self._group_id

    @property
    def label(self) -> str | None:
        return self._group_id

    @property
    def is_root(self) -> bool:
        return self._group_id is None

    def child_id(self, label: str) -> str:
        """The id a child called ``label`` gets in this group."""
        if self.prefix_group_id and self.group_id:
            return f"{self.group_id}.{label}"
        return label

    def add(self, child: BaseOperator | TaskGroup) -> None:
        key = child.group_id if isinstance(child, TaskGroup) else child.task_id
        assert key is not None
        if key in self.children:
            site = getattr(child, "_definition_site", None)
            raise DagDefinitionError(located(site, f"{key!r} has already been added to the DAG"))
        if isinstance(child, TaskGroup) and self.dag is not None:
            self.dag.register_group(child)
        self.children[key] = child

    def iter_tasks(self) -> Iterator[BaseOperator]:
        """Every task in this group and its nested groups."""
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child.iter_tasks()
            else:
                yield child

    @property
    def roots(self) -> list[BaseOperator]:
        tasks = list(self.iter_tasks())
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if not (t.upstream_task_ids & ids)]

    @property
    def leaves(self) -> list[BaseOperator]:
        tasks = list(self.iter_tasks())
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if not (t.downstream_task_ids & ids)]

    def __enter__(self) -> TaskGroup:
        _stack.push_group(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _stack.pop_group()

    def __repr__(self) -> str:
        return f"<TaskGroup: {self.group_id}>"

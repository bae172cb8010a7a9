"""Jinja rendering of operator fields, with Airflow's environment and semantics.

Jinja is imported only when a value needs it (a string with ``{`` or naming a template
file): a process whose tasks render nothing never loads it. That matters in the task
runner, whose every page is shared with, and unmapped by, each task process it forks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tradewind.dag.xcomarg import Resolvable

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

    import jinja2

    from tradewind.dag.context import Context
    from tradewind.dag.dag import DAG

    # An environment, or what makes one when a value first needs it.
    EnvSource: TypeAlias = jinja2.Environment | Callable[[], jinja2.Environment]


def _ds(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def _ds_nodash(value: datetime) -> str:
    return value.strftime("%Y%m%d")


def _ts(value: datetime) -> str:
    return value.isoformat()


def _ts_nodash(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _ts_nodash_with_tz(value: datetime) -> str:
    return value.isoformat().replace("-", "").replace(":", "")


FILTERS = {
    "ds": _ds,
    "ds_nodash": _ds_nodash,
    "ts": _ts,
    "ts_nodash": _ts_nodash,
    "ts_nodash_with_tz": _ts_nodash_with_tz,
}


def make_jinja_env(dag: DAG | None = None) -> jinja2.Environment:
    """The Jinja environment tasks of ``dag`` render with.

    Templates are searched in the DAG file's folder, then ``template_searchpath``. Undefined
    names render as empty strings, as in Airflow; ``render_template_as_native_obj=True``
    gives a native environment (``"{{ [1, 2] }}"`` renders to a list).
    """
    import jinja2
    import jinja2.nativetypes

    searchpath = _searchpath(dag)
    options: dict[str, Any] = {
        "loader": jinja2.FileSystemLoader(searchpath),
        "undefined": getattr(dag, "template_undefined", None) or jinja2.Undefined,
        "extensions": ["jinja2.ext.do", "jinja2.ext.loopcontrols"],
        "keep_trailing_newline": True,
        "cache_size": 0,
    }
    options.update(getattr(dag, "jinja_environment_kwargs", None) or {})
    native = bool(getattr(dag, "render_template_as_native_obj", False))
    env_class = jinja2.nativetypes.NativeEnvironment if native else jinja2.Environment
    env = env_class(**options)
    env.filters.update(FILTERS)
    if dag is not None:
        env.globals.update(dag.user_defined_macros or {})
        env.filters.update(dag.user_defined_filters or {})
    return env


def _searchpath(dag: DAG | None) -> list[str]:
    if dag is None:
        return []
    folder = [os.path.dirname(dag.fileloc)] if dag.fileloc else []
    return folder + list(dag.template_searchpath)


def render_value(
    value: Any,
    context: Context,
    env: EnvSource,
    template_ext: Sequence[str] = (),
    seen: set[int] | None = None,
) -> Any:
    """``value`` with every string rendered, recursing into lists, tuples, sets and dicts.

    A string ending in one of ``template_ext`` names a template file: it is loaded from the
    search path, and a missing file raises ``jinja2.TemplateNotFound`` when the task runs, as
    in Airflow (add a trailing space to run a command literally). XComArgs and DAG params are
    resolved. Objects with their own ``template_fields`` are rendered in place.
    """
    if isinstance(value, str):
        return _render_string(value, context, env, template_ext)
    if isinstance(value, Resolvable):
        return value.resolve(context)
    if isinstance(value, tuple):
        if hasattr(value, "_fields"):  # a namedtuple keeps its type
            return type(value)(*(render_value(v, context, env, template_ext, seen) for v in value))
        return tuple(render_value(v, context, env, template_ext, seen) for v in value)
    if isinstance(value, list):
        return [render_value(v, context, env, template_ext, seen) for v in value]
    if isinstance(value, set | frozenset):
        return {render_value(v, context, env, template_ext, seen) for v in value}
    if isinstance(value, Mapping):
        return {k: render_value(v, context, env, template_ext, seen) for k, v in value.items()}
    if hasattr(value, "template_fields") and not isinstance(value, type):
        _render_nested(value, context, env, seen if seen is not None else set())
    return value


def _render_string(value: str, context: Context, env: EnvSource, template_ext: Sequence[str]) -> Any:
    if template_ext and value.endswith(tuple(template_ext)):
        return _environment(env).get_template(value).render(context)
    if "{" not in value:  # the common case: nothing to render, skip Jinja's compiler
        return value
    return _environment(env).from_string(value).render(context)


def _environment(env: EnvSource) -> jinja2.Environment:
    return env() if callable(env) else env


def needs_jinja(value: Any, template_ext: Sequence[str] = (), seen: set[int] | None = None) -> bool:
    """Whether :func:`render_value` would hand some part of ``value`` to Jinja."""
    if isinstance(value, str):
        return bool(template_ext and value.endswith(tuple(template_ext))) or "{" in value
    if isinstance(value, Resolvable):
        return False
    if isinstance(value, tuple | list | set | frozenset):
        return any(needs_jinja(v, template_ext, seen) for v in value)
    if isinstance(value, Mapping):
        return any(needs_jinja(v, template_ext, seen) for v in value.values())
    if hasattr(value, "template_fields") and not isinstance(value, type):
        seen = seen if seen is not None else set()
        if id(value) in seen:
            return False
        seen.add(id(value))
        ext = getattr(value, "template_ext", ())
        return any(needs_jinja(getattr(value, name), ext, seen) for name in value.template_fields)
    return False


def _render_nested(obj: Any, context: Context, env: EnvSource, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    for name in obj.template_fields:
        current = getattr(obj, name)
        setattr(obj, name, render_value(current, context, env, getattr(obj, "template_ext", ()), seen))

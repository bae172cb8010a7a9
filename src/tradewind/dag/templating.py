"""Jinja rendering of operator fields, with Airflow's environment and semantics."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.nativetypes

from tradewind.dag.xcomarg import Resolvable

if TYPE_CHECKING:
    from tradewind.dag.context import Context
    from tradewind.dag.dag import DAG


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
    searchpath = _searchpath(dag)
    options: dict[str, Any] = {
        "loader": jinja2.FileSystemLoader(searchpath),
        "undefined": getattr(dag, "template_undefined", jinja2.Undefined),
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
    env: jinja2.Environment,
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


def _render_string(value: str, context: Context, env: jinja2.Environment, template_ext: Sequence[str]) -> Any:
    if template_ext and value.endswith(tuple(template_ext)):
        return env.get_template(value).render(context)
    if "{" not in value:  # the common case: nothing to render, skip Jinja's compiler
        return value
    return env.from_string(value).render(context)


def _render_nested(obj: Any, context: Context, env: jinja2.Environment, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    for name in obj.template_fields:
        current = getattr(obj, name)
        setattr(obj, name, render_value(current, context, env, getattr(obj, "template_ext", ()), seen))

"""The one place that imports code by dotted path: executors, auth backends and clients."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from tradewind.errors import PluginError


def import_object(path: str) -> Any:
    """Import ``package.module:attr``, ``package.module.attr`` or ``package.module``."""
    module_name, colon, attr = path.partition(":")
    if colon:
        return getattr(_import_module(path, module_name), attr, None) or _missing(path, attr)
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name and not path.startswith(exc.name) and exc.name not in path:
            raise PluginError(f"Cannot import {path}: {exc}") from None
        module_name, _, attr = path.rpartition(".")
        if not module_name:
            raise PluginError(f"Cannot import {path}: no such module") from None
        return getattr(_import_module(path, module_name), attr, None) or _missing(path, attr)


def _import_module(path: str, module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise PluginError(f"Cannot import {path}: {exc}") from None


def _missing(path: str, attr: str) -> Any:
    raise PluginError(f"Cannot import {path}: no attribute {attr!r}")


def load_plugin(
    value: str,
    *,
    kind: str,
    aliases: Mapping[str, str],
    check: Callable[[Any], bool],
) -> Any:
    """Resolve an alias or dotted path and check the result; raise PluginError naming the path."""
    path = aliases.get(value.strip(), value.strip())
    if not path:
        raise PluginError(f"No {kind} configured")
    obj = import_object(path)
    if not check(obj):
        raise PluginError(f"{path} is not a valid {kind}")
    return obj

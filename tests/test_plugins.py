from __future__ import annotations

import json

import pytest

from tradewind.errors import PluginError
from tradewind.plugins import import_object, load_plugin


def test_import_forms() -> None:
    assert import_object("json") is json
    assert import_object("json:dumps") is json.dumps
    assert import_object("json.dumps") is json.dumps


@pytest.mark.parametrize("path", ["no_such_module_xyz", "json:nope", "json.nope", "no_such_module_xyz.attr"])
def test_missing_things_are_plugin_errors(path: str) -> None:
    with pytest.raises(PluginError, match="Cannot import"):
        import_object(path)


def test_alias_then_check() -> None:
    aliases = {"Dumper": "json:dumps"}
    assert load_plugin("Dumper", kind="thing", aliases=aliases, check=callable) is json.dumps
    with pytest.raises(PluginError, match="not a valid thing"):
        load_plugin("json:JSONDecodeError", kind="thing", aliases={}, check=lambda o: o is json.dumps)
    with pytest.raises(PluginError, match="No thing configured"):
        load_plugin(" ", kind="thing", aliases={}, check=callable)

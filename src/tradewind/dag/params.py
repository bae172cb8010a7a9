"""DAG and task params: plain values or :class:`Param` with a default and a light schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradewind.errors import DagDefinitionError


class _NotSet:
    def __repr__(self) -> str:
        return "NOTSET"


NOTSET: Any = _NotSet()

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


class Param:
    """A param with a default value, a description and a small JSON-schema subset.

    Only ``type`` and ``enum`` are checked (no jsonschema dependency); other schema keys
    are kept so the UI and the serializer can show them.
    """

    __slots__ = ("description", "schema", "value")

    def __init__(self, default: Any = NOTSET, description: str | None = None, **schema: Any) -> None:
        self.value = default
        self.description = description
        self.schema = schema
        if default is not NOTSET:
            self.resolve(default)

    def resolve(self, value: Any = NOTSET) -> Any:
        """``value`` (or the default) after checking it against the schema."""
        final = self.value if value is NOTSET else value
        if final is NOTSET:
            raise DagDefinitionError("No value passed and Param has no default value")
        _check_schema(final, self.schema)
        return final

    def __repr__(self) -> str:
        return f"Param({self.value!r}, description={self.description!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Param):
            return NotImplemented
        return (self.value, self.description, self.schema) == (other.value, other.description, other.schema)

    def __hash__(self) -> int:
        return hash((repr(self.value), self.description))


def _check_schema(value: Any, schema: Mapping[str, Any]) -> None:
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        types = tuple(t for name in names for t in _JSON_TYPES.get(name, (object,)))
        is_bool_as_number = isinstance(value, bool) and "boolean" not in names
        if not isinstance(value, types) or is_bool_as_number:
            raise DagDefinitionError(f"Invalid input for param: {value!r} is not of type {expected!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise DagDefinitionError(f"Invalid input for param: {value!r} is not one of {schema['enum']!r}")


def resolve_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values for a params mapping: every :class:`Param` replaced by its value."""
    return {key: value.resolve() if isinstance(value, Param) else value for key, value in params.items()}


def param_value(value: Any) -> Any:
    """The plain value of one param entry (``Param.value`` or the value itself)."""
    return value.value if isinstance(value, Param) else value

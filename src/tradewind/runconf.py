"""A run's ``conf``: what the API, both clients and the scheduler can store, send and pickle.

Checked where a run is triggered (the service layer, and the JSON client before it sends, so
both client modes refuse the same input with the same error). Without the checks a lone
surrogate was stored and then broke every listing of the DAG's runs, a number like ``1e400``
was stored as Infinity (served as invalid JSON), and a conf nested hundreds of levels deep
made the executor's pickling fail in the middle of a batch of other runs' tasks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from tradewind.errors import InvalidConf

#: Deeper than any real configuration, far below the interpreter's recursion limit.
MAX_CONF_DEPTH = 64
_UNSTORABLE = "Bad value for `conf`: it contains characters that cannot be stored"


def coerce_conf(conf: Mapping[str, Any] | str | None) -> dict[str, Any] | None:
    """A mapping, a JSON string holding an object, or None; anything else is InvalidConf."""
    if isinstance(conf, str):
        try:
            conf = json.loads(conf, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise InvalidConf() from None
    if conf is None:
        return None
    if not isinstance(conf, Mapping):
        raise InvalidConf()
    conf = dict(conf)
    check_conf(conf)
    return conf


def check_conf(conf: Mapping[str, Any]) -> None:
    """Refuse what cannot round-trip through JSON, a database and pickle (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(conf, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidConf("Bad value for `conf`: numbers must be finite")
        elif isinstance(value, Mapping | list | tuple):
            if depth > MAX_CONF_DEPTH:
                raise InvalidConf(f"Bad value for `conf`: nested deeper than {MAX_CONF_DEPTH} levels")
            if isinstance(value, Mapping):
                for key in value:
                    if not isinstance(key, str):
                        raise InvalidConf("Bad value for `conf`: object keys must be strings")
                    _check_text(key)
                items = list(value.values())
            else:
                items = list(value)
            stack.extend((item, depth + 1) for item in items)
        elif value is not None and not isinstance(value, bool | int | float):
            raise InvalidConf(f"Bad value for `conf`: {type(value).__name__} is not a JSON value")


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise InvalidConf(_UNSTORABLE)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        raise InvalidConf(_UNSTORABLE) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")

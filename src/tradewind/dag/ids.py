"""The id rule Airflow applies to dag_id, task_id and group_id."""

from __future__ import annotations

import re

from tradewind.dag._sites import Site, located
from tradewind.errors import DagDefinitionError

_KEY = re.compile(r"^[a-zA-Z0-9_.-]+$")
MAX_ID_LENGTH = 250


def validate_id(value: object, kind: str, site: Site | None = None) -> str:
    """``value`` if it is a valid id; raises DagDefinitionError naming ``kind`` otherwise."""
    if not isinstance(value, str):
        raise DagDefinitionError(located(site, f"The {kind} must be a string, got {value!r}"))
    if len(value) > MAX_ID_LENGTH:
        raise DagDefinitionError(
            located(site, f"The {kind} {value[:40]!r}... has to be less than {MAX_ID_LENGTH} characters")
        )
    if not _KEY.match(value):
        raise DagDefinitionError(
            located(
                site,
                f"The {kind} {value!r} has to be made of alphanumeric characters, dashes, "
                "dots and underscores exclusively",
            )
        )
    return value

"""Parsing and formatting of the dates the API and the CLI exchange (stdlib only).

Parsing is lenient like Airflow's (``T`` or a space, ``Z``, offsets, a date alone); a naive
value is taken in the configured default time zone. Formatting is ISO 8601 with ``T`` and an
offset, and microseconds only when they are not zero. A parsed value keeps the offset the
client wrote, so a response can echo the client's spelling while the database stores UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from tradewind.errors import InvalidDate

# A "+" in a query string decodes to a space: "2016-11-16T11:34:15 05:00" meant "+05:00".
_SPACE_OFFSET = re.compile(
    r"^(\d{4}-?\d{2}-?\d{2}[T ]\d{2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$"
)
_MAX_LENGTH = 64


def parse_date(text: str, tz: tzinfo = UTC) -> datetime:
    """An aware datetime for ``text``; a naive value is in ``tz``. Raises InvalidDate."""
    value = _normalise(text)
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        parsed.astimezone(UTC)  # out-of-range instants (year 1 with a positive offset) fail here
    except (ValueError, OverflowError):
        raise InvalidDate(text) from None
    return parsed


def _normalise(text: str) -> str:
    value = text.strip()
    if len(value) > _MAX_LENGTH or not value[:4].isdigit():
        raise InvalidDate(text)
    return _SPACE_OFFSET.sub(r"\1+\2", value)


def isoformat(value: datetime) -> str:
    """``2024-05-06T07:08:09+00:00``: microseconds only when non-zero; naive values are UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()  # omits microseconds when they are zero


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_optional_date(text: str | None, tz: tzinfo = UTC) -> datetime | None:
    return None if text is None or text == "" else parse_date(text, tz)

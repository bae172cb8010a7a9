"""Airflow's ``timezone`` helpers: everything is aware UTC unless told otherwise."""

import datetime as dt
from typing import Any

utc = dt.UTC


def utcnow() -> dt.datetime:
    """The current time, aware UTC."""
    return dt.datetime.now(dt.UTC)


def datetime(*args: Any, **kwargs: Any) -> dt.datetime:
    """``datetime.datetime(...)`` that defaults to UTC instead of naive."""
    kwargs.setdefault("tzinfo", dt.UTC)
    return dt.datetime(*args, **kwargs)


def is_localized(value: dt.datetime) -> bool:
    return value.utcoffset() is not None


def is_naive(value: dt.datetime) -> bool:
    return not is_localized(value)


def make_aware(value: dt.datetime, timezone: dt.tzinfo | None = None) -> dt.datetime:
    """Attach ``timezone`` (UTC by default) to a naive datetime."""
    if is_localized(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    return value.replace(tzinfo=timezone or dt.UTC)


def convert_to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Naive values are taken as UTC, aware ones converted."""
    if value is None:
        return None
    return make_aware(value) if is_naive(value) else value.astimezone(dt.UTC)


__all__ = ["convert_to_utc", "datetime", "is_localized", "is_naive", "make_aware", "utc", "utcnow"]

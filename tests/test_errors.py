from __future__ import annotations

import pytest

from tradewind import errors


def _subclasses(cls: type) -> list[type]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_subclasses(sub))
    return out


@pytest.mark.parametrize("cls", _subclasses(errors.TradewindError), ids=lambda c: c.__name__)
def test_every_error_has_a_status_and_is_found_by_name(cls: type[errors.TradewindError]) -> None:
    assert 400 <= cls.status_code < 600
    assert errors.error_class(cls.__name__) is cls


def test_invalid_date_uses_airflows_message() -> None:
    assert errors.InvalidDate("nope").message == (
        "Given execution date, nope, could not be identified as a date. Example date format: 2015-11-16T14:34:15+00:00"
    )


def test_task_signals_are_not_tradewind_errors() -> None:
    assert not issubclass(errors.SkipTask, errors.TradewindError)
    assert not issubclass(errors.ShutdownRequested, Exception)


def test_headers_are_carried() -> None:
    exc = errors.Unauthorized("Unauthorized", headers={"WWW-Authenticate": "Basic"})
    assert exc.status_code == 401
    assert exc.headers == {"WWW-Authenticate": "Basic"}

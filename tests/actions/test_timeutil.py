"""Lenient date parsing and API date formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tradewind.errors import InvalidDate
from tradewind.timeutil import isoformat, parse_date, parse_optional_date, to_utc

PLUS5 = timezone(timedelta(hours=5))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-11-16T11:34:15", datetime(2016, 11, 16, 11, 34, 15, tzinfo=UTC)),
        ("2016-11-16 11:34:15", datetime(2016, 11, 16, 11, 34, 15, tzinfo=UTC)),
        ("2016-11-16T11:34:15Z", datetime(2016, 11, 16, 11, 34, 15, tzinfo=UTC)),
        ("2016-11-16T11:34:15+05:00", datetime(2016, 11, 16, 11, 34, 15, tzinfo=PLUS5)),
        ("2016-11-16T11:34:15 05:00", datetime(2016, 11, 16, 11, 34, 15, tzinfo=PLUS5)),
        ("2016-11-16 11:34:15 0500", datetime(2016, 11, 16, 11, 34, 15, tzinfo=PLUS5)),
        ("2016-11-16", datetime(2016, 11, 16, tzinfo=UTC)),
        ("  2016-11-16T11:34  ", datetime(2016, 11, 16, 11, 34, tzinfo=UTC)),
        ("2016-11-16T11:34:15.5", datetime(2016, 11, 16, 11, 34, 15, 500000, tzinfo=UTC)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    parsed = parse_date(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


def test_naive_dates_take_the_given_zone() -> None:
    parsed = parse_date("2016-07-01T12:00:00", ZoneInfo("Europe/Amsterdam"))
    assert isoformat(parsed) == "2016-07-01T12:00:00+02:00"
    assert to_utc(parsed) == datetime(2016, 7, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        "2016-13-01",
        "2016-11-16T25:00",
        "16-11-2016",
        "2016",
        "1" * 100,
        "0001-01-01T00:00:00+05:00",
        "2016-11-16T11:34:15+99:00",
        "2016\x00-11-16",
    ],
)
def test_unparsable(text: str) -> None:
    with pytest.raises(InvalidDate) as info:
        parse_date(text)
    assert info.value.message == (
        f"Given execution date, {text}, could not be identified as a date. "
        "Example date format: 2015-11-16T14:34:15+00:00"
    )


def test_isoformat() -> None:
    assert isoformat(datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)) == "2024-05-06T07:08:09+00:00"
    assert isoformat(datetime(2024, 5, 6, 7, 8, 9, 120, tzinfo=PLUS5)) == "2024-05-06T07:08:09.000120+05:00"
    assert isoformat(datetime(2024, 5, 6, 7, 8, 9)) == "2024-05-06T07:08:09+00:00"
    assert parse_optional_date(None) is None and parse_optional_date("") is None
    assert to_utc(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)

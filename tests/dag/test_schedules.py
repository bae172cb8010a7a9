from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.dag.schedules import (
    CronSchedule,
    DeltaSchedule,
    NullSchedule,
    OnceSchedule,
    RunInfo,
    as_utc,
    load_timezone,
    parse_schedule,
    parse_schedule_summary,
    timezone_name,
)
from tradewind.errors import DagDefinitionError

AMS = ZoneInfo("Europe/Amsterdam")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def run(start: datetime, end: datetime) -> RunInfo:
    return RunInfo(start, start, end)


@pytest.mark.parametrize(
    ("value", "summary"),
    [
        ("@daily", "@daily"),
        ("@hourly", "@hourly"),
        ("@weekly", "@weekly"),
        ("@monthly", "@monthly"),
        ("@yearly", "@yearly"),
        ("@annually", "@annually"),
        ("@once", "@once"),
        ("*/5 * * * *", "*/5 * * * *"),
        (timedelta(hours=6), "timedelta:21600"),
        (timedelta(seconds=1.5), "timedelta:1.5"),
        (None, None),
        ("None", None),
    ],
)
def test_summary_round_trips(value: object, summary: str | None) -> None:
    schedule = parse_schedule(value)
    assert schedule.summary == summary
    assert parse_schedule_summary(schedule.summary) == schedule


@pytest.mark.parametrize(
    "value",
    ["* * * *", "0 0 * * * *", "61 * * * *", "0 25 * * *", "foo bar baz qux quux", "@continuous", "@often"],
)
def test_bad_schedules_are_definition_errors(value: str) -> None:
    with pytest.raises(DagDefinitionError, match=r"cron|preset"):
        parse_schedule(value)


def test_non_positive_timedelta_is_rejected() -> None:
    with pytest.raises(DagDefinitionError, match="positive"):
        parse_schedule(timedelta(0))


def test_unsupported_type_is_rejected() -> None:
    with pytest.raises(DagDefinitionError, match="Unsupported schedule"):
        parse_schedule(42)


def test_daily_first_run_covers_the_day_after_start_date() -> None:
    info = parse_schedule("@daily").next_run_after(None, start_date=utc(2024, 1, 1), now=utc(2024, 1, 5))
    assert info == run(utc(2024, 1, 1), utc(2024, 1, 2))
    assert info is not None and info.is_due(utc(2024, 1, 2)) and not info.is_due(utc(2024, 1, 1, 23))


def test_unaligned_start_date_waits_for_the_next_boundary() -> None:
    info = parse_schedule("@daily").next_run_after(None, start_date=utc(2024, 1, 1, 10), now=utc(2024, 1, 5))
    assert info == run(utc(2024, 1, 2), utc(2024, 1, 3))


def test_next_run_follows_the_last_logical_date() -> None:
    info = parse_schedule("0 */6 * * *").next_run_after(
        utc(2024, 1, 1, 6), start_date=utc(2024, 1, 1), now=utc(2024, 1, 5)
    )
    assert info == run(utc(2024, 1, 1, 12), utc(2024, 1, 1, 18))


def test_next_run_is_returned_even_before_it_is_due() -> None:
    info = parse_schedule("@daily").next_run_after(
        utc(2024, 1, 4), start_date=utc(2024, 1, 1), now=utc(2024, 1, 5)
    )
    assert info == run(utc(2024, 1, 5), utc(2024, 1, 6))
    assert not info.is_due(utc(2024, 1, 5, 12))


def test_catchup_false_proposes_only_the_latest_complete_interval() -> None:
    schedule = parse_schedule("@daily")
    now = utc(2024, 3, 10, 15)
    first = schedule.next_run_after(None, start_date=utc(2024, 1, 1), catchup=False, now=now)
    assert first == run(utc(2024, 3, 9), utc(2024, 3, 10))
    later = schedule.next_run_after(utc(2024, 1, 3), start_date=utc(2024, 1, 1), catchup=False, now=now)
    assert later == first


def test_catchup_false_on_a_boundary_takes_the_interval_that_just_ended() -> None:
    info = parse_schedule("@daily").next_run_after(
        None, start_date=utc(2024, 1, 1), catchup=False, now=utc(2024, 3, 10)
    )
    assert info == run(utc(2024, 3, 9), utc(2024, 3, 10))


def test_catchup_false_never_goes_before_start_date() -> None:
    info = parse_schedule("@daily").next_run_after(
        None, start_date=utc(2024, 3, 20), catchup=False, now=utc(2024, 3, 10)
    )
    assert info == run(utc(2024, 3, 20), utc(2024, 3, 21))


def test_catchup_true_runs_every_interval_from_start_date() -> None:
    schedule = parse_schedule("@daily")
    last = None
    dates = []
    while True:
        info = schedule.next_run_after(last, start_date=utc(2024, 1, 1), now=utc(2024, 1, 4))
        assert info is not None
        if not info.is_due(utc(2024, 1, 4)):
            break
        dates.append(info.logical_date)
        last = info.logical_date
    assert dates == [utc(2024, 1, 1), utc(2024, 1, 2), utc(2024, 1, 3)]


def test_end_date_stops_the_schedule() -> None:
    schedule = parse_schedule("@daily")
    kwargs = {"start_date": utc(2024, 1, 1), "end_date": utc(2024, 1, 2), "now": utc(2024, 2, 1)}
    assert schedule.next_run_after(utc(2024, 1, 1), **kwargs) == run(utc(2024, 1, 2), utc(2024, 1, 3))
    assert schedule.next_run_after(utc(2024, 1, 2), **kwargs) is None


def test_no_start_date_means_no_scheduled_run() -> None:
    assert parse_schedule("@daily").next_run_after(None, start_date=None, now=utc(2024, 1, 1)) is None


def test_once_runs_a_single_time_at_start_date() -> None:
    schedule = parse_schedule("@once")
    assert isinstance(schedule, OnceSchedule)
    info = schedule.next_run_after(None, start_date=utc(2024, 1, 1, 5), now=utc(2024, 1, 1))
    assert info == RunInfo(utc(2024, 1, 1, 5), utc(2024, 1, 1, 5), utc(2024, 1, 1, 5))
    assert not info.is_due(utc(2024, 1, 1)) and info.is_due(utc(2024, 1, 1, 5))
    assert (
        schedule.next_run_after(utc(2024, 1, 1, 5), start_date=utc(2024, 1, 1, 5), now=utc(2025, 1, 1))
        is None
    )


def test_null_schedule_never_runs_and_manual_runs_have_a_point_interval() -> None:
    schedule = parse_schedule(None)
    assert isinstance(schedule, NullSchedule)
    assert schedule.next_run_after(None, start_date=utc(2024, 1, 1), now=utc(2025, 1, 1)) is None
    assert schedule.data_interval_for(utc(2024, 5, 5)) == RunInfo(
        utc(2024, 5, 5), utc(2024, 5, 5), utc(2024, 5, 5)
    )
    assert schedule.runs_between(utc(2024, 1, 1), utc(2024, 2, 1)) == []


def test_timedelta_schedule_is_anchored_at_start_date() -> None:
    schedule = parse_schedule(timedelta(hours=5))
    assert isinstance(schedule, DeltaSchedule)
    start = utc(2024, 1, 1, 1, 30)
    assert schedule.next_run_after(None, start_date=start, now=start) == run(start, utc(2024, 1, 1, 6, 30))
    following = schedule.next_run_after(start, start_date=start, now=start)
    assert following == run(utc(2024, 1, 1, 6, 30), utc(2024, 1, 1, 11, 30))


def test_timedelta_catchup_false_stays_on_the_anchor_grid() -> None:
    schedule = parse_schedule(timedelta(hours=5))
    info = schedule.next_run_after(None, start_date=utc(2024, 1, 1), catchup=False, now=utc(2024, 1, 2, 12))
    assert info == run(utc(2024, 1, 2, 6), utc(2024, 1, 2, 11))


def test_manual_run_gets_the_last_complete_interval() -> None:
    info = parse_schedule("@daily").data_interval_for(utc(2024, 1, 25, 1))
    assert info == RunInfo(utc(2024, 1, 25, 1), utc(2024, 1, 24), utc(2024, 1, 25))
    on_boundary = parse_schedule("@daily").data_interval_for(utc(2024, 1, 25))
    assert (on_boundary.data_interval_start, on_boundary.data_interval_end) == (
        utc(2024, 1, 24),
        utc(2024, 1, 25),
    )
    delta = parse_schedule(timedelta(hours=2)).data_interval_for(utc(2024, 1, 25, 1))
    assert (delta.data_interval_start, delta.data_interval_end) == (utc(2024, 1, 24, 23), utc(2024, 1, 25, 1))


def test_runs_between_lists_every_logical_date_in_the_closed_range() -> None:
    runs = parse_schedule("@daily").runs_between(utc(2024, 1, 1), utc(2024, 1, 3))
    assert [r.logical_date for r in runs] == [utc(2024, 1, 1), utc(2024, 1, 2), utc(2024, 1, 3)]
    assert runs[-1].data_interval_end == utc(2024, 1, 4)
    assert parse_schedule("@once").runs_between(utc(2024, 1, 1), utc(2024, 1, 3)) == [
        RunInfo(utc(2024, 1, 1), utc(2024, 1, 1), utc(2024, 1, 1))
    ]


def test_previous_and_next_logical_dates() -> None:
    schedule = parse_schedule("@daily")
    assert schedule.next_logical_date(utc(2024, 1, 1)) == utc(2024, 1, 2)
    assert schedule.previous_logical_date(utc(2024, 1, 1)) == utc(2023, 12, 31)
    assert parse_schedule(None).next_logical_date(utc(2024, 1, 1)) is None


def test_cron_is_evaluated_in_the_dag_timezone() -> None:
    runs = parse_schedule("0 2 * * *").runs_between(utc(2024, 1, 10), utc(2024, 7, 11), tz="Europe/Amsterdam")
    hours = [r.logical_date.astimezone(AMS).hour for r in runs]
    assert hours.count(3) == 1  # only on 2024-03-31, when 02:00 does not exist
    assert set(hours) == {2, 3}
    assert runs[0].logical_date == utc(2024, 1, 10, 1)  # 02:00 CET
    assert runs[-1].logical_date == utc(2024, 7, 11, 0)  # 02:00 CEST


def test_spring_forward_missing_hour_runs_once_just_after_the_gap() -> None:
    # 2024-03-31 02:00 -> 03:00 in Amsterdam: 02:30 local does not exist that day.
    runs = parse_schedule("30 2 * * *").runs_between(utc(2024, 3, 30), utc(2024, 4, 1, 12), tz=AMS)
    local = [r.logical_date.astimezone(AMS).strftime("%m-%d %H:%M") for r in runs]
    assert local == ["03-30 02:30", "03-31 03:00", "04-01 02:30"]
    assert [r.data_interval_end for r in runs[:-1]] == [r.logical_date for r in runs[1:]]


def test_fall_back_repeated_hour_runs_once_for_a_daily_schedule() -> None:
    # 2024-10-27 03:00 CEST -> 02:00 CET: 02:30 local happens twice.
    runs = parse_schedule("30 2 * * *").runs_between(utc(2024, 10, 26), utc(2024, 10, 28, 12), tz=AMS)
    assert [r.logical_date for r in runs] == [
        utc(2024, 10, 26, 0, 30),
        utc(2024, 10, 27, 0, 30),
        utc(2024, 10, 28, 1, 30),
    ]
    assert runs[1].data_interval_end - runs[1].data_interval_start == timedelta(hours=25)


@pytest.mark.parametrize(("day", "count"), [((2024, 3, 31), 23), ((2024, 10, 27), 25), ((2024, 6, 1), 24)])
def test_hourly_schedule_fires_every_real_hour_across_dst(day: tuple[int, int, int], count: int) -> None:
    start = datetime(*day, tzinfo=AMS)
    end = start + timedelta(days=1)
    runs = parse_schedule("@hourly").runs_between(start, as_utc(end) - timedelta(seconds=1), tz=AMS)
    assert len(runs) == count
    assert all(r.data_interval_end - r.data_interval_start == timedelta(hours=1) for r in runs)


def test_next_run_after_across_fall_back_has_no_duplicates() -> None:
    schedule = parse_schedule("0 2 * * *")
    last = utc(2024, 10, 26, 0)
    info = schedule.next_run_after(
        last, start_date=utc(2024, 1, 1), now=utc(2024, 11, 1), tz="Europe/Amsterdam"
    )
    assert info == run(utc(2024, 10, 27, 0), utc(2024, 10, 28, 1))
    again = schedule.next_run_after(
        info.logical_date, start_date=utc(2024, 1, 1), now=utc(2024, 11, 1), tz="Europe/Amsterdam"
    )
    assert again is not None and again.logical_date == utc(2024, 10, 28, 1)


@settings(max_examples=40, deadline=None)
@given(
    minute=st.integers(0, 59),
    hour=st.sampled_from(["*", "1", "2", "3", "1-3", "*/2"]),
    zone=st.sampled_from(["Europe/Amsterdam", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]),
)
def test_runs_are_strictly_increasing_and_contiguous(minute: int, hour: str, zone: str) -> None:
    schedule = parse_schedule(f"{minute} {hour} * * *")
    for start in (utc(2024, 3, 8), utc(2024, 3, 29), utc(2024, 10, 25), utc(2024, 11, 1), utc(2024, 4, 5)):
        runs = schedule.runs_between(start, start + timedelta(days=4), tz=zone)
        dates = [r.logical_date for r in runs]
        assert dates == sorted(set(dates))
        assert all(a.data_interval_end == b.logical_date for a, b in itertools.pairwise(runs))


def test_pendulum_and_naive_datetimes_are_normalised_to_stdlib_utc() -> None:
    converted = as_utc(pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam"))
    assert type(converted) is datetime and converted == utc(2023, 12, 31, 23)
    assert as_utc(datetime(2024, 1, 1)) == utc(2024, 1, 1)


@pytest.mark.parametrize("name", ["UTC", "Europe/Amsterdam", "+05:30", "-03:00"])
def test_timezone_names_round_trip(name: str) -> None:
    assert timezone_name(load_timezone(name)) == name


def test_unknown_timezone_is_a_definition_error() -> None:
    with pytest.raises(DagDefinitionError, match="Unknown time zone"):
        load_timezone("Mars/Olympus")


def test_cron_schedule_exposes_its_expression() -> None:
    schedule = parse_schedule("@weekly")
    assert isinstance(schedule, CronSchedule) and schedule.expression == "0 0 * * 0"

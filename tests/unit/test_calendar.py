"""Uzbek working days and the deadlines of clauses 3 and 10 counted in them."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehealth.calendar import (
    ACCESS_UPDATE_DAYS,
    INSTALLATION_DAYS,
    NOTICE_DAYS,
    access_update_due,
    add_working_days,
    installation_due,
    is_working_day,
    notice_due,
    working_days_between,
)

dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
week_lengths = st.sampled_from([5, 6])


def test_deadline_constants() -> None:
    assert (INSTALLATION_DAYS, NOTICE_DAYS, ACCESS_UPDATE_DAYS) == (15, 3, 3)


def test_installation_requested_before_new_year_2026() -> None:
    # 31.12.2025 and 02.01.2026 are decreed days off, 01.01 is New Year's Day, 03-04.01 a weekend.
    assert add_working_days(date(2025, 12, 25), 15) == date(2026, 1, 20)
    assert installation_due(date(2025, 12, 25)) == date(2026, 1, 20)
    assert working_days_between(date(2025, 12, 25), date(2026, 1, 20)) == 15


@pytest.mark.parametrize(
    ("day", "five", "six"),
    [
        (date(2026, 1, 14), True, True),  # Wednesday
        (date(2026, 1, 17), False, True),  # Saturday
        (date(2026, 1, 18), False, False),  # Sunday
        (date(2026, 1, 1), False, False),  # New Year's Day (Thursday)
        (date(2025, 12, 31), False, False),  # additional day off by decree (Wednesday)
        (date(2026, 3, 21), False, False),  # Navruz on a Saturday
        (date(2026, 3, 23), False, False),  # Navruz observed on Monday
        (date(2026, 3, 20), False, False),  # Ramazon hayit (Eid al-Fitr)
        (date(2026, 3, 24), True, True),
        (date(2026, 5, 9), False, False),  # Day of Memory and Honour on a Saturday
        (date(2026, 5, 11), False, False),  # ... observed on Monday
        (date(2024, 12, 14), True, True),  # Saturday worked for Monday 30.12.2024
        (date(2024, 12, 30), False, False),
        (date(2024, 12, 21), False, True),  # an ordinary Saturday
        (date(2026, 12, 12), True, True),  # Saturday worked for Thursday 31.12.2026
        (date(2026, 12, 31), False, False),
        (date(2018, 8, 26), True, True),  # a Sunday decreed to be worked
        (date(2018, 8, 24), False, False),
    ],
)
def test_is_working_day(day: date, five: bool, six: bool) -> None:
    assert is_working_day(day) is five
    assert is_working_day(day, week_days=5) is five
    assert is_working_day(day, week_days=6) is six


def test_five_day_week_agrees_with_the_holidays_package() -> None:
    table = holidays.country_holidays("UZ", years=range(2017, 2029))
    day = date(2018, 1, 1)
    while day <= date(2027, 12, 31):
        assert is_working_day(day) is table.is_working_day(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "n", "week_days", "expected"),
    [
        (date(2026, 1, 16), 1, 5, date(2026, 1, 19)),  # Friday + 1 -> Monday
        (date(2026, 1, 16), 1, 6, date(2026, 1, 17)),  # Friday + 1 -> Saturday
        (date(2026, 1, 17), 1, 5, date(2026, 1, 19)),  # from a Saturday
        (date(2026, 1, 17), 0, 5, date(2026, 1, 17)),  # n == 0 gives the start, working or not
        (date(2026, 3, 19), 1, 5, date(2026, 3, 24)),  # over Eid al-Fitr, Navruz and its observed Monday
        (date(2026, 3, 19), 1, 6, date(2026, 3, 24)),
        (date(2024, 12, 13), 1, 5, date(2024, 12, 14)),  # the worked Saturday counts in a 5-day week
        (date(2024, 12, 27), 1, 5, date(2025, 1, 3)),  # 30.12 moved from 14.12, 31.12 decreed, 01.01, 02.01 moved
        (date(2026, 1, 20), -15, 5, date(2025, 12, 25)),  # backwards
        (date(2026, 1, 19), -1, 5, date(2026, 1, 16)),
    ],
)
def test_add_working_days(start: date, n: int, week_days: int, expected: date) -> None:
    assert add_working_days(start, n, week_days=week_days) == expected


@pytest.mark.parametrize(
    ("start", "end", "week_days", "expected"),
    [
        (date(2026, 1, 14), date(2026, 1, 14), 5, 0),
        (date(2026, 1, 20), date(2026, 1, 14), 5, 0),
        (date(2026, 1, 16), date(2026, 1, 18), 5, 0),  # Friday -> Sunday: nothing after Friday worked
        (date(2026, 1, 16), date(2026, 1, 18), 6, 1),
        (date(2026, 1, 11), date(2026, 1, 17), 5, 5),
        (date(2026, 1, 11), date(2026, 1, 17), 6, 6),
        (date(2025, 12, 31), date(2027, 1, 1), 5, working_days_between(date(2025, 12, 31), date(2026, 12, 31))),
    ],
)
def test_working_days_between(start: date, end: date, week_days: int, expected: int) -> None:
    assert working_days_between(start, end, week_days=week_days) == expected


def test_working_days_between_counts_whole_years() -> None:
    # 365 days, 104 weekend days, public holidays and days off on weekdays; 2 decreed working weekend days.
    in_2026 = working_days_between(date(2025, 12, 31), date(2026, 12, 31))
    by_hand = sum(is_working_day(date(2026, 1, 1) + timedelta(days=i)) for i in range(365))
    assert in_2026 == by_hand
    assert 240 < in_2026 < 255


@pytest.mark.parametrize(
    ("helper", "start", "expected"),
    [
        (notice_due, date(2026, 3, 19), date(2026, 3, 26)),  # Thu; 20, 21, 23 off; 24, 25, 26
        (access_update_due, date(2026, 3, 19), date(2026, 3, 26)),
        (notice_due, date(2026, 1, 14), date(2026, 1, 19)),
        (installation_due, date(2026, 5, 25), date(2026, 6, 18)),  # over Qurbon hayit and its two extra days off
    ],
)
def test_deadline_helpers(helper: object, start: date, expected: date) -> None:
    assert callable(helper)
    assert helper(start) == expected


def test_deadline_helpers_take_the_week_length() -> None:
    assert notice_due(date(2026, 1, 14), week_days=6) == date(2026, 1, 17)
    assert installation_due(date(2025, 12, 25), week_days=6) < installation_due(date(2025, 12, 25))


@pytest.mark.parametrize("week_days", [0, 4, 7])
def test_only_five_and_six_day_weeks(week_days: int) -> None:
    with pytest.raises(ValueError, match="5 or 6"):
        is_working_day(date(2026, 1, 14), week_days=week_days)
    with pytest.raises(ValueError, match="5 or 6"):
        add_working_days(date(2026, 1, 14), 1, week_days=week_days)
    with pytest.raises(ValueError, match="5 or 6"):
        working_days_between(date(2026, 1, 14), date(2026, 2, 14), week_days=week_days)


@given(start=dates, n=st.integers(0, 60), week_days=week_lengths)
def test_between_undoes_add(start: date, n: int, week_days: int) -> None:
    due = add_working_days(start, n, week_days=week_days)
    assert working_days_between(start, due, week_days=week_days) == n
    if n:
        assert is_working_day(due, week_days=week_days)


@given(start=dates, end=dates, week_days=week_lengths)
def test_add_undoes_between(start: date, end: date, week_days: int) -> None:
    k = working_days_between(start, end, week_days=week_days)
    assert add_working_days(start, k, week_days=week_days) <= end or k == 0
    assert add_working_days(start, k + 1, week_days=week_days) > end
    if end > start and is_working_day(end, week_days=week_days):
        assert add_working_days(start, k, week_days=week_days) == end


@given(start=dates, n=st.integers(0, 60), week_days=week_lengths)
def test_backwards_undoes_forwards(start: date, n: int, week_days: int) -> None:
    due = add_working_days(start, n, week_days=week_days)
    if is_working_day(start, week_days=week_days):
        assert add_working_days(due, -n, week_days=week_days) == start


@given(start=dates, end=dates)
def test_a_six_day_week_never_has_fewer_working_days(start: date, end: date) -> None:
    assert working_days_between(start, end, week_days=6) >= working_days_between(start, end)


@given(day=dates, span=st.integers(0, 400))
def test_between_is_a_count_of_working_days(day: date, span: int) -> None:
    end = day + timedelta(days=span)
    count = sum(is_working_day(day + timedelta(days=i)) for i in range(1, span + 1))
    assert working_days_between(day, end) == count

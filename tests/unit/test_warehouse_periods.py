"""The whole months of a period, which the by-facility figures read from the monthly roll-ups."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from warehouse.queries import whole_months


def testwhole_months_of_typical_periods() -> None:
    assert whole_months(date(2025, 1, 1), date(2025, 12, 31)) == (date(2025, 1, 1), date(2026, 1, 1))
    assert whole_months(date(2025, 1, 15), date(2025, 3, 31)) == (date(2025, 2, 1), date(2025, 4, 1))
    assert whole_months(date(2025, 1, 1), date(2025, 2, 27)) == (date(2025, 1, 1), date(2025, 2, 1))
    empty = whole_months(date(2025, 2, 2), date(2025, 2, 27))
    assert empty[0] == empty[1]
    assert whole_months(date(2024, 2, 1), date(2024, 2, 29)) == (date(2024, 2, 1), date(2024, 3, 1))


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.integers(0, 800))
def testwhole_months_are_exactly_the_months_inside_the_period(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    first, after = whole_months(start, end)
    assert first.day == 1 and after.day == 1 and first <= after
    days = {start + timedelta(days=n) for n in range(length + 1)}
    inside = {day for day in days if first <= day < after}
    # Every day of the whole months is in the period, and each month the period holds whole is among them.
    month_starts = {day.replace(day=1) for day in days}
    for month in month_starts:
        month_days = {d for d in ((month + timedelta(days=n)) for n in range(31)) if d.month == month.month}
        assert (month_days <= days) == (month_days <= inside)
    assert inside <= days

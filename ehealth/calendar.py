"""Uzbek working days (public holidays, decreed days off and working Saturdays) and the deadlines counted in them.

The holidays come from the `holidays` package, which follows the Labour Code and the yearly presidential
decrees: fixed and Islamic holidays, the day off that replaces a holiday falling on a weekend (since the Labour
Code of 30.04.2023), and days off moved from a weekend. A moved day off turns its weekend day into a working
day; the package lists those days in `weekend_workdays` (e.g. Saturday 2024-12-14 worked for Monday
2024-12-30 off) and both week lengths honour them here. The decrees are written for the 5-day week; the
6-day week takes the same days off, so a 6-day organisation's deadline is never earlier than it should be.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from ehealth.identifiers import TASHKENT

# the modules an organisation asked for are installed within 15 working days of the request.
INSTALLATION_DAYS = 15
# notice of an event is given within 3 working days of it.
NOTICE_DAYS = 3
# access rights are updated within 3 working days of the notice.
ACCESS_UPDATE_DAYS = 3

WEEK_LENGTHS: tuple[int, ...] = (5, 6)
_ONE_DAY = timedelta(days=1)


def _check_week(week_days: int) -> None:
    """Refuse a working week other than Mon-Fri (5) or Mon-Sat (6)."""
    if week_days not in WEEK_LENGTHS:
        raise ValueError(f"week_days must be 5 or 6, not {week_days!r}")


@lru_cache(maxsize=1024)  # a few hundred years at most; bounded all the same
def _days_off_and_weekend_workdays(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """The public holidays and days off of `year`, and the weekend days of `year` decreed to be worked."""
    # Neighbouring years too: a day off can be observed or substituted across New Year.
    table = holidays.country_holidays("UZ", years=[y for y in (year - 1, year, year + 1) if 1 <= y <= 9999])
    days_off = frozenset(day for day in table if day.year == year)
    worked = frozenset(day for day in table.weekend_workdays if day.year == year and day not in days_off)
    return days_off, worked


@lru_cache(maxsize=1024)  # a few hundred years at most; bounded all the same
def _working_mask(year: int, week_days: int) -> bytes:
    """One byte per day of `year` (index: day of year - 1): 1 for a working day, 0 for a day off."""
    days_off, worked = _days_off_and_weekend_workdays(year)
    first = date(year, 1, 1)
    length = (date(year + 1, 1, 1) - first).days if year < 9999 else 365
    mask = bytearray(length)
    for offset in range(length):
        day = first + timedelta(days=offset)
        mask[offset] = day not in days_off and (day.weekday() < week_days or day in worked)
    return bytes(mask)


def is_working_day(day: date, *, week_days: int = 5) -> bool:
    """True if `day` is worked in a `week_days`-day week (5: Mon-Fri, 6: Mon-Sat), never on a public holiday."""
    _check_week(week_days)
    return _working_mask(day.year, week_days)[day.timetuple().tm_yday - 1] == 1


def add_working_days(start: date, n: int, *, week_days: int = 5) -> date:
    """The n-th working day after `start` (not counted itself); n < 0 counts backwards, n == 0 gives `start`."""
    _check_week(week_days)
    step = _ONE_DAY if n >= 0 else -_ONE_DAY
    day = start
    for _ in range(abs(n)):
        day += step
        while not is_working_day(day, week_days=week_days):
            day += step
    return day


def working_days_between(start: date, end: date, *, week_days: int = 5) -> int:
    """How many working days come after `start` up to and including `end` (0 if `end` <= `start`)."""
    _check_week(week_days)
    if end <= start:
        return 0
    first = start + _ONE_DAY
    total = 0
    for year in range(first.year, end.year + 1):
        mask = _working_mask(year, week_days)
        low = first.timetuple().tm_yday - 1 if year == first.year else 0
        high = end.timetuple().tm_yday if year == end.year else len(mask)
        total += mask.count(1, low, high)
    return total


def installation_due(requested_on: date, *, week_days: int = 5) -> date:
    """The last day to install requested modules (R-3: 15 working days after the request)."""
    return add_working_days(requested_on, INSTALLATION_DAYS, week_days=week_days)


def notice_due(event_date: date, *, week_days: int = 5) -> date:
    """The last day to give notice of an event (R-10: 3 working days after it)."""
    return add_working_days(event_date, NOTICE_DAYS, week_days=week_days)


def access_update_due(notified_on: date, *, week_days: int = 5) -> date:
    """The last day to update access rights after a notice (R-10: 3 working days after it)."""
    return add_working_days(notified_on, ACCESS_UPDATE_DAYS, week_days=week_days)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which `day` starts and ends in Tashkent (UTC+5), where the users are."""
    start = datetime.combine(day, time.min, tzinfo=TASHKENT)
    return start, start + timedelta(days=1)


def today() -> date:
    """Today's date in Uzbekistan, whatever the server's time zone."""
    return datetime.now(TASHKENT).date()

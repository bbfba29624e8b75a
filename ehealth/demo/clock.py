"""Time and chance for the generator: a clock fixed by `today`, weighted choices, and pre-assigned ids."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from random import Random
from typing import Generic, TypeVar

from ehealth.calendar import is_working_day

T = TypeVar("T")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY = 86_400
HOUR = 3_600
MINUTE = 60
# Uzbekistan keeps UTC+5 all year; working hours and "today" are local.
LOCAL_OFFSET = 5 * HOUR
# The clinical history covers the two years before `today`.
WINDOW_DAYS = 730


def midnight(day: date) -> int:
    """Epoch seconds of local (Tashkent) midnight starting `day`."""
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY - LOCAL_OFFSET


def at(seconds: int) -> datetime:
    """The aware UTC datetime of epoch `seconds` (the only kind the database accepts)."""
    return EPOCH + timedelta(seconds=seconds)


def office_hours(rng: Random, moment: int, opens: int = 8, closes: int = 19) -> int:
    """A time between `opens` and `closes` o'clock (local) on the day of `moment`: when people are at work."""
    start = moment - (moment + LOCAL_OFFSET) % DAY
    return start + opens * HOUR + int(rng.random() * (closes - opens) * HOUR)


def local_day(seconds: int) -> date:
    """The local date an epoch time falls on."""
    return date.fromordinal((seconds + LOCAL_OFFSET) // DAY + _EPOCH_ORDINAL)


class Clock:
    """Every moment of the demo data is derived from `today`: same day, same timestamps."""

    def __init__(self, today: date) -> None:
        self.today = today
        # "Now" is noon of `today` in Tashkent: today's open visits started this morning.
        self.now = midnight(today) + 12 * HOUR
        self.window_start = midnight(today - timedelta(days=WINDOW_DAYS))
        # The portal went live four months before the window; organizations joined in the months before that.
        self.launch = self.window_start - 120 * DAY
        self.platform_start = self.launch - 90 * DAY
        start = today - timedelta(days=WINDOW_DAYS)
        # Polyclinics work a 6-day week; visits fall on its working days (holidays included).
        self.working_days: list[int] = [
            day.toordinal()
            for day in (start + timedelta(days=offset) for offset in range(WINDOW_DAYS + 1))
            if is_working_day(day, week_days=6)
        ]
        if not self.working_days or self.working_days[-1] != today.toordinal():
            self.working_days.append(today.toordinal())  # today's visits happen even on a day off (duty doctors)

    def working_day_between(self, rng: Random, first: int, last: int) -> int | None:
        """A random working day (epoch seconds of its local midnight) between two epoch times, if any."""
        low = bisect_left(self.working_days, (first + LOCAL_OFFSET) // DAY + _EPOCH_ORDINAL)
        high = bisect_right(self.working_days, (last + LOCAL_OFFSET) // DAY + _EPOCH_ORDINAL)
        if low >= high:
            return None
        return (self.working_days[rng.randrange(low, high)] - _EPOCH_ORDINAL) * DAY - LOCAL_OFFSET


class DemoRandom(Random):
    """The run's random stream, with lean integer draws: the stdlib's checks cost more than the data does."""

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        """A random integer in [start, stop) (or [0, start)), as `Random.randrange` with step 1."""
        if stop is None:
            start, stop = 0, start
        if step != 1 or stop <= start:
            return super().randrange(start, stop, step)
        return start + int(self.random() * (stop - start))

    def randint(self, a: int, b: int) -> int:
        """A random integer in [a, b]."""
        return a + int(self.random() * (b - a + 1))

    def choice(self, seq: Sequence[T]) -> T:  # type: ignore[override]
        """A random element of a non-empty sequence."""
        if not seq:
            raise IndexError("cannot choose from an empty sequence")
        return seq[int(self.random() * len(seq))]


class Weighted(Generic[T]):
    """A weighted choice among fixed items, O(log n) per pick."""

    def __init__(self, items: Sequence[tuple[T, float]]) -> None:
        kept = [(item, weight) for item, weight in items if weight > 0]
        if not kept:
            raise ValueError("a weighted choice needs at least one item with a positive weight")
        self.items: list[T] = [item for item, _ in kept]
        self.cumulative: list[float] = list(accumulate(weight for _, weight in kept))
        self.total = self.cumulative[-1]

    def pick(self, rng: Random) -> T:
        """One item, each with probability weight / total."""
        index = bisect_right(self.cumulative, rng.random() * self.total)
        return self.items[min(index, len(self.items) - 1)]


class Ids:
    """Pre-assigned primary keys per table, continuing after the largest id already stored."""

    def __init__(self, start: dict[str, int]) -> None:
        self._last = dict(start)

    def take(self, table: str) -> int:
        """The next id of `table`."""
        value = self._last[table] + 1
        self._last[table] = value
        return value

    def last(self, table: str) -> int:
        """The last id handed out for `table` (or the largest stored one)."""
        return self._last[table]

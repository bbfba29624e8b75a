"""How report values read: thousands, one decimal, percent with a dash for an undefined rate, dates."""

from __future__ import annotations

from datetime import date

from ehealth.reports.base import Kind
from ehealth.reports.formatting import DASH, THIN_SPACE, cell_text, numeric


def test_values_are_written_as_people_read_them() -> None:
    assert cell_text(12345, Kind.INT) == f"12{THIN_SPACE}345"
    assert cell_text(3.46, Kind.DECIMAL) == "3.5"
    assert cell_text(0.125, Kind.PERCENT) == "12.5 %"
    assert cell_text(None, Kind.PERCENT) == DASH
    assert cell_text(date(2026, 11, 26), Kind.DATE) == "26.11.2026"
    assert cell_text("Toshkent", Kind.TEXT) == "Toshkent"
    assert numeric(Kind.PERCENT) and not numeric(Kind.TEXT)

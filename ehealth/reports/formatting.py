"""How a report's values are written for people: the page and the PDF write them alike (Excel keeps them typed)."""

from __future__ import annotations

from datetime import date
from typing import Any

from ehealth.reports.base import Kind

DASH = "—"  # an undefined rate (nothing to divide by) is a dash, never 0 %
THIN_SPACE = "\u202f"  # thousands separator read the same way in uz and ru


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", THIN_SPACE)


def cell_text(value: Any, kind: Kind) -> str:
    """`value` of a column of `kind` as text: 12 345, 3.4, 12.5 %, 26.11.2026."""
    if value is None:
        return DASH
    if kind == Kind.INT and isinstance(value, int | float):
        return _thousands(round(value))
    if kind == Kind.DECIMAL and isinstance(value, int | float):
        return f"{value:,.1f}".replace(",", THIN_SPACE)
    if kind == Kind.PERCENT and isinstance(value, int | float):
        return f"{value * 100:.1f} %"
    if kind == Kind.DATE and isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def numeric(kind: Kind) -> bool:
    """True for columns written right-aligned."""
    return kind in (Kind.INT, Kind.DECIMAL, Kind.PERCENT)

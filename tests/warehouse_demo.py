"""For a test module about the warehouse: a demo database of its own on each backend and the warehouse rebuilt from
it. A module binds what it uses:

    source = warehouse_demo.source
    warehouse = warehouse_demo.warehouse

and the helpers the two-way tests share (the operational side's days, rates, the busiest value, the comparison).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ehealth.demo import generate
from ehealth.identifiers import TASHKENT
from etl.pipeline import run
from warehouse.queries import Frame

KEY = b"test-warehouse-key-0123456789abcdef"
PATIENTS = 100
TODAY = date(2026, 3, 16)


@pytest.fixture(scope="module")
def source(own_engine: Engine) -> Engine:
    """A demo database of about 100 patients (with staff, notices, requests, reviews) on each backend."""
    generate(own_engine, patients=PATIENTS, seed=11, today=TODAY, progress=False)
    return own_engine


@pytest.fixture(scope="module")
def warehouse(source: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's warehouse, rebuilt from the demo database."""
    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    run(source, path, KEY, rebuild=True, progress=False)
    return path


def aware(moment: datetime) -> datetime:
    """A stored time as aware UTC (naive values are UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_day(moment: datetime) -> date:
    """The Tashkent date of a stored time."""
    return aware(moment).astimezone(TASHKENT).date()


def rate(part: int, whole: int) -> float | None:
    """part / whole, None when whole is zero."""
    return part / whole if whole else None


def busiest(values: list[int]) -> int:
    """The most frequent value (ties: the smallest)."""
    counts = Counter(values)
    return min(counts, key=lambda value: (-counts[value], value))


def assert_same(frame: Frame, expected: list[tuple[Any, ...]], columns: str) -> None:
    """The frame has the listed columns and the expected rows (floats to 1e-9)."""
    assert frame.columns == tuple(columns.split())
    assert len(frame.rows) == len(expected), (frame.rows, expected)
    for got, want in zip(frame.rows, expected, strict=True):
        assert len(got) == len(want)
        for value, wanted in zip(got, want, strict=True):
            if isinstance(wanted, float) or isinstance(value, float):
                assert value == pytest.approx(wanted, rel=1e-9), (got, want)
            else:
                assert value == wanted, (got, want)

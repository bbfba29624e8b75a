"""For a test module about the warehouse: a demo database of its own on each backend and the warehouse rebuilt from
it. A module binds what it uses:

    source = warehouse_demo.source
    warehouse = warehouse_demo.warehouse
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ehealth.demo import generate
from etl.pipeline import run

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

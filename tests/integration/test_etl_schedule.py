"""The portal's warehouse refresh: one builder at a time across processes, and a first run that builds it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from db import make_engine
from ehealth.manage import migrate
from etl.schedule import exclusive, run_once

KEY = b"schedule-test-warehouse-key-0123456789"


def test_one_builder_at_a_time_and_the_first_run_builds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    warehouse = tmp_path / "warehouse.duckdb"
    try:
        with exclusive(warehouse) as mine:
            assert mine
            with exclusive(warehouse) as other:  # another worker's tick while this one builds: it skips
                assert not other
            assert run_once(engine, warehouse, KEY) is None and not warehouse.exists()
        assert run_once(engine, warehouse, KEY) is not None
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM dim_regions").fetchone() == (14,)
    finally:
        engine.dispose()

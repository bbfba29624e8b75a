"""Daily snapshots of the user inventory: what each day's runs found, kept across rebuilds.

A cabinet's status can be undone (unblocked) and its last sign-in moves on, so the inventory of a past day cannot be
rebuilt from the operational database; each run records today's, and every run carries over the days the published
warehouse holds and the one being built lacks (a rebuild starts empty; an incremental run starts from the generation
before the published one).
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from ehealth.calendar import day_bounds
from warehouse.connection import WarehouseMissing, read

TABLE = "snp_user_inventory"
DORMANT_DAYS = 90


def published_rows(path: Path) -> pl.DataFrame | None:
    """The snapshot rows of the published warehouse (through this process's reader), None when there are none."""
    try:
        with read(path) as con:
            present = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [TABLE]
            ).fetchone()
            if not present or not present[0]:
                return None  # published before snapshots were kept
            cursor = con.execute(f"SELECT * FROM {TABLE}")  # noqa: S608  (a constant)
            names = [str(column[0]) for column in cursor.description or ()]
            return pl.DataFrame(cursor.fetchall(), schema=names, orient="row")
    except WarehouseMissing:
        return None


def carry_over(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame | None) -> int:
    """Add the days of `rows` that the snapshot being built lacks; how many rows were added."""
    if rows is None or not rows.height:
        return 0
    con.register("etl_snapshots", rows.to_arrow())
    try:
        added = con.execute(f"""
            INSERT INTO {TABLE} BY NAME
            SELECT * FROM etl_snapshots WHERE snapshot_date NOT IN (SELECT DISTINCT snapshot_date FROM {TABLE})
        """).fetchone()  # noqa: S608
    finally:
        con.unregister("etl_snapshots")
    return int(added[0]) if added else 0


def take(con: duckdb.DuckDBPyConnection, today: date) -> int:
    """Record (or re-record) today's inventory from dim_users; the rows written."""
    start, _ = day_bounds(today - timedelta(days=DORMANT_DAYS - 1))
    dormant_before = start.astimezone(UTC).replace(tzinfo=None)  # the warehouse keeps naive UTC times
    con.execute(f"DELETE FROM {TABLE} WHERE snapshot_date = ?", [today])  # noqa: S608
    written = con.execute(
        f"""
        INSERT INTO {TABLE}
        SELECT ?, organization_id, region_id, role, status, count(*),
               count(*) FILTER (WHERE status = 'active' AND last_sign_in_at IS NULL),
               count(*) FILTER (WHERE status = 'active' AND last_sign_in_at < ?)
        FROM dim_users WHERE status <> 'purged'
        GROUP BY organization_id, region_id, role, status
        """,  # noqa: S608
        [today, dormant_before],
    ).fetchone()
    return int(written[0]) if written else 0

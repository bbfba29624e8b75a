"""Loading transformed frames into the snapshot being built: DELETE the refreshed keys, then INSERT."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import polars as pl

from warehouse.schema import columns


def delete_keys(con: duckdb.DuckDBPyConnection, table: str, column: str, keys: Iterable[int]) -> None:
    """Remove the rows of `table` whose `column` is one of `keys` (the rows about to be reloaded)."""
    frame = pl.DataFrame({"k": sorted(keys)}, schema={"k": pl.Int64})
    if not frame.height:
        return
    con.register("etl_keys", frame.to_arrow())
    try:
        con.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT k FROM etl_keys)")  # noqa: S608
    finally:
        con.unregister("etl_keys")


def keep_keys(con: duckdb.DuckDBPyConnection, name: str, column: str, keys: Iterable[int]) -> str:
    """Keep `keys` in a temporary table `name` for the rest of the run; the condition selecting their rows."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} (k BIGINT)")
    frame = pl.DataFrame({"k": sorted(keys)}, schema={"k": pl.Int64})
    con.register("etl_kept", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {name} SELECT k FROM etl_kept")  # noqa: S608
    finally:
        con.unregister("etl_kept")
    return f"{column} IN (SELECT k FROM {name})"  # noqa: S608  (a column and a table of the ETL's own)


def insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Append `frame` to `table` (columns matched by name, extra columns refused); the number of rows."""
    if not frame.height:
        return 0
    con.register("etl_rows", frame.select(columns(table)).to_arrow())
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM etl_rows")  # noqa: S608
    finally:
        con.unregister("etl_rows")
    return frame.height


def replace_all(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Replace the whole content of a small table (dimensions are reloaded, not merged)."""
    con.execute(f"DELETE FROM {table}")  # noqa: S608
    return insert(con, table, frame)


def missing_diagnoses(con: duckdb.DuckDBPyConnection) -> list[str]:
    """ICD-10 codes used by a fact but not yet in dim_diagnoses."""
    rows = con.execute("""
        SELECT DISTINCT code FROM (
            SELECT icd10_code AS code FROM fct_prescriptions
            UNION ALL SELECT icd10_code FROM fct_admissions
            UNION ALL SELECT discharge_icd10_code FROM fct_admissions
        ) AS used
        WHERE code IS NOT NULL AND code NOT IN (SELECT icd10_code FROM dim_diagnoses)
        ORDER BY code
    """).fetchall()
    return [str(row[0]) for row in rows]

"""The warehouse side of an incremental ETL run at national scale: loading a run's changed facts into a snapshot of
25 M prescriptions, refreshing the roll-ups of the dates they touch, checking, committing.

    python bench/warehouse_increment.py --warehouse /tmp/wh_full/warehouse.duckdb [--events 100000] [--runs 3]

The file is one written by `bench/dashboard_queries.py --keep` (synthetic national-scale facts and their roll-ups);
it is copied first (a run writes). Each run plays what `etl.pipeline.run` does with the frames an incremental
extract returns, for --events outbox events in the proportions of bench/etl_throughput.py: 23.5 % prescription
events (new prescriptions issued the day after the data ends, with their items), 41.3 % dispense events (new
dispenses of prescriptions issued in the data's last 7 days: each refreshes its prescription and items too, as
extract.changes does), 1.5 % admission events (new admissions) and the rest outpatient visits (new fct_visits rows).
The operational side of the same run (reading those rows by id from PostgreSQL or SQLite) is what
bench/etl_throughput.py measures; it does not depend on the warehouse's size.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file's directory holds etl_throughput.py, not the etl package: keep bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from etl import aggregate  # noqa: E402
from etl import load as etl_load  # noqa: E402
from warehouse import checks  # noqa: E402

SHARES = {"prescription": 0.235, "dispense": 0.413, "admission": 0.015}


def _ids(con: duckdb.DuckDBPyConnection, sql: str) -> list[int]:
    return [int(row[0]) for row in con.execute(sql).fetchall()]


def _max(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    row = con.execute(f"SELECT max({column}) FROM {table}").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def one_run(con: duckdb.DuckDBPyConnection, events: int, day: str) -> dict[str, float]:
    """Load one run's changes inside a transaction, as the pipeline does; seconds per step."""
    counts = {kind: round(events * share) for kind, share in SHARES.items()}
    counts["visit"] = events - sum(counts.values())
    seconds: dict[str, float] = {}

    def step(name: str, work: Callable[[], object]) -> None:
        began = time.perf_counter()
        work()
        seconds[name] = time.perf_counter() - began

    p0, i0 = _max(con, "fct_prescriptions", "prescription_id"), _max(con, "fct_prescription_items", "item_id")
    d0, a0 = _max(con, "fct_dispenses", "dispense_id"), _max(con, "fct_admissions", "admission_id")
    v0 = _max(con, "fct_visits", "encounter_id")
    # The prescriptions the new dispenses are of: issued in the data's last week, not yet dispensed.
    dispensed = _ids(
        con,
        f"""SELECT prescription_id FROM fct_prescriptions
            WHERE issued_date > DATE '{day}' - 8 AND state = 'active' ORDER BY hash(prescription_id)
            LIMIT {counts["dispense"]}""",
    )
    con.execute("BEGIN TRANSACTION")
    step(
        "note touched (before)",
        lambda: aggregate.note_touched(con, prescriptions=dispensed, dispenses=[], admissions=[]),
    )
    con.register("refreshed", pl.DataFrame({"k": dispensed}, schema={"k": pl.Int64}).to_arrow())

    dispensed_at = f"TIMESTAMP '{day} 06:00' + INTERVAL 1 DAY"

    def load_facts() -> None:
        # The refreshed prescriptions and items: deleted and loaded again (now dispensed), as the ETL reloads them.
        con.execute(
            "CREATE TEMP TABLE again AS SELECT * FROM fct_prescriptions WHERE prescription_id IN (SELECT k FROM refreshed)"
        )
        con.execute(
            "CREATE TEMP TABLE again_items AS"
            " SELECT * FROM fct_prescription_items WHERE prescription_id IN (SELECT k FROM refreshed)"
        )
        con.execute("DELETE FROM fct_prescription_items WHERE prescription_id IN (SELECT k FROM refreshed)")
        con.execute("DELETE FROM fct_prescriptions WHERE prescription_id IN (SELECT k FROM refreshed)")
        con.execute("INSERT INTO fct_prescriptions SELECT * REPLACE ('dispensed' AS state) FROM again")
        con.execute(
            "INSERT INTO fct_prescription_items"
            " SELECT * REPLACE (quantity AS dispensed_quantity, 1 AS fills) FROM again_items"
        )
        # One new dispense per refreshed prescription's first item, a day after the data ends.
        con.execute(f"""
            INSERT INTO fct_dispenses
            SELECT {d0} + row_number() OVER (), i.patient_key, p.sex, p.birth_year, p.age_band, p.patient_region_id,
                   i.prescription_id, i.item_id, i.drug_id, i.organization_id, i.organization_id, i.quantity, 'active',
                   {dispensed_at}, DATE '{day}' + 1, date_diff('minute', p.issued_at, {dispensed_at}) / 60
            FROM again_items i JOIN again p USING (prescription_id) WHERE i.line = 1
        """)
        # New prescriptions and their items, copies of the last day's with new ids, issued the next day.
        con.execute(f"""
            CREATE TEMP TABLE fresh AS
            SELECT prescription_id AS old_id, {p0} + row_number() OVER () AS new_id
            FROM fct_prescriptions WHERE issued_date = DATE '{day}' LIMIT {counts["prescription"]}
        """)
        con.execute("""
            INSERT INTO fct_prescriptions
            SELECT p.* REPLACE (f.new_id AS prescription_id, 'active' AS state, issued_at + INTERVAL 1 DAY AS issued_at,
                               issued_date + 1 AS issued_date, valid_until + 1 AS valid_until)
            FROM fct_prescriptions p JOIN fresh f ON f.old_id = p.prescription_id
        """)
        con.execute(f"""
            INSERT INTO fct_prescription_items
            SELECT i.* REPLACE ({i0} + row_number() OVER () AS item_id, f.new_id AS prescription_id,
                               issued_date + 1 AS issued_date, 0 AS dispensed_quantity, 0 AS fills)
            FROM fct_prescription_items i JOIN fresh f ON f.old_id = i.prescription_id
        """)
        con.execute(f"""
            INSERT INTO fct_admissions
            SELECT a.* REPLACE ({a0} + row_number() OVER () AS admission_id, admitted_at + INTERVAL 1 DAY AS admitted_at,
                               admitted_date + 1 AS admitted_date, NULL AS discharged_at, NULL AS discharge_date,
                               NULL AS outcome, NULL AS discharge_icd10_code, NULL AS length_of_stay_days)
            FROM fct_admissions a WHERE admitted_date = DATE '{day}' LIMIT {counts["admission"]}
        """)
        con.execute(f"""
            INSERT INTO fct_visits
            SELECT {v0} + range, p.patient_key, p.sex, p.birth_year, p.age_band, p.patient_region_id, p.organization_id,
                   NULL, p.prescriber_key, 'closed', NULL, 'active', p.issued_at + INTERVAL 1 DAY, p.issued_date + 1,
                   p.issued_at + INTERVAL 1 DAY
            FROM range(1, {counts["visit"]} + 1) JOIN fct_prescriptions p ON p.prescription_id = range
        """)

    step("load facts", load_facts)
    new_admissions = _ids(con, f"SELECT admission_id FROM fct_admissions WHERE admission_id > {a0}")
    new_dispenses = _ids(con, f"SELECT dispense_id FROM fct_dispenses WHERE dispense_id > {d0}")
    new_prescriptions = _ids(con, f"SELECT prescription_id FROM fct_prescriptions WHERE prescription_id > {p0}")
    step(
        "note touched (after)",
        lambda: aggregate.note_touched(
            con, prescriptions=dispensed + new_prescriptions, dispenses=new_dispenses, admissions=new_admissions
        ),
    )
    whole: list[str] = []
    step("roll-ups (touched dates)", lambda: whole.extend(aggregate.refresh(con, full=False)))
    scope = aggregate.check_scope(whole)
    for table, key, ids in (
        ("fct_prescriptions", "prescription_id", dispensed + new_prescriptions),
        ("fct_prescription_items", "prescription_id", dispensed + new_prescriptions),
        ("fct_dispenses", "dispense_id", new_dispenses),
        ("fct_admissions", "admission_id", new_admissions),
    ):
        scope[table] = etl_load.keep_keys(con, f"etl_loaded_{table}", key, ids)
    scope["fct_visits"] = f"encounter_id > {v0}"
    step("checks (what the run wrote)", lambda: checks.check(con, scope=scope))
    step("commit", lambda: con.execute("COMMIT"))
    step("checkpoint", lambda: con.execute("CHECKPOINT"))
    aggregate.forget_touched(con)
    for table in ("again", "again_items", "fresh"):
        con.execute(f"DROP TABLE {table}")
    con.unregister("refreshed")
    return seconds


def verify(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows by which each roll-up, as the runs left it, differs from a rebuild from the facts (all 0 when exact)."""
    from warehouse.schema import ROLLUP_MEASURES  # noqa: PLC0415

    for table in ROLLUP_MEASURES:
        con.execute(f"CREATE TEMP TABLE kept_{table} AS SELECT * FROM {table}")
    aggregate.refresh(con, full=True)
    differences = {}
    for table in ROLLUP_MEASURES:
        row = con.execute(f"""
            SELECT count(*) FROM ((SELECT * FROM kept_{table} EXCEPT ALL SELECT * FROM {table})
                                  UNION ALL (SELECT * FROM {table} EXCEPT ALL SELECT * FROM kept_{table}))
        """).fetchone()
        differences[table] = int(row[0]) if row else 0
    return differences


def main() -> int:
    """Copy the national-scale file, then time --runs incremental runs of --events events each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wh_increment"))
    parser.add_argument("--verify", action="store_true", help="compare the roll-ups with a rebuild afterwards")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / "warehouse.duckdb"
    began = time.perf_counter()
    shutil.copyfile(args.warehouse, path)
    print(f"copied {args.warehouse} ({path.stat().st_size / 1024**3:.2f} GiB) in {time.perf_counter() - began:.0f} s")
    try:
        with duckdb.connect(str(path)) as con:
            row = con.execute("SELECT max(issued_date) FROM fct_prescriptions").fetchone()
            last = row[0] if row else None
            for number in range(1, args.runs + 1):
                seconds = one_run(con, args.events, str(last))
                total = sum(seconds.values())
                steps = ", ".join(f"{name} {value:.2f}" for name, value in seconds.items())
                print(f"run {number}: {args.events:,} events in {total:.2f} s ({steps})", flush=True)
            if args.verify:
                print(f"roll-up rows differing from a rebuild: {verify(con)}")
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The agg_* roll-ups the dashboards read, kept equal to the facts of the snapshot being built.

Each roll-up is rows per date (issue, dispensing, admission, discharge or bed day). A run rebuilds only the dates
its changed facts sit on, before and after the change (`note_touched` is called before the facts are replaced and
again after), so an incremental run costs what it touched, not the history. A roll-up is rebuilt whole on the first
run, when its definition changed (a hash of its SQL is kept in etl_rollups), and when the dimensions it copies
(an organization's region, a drug's INN or ATC code) changed. Region twins (<table>_region) are summed from their
organization-grain roll-up for the same dates.

Definitions follow warehouse/queries.py: only active records of an organization present in dim_organizations
count; dispensed at least once = an active dispense exists; antibiotic = an item whose drug is ATC J01.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import polars as pl

from warehouse.schema import MONTHLY_ROLLUPS, REGIONAL_ROLLUPS, ROLLUP_MEASURES, columns

# The date sets a run touches: temporary tables of the building connection (never part of the published file).
ISSUE, DISPENSE, STAY = "etl_touched_issue", "etl_touched_dispense", "etl_touched_stay"


@dataclass(frozen=True)
class Rollup:
    """One roll-up: the date column its rows are rebuilt by, which touched dates refresh it, and its SELECT."""

    table: str
    date_column: str
    touched: str
    select: str  # the table's columns in order, for the facts whose date passes {dates}

    def definition(self) -> str:
        """A fingerprint of the SQL that fills the table."""
        return hashlib.sha256(self.select.encode()).hexdigest()[:16]


# The active prescriptions with their organization's region, of the dates wanted (a CTE named p).
_PRESCRIPTIONS = """
    p AS (
        SELECT p.prescription_id, p.issued_date, p.organization_id, o.region_id, p.category, p.state, p.valid_until
        FROM fct_prescriptions p JOIN dim_organizations o ON o.organization_id = p.organization_id
        WHERE p.record_status = 'active' AND {dates}
    )"""

_PRESCRIPTIONS_DAILY = f"""
    WITH {_PRESCRIPTIONS},
    d AS (
        SELECT DISTINCT prescription_id FROM fct_dispenses
        WHERE record_status = 'active' AND prescription_id IN (SELECT prescription_id FROM p)
    ),
    abx AS (
        SELECT DISTINCT i.prescription_id
        FROM fct_prescription_items i JOIN dim_drugs g ON g.drug_id = i.drug_id
        WHERE g.atc_level2 = 'J01' AND i.prescription_id IN (SELECT prescription_id FROM p)
    )
    SELECT p.issued_date, p.organization_id, p.region_id, p.category, p.state, p.valid_until,
           count(*), count(d.prescription_id), count(abx.prescription_id)
    FROM p
    LEFT JOIN d ON d.prescription_id = p.prescription_id
    LEFT JOIN abx ON abx.prescription_id = p.prescription_id
    GROUP BY p.issued_date, p.organization_id, p.region_id, p.category, p.state, p.valid_until
"""

# Items are first summed per prescription and drug, so that "prescriptions holding the drug" is a count of rows,
# not a distinct count per group (a third cheaper).
_ITEMS_DAILY = f"""
    WITH {_PRESCRIPTIONS},
    pd AS (
        SELECT p.issued_date, p.organization_id, p.region_id, p.category, i.prescription_id, i.drug_id, i.inn,
               count(*) AS items
        FROM fct_prescription_items i JOIN p ON p.prescription_id = i.prescription_id
        GROUP BY ALL
    ),
    ranked AS (
        -- the prescription counts for its INN on the row of the lowest drug it holds of that INN
        SELECT *, drug_id = min(drug_id) OVER (PARTITION BY prescription_id, inn) AS first_of_inn FROM pd
    )
    SELECT r.issued_date, r.organization_id, r.region_id, r.category, r.drug_id, r.inn,
           any_value(g.atc_level1), any_value(g.atc_level2), any_value(g.atc_level3), any_value(g.atc_level4),
           any_value(g.atc_level5), CAST(sum(r.items) AS BIGINT), count(*), count(*) FILTER (WHERE r.first_of_inn)
    FROM ranked r LEFT JOIN dim_drugs g ON g.drug_id = r.drug_id
    GROUP BY r.issued_date, r.organization_id, r.region_id, r.category, r.drug_id, r.inn
"""

_DISPENSE_HOURS = f"""
    WITH {_PRESCRIPTIONS},
    h AS (
        SELECT prescription_id, min(hours_to_dispense) AS hours FROM fct_dispenses
        WHERE record_status = 'active' AND prescription_id IN (SELECT prescription_id FROM p)
        GROUP BY prescription_id
    )
    SELECT p.issued_date, p.organization_id, p.region_id, p.category, CAST(floor(h.hours) AS INTEGER), count(*)
    FROM p JOIN h ON h.prescription_id = p.prescription_id
    GROUP BY ALL
"""

_CONTROLLED = """
    SELECT s.dispensed_date, p.organization_id, o.region_id, p.category, g.inn, CAST(sum(s.quantity) AS BIGINT)
    FROM fct_dispenses s
    JOIN fct_prescriptions p ON p.prescription_id = s.prescription_id
    JOIN dim_organizations o ON o.organization_id = p.organization_id
    JOIN dim_drugs g ON g.drug_id = s.drug_id
    WHERE s.record_status = 'active' AND p.record_status = 'active' AND g.category = 'controlled' AND {dates}
    GROUP BY ALL
"""

# The active stays with their hospital's region (a CTE named a).
_STAYS = """
    a AS (
        SELECT a.*, o.region_id FROM fct_admissions a JOIN dim_organizations o ON o.organization_id = a.organization_id
        WHERE a.record_status = 'active' AND {dates}
    )"""

_ADMISSIONS = f"""
    WITH {_STAYS}
    SELECT a.admitted_date, a.organization_id, a.region_id, a.admission_type, coalesce(a.department_profile, ''),
           coalesce(g.chapter, 'unknown'), count(*)
    FROM a LEFT JOIN dim_diagnoses g ON g.icd10_code = a.icd10_code
    GROUP BY ALL
"""

_DISCHARGES = f"""
    WITH {_STAYS}
    SELECT a.discharge_date, a.organization_id, a.region_id, a.admission_type, coalesce(a.department_profile, ''),
           count(*), count(*) FILTER (WHERE a.outcome = 'died'),
           CAST(coalesce(sum(a.length_of_stay_days), 0) AS BIGINT), count(a.length_of_stay_days)
    FROM a WHERE a.discharge_date IS NOT NULL
    GROUP BY ALL
"""

# A discharged stay occupies a bed on the days admitted_date <= d < discharge_date ({dates} bounds the stays to
# those reaching the dates wanted; {days} then keeps only those days).
_BED_DAYS = f"""
    WITH {_STAYS},
    days AS (
        SELECT CAST(unnest(generate_series(a.admitted_date, a.discharge_date - 1, INTERVAL 1 DAY)) AS DATE) AS day,
               a.organization_id, a.region_id, a.admission_type
        FROM a WHERE a.discharge_date > a.admitted_date
    )
    SELECT day, organization_id, region_id, admission_type, count(*) FROM days WHERE {{days}}
    GROUP BY ALL
"""

_OPEN_STAYS = f"""
    WITH {_STAYS}
    SELECT a.admitted_date, a.organization_id, a.region_id, a.admission_type, count(*)
    FROM a WHERE a.discharge_date IS NULL
    GROUP BY ALL
"""

ROLLUPS: tuple[Rollup, ...] = (
    Rollup("agg_prescriptions_daily", "issued_date", ISSUE, _PRESCRIPTIONS_DAILY),
    Rollup("agg_items_daily", "issued_date", ISSUE, _ITEMS_DAILY),
    Rollup("agg_dispense_hours_daily", "issued_date", ISSUE, _DISPENSE_HOURS),
    Rollup("agg_controlled_daily", "dispensed_date", DISPENSE, _CONTROLLED),
    Rollup("agg_admissions_daily", "admitted_date", STAY, _ADMISSIONS),
    Rollup("agg_discharges_daily", "discharge_date", STAY, _DISCHARGES),
    Rollup("agg_bed_days_daily", "day", STAY, _BED_DAYS),
    Rollup("agg_open_stays", "admitted_date", STAY, _OPEN_STAYS),
)
# The fact column each roll-up's {dates} filters (the prefixed name the SELECT reads it by).
_FACT_DATES = {
    "agg_prescriptions_daily": "p.issued_date",
    "agg_items_daily": "p.issued_date",
    "agg_dispense_hours_daily": "p.issued_date",
    "agg_controlled_daily": "s.dispensed_date",
    "agg_admissions_daily": "a.admitted_date",
    "agg_discharges_daily": "a.discharge_date",
    "agg_open_stays": "a.admitted_date",
}
# Dimension attributes the roll-ups copy: when any changes, every roll-up is rebuilt whole.
_COPIED_DIMENSIONS = (
    "SELECT organization_id, region_id FROM dim_organizations",
    "SELECT drug_id, inn, category, atc_code FROM dim_drugs",
    "SELECT icd10_code, chapter FROM dim_diagnoses",
)


def _sql(rollup: Rollup, full: bool) -> str:
    """The roll-up's SELECT for every date (full) or for the touched dates only."""
    if full:
        return rollup.select.format(dates="TRUE", days="TRUE")
    touched = f"(SELECT d FROM {rollup.touched})"
    if rollup.table == "agg_bed_days_daily":
        # The stays that reach a touched day: admitted by the last one, discharged after the first one.
        first, last = f"(SELECT min(d) FROM {rollup.touched})", f"(SELECT max(d) FROM {rollup.touched})"
        reach = f"a.admitted_date <= {last} AND a.discharge_date > {first}"
        return rollup.select.format(dates=reach, days=f"day IN {touched}")
    return rollup.select.format(dates=f"{_FACT_DATES[rollup.table]} IN {touched}", days="TRUE")


def _create_touched(con: duckdb.DuckDBPyConnection) -> None:
    for table in (ISSUE, DISPENSE, STAY):
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} (d DATE)")


@contextmanager
def _keys(con: duckdb.DuckDBPyConnection, name: str, keys: Iterable[int]) -> Iterator[None]:
    con.register(name, pl.DataFrame({"k": sorted(keys)}, schema={"k": pl.Int64}).to_arrow())
    try:
        yield
    finally:
        con.unregister(name)


def note_touched(
    con: duckdb.DuckDBPyConnection, *, prescriptions: Iterable[int], dispenses: Iterable[int], admissions: Iterable[int]
) -> None:
    """Record the dates the rows of these facts sit on now: call before they are replaced and again after."""
    _create_touched(con)
    with _keys(con, "etl_p", prescriptions), _keys(con, "etl_d", dispenses), _keys(con, "etl_a", admissions):
        con.execute(f"""
            INSERT INTO {ISSUE} SELECT DISTINCT issued_date FROM fct_prescriptions
            WHERE prescription_id IN (SELECT k FROM etl_p)
        """)
        # A prescription's status decides whether its dispenses count: its dispensing dates are touched with it.
        # Two scans, not one with OR: each IN lets DuckDB skip the row groups outside its keys' range.
        con.execute(f"""
            INSERT INTO {DISPENSE}
            SELECT dispensed_date FROM fct_dispenses WHERE prescription_id IN (SELECT k FROM etl_p)
            UNION SELECT dispensed_date FROM fct_dispenses WHERE dispense_id IN (SELECT k FROM etl_d)
        """)
        # Every day of a stay: its admission, its discharge and the bed-days between.
        con.execute(f"""
            INSERT INTO {STAY}
            SELECT DISTINCT CAST(unnest(generate_series(admitted_date, coalesce(discharge_date, admitted_date),
                                                        INTERVAL 1 DAY)) AS DATE)
            FROM fct_admissions WHERE admission_id IN (SELECT k FROM etl_a)
        """)


def dimensions_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A hash of the dimension attributes the roll-ups copy (compare before and after the dimensions reload)."""
    parts = []
    for query in _COPIED_DIMENSIONS:
        row = con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM ({query}) t").fetchone()
        parts.append(f"{row[0]}:{row[1]}" if row else "")
    return "|".join(parts)


def _built_with(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return {str(table): str(definition) for table, definition in con.execute("SELECT * FROM etl_rollups").fetchall()}


def _refill(con: duckdb.DuckDBPyConnection, rollup: Rollup, full: bool) -> None:
    """Replace the roll-up's rows (all, or those of the touched dates) and its region and monthly twins'."""
    date = rollup.date_column
    touched = "TRUE" if full else f"{date} IN (SELECT d FROM {rollup.touched})"
    con.execute(f"DELETE FROM {rollup.table} WHERE {touched}")
    # Rebuilt whole, rows are stored by month, then region, organization and date: a period's figures read only its
    # months' row groups, and a region's or a facility's only a few of those (DuckDB skips row groups by their
    # min/max). A run's touched dates are appended, mostly the latest month's.
    order = f" ORDER BY date_trunc('month', {date}), region_id, organization_id, {date}" if full else ""
    con.execute(f"INSERT INTO {rollup.table} SELECT * FROM ({_sql(rollup, full)}){order}")
    if rollup.table in REGIONAL_ROLLUPS:
        twin = f"{rollup.table}_region"
        grain = [column for column in columns(twin) if column not in ROLLUP_MEASURES[twin]]
        _resum(
            con,
            twin,
            rollup.table,
            grain,
            (touched, touched),
            order=f"date_trunc('month', {date}), region_id, {date}" if full else None,
        )
    if rollup.table in MONTHLY_ROLLUPS:
        monthly, category = MONTHLY_ROLLUPS[rollup.table]
        month = f"CAST(date_trunc('month', {date}) AS DATE)"
        months = f"(SELECT DISTINCT CAST(date_trunc('month', d) AS DATE) FROM {rollup.touched})"
        where = ("TRUE", "TRUE") if full else (f"{month} IN {months}", f"month IN {months}")
        grain = [f"{month} AS month", "organization_id", "region_id", category]
        _resum(con, monthly, rollup.table, grain, where, order="month, region_id, organization_id" if full else None)


def _resum(
    con: duckdb.DuckDBPyConnection,
    twin: str,
    source: str,
    grain: list[str],
    where: tuple[str, str],
    *,
    order: str | None,
) -> None:
    """Replace a twin's rows by the source's summed over `grain`: `where` selects (source rows, twin rows) alike."""
    summed = ", ".join(f"CAST(sum({measure}) AS BIGINT)" for measure in ROLLUP_MEASURES[twin])
    con.execute(f"DELETE FROM {twin} WHERE {where[1]}")
    sorted_by = f" ORDER BY {order}" if order else ""
    con.execute(f"""
        INSERT INTO {twin}
        SELECT * FROM (SELECT {", ".join(grain)}, {summed} FROM {source} WHERE {where[0]} GROUP BY ALL){sorted_by}
    """)


def refresh(con: duckdb.DuckDBPyConnection, *, full: bool) -> list[str]:
    """Bring every roll-up up to the facts: whole when `full`, else the touched dates; the tables rebuilt whole."""
    _create_touched(con)
    built = _built_with(con)
    whole: list[str] = []
    for rollup in ROLLUPS:
        rebuild_it = full or built.get(rollup.table) != rollup.definition()
        _refill(con, rollup, rebuild_it)
        if rebuild_it:
            whole.append(rollup.table)
            con.execute("INSERT OR REPLACE INTO etl_rollups VALUES (?, ?)", [rollup.table, rollup.definition()])
    return whole


def check_scope(whole: Iterable[str]) -> dict[str, str]:
    """The roll-up rows a refresh rewrote, as checks.Scope: the touched dates' (none for those rebuilt whole)."""
    scope: dict[str, str] = {}
    rebuilt = set(whole)
    for rollup in ROLLUPS:
        if rollup.table in rebuilt:
            continue
        touched = f"{rollup.date_column} IN (SELECT d FROM {rollup.touched})"
        scope[rollup.table] = touched
        if rollup.table in REGIONAL_ROLLUPS:
            scope[f"{rollup.table}_region"] = touched
        if rollup.table in MONTHLY_ROLLUPS:
            months = f"(SELECT DISTINCT CAST(date_trunc('month', d) AS DATE) FROM {rollup.touched})"
            scope[MONTHLY_ROLLUPS[rollup.table][0]] = f"month IN {months}"
    return scope


def forget_touched(con: duckdb.DuckDBPyConnection) -> None:
    """Empty the touched dates (for a connection that goes on to another run)."""
    for table in (ISSUE, DISPENSE, STAY):
        con.execute(f"DELETE FROM {table}")


def rebuild(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Empty and refill every roll-up from the facts of `con`'s snapshot; the rows each now holds."""
    refresh(con, full=True)
    rows: dict[str, int] = {}
    for table in ROLLUP_MEASURES:
        counted = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        rows[table] = int(counted[0]) if counted else 0
    return rows

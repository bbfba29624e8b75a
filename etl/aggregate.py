"""The agg_* roll-ups the dashboards read: rebuilt whole from the facts inside the snapshot being built.

One INSERT … SELECT … GROUP BY per table, after the facts and dimensions are loaded and before the checks, so a
published snapshot's roll-ups always agree with its facts. Definitions follow warehouse/queries.py: only active
prescriptions of a prescribing organization present in dim_organizations count; dispensed at least once = an
active dispense exists; antibiotic = an item whose drug is ATC J01.
"""

from __future__ import annotations

import duckdb

# The active prescriptions with their organization's region (a CTE named p).
_PRESCRIPTIONS = """
    p AS (
        SELECT p.prescription_id, p.issued_date, p.organization_id, o.region_id, p.category, p.state, p.valid_until
        FROM fct_prescriptions p JOIN dim_organizations o ON o.organization_id = p.organization_id
        WHERE p.record_status = 'active'
    )"""

_PRESCRIPTIONS_DAILY = f"""
    INSERT INTO agg_prescriptions_daily
    WITH {_PRESCRIPTIONS},
    d AS (SELECT DISTINCT prescription_id FROM fct_dispenses WHERE record_status = 'active'),
    abx AS (
        SELECT DISTINCT i.prescription_id
        FROM fct_prescription_items i JOIN dim_drugs g ON g.drug_id = i.drug_id
        WHERE g.atc_level2 = 'J01'
    )
    SELECT p.issued_date, p.organization_id, p.region_id, p.category, p.state, p.valid_until,
           count(*), count(d.prescription_id), count(abx.prescription_id)
    FROM p
    LEFT JOIN d ON d.prescription_id = p.prescription_id
    LEFT JOIN abx ON abx.prescription_id = p.prescription_id
    GROUP BY p.issued_date, p.organization_id, p.region_id, p.category, p.state, p.valid_until
"""  # noqa: S608  (module constants only)

_ITEMS_DAILY = f"""
    INSERT INTO agg_items_daily
    WITH {_PRESCRIPTIONS},
    i AS (
        SELECT p.issued_date, p.organization_id, p.region_id, p.category, i.prescription_id, i.drug_id, i.inn,
               -- the prescription counts for its INN on the row of the lowest drug it holds of that INN
               i.drug_id = min(i.drug_id) OVER (PARTITION BY i.prescription_id, i.inn) AS first_of_inn
        FROM fct_prescription_items i JOIN p ON p.prescription_id = i.prescription_id
    )
    SELECT i.issued_date, i.organization_id, i.region_id, i.category, i.drug_id, i.inn,
           any_value(g.atc_level1), any_value(g.atc_level2), any_value(g.atc_level3), any_value(g.atc_level4),
           any_value(g.atc_level5),
           count(*), count(DISTINCT i.prescription_id), count(DISTINCT i.prescription_id) FILTER (WHERE first_of_inn)
    FROM i LEFT JOIN dim_drugs g ON g.drug_id = i.drug_id
    GROUP BY i.issued_date, i.organization_id, i.region_id, i.category, i.drug_id, i.inn
"""  # noqa: S608

ROLLUPS: dict[str, str] = {
    "agg_prescriptions_daily": _PRESCRIPTIONS_DAILY,
    "agg_items_daily": _ITEMS_DAILY,
}


def rebuild(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Empty and refill every roll-up from the facts of `con`'s snapshot; the rows each now holds."""
    rows: dict[str, int] = {}
    for table, insert in ROLLUPS.items():
        con.execute(f"DELETE FROM {table}")  # noqa: S608
        con.execute(insert)
        counted = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        rows[table] = int(counted[0]) if counted else 0
    return rows

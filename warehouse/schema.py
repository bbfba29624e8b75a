"""The warehouse's DuckDB tables: dimensions, facts and the ETL watermark; no names, PINFLs or documents."""

from __future__ import annotations

import duckdb

# Patients appear only as a keyed hash plus what an analyst needs to group by (R-20: never who a patient is).
_PATIENT = """
    patient_key VARCHAR NOT NULL,
    sex VARCHAR NOT NULL,
    birth_year SMALLINT NOT NULL,
    age_band VARCHAR NOT NULL,
    patient_region_id SMALLINT NOT NULL"""

TABLES: dict[str, str] = {
    "dim_dates": """
        date_key DATE PRIMARY KEY,
        year SMALLINT NOT NULL,
        quarter TINYINT NOT NULL,
        month TINYINT NOT NULL,
        month_start DATE NOT NULL,
        iso_week TINYINT NOT NULL,
        day_of_week TINYINT NOT NULL""",
    "dim_regions": """
        region_id SMALLINT PRIMARY KEY,
        iso_code VARCHAR NOT NULL,
        name_uz VARCHAR NOT NULL,
        name_ru VARCHAR NOT NULL,
        name_en VARCHAR NOT NULL""",
    "dim_organizations": """
        organization_id BIGINT PRIMARY KEY,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        region_id SMALLINT NOT NULL,
        district_id INTEGER,
        is_active BOOLEAN NOT NULL,
        reimbursement_contract BOOLEAN NOT NULL,
        beds INTEGER NOT NULL""",
    "dim_drugs": """
        drug_id BIGINT PRIMARY KEY,
        inn VARCHAR NOT NULL,
        brand VARCHAR,
        form VARCHAR NOT NULL,
        strength VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        eprescription_only BOOLEAN NOT NULL,
        atc_code VARCHAR NOT NULL,
        atc_level1 VARCHAR NOT NULL,
        atc_level2 VARCHAR NOT NULL,
        atc_level3 VARCHAR NOT NULL,
        atc_level4 VARCHAR NOT NULL,
        atc_level5 VARCHAR NOT NULL""",
    "dim_diagnoses": """
        icd10_code VARCHAR PRIMARY KEY,
        block VARCHAR,
        chapter VARCHAR NOT NULL""",
    "dim_users": """
        user_key BIGINT PRIMARY KEY,
        role VARCHAR NOT NULL,
        organization_id BIGINT NOT NULL,
        department_id BIGINT,
        status VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        blocked_at TIMESTAMP,
        archived_at TIMESTAMP,
        last_sign_in_at TIMESTAMP,
        region_id SMALLINT NOT NULL""",
    "fct_prescriptions": f"""
        prescription_id BIGINT NOT NULL,{_PATIENT},
        organization_id BIGINT NOT NULL,
        prescriber_key BIGINT NOT NULL,
        icd10_code VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        record_status VARCHAR NOT NULL,
        confirmation VARCHAR NOT NULL,
        issued_at TIMESTAMP NOT NULL,
        issued_date DATE NOT NULL,
        valid_until DATE NOT NULL,
        repeats_allowed SMALLINT NOT NULL,
        cancelled_at TIMESTAMP""",
    "fct_prescription_items": """
        item_id BIGINT NOT NULL,
        prescription_id BIGINT NOT NULL,
        patient_key VARCHAR NOT NULL,
        organization_id BIGINT NOT NULL,
        issued_date DATE NOT NULL,
        line SMALLINT NOT NULL,
        drug_id BIGINT NOT NULL,
        inn VARCHAR NOT NULL,
        quantity INTEGER NOT NULL,
        fills SMALLINT NOT NULL,
        dispensed_quantity INTEGER NOT NULL,
        duration_days SMALLINT NOT NULL""",
    "fct_dispenses": f"""
        dispense_id BIGINT NOT NULL,{_PATIENT},
        prescription_id BIGINT NOT NULL,
        item_id BIGINT NOT NULL,
        drug_id BIGINT NOT NULL,
        organization_id BIGINT NOT NULL,
        prescribing_organization_id BIGINT NOT NULL,
        quantity INTEGER NOT NULL,
        record_status VARCHAR NOT NULL,
        dispensed_at TIMESTAMP NOT NULL,
        dispensed_date DATE NOT NULL,
        hours_to_dispense DOUBLE NOT NULL""",
    "fct_admissions": f"""
        admission_id BIGINT NOT NULL,{_PATIENT},
        encounter_id BIGINT NOT NULL,
        organization_id BIGINT NOT NULL,
        department_id BIGINT NOT NULL,
        department_profile VARCHAR,
        admission_type VARCHAR NOT NULL,
        icd10_code VARCHAR NOT NULL,
        record_status VARCHAR NOT NULL,
        admitted_at TIMESTAMP NOT NULL,
        admitted_date DATE NOT NULL,
        discharged_at TIMESTAMP,
        discharge_date DATE,
        outcome VARCHAR,
        discharge_icd10_code VARCHAR,
        length_of_stay_days INTEGER""",
    "fct_visits": f"""
        encounter_id BIGINT NOT NULL,{_PATIENT},
        organization_id BIGINT NOT NULL,
        department_id BIGINT,
        practitioner_key BIGINT NOT NULL,
        state VARCHAR NOT NULL,
        outcome VARCHAR,
        record_status VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        visit_date DATE NOT NULL,
        ended_at TIMESTAMP""",
    "fct_user_events": """
        event_key VARCHAR PRIMARY KEY,
        user_key BIGINT NOT NULL,
        event VARCHAR NOT NULL,
        decision VARCHAR,
        occurred_at TIMESTAMP NOT NULL,
        event_date DATE NOT NULL""",
    # Employment notices with both deadlines: the organization's to notify, the ministry's to act.
    "fct_notices": """
        notice_id BIGINT PRIMARY KEY,
        user_key BIGINT NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        kind VARCHAR NOT NULL,
        event_date DATE NOT NULL,
        notified_date DATE NOT NULL,
        notice_due_date DATE NOT NULL,
        notified_on_time BOOLEAN NOT NULL,
        action VARCHAR,
        action_date DATE,
        action_due_date DATE NOT NULL,
        action_on_time BOOLEAN""",
    # Installation requests, due 15 working days after they were received; decided = installed or rejected.
    "fct_installation_requests": """
        request_id BIGINT PRIMARY KEY,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        submitted_date DATE NOT NULL,
        due_date DATE NOT NULL,
        decided_date DATE,
        state VARCHAR NOT NULL,
        on_time BOOLEAN""",
    # Roll-ups the dashboards read instead of the facts (etl/aggregate.py), kept up to date per date by every run.
    # Only active records of an organization present in dim_organizations count, as in every figure; region_id is
    # the organization's. valid_until is in the grain so that "expired as of today" stays exact.
    "agg_prescriptions_daily": """
        issued_date DATE NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        category VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        valid_until DATE NOT NULL,
        prescriptions BIGINT NOT NULL,
        dispensed_any BIGINT NOT NULL,
        with_antibiotic BIGINT NOT NULL""",
    # Items of those prescriptions per drug (with the item's INN and the drug's ATC levels, NULL for a drug missing
    # from dim_drugs). prescriptions: those holding the drug; inn_prescriptions: those holding the INN, each counted
    # on the row of the lowest drug_id it holds of that INN, so that summing over drugs per INN stays exact.
    "agg_items_daily": """
        issued_date DATE NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        category VARCHAR NOT NULL,
        drug_id BIGINT NOT NULL,
        inn VARCHAR NOT NULL,
        atc_level1 VARCHAR,
        atc_level2 VARCHAR,
        atc_level3 VARCHAR,
        atc_level4 VARCHAR,
        atc_level5 VARCHAR,
        items BIGINT NOT NULL,
        prescriptions BIGINT NOT NULL,
        inn_prescriptions BIGINT NOT NULL""",
    # Dispensed prescriptions by whole hours from issue to their first active dispense: a histogram, from which the
    # median time to dispense is read exactly (a median of rows does not roll up; one of whole hours does).
    "agg_dispense_hours_daily": """
        issued_date DATE NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        category VARCHAR NOT NULL,
        hours INTEGER NOT NULL,
        prescriptions BIGINT NOT NULL""",
    # Controlled drugs (drug category) dispensed, by day of dispensing, prescribing organization and INN.
    "agg_controlled_daily": """
        dispensed_date DATE NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        category VARCHAR NOT NULL,
        inn VARCHAR NOT NULL,
        quantity BIGINT NOT NULL""",
    # Admissions by day of admission; department_profile '' for a department without one, chapter 'unknown' for a
    # code outside ICD-10 (so that the grain is never NULL).
    "agg_admissions_daily": """
        admitted_date DATE NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        admission_type VARCHAR NOT NULL,
        department_profile VARCHAR NOT NULL,
        chapter VARCHAR NOT NULL,
        admissions BIGINT NOT NULL""",
    # Discharges by day of discharge: deaths, and the length-of-stay sum and count for the mean.
    "agg_discharges_daily": """
        discharge_date DATE NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        admission_type VARCHAR NOT NULL,
        department_profile VARCHAR NOT NULL,
        discharges BIGINT NOT NULL,
        deaths BIGINT NOT NULL,
        stay_days BIGINT NOT NULL,
        stays_measured BIGINT NOT NULL""",
    # Beds occupied by discharged stays on each day d (admitted_date <= d < discharge_date), for bed occupancy.
    "agg_bed_days_daily": """
        day DATE NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        admission_type VARCHAR NOT NULL,
        bed_days BIGINT NOT NULL""",
    # Stays not yet discharged, by day of admission: their bed-days run to today, so they are counted at query time.
    "agg_open_stays": """
        admitted_date DATE NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        admission_type VARCHAR NOT NULL,
        stays BIGINT NOT NULL""",
    # The user inventory as each day's runs found it (statuses and sign-ins as known that day): a status can be undone,
    # so the past cannot be rebuilt from the operational database; a rebuild carries these rows over. never_signed_in
    # and dormant (no sign-in in the 90 days up to that day) count active cabinets.
    "snp_user_inventory": """
        snapshot_date DATE NOT NULL,
        organization_id BIGINT NOT NULL,
        region_id SMALLINT NOT NULL,
        role VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        cabinets BIGINT NOT NULL,
        never_signed_in BIGINT NOT NULL,
        dormant BIGINT NOT NULL""",
    # Which definition each roll-up was built with (a hash of its SQL): a changed or new one is rebuilt whole.
    "etl_rollups": """
        table_name VARCHAR PRIMARY KEY,
        definition VARCHAR NOT NULL""",
    # One row: how far the warehouse has read (clinical outbox id; updated_at of the reloaded sources).
    "etl_watermark": """
        singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
        last_event_id BIGINT NOT NULL,
        organization_updated_at TIMESTAMP,
        cabinet_updated_at TIMESTAMP,
        patient_updated_at TIMESTAMP,
        run_at TIMESTAMP NOT NULL""",
}

# The key of each table (a column list for the roll-ups), for the checks and the idempotent DELETE + INSERT. The fact
# tables declare no PRIMARY KEY: maintaining its index cost a rebuild a sixth of its time, and every load deletes a
# key's rows before inserting them; warehouse/checks.py asserts the keys unique and not null after each load (on an
# incremental run, among every row sharing a key the run loaded).
KEYS: dict[str, str] = {
    "dim_dates": "date_key",
    "dim_regions": "region_id",
    "dim_organizations": "organization_id",
    "dim_drugs": "drug_id",
    "dim_diagnoses": "icd10_code",
    "dim_users": "user_key",
    "fct_prescriptions": "prescription_id",
    "fct_prescription_items": "item_id",
    "fct_dispenses": "dispense_id",
    "fct_admissions": "admission_id",
    "fct_visits": "encounter_id",
    "fct_user_events": "event_key",
    "fct_notices": "notice_id",
    "fct_installation_requests": "request_id",
    "snp_user_inventory": "snapshot_date, organization_id, role, status",
    "etl_rollups": "table_name",
    "etl_watermark": "singleton",
}

# The counted columns of each roll-up; every other column is its grain (its key).
ROLLUP_MEASURES: dict[str, tuple[str, ...]] = {
    "agg_prescriptions_daily": ("prescriptions", "dispensed_any", "with_antibiotic"),
    "agg_items_daily": ("items", "prescriptions", "inn_prescriptions"),
    "agg_dispense_hours_daily": ("prescriptions",),
    "agg_controlled_daily": ("quantity",),
    "agg_admissions_daily": ("admissions",),
    "agg_discharges_daily": ("discharges", "deaths", "stay_days", "stays_measured"),
    "agg_bed_days_daily": ("bed_days",),
    "agg_open_stays": ("stays",),
}
# Roll-ups also kept without the organization, as <table>_region: what the country and region views read (a
# facility's rows are few; a region's are thousands of facilities' summed once at load instead of per question).
REGIONAL_ROLLUPS = (
    "agg_prescriptions_daily",
    "agg_items_daily",
    "agg_dispense_hours_daily",
    "agg_controlled_daily",
    "agg_admissions_daily",
    "agg_discharges_daily",
)
# Roll-ups also kept per month at the organization grain, as <daily>'s monthly twin → (its name, the category column
# it keeps): what the by-facility figures read for the whole months of a period (a facility-day grain is millions of
# rows a year; a facility-month one is a thirtieth of that), the daily rows only for the period's partial months.
MONTHLY_ROLLUPS: dict[str, tuple[str, str]] = {
    "agg_prescriptions_daily": ("agg_prescriptions_monthly", "category"),
    "agg_admissions_daily": ("agg_admissions_monthly", "admission_type"),
    "agg_discharges_daily": ("agg_discharges_monthly", "admission_type"),
    "agg_bed_days_daily": ("agg_bed_days_monthly", "admission_type"),
}
# The drug's ATC levels, copied onto each items roll-up row: they follow drug_id and are not part of the key.
_ATC_LEVELS = ("atc_level1", "atc_level2", "atc_level3", "atc_level4", "atc_level5")


def _monthly_ddl(measures: tuple[str, ...], category: str) -> str:
    """The DDL of a roll-up's monthly twin: month, organization, region, category and the measures."""
    parts = ["month DATE NOT NULL", "organization_id BIGINT NOT NULL", "region_id SMALLINT NOT NULL"]
    parts += [f"{category} VARCHAR NOT NULL", *(f"{measure} BIGINT NOT NULL" for measure in measures)]
    return "\n        " + ",\n        ".join(parts)


def _regional(table: str) -> str:
    """The DDL of a roll-up's region twin: its columns without organization_id."""
    parts = [part for part in TABLES[table].strip().split(",\n") if part.split()[0] != "organization_id"]
    return "\n        " + ",\n        ".join(part.strip() for part in parts)


# Columns added after snapshots were first published: (table, column) → its type and default for rows already there.
# Their tables are reloaded whole every run, so the default never survives a load.
ADDED_COLUMNS: dict[tuple[str, str], str] = {
    ("dim_organizations", "beds"): "INTEGER NOT NULL DEFAULT 0",
    ("dim_users", "last_sign_in_at"): "TIMESTAMP",
    ("dim_users", "region_id"): "SMALLINT NOT NULL DEFAULT 0",
}

# dim_dates spans every date the portal's data can plausibly carry; generated once, never reloaded.
FIRST_DATE = "2000-01-01"
LAST_DATE = "2060-12-31"


def columns(table: str) -> list[str]:
    """The column names of a warehouse table, in DDL order."""
    return [line.split()[0] for line in TABLES[table].strip().split(",\n") if line.strip()]


for _table in REGIONAL_ROLLUPS:
    TABLES[f"{_table}_region"] = _regional(_table)
    ROLLUP_MEASURES[f"{_table}_region"] = ROLLUP_MEASURES[_table]
for _table, (_monthly, _category) in MONTHLY_ROLLUPS.items():
    TABLES[_monthly] = _monthly_ddl(ROLLUP_MEASURES[_table], _category)
    ROLLUP_MEASURES[_monthly] = ROLLUP_MEASURES[_table]
for _table, _measures in ROLLUP_MEASURES.items():
    KEYS[_table] = ", ".join(c for c in columns(_table) if c not in _measures and c not in _ATC_LEVELS)


def create(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table that is missing, and fill dim_dates when it is empty."""
    for table, body in TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
    # A snapshot published before a column was kept gets it; the next load fills it (those tables reload whole).
    for (table, column), definition in ADDED_COLUMNS.items():
        present = {row[0] for row in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()}  # noqa: S608
        if column not in present:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    if con.execute("SELECT count(*) FROM dim_dates").fetchone() == (0,):
        con.execute(f"""
            INSERT INTO dim_dates
            SELECT d::DATE, year(d), quarter(d), month(d), date_trunc('month', d)::DATE, weekofyear(d), isodow(d)
            FROM range(DATE '{FIRST_DATE}', DATE '{LAST_DATE}' + INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(d)
        """)  # noqa: S608  (constants of this module)

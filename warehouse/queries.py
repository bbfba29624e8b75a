"""The dashboards' questions to the warehouse: one parameterized DuckDB query per figure, over agg_/fct_/dim_ tables.

Conventions shared by every figure (the tests recompute each one from the operational database this way):
- only rows with record_status = 'active' count (entered-in-error and superseded rows never do);
- a month is the first day of the month of the event date (dates are Tashkent dates, as the ETL stores them);
- prescriptions belong to the period by their issue date and to a region / facility through the prescribing
  organization; the category filter is the prescription category;
- admissions belong to the period by their admission date, discharges (and deaths, length of stay) by their
  discharge date; region / facility are the hospital's; the category filter is the admission type;
- rates are fractions 0..1, None when their denominator is zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ehealth.calendar import day_bounds
from ehealth.identifiers import TASHKENT
from warehouse.connection import read


@dataclass(frozen=True)
class Filters:
    """The filters a dashboard page shares across its figures."""

    start: date  # first day of the period (inclusive)
    end: date  # last day (inclusive)
    region_id: int | None = None  # SOATO region id (dim_regions.region_id)
    organization_id: int | None = None
    category: str | None = None  # prescriptions: prescription category; admissions: admission type


@dataclass(frozen=True)
class Frame:
    """A figure's table: column keys and rows."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def column(self, key: str) -> list[Any]:
        """The values of one column, in row order."""
        index = self.columns.index(key)
        return [row[index] for row in self.rows]


def today() -> date:
    """Today in Uzbekistan: the day live prescriptions past valid-until read as expired, open stays run to."""
    return datetime.now(TASHKENT).date()


def _query(path: Path, sql: str, params: dict[str, Any]) -> Frame:
    """Run one query on a read-only connection to the published snapshot; only the parameters it names are bound."""
    # DuckDB refuses named parameters a statement does not use, so each query gets exactly its own.
    bound = {name: value for name, value in params.items() if f"${name}" in sql}
    with read(path) as con:
        cursor = con.execute(sql, bound)
        names = tuple(str(description[0]) for description in cursor.description or ())
        rows = [tuple(row) for row in cursor.fetchall()]
    return Frame(names, rows)


def _params(f: Filters) -> dict[str, Any]:
    return {
        "start": f.start,
        "end": f.end,
        "region_id": f.region_id,
        "organization_id": f.organization_id,
        "category": f.category,
        "today": today(),
    }


# The active prescriptions of the period that pass the filters (a CTE named p).
_PRESCRIPTIONS = """
    p AS (
        SELECT p.prescription_id, p.organization_id, o.region_id, p.category, p.state, p.valid_until,
               p.issued_date, CAST(date_trunc('month', p.issued_date) AS DATE) AS month
        FROM fct_prescriptions p JOIN dim_organizations o ON o.organization_id = p.organization_id
        WHERE p.record_status = 'active' AND p.issued_date BETWEEN $start AND $end
          AND ($region_id IS NULL OR o.region_id = $region_id)
          AND ($organization_id IS NULL OR p.organization_id = $organization_id)
          AND ($category IS NULL OR p.category = $category)
    )"""
# The same prescriptions as roll-up rows of agg_prescriptions_daily (a CTE named ap): sum its counts, never count rows.
_PRESCRIPTION_ROLLUP = """
    ap AS (
        SELECT *, CAST(date_trunc('month', issued_date) AS DATE) AS month FROM agg_prescriptions_daily
        WHERE issued_date BETWEEN $start AND $end
          AND ($region_id IS NULL OR region_id = $region_id)
          AND ($organization_id IS NULL OR organization_id = $organization_id)
          AND ($category IS NULL OR category = $category)
    )"""
# The same prescriptions' items as rows of agg_items_daily (a CTE named ai).
_ITEM_ROLLUP = """
    ai AS (
        SELECT * FROM agg_items_daily
        WHERE issued_date BETWEEN $start AND $end
          AND ($region_id IS NULL OR region_id = $region_id)
          AND ($organization_id IS NULL OR organization_id = $organization_id)
          AND ($category IS NULL OR category = $category)
    )"""
# The roll-up counterparts of count(...) and of a rate of the prescriptions (a sum over no rows is NULL: zero for
# counts, NULL for rates).
_SUM = "CAST(coalesce(sum({part}), 0) AS BIGINT)"
_ROLLUP_RATE = "sum({part}) / NULLIF(coalesce(sum(ap.prescriptions), 0), 0)"


def prescriptions_by_month(path: Path, f: Filters) -> Frame:
    """Issued prescriptions per month and their state now; expired = stored expired or live past valid-until today."""
    # States are as of today (Tashkent), as the registers show them: a live prescription past its valid-until
    # reads as expired even before the nightly sweep stores it; the other columns count the stored state.
    # valid_until is part of the roll-up's grain, so "past valid-until today" is judged exactly on its rows.
    count = "CAST(sum(prescriptions) FILTER (WHERE {}) AS BIGINT)"
    expired = "state = 'expired' OR (state IN ('active', 'partially_dispensed') AND valid_until < $today)"
    sql = f"""
        WITH {_PRESCRIPTION_ROLLUP}
        SELECT month, CAST(sum(prescriptions) AS BIGINT) AS issued,
               coalesce({count.format("state = 'dispensed'")}, 0) AS dispensed,
               coalesce({count.format("state = 'partially_dispensed' AND valid_until >= $today")}, 0)
                   AS partially_dispensed,
               coalesce({count.format(expired)}, 0) AS expired,
               coalesce({count.format("state = 'cancelled'")}, 0) AS cancelled
        FROM ap GROUP BY month ORDER BY month
    """  # noqa: S608  (module constants only; values are parameters)
    return _query(path, sql, _params(f))


def prescriptions_by_region(path: Path, f: Filters) -> Frame:
    """Every region (or the chosen one): issued, dispensed at least once, their rate, J01 share, median hours."""
    # The counts come from the roll-up; an exact median does not roll up, so it stays on the facts, with the
    # dispenses read only for the period's prescriptions.
    sql = f"""
        WITH {_PRESCRIPTION_ROLLUP}, {_PRESCRIPTIONS},
        d AS (
            SELECT p.region_id, p.prescription_id, min(s.hours_to_dispense) AS hours
            FROM p JOIN fct_dispenses s ON s.prescription_id = p.prescription_id AND s.record_status = 'active'
            GROUP BY p.region_id, p.prescription_id
        ),
        counts AS (
            SELECT region_id, sum(prescriptions) AS prescriptions, sum(dispensed_any) AS dispensed_any,
                   sum(with_antibiotic) AS with_antibiotic
            FROM ap GROUP BY region_id
        ),
        hours AS (SELECT region_id, median(hours) AS median_hours FROM d GROUP BY region_id)
        SELECT r.region_id, r.iso_code, r.name_uz, r.name_ru,
               CAST(coalesce(c.prescriptions, 0) AS BIGINT) AS issued,
               CAST(coalesce(c.dispensed_any, 0) AS BIGINT) AS dispensed_any,
               c.dispensed_any / NULLIF(c.prescriptions, 0) AS dispense_rate,
               c.with_antibiotic / NULLIF(c.prescriptions, 0) AS antibiotic_share,
               h.median_hours AS median_hours_to_dispense
        FROM dim_regions r
        LEFT JOIN counts c ON c.region_id = r.region_id
        LEFT JOIN hours h ON h.region_id = r.region_id
        WHERE $region_id IS NULL OR r.region_id = $region_id
        ORDER BY r.region_id
    """  # noqa: S608
    return _query(path, sql, _params(f))


def prescriptions_by_facility(path: Path, f: Filters) -> Frame:
    """The prescribing facilities with prescriptions in the period: issued, dispensed at least once, rate, J01 share."""
    sql = f"""
        WITH {_PRESCRIPTION_ROLLUP}
        SELECT o.organization_id, o.name, o.region_id,
               {_SUM.format(part="ap.prescriptions")} AS issued,
               {_SUM.format(part="ap.dispensed_any")} AS dispensed_any,
               {_ROLLUP_RATE.format(part="ap.dispensed_any")} AS dispense_rate,
               {_ROLLUP_RATE.format(part="ap.with_antibiotic")} AS antibiotic_share
        FROM ap
        JOIN dim_organizations o ON o.organization_id = ap.organization_id
        GROUP BY o.organization_id, o.name, o.region_id
        ORDER BY issued DESC, o.name, o.organization_id
    """  # noqa: S608
    return _query(path, sql, _params(f))


def top_inns(path: Path, f: Filters, limit: int = 10) -> Frame:
    """The most prescribed INNs: items (prescription lines) and the prescriptions holding them."""
    # inn_prescriptions counts each prescription once per INN it holds, so its sum is the distinct count.
    sql = f"""
        WITH {_ITEM_ROLLUP}
        SELECT ai.inn, CAST(sum(ai.items) AS BIGINT) AS items,
               CAST(sum(ai.inn_prescriptions) AS BIGINT) AS prescriptions
        FROM ai GROUP BY ai.inn ORDER BY items DESC, ai.inn LIMIT $limit
    """  # noqa: S608
    return _query(path, sql, {**_params(f), "limit": limit})


# ATC level → the dim_drugs column holding it (a whitelist: the level never reaches the SQL as text).
_ATC_LEVELS = {level: f"atc_level{level}" for level in range(1, 6)}


def top_atc_groups(path: Path, f: Filters, level: int = 3, limit: int = 10) -> Frame:
    """The most prescribed ATC groups at `level` (1 anatomical … 5 substance), counted in items."""
    if level not in _ATC_LEVELS:
        raise ValueError(f"ATC level must be 1 … 5, not {level}")
    # The roll-up's ATC levels are NULL for a drug missing from dim_drugs, which the join to it used to leave out.
    sql = f"""
        WITH {_ITEM_ROLLUP}
        SELECT ai.{_ATC_LEVELS[level]} AS atc, CAST(sum(ai.items) AS BIGINT) AS items
        FROM ai WHERE ai.{_ATC_LEVELS[level]} IS NOT NULL
        GROUP BY atc ORDER BY items DESC, atc LIMIT $limit
    """  # noqa: S608
    return _query(path, sql, {**_params(f), "limit": limit})


def reimbursed_use(path: Path, f: Filters) -> Frame:
    """Reimbursed-programme prescriptions per month and how many were dispensed at least once."""
    sql = f"""
        WITH {_PRESCRIPTION_ROLLUP}
        SELECT ap.month, CAST(sum(ap.prescriptions) AS BIGINT) AS prescriptions,
               CAST(sum(ap.dispensed_any) AS BIGINT) AS dispensed_any
        FROM ap WHERE ap.category = 'reimbursed'
        GROUP BY ap.month ORDER BY ap.month
    """  # noqa: S608
    return _query(path, sql, _params(f))


def controlled_volume(path: Path, f: Filters) -> Frame:
    """Quantity of controlled drugs (drug category) dispensed per month of dispensing and INN."""
    # The period is the dispensing date here; region and facility stay the prescriber's, as on the whole page.
    sql = """
        SELECT CAST(date_trunc('month', s.dispensed_date) AS DATE) AS month, g.inn,
               sum(s.quantity) AS quantity_dispensed
        FROM fct_dispenses s
        JOIN fct_prescriptions p ON p.prescription_id = s.prescription_id
        JOIN dim_organizations o ON o.organization_id = p.organization_id
        JOIN dim_drugs g ON g.drug_id = s.drug_id
        WHERE s.record_status = 'active' AND p.record_status = 'active' AND g.category = 'controlled'
          AND s.dispensed_date BETWEEN $start AND $end
          AND ($region_id IS NULL OR o.region_id = $region_id)
          AND ($organization_id IS NULL OR p.organization_id = $organization_id)
          AND ($category IS NULL OR p.category = $category)
        GROUP BY month, g.inn ORDER BY month, g.inn
    """
    return _query(path, sql, _params(f))


# The active stays that overlap the period and pass the filters (a CTE named a): admitted by its end and not
# discharged before its start. Each figure then picks admissions or discharges of the period with these.
_STAYS = """
    a AS (
        SELECT a.*, o.region_id
        FROM fct_admissions a JOIN dim_organizations o ON o.organization_id = a.organization_id
        WHERE a.record_status = 'active' AND a.admitted_date <= $end
          AND (a.discharge_date IS NULL OR a.discharge_date >= $start)
          AND ($region_id IS NULL OR o.region_id = $region_id)
          AND ($organization_id IS NULL OR a.organization_id = $organization_id)
          AND ($category IS NULL OR a.admission_type = $category)
    )"""
_ADMITTED = "a.admitted_date >= $start"
_DISCHARGED = "a.discharge_date <= $end"
# The stay figures of a group: admissions, discharges, mean length of stay and in-hospital mortality of discharges.
_STAY_FIGURES = f"""
    count(a.admission_id) FILTER (WHERE {_ADMITTED}) AS admissions,
    count(a.admission_id) FILTER (WHERE {_DISCHARGED}) AS discharges,
    avg(a.length_of_stay_days) FILTER (WHERE {_DISCHARGED}) AS average_length_of_stay,
    count(a.admission_id) FILTER (WHERE {_DISCHARGED} AND a.outcome = 'died')
        / NULLIF(count(a.admission_id) FILTER (WHERE {_DISCHARGED}), 0) AS mortality"""


def admissions_by_month(path: Path, f: Filters) -> Frame:
    """Admissions per month of admission; discharges and deaths per month of discharge."""
    sql = f"""
        WITH {_STAYS},
        events AS (
            SELECT CAST(date_trunc('month', a.admitted_date) AS DATE) AS month, 1 AS admitted, 0 AS discharged,
                   CAST(NULL AS INTEGER) AS died
            FROM a WHERE {_ADMITTED}
            UNION ALL
            SELECT CAST(date_trunc('month', a.discharge_date) AS DATE), 0, 1, CASE WHEN a.outcome = 'died' THEN 1 END
            FROM a WHERE {_DISCHARGED}
        )
        SELECT month, sum(admitted) AS admissions, sum(discharged) AS discharges, count(died) AS deaths
        FROM events GROUP BY month ORDER BY month
    """  # noqa: S608
    return _query(path, sql, _params(f))


def admissions_by_region(path: Path, f: Filters) -> Frame:
    """Every region (or the chosen one): stay figures and the share of emergency admissions."""
    sql = f"""
        WITH {_STAYS}
        SELECT r.region_id, r.iso_code, r.name_uz, r.name_ru, {_STAY_FIGURES},
               count(a.admission_id) FILTER (WHERE {_ADMITTED} AND a.admission_type = 'emergency')
                   / NULLIF(count(a.admission_id) FILTER (WHERE {_ADMITTED}), 0) AS emergency_share
        FROM dim_regions r LEFT JOIN a ON a.region_id = r.region_id
        WHERE $region_id IS NULL OR r.region_id = $region_id
        GROUP BY r.region_id, r.iso_code, r.name_uz, r.name_ru
        ORDER BY r.region_id
    """  # noqa: S608
    return _query(path, sql, _params(f))


def admissions_by_facility(path: Path, f: Filters) -> Frame:
    """Hospitals with stays in the period: stay figures and bed occupancy.

    bed_occupancy = Σ bed-days of the stays inside the period / (active beds × days of the period up to today);
    a stay's bed-days are the days d with admitted_date ≤ d < discharge_date (open stays: d ≤ today), as the
    length of stay counts them; None when the hospital has no beds or the period has not begun.
    """
    sql = f"""
        WITH {_STAYS},
        bounds AS (SELECT $start AS first_day, least($end, $today) + 1 AS after_last)
        SELECT o.organization_id, o.name, o.region_id, {_STAY_FIGURES},
               sum(greatest(0, date_diff('day', greatest(a.admitted_date, b.first_day),
                                         least(coalesce(a.discharge_date, $today + 1), b.after_last))))
                   / NULLIF(o.beds * greatest(0, date_diff('day', b.first_day, b.after_last)), 0) AS bed_occupancy
        FROM a
        JOIN dim_organizations o ON o.organization_id = a.organization_id
        CROSS JOIN bounds b
        GROUP BY o.organization_id, o.name, o.region_id, o.beds, b.first_day, b.after_last
        ORDER BY admissions DESC, o.name, o.organization_id
    """  # noqa: S608
    return _query(path, sql, _params(f))


def admissions_by_profile(path: Path, f: Filters) -> Frame:
    """Admissions and mean length of stay (of discharges) by department profile."""
    sql = f"""
        WITH {_STAYS}
        SELECT a.department_profile,
               count(a.admission_id) FILTER (WHERE {_ADMITTED}) AS admissions,
               avg(a.length_of_stay_days) FILTER (WHERE {_DISCHARGED}) AS average_length_of_stay
        FROM a GROUP BY a.department_profile
        ORDER BY admissions DESC, a.department_profile NULLS LAST
    """  # noqa: S608
    return _query(path, sql, _params(f))


def admissions_by_chapter(path: Path, f: Filters) -> Frame:
    """Admissions by ICD-10 chapter of the admission diagnosis."""
    sql = f"""
        WITH {_STAYS}
        SELECT coalesce(g.chapter, 'unknown') AS chapter, count(*) AS admissions
        FROM a LEFT JOIN dim_diagnoses g ON g.icd10_code = a.icd10_code
        WHERE {_ADMITTED}
        GROUP BY 1 ORDER BY admissions DESC, chapter
    """  # noqa: S608
    return _query(path, sql, _params(f))


def admission_types(path: Path, f: Filters) -> Frame:
    """Admissions by type (emergency, planned, transfer) and each type's share of them."""
    sql = f"""
        WITH {_STAYS}
        SELECT a.admission_type, count(*) AS admissions, count(*) / sum(count(*)) OVER () AS share
        FROM a WHERE {_ADMITTED}
        GROUP BY a.admission_type ORDER BY admissions DESC, a.admission_type
    """  # noqa: S608
    return _query(path, sql, _params(f))


def regions(path: Path) -> Frame:
    """The regions, by SOATO id."""
    sql = "SELECT region_id, iso_code, name_uz, name_ru, name_en FROM dim_regions ORDER BY region_id"
    return _query(path, sql, {})


def facilities(path: Path, region_id: int | None, kind: str | None) -> Frame:
    """Organizations of a region and kind (either may be None for all), by name."""
    sql = """
        SELECT organization_id, name, region_id FROM dim_organizations
        WHERE ($region_id IS NULL OR region_id = $region_id) AND ($kind IS NULL OR kind = $kind)
        ORDER BY name, organization_id
    """
    return _query(path, sql, {"region_id": region_id, "kind": kind})


# --- user inventory (R-10, R-3, R-14) -----------------------------------------------------------------------------
# The user figures are a picture as of the period's last day (f.end), except deadlines, which count the notices and
# requests received in the period. Region / facility are the cabinet's (or the notice's, request's) organization's;
# the category filter is the cabinet's role (installation requests name several people: the role does not filter
# them). Purged cabinets are history without an owner and are left out. Statuses and last sign-ins are the ones
# known now: blocking can be undone (blocked_at is cleared), so a past day's status cannot be rebuilt.

# The cabinets created by the end of the period that pass the filters (a CTE named u).
_CABINETS = """
    u AS (
        SELECT * FROM dim_users
        WHERE status <> 'purged' AND created_at < $until
          AND ($region_id IS NULL OR region_id = $region_id)
          AND ($organization_id IS NULL OR organization_id = $organization_id)
          AND ($category IS NULL OR role = $category)
    )"""
# The dimensions cabinets_by may group by → the dim_users column (a whitelist: never SQL from the caller).
_CABINET_DIMENSIONS = {"role": "role", "status": "status", "region": "region_id"}


def _user_params(f: Filters, **extra: Any) -> dict[str, Any]:
    """The filters' parameters and the UTC instant the period's last Tashkent day ends (timestamps are naive UTC)."""
    return {**_params(f), "until": _utc_start(f.end + timedelta(days=1)), **extra}


def _utc_start(day: date) -> datetime:
    """The naive UTC instant `day` begins in Tashkent (how the warehouse stores times)."""
    start, _ = day_bounds(day)
    return start.astimezone(UTC).replace(tzinfo=None)


def cabinets_by(path: Path, f: Filters, dimension: str) -> Frame:
    """Cabinets created by the period's end (not purged) by role, status or region: how many, and in each status."""
    if dimension not in _CABINET_DIMENSIONS:
        raise ValueError(f"dimension must be one of {sorted(_CABINET_DIMENSIONS)}, not {dimension!r}")
    sql = f"""
        WITH {_CABINETS}
        SELECT {_CABINET_DIMENSIONS[dimension]} AS key, count(*) AS cabinets,
               count(*) FILTER (WHERE status = 'active') AS active,
               count(*) FILTER (WHERE status = 'blocked') AS blocked,
               count(*) FILTER (WHERE status = 'archived') AS archived
        FROM u GROUP BY key ORDER BY cabinets DESC, key
    """  # noqa: S608
    return _query(path, sql, _user_params(f))


def deadlines(path: Path, f: Filters) -> Frame:
    """Notices (by the day notified) and installation requests (by the day received) of the period against the
    ministry's working-day deadline: kept, missed (late, or still open past it today), still open within it.

    A notice is judged on the ministry's deadline to act (3 working days, R-10), a request on its 15 working days
    (R-3), both as the services judge them: overdue once the due day has passed today. on_time_share is kept of
    the judged ones (on time + overdue), None when none is judged yet.
    """
    figures = """
        count(*) AS total,
        count(*) FILTER (WHERE {on_time}) AS on_time,
        count(*) FILTER (WHERE NOT {on_time} OR ({on_time} IS NULL AND {due} < $today)) AS overdue,
        count(*) FILTER (WHERE {on_time} IS NULL AND {due} >= $today) AS pending,
        count(*) FILTER (WHERE {on_time})
            / NULLIF(count(*) FILTER (WHERE {on_time} IS NOT NULL OR {due} < $today), 0) AS on_time_share"""
    sql = f"""
        SELECT 'notice' AS kind, {figures.format(on_time="n.action_on_time", due="n.action_due_date")}
        FROM fct_notices n JOIN dim_users c ON c.user_key = n.user_key
        WHERE n.notified_date BETWEEN $start AND $end
          AND ($region_id IS NULL OR n.region_id = $region_id)
          AND ($organization_id IS NULL OR n.organization_id = $organization_id)
          AND ($category IS NULL OR c.role = $category)
        UNION ALL
        SELECT 'installation_request', {figures.format(on_time="r.on_time", due="r.due_date")}
        FROM fct_installation_requests r
        WHERE r.submitted_date BETWEEN $start AND $end
          AND ($region_id IS NULL OR r.region_id = $region_id)
          AND ($organization_id IS NULL OR r.organization_id = $organization_id)
    """  # noqa: S608
    frame = _query(path, sql, _params(f))
    # UNION ALL promises no order: notices first, as the page shows them.
    return Frame(frame.columns, sorted(frame.rows, key=lambda row: row[0] != "notice"))


def review_coverage(path: Path, f: Filters) -> Frame:
    """Every region (or the chosen one): active cabinets and how many were reviewed in the 12 months up to the
    period's end (a review on or after the same day a year before, as the inventory page counts it, R-14)."""
    sql = f"""
        WITH {_CABINETS},
        reviewed AS (
            SELECT DISTINCT user_key FROM fct_user_events
            WHERE event = 'reviewed' AND event_date BETWEEN $end - INTERVAL 365 DAY AND $end
        ),
        a AS (
            SELECT u.region_id, u.user_key, r.user_key AS reviewed_key
            FROM u LEFT JOIN reviewed r ON r.user_key = u.user_key WHERE u.status = 'active'
        )
        SELECT g.region_id, g.iso_code, g.name_uz, g.name_ru,
               count(a.user_key) AS active_cabinets, count(a.reviewed_key) AS reviewed_12_months,
               count(a.reviewed_key) / NULLIF(count(a.user_key), 0) AS coverage
        FROM dim_regions g LEFT JOIN a ON a.region_id = g.region_id
        WHERE $region_id IS NULL OR g.region_id = $region_id
        GROUP BY g.region_id, g.iso_code, g.name_uz, g.name_ru
        ORDER BY g.region_id
    """  # noqa: S608
    return _query(path, sql, _user_params(f))


def dormant(path: Path, f: Filters, days: int = 90) -> Frame:
    """Every region (or the chosen one): active cabinets never signed in, and those whose last sign-in came before
    the `days` days ending with the period's last day (dormant), among all active cabinets."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    sql = f"""
        WITH {_CABINETS},
        a AS (SELECT * FROM u WHERE status = 'active')
        SELECT g.region_id, g.iso_code, g.name_uz, g.name_ru,
               count(a.user_key) FILTER (WHERE a.last_sign_in_at IS NULL) AS never_signed_in,
               count(a.user_key) FILTER (WHERE a.last_sign_in_at < $dormant_before) AS dormant,
               count(a.user_key) AS active_cabinets
        FROM dim_regions g LEFT JOIN a ON a.region_id = g.region_id
        WHERE $region_id IS NULL OR g.region_id = $region_id
        GROUP BY g.region_id, g.iso_code, g.name_uz, g.name_ru
        ORDER BY g.region_id
    """  # noqa: S608
    since = f.end - timedelta(days=days - 1)
    return _query(path, sql, _user_params(f, dormant_before=_utc_start(since)))

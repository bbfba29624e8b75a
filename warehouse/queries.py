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
from warehouse.schema import MONTHLY_ROLLUPS, ROLLUP_MEASURES


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


def whole_months(first: date, last: date) -> tuple[date, date]:
    """The whole calendar months inside first..last as [from, to), empty (from == to) when there is none."""
    start = first if first.day == 1 else _next_month(first)
    after = last + timedelta(days=1)
    end = after if after.day == 1 else after.replace(day=1)
    return start, max(start, end)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _params(f: Filters) -> dict[str, Any]:
    now = today()
    # Bed-days count up to today; whole months are read from the monthly roll-ups (see _facility_rows).
    counted_end = min(f.end, now)
    whole_from, whole_to = whole_months(f.start, f.end)
    counted_from, counted_to = whole_months(f.start, counted_end)
    return {
        "start": f.start,
        "end": f.end,
        "region_id": f.region_id,
        "organization_id": f.organization_id,
        "category": f.category,
        "today": now,
        "whole_from": whole_from,
        "whole_to": whole_to,
        "counted_end": counted_end,
        "counted_whole_from": counted_from,
        "counted_whole_to": counted_to,
    }


def _rollup(name: str, table: str, date_column: str, f: Filters, *, category: str = "category") -> str:
    """A CTE `name` of a roll-up's rows of the period that pass the filters, with their month.

    The region twin (no organization, far fewer rows) is read unless a facility is chosen; its sums are the
    organization-grain rows' sums, so the figures are the same either way.
    """
    facility = f.organization_id is not None
    source = table if facility else f"{table}_region"
    return f"""
    {name} AS (
        SELECT *, CAST(date_trunc('month', {date_column}) AS DATE) AS month FROM {source}
        WHERE {date_column} BETWEEN $start AND $end
          AND ($region_id IS NULL OR region_id = $region_id)
          {"AND organization_id = $organization_id" if facility else ""}
          AND ($category IS NULL OR {category} = $category)
    )"""  # noqa: S608  (table and column names are this module's constants)


def _facility_rows(
    name: str,
    daily: str,
    date_column: str,
    params: dict[str, Any],
    *,
    category: str = "category",
    counted: bool = False,
) -> str:
    """A CTE `name` of a roll-up's organization-grain rows of the period that pass the filters, for figures by
    facility: the whole months from its monthly twin (a thirtieth of the rows), the partial months' days from it.

    `params` are the query's own (_params): the SQL and its values agree on the whole months. `counted` ends the
    period today (bed-days); the rows carry organization_id, region_id, the category column and the measures, never
    the date.
    """
    monthly, _ = MONTHLY_ROLLUPS[daily]
    columns = ", ".join(("organization_id", "region_id", category, *ROLLUP_MEASURES[daily]))
    end, whole = ("$counted_end", "counted_whole") if counted else ("$end", "whole")
    filters = f"""($region_id IS NULL OR region_id = $region_id)
          {"AND organization_id = $organization_id" if params["organization_id"] is not None else ""}
          AND ($category IS NULL OR {category} = $category)"""
    last = params["counted_end" if counted else "end"]
    # The daily rows are read only when the period has days outside its whole months (none for whole months).
    days = f"""
        UNION ALL
        SELECT {columns} FROM {daily}
        WHERE {date_column} BETWEEN $start AND {end}
          AND NOT ({date_column} >= ${whole}_from AND {date_column} < ${whole}_to) AND {filters}"""  # noqa: S608
    partial = params[f"{whole}_from"] != params["start"] or params[f"{whole}_to"] != last + timedelta(days=1)
    return f"""
    {name} AS (
        SELECT {columns} FROM {monthly}
        WHERE month >= ${whole}_from AND month < ${whole}_to AND {filters}{days if partial else ""}
    )"""  # noqa: S608  (table and column names are this module's constants)


def _prescriptions(f: Filters) -> str:
    """The period's prescriptions as rows of agg_prescriptions_daily (a CTE named ap): sum its counts, never count."""
    return _rollup("ap", "agg_prescriptions_daily", "issued_date", f)


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
        WITH {_prescriptions(f)}
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
    # Hours to the first dispense are kept as a histogram of whole hours: its median is read from the running
    # counts (the mean of the two middle values when the count is even, as median() does on rows).
    sql = f"""
        WITH {_prescriptions(f)}, {_rollup("ah", "agg_dispense_hours_daily", "issued_date", f)},
        counts AS (
            SELECT region_id, sum(prescriptions) AS prescriptions, sum(dispensed_any) AS dispensed_any,
                   sum(with_antibiotic) AS with_antibiotic
            FROM ap GROUP BY region_id
        ),
        histogram AS (SELECT region_id, hours, sum(prescriptions) AS n FROM ah GROUP BY region_id, hours),
        running AS (
            SELECT region_id, hours, sum(n) OVER (PARTITION BY region_id ORDER BY hours) AS upto,
                   sum(n) OVER (PARTITION BY region_id) AS total
            FROM histogram
        ),
        hours AS (
            SELECT region_id,
                   (min(hours) FILTER (WHERE upto >= (total + 1) // 2) + min(hours) FILTER (WHERE upto >= total // 2 + 1))
                       / 2 AS median_hours
            FROM running GROUP BY region_id
        )
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
    params = _params(f)
    sql = f"""
        WITH {_facility_rows("ap", "agg_prescriptions_daily", "issued_date", params)}
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
    return _query(path, sql, params)


def top_inns(path: Path, f: Filters, limit: int = 10) -> Frame:
    """The most prescribed INNs: items (prescription lines) and the prescriptions holding them."""
    # inn_prescriptions counts each prescription once per INN it holds, so its sum is the distinct count.
    sql = f"""
        WITH {_rollup("ai", "agg_items_daily", "issued_date", f)}
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
        WITH {_rollup("ai", "agg_items_daily", "issued_date", f)}
        SELECT ai.{_ATC_LEVELS[level]} AS atc, CAST(sum(ai.items) AS BIGINT) AS items
        FROM ai WHERE ai.{_ATC_LEVELS[level]} IS NOT NULL
        GROUP BY atc ORDER BY items DESC, atc LIMIT $limit
    """  # noqa: S608
    return _query(path, sql, {**_params(f), "limit": limit})


def reimbursed_use(path: Path, f: Filters) -> Frame:
    """Reimbursed-programme prescriptions per month and how many were dispensed at least once."""
    sql = f"""
        WITH {_prescriptions(f)}
        SELECT ap.month, CAST(sum(ap.prescriptions) AS BIGINT) AS prescriptions,
               CAST(sum(ap.dispensed_any) AS BIGINT) AS dispensed_any
        FROM ap WHERE ap.category = 'reimbursed'
        GROUP BY ap.month ORDER BY ap.month
    """  # noqa: S608
    return _query(path, sql, _params(f))


def controlled_volume(path: Path, f: Filters) -> Frame:
    """Quantity of controlled drugs (drug category) dispensed per month of dispensing and INN."""
    # The period is the dispensing date here; region and facility stay the prescriber's, as on the whole page.
    sql = f"""
        WITH {_rollup("ac", "agg_controlled_daily", "dispensed_date", f)}
        SELECT month, inn, CAST(sum(quantity) AS BIGINT) AS quantity_dispensed
        FROM ac GROUP BY month, inn ORDER BY month, inn
    """  # noqa: S608
    return _query(path, sql, _params(f))


# Admissions are counted by their day of admission (agg_admissions_daily, a CTE named ad), discharges, deaths and
# lengths of stay by the day of discharge (agg_discharges_daily, dd): each is "of the period" by its own day.


def _admissions(f: Filters) -> str:
    return _rollup("ad", "agg_admissions_daily", "admitted_date", f, category="admission_type")


def _discharges(f: Filters) -> str:
    return _rollup("dd", "agg_discharges_daily", "discharge_date", f, category="admission_type")


# The stay figures of a group, from its admissions (adm) and discharges (dis) joined on the group's key: admissions,
# discharges, mean length of stay and in-hospital mortality of the discharges.
_STAY_FIGURES = """
    CAST(coalesce(adm.admissions, 0) AS BIGINT) AS admissions,
    CAST(coalesce(dis.discharges, 0) AS BIGINT) AS discharges,
    dis.stay_days / NULLIF(dis.stays_measured, 0) AS average_length_of_stay,
    dis.deaths / NULLIF(dis.discharges, 0) AS mortality"""
_DISCHARGE_SUMS = """
    sum(discharges) AS discharges, sum(deaths) AS deaths, sum(stay_days) AS stay_days,
    sum(stays_measured) AS stays_measured"""


def admissions_by_month(path: Path, f: Filters) -> Frame:
    """Admissions per month of admission; discharges and deaths per month of discharge."""
    sql = f"""
        WITH {_admissions(f)}, {_discharges(f)},
        adm AS (SELECT month, sum(admissions) AS admissions FROM ad GROUP BY month),
        dis AS (SELECT month, sum(discharges) AS discharges, sum(deaths) AS deaths FROM dd GROUP BY month)
        SELECT coalesce(adm.month, dis.month) AS month, CAST(coalesce(adm.admissions, 0) AS BIGINT) AS admissions,
               CAST(coalesce(dis.discharges, 0) AS BIGINT) AS discharges,
               CAST(coalesce(dis.deaths, 0) AS BIGINT) AS deaths
        FROM adm FULL JOIN dis ON dis.month = adm.month
        ORDER BY month
    """  # noqa: S608
    return _query(path, sql, _params(f))


def admissions_by_region(path: Path, f: Filters) -> Frame:
    """Every region (or the chosen one): stay figures and the share of emergency admissions."""
    sql = f"""
        WITH {_admissions(f)}, {_discharges(f)},
        adm AS (
            SELECT region_id, sum(admissions) AS admissions,
                   sum(admissions) FILTER (WHERE admission_type = 'emergency') AS emergency
            FROM ad GROUP BY region_id
        ),
        dis AS (SELECT region_id, {_DISCHARGE_SUMS} FROM dd GROUP BY region_id)
        SELECT r.region_id, r.iso_code, r.name_uz, r.name_ru, {_STAY_FIGURES},
               coalesce(adm.emergency, 0) / NULLIF(adm.admissions, 0) AS emergency_share
        FROM dim_regions r
        LEFT JOIN adm ON adm.region_id = r.region_id
        LEFT JOIN dis ON dis.region_id = r.region_id
        WHERE $region_id IS NULL OR r.region_id = $region_id
        ORDER BY r.region_id
    """  # noqa: S608
    return _query(path, sql, _params(f))


def admissions_by_facility(path: Path, f: Filters) -> Frame:
    """Hospitals with stays in the period: stay figures and bed occupancy.

    bed_occupancy = Σ bed-days of the stays inside the period / (active beds × days of the period up to today);
    a stay's bed-days are the days d with admitted_date ≤ d < discharge_date (open stays: d ≤ today), as the
    length of stay counts them; None when the hospital has no beds or the period has not begun. A hospital is
    listed when a stay overlaps the period: admitted or discharged in it, in a bed on one of its days, or still in
    hospital having been admitted by its end.
    """
    facility = "AND organization_id = $organization_id" if f.organization_id is not None else ""
    where = f"""($region_id IS NULL OR region_id = $region_id) {facility}
                AND ($category IS NULL OR admission_type = $category)"""
    # A discharged stay's bed-days all lie before its discharge, so by today: those of the period up to today both
    # list its hospital (it overlaps the period) and count.
    params = _params(f)
    sql = f"""
        WITH {_facility_rows("ad", "agg_admissions_daily", "admitted_date", params, category="admission_type")},
        {_facility_rows("dd", "agg_discharges_daily", "discharge_date", params, category="admission_type")},
        {_facility_rows("bd", "agg_bed_days_daily", "day", params, category="admission_type", counted=True)},
        bounds AS (SELECT $start AS first_day, least($end, $today) + 1 AS after_last),
        adm AS (SELECT organization_id, sum(admissions) AS admissions FROM ad GROUP BY organization_id),
        dis AS (SELECT organization_id, {_DISCHARGE_SUMS} FROM dd GROUP BY organization_id),
        closed AS (SELECT organization_id, sum(bed_days) AS counted FROM bd GROUP BY organization_id),
        open AS (
            SELECT organization_id,
                   sum(stays * greatest(0, date_diff('day', greatest(admitted_date, b.first_day), b.after_last)))
                       AS bed_days
            FROM agg_open_stays CROSS JOIN bounds b
            WHERE admitted_date <= $end AND {where}
            GROUP BY organization_id
        ),
        listed AS (
            SELECT organization_id FROM adm UNION SELECT organization_id FROM dis
            UNION SELECT organization_id FROM closed UNION SELECT organization_id FROM open
        )
        SELECT o.organization_id, o.name, o.region_id, {_STAY_FIGURES},
               (coalesce(closed.counted, 0) + coalesce(open.bed_days, 0))
                   / NULLIF(o.beds * greatest(0, date_diff('day', b.first_day, b.after_last)), 0) AS bed_occupancy
        FROM listed
        JOIN dim_organizations o ON o.organization_id = listed.organization_id
        LEFT JOIN adm ON adm.organization_id = listed.organization_id
        LEFT JOIN dis ON dis.organization_id = listed.organization_id
        LEFT JOIN closed ON closed.organization_id = listed.organization_id
        LEFT JOIN open ON open.organization_id = listed.organization_id
        CROSS JOIN bounds b
        ORDER BY admissions DESC, o.name, o.organization_id
    """  # noqa: S608
    return _query(path, sql, params)


def admissions_by_profile(path: Path, f: Filters) -> Frame:
    """Department profiles with admissions or discharges in the period: admissions, mean length of stay of the
    discharges (None for a department without a profile)."""
    sql = f"""
        WITH {_admissions(f)}, {_discharges(f)},
        adm AS (SELECT department_profile, sum(admissions) AS admissions FROM ad GROUP BY department_profile),
        dis AS (SELECT department_profile, {_DISCHARGE_SUMS} FROM dd GROUP BY department_profile)
        SELECT NULLIF(coalesce(adm.department_profile, dis.department_profile), '') AS department_profile,
               CAST(coalesce(adm.admissions, 0) AS BIGINT) AS admissions,
               dis.stay_days / NULLIF(dis.stays_measured, 0) AS average_length_of_stay
        FROM adm FULL JOIN dis ON dis.department_profile = adm.department_profile
        ORDER BY admissions DESC, department_profile NULLS LAST
    """  # noqa: S608
    return _query(path, sql, _params(f))


def admissions_by_chapter(path: Path, f: Filters) -> Frame:
    """Admissions by ICD-10 chapter of the admission diagnosis ('unknown' for a code outside the classification)."""
    sql = f"""
        WITH {_admissions(f)}
        SELECT chapter, CAST(sum(admissions) AS BIGINT) AS admissions
        FROM ad GROUP BY chapter ORDER BY admissions DESC, chapter
    """  # noqa: S608
    return _query(path, sql, _params(f))


def admission_types(path: Path, f: Filters) -> Frame:
    """Admissions by type (emergency, planned, transfer) and each type's share of them."""
    sql = f"""
        WITH {_admissions(f)}
        SELECT admission_type, CAST(sum(admissions) AS BIGINT) AS admissions,
               sum(admissions) / sum(sum(admissions)) OVER () AS share
        FROM ad GROUP BY admission_type ORDER BY admissions DESC, admission_type
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


def inventory_history(path: Path, f: Filters) -> Frame:
    """The user inventory as each day of the period found it (the days the ETL ran): cabinets by status, and the
    active ones never signed in or dormant for 90 days, as known on that day."""
    count = "CAST(coalesce(sum({column}) FILTER (WHERE {condition}), 0) AS BIGINT)"
    sql = f"""
        SELECT snapshot_date,
               {count.format(column="cabinets", condition="status = 'active'")} AS active,
               {count.format(column="cabinets", condition="status = 'blocked'")} AS blocked,
               {count.format(column="cabinets", condition="status = 'archived'")} AS archived,
               {count.format(column="never_signed_in", condition="TRUE")} AS never_signed_in,
               {count.format(column="dormant", condition="TRUE")} AS dormant
        FROM snp_user_inventory
        WHERE snapshot_date BETWEEN $start AND $end
          AND ($region_id IS NULL OR region_id = $region_id)
          AND ($organization_id IS NULL OR organization_id = $organization_id)
          AND ($category IS NULL OR role = $category)
        GROUP BY snapshot_date ORDER BY snapshot_date
    """  # noqa: S608  (module constants only)
    return _query(path, sql, _params(f))

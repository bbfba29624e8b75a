"""Reports at scale on PostgreSQL: one large hospital's year, and the demo's busiest polyclinic and pharmacy.

    python bench/reports.py [--patients 20000] [--stays 40000]

A scratch PostgreSQL database (created and dropped here) is filled by the demo generator with `--patients` patients,
then given one large hospital: 15 inpatient departments of 60 beds, `--stays` stays a year over two years (a tenth of
them moved between departments, every outcome, the last few hundred still in). Each report is built three times over
the last full year (the hospital) or the last 365 days (the demo's organizations); the best and the median are
reported, and the hospital report is exported to Excel and PDF as the background job does.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

from sqlalchemy import Table, create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from db import make_engine  # noqa: E402
from ehealth.access.models import Cabinet, DocumentType, Role  # noqa: E402
from ehealth.demo import generate  # noqa: E402
from ehealth.emr.models import Encounter  # noqa: E402
from ehealth.hospital.models import Admission, BedAssignment, Discharge  # noqa: E402
from ehealth.identifiers import make_pinfl  # noqa: E402
from ehealth.manage import migrate  # noqa: E402
from ehealth.patients.models import Patient  # noqa: E402
from ehealth.prescription.models import Dispense  # noqa: E402
from ehealth.reference.models import Bed, Department, DepartmentKind, Organization, OrganizationKind, Ward  # noqa: E402
from ehealth.reports import catalog  # noqa: E402
from ehealth.reports.base import Scope, build  # noqa: E402
from ehealth.reports.excel import to_xlsx  # noqa: E402
from ehealth.reports.pdf import to_pdf  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TASHKENT_CITY = 1726
DEPARTMENTS, WARDS, BEDS_PER_WARD = 15, 4, 15
OUTCOMES = ("recovered", "improved", "unchanged", "worsened", "died", "transferred")
CODES = ("I10", "I21.9", "J18.9", "K35.8", "I63.9", "I20.0", "S72.0", "O80", "E11.9", "N39.0")


def _hospital(session: Session, stays_per_year: int, year: int) -> tuple[int, int]:  # noqa: PLR0915  (one generator)
    """A large hospital with two years of stays ending with `year`; (organization id, one department id)."""
    rng = random.Random(11)
    org = Organization(
        name="Respublika shoshilinch tibbiy yordam markazi (bench)", kind=OrganizationKind.HOSPITAL, stir="399999999",
        licence_number="B-99999", licence_date=date(2020, 1, 1), region_id=TASHKENT_CITY,
    )  # fmt: skip
    other = session.execute(select(Organization.id).where(Organization.kind == OrganizationKind.HOSPITAL)).scalar()
    session.add(org)
    session.flush()
    doctor = Cabinet(
        id_number="BENCH0001", organization_id=org.id, surname="Aliyev", given_name="Jasur", patronymic="Karimovich",
        position="Shifokor", department_name="Terapiya", document_type=DocumentType.PASSPORT, document_series="AD",
        document_number="9999999", pinfl=make_pinfl(date(1980, 1, 1), "male", 999, 999), role=Role.DOCTOR,
        email="bench.doctor@example.uz",
    )  # fmt: skip
    session.add(doctor)
    session.flush()
    departments, beds = [], []
    for n in range(DEPARTMENTS):
        department = Department(organization_id=org.id, name=f"Bo'lim {n + 1:02d}", kind=DepartmentKind.INPATIENT)
        session.add(department)
        session.flush()
        ids = []
        for w in range(WARDS):
            ward = Ward(organization_id=org.id, department_id=department.id, name=f"{n + 1}-{w + 1}")
            session.add(ward)
            session.flush()
            made = [Bed(organization_id=org.id, ward_id=ward.id, code=f"{b + 1}") for b in range(BEDS_PER_WARD)]
            session.add_all(made)
            session.flush()
            ids += [bed.id for bed in made]
        departments.append(department.id)
        beds.append(ids)
    first = session.execute(select(func.max(Patient.id))).scalar_one() + 1
    encounter_id = session.execute(select(func.max(Encounter.id))).scalar_one() + 1
    admission_id = session.execute(select(func.coalesce(func.max(Admission.id), 0))).scalar_one() + 1
    start = datetime(year - 1, 1, 1, tzinfo=UTC)
    span = (datetime(year, 12, 31, 12, tzinfo=UTC) - start).total_seconds()
    total = 2 * stays_per_year
    times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(total))
    patients, encounters, admissions, moves, discharges = [], [], [], [], []
    free = {dept: list(ids) for dept, ids in enumerate(beds)}  # a patient still in holds a bed of their own
    for n, admitted in enumerate(times):
        pid, eid, aid = first + n, encounter_id + n, admission_id + n
        patients.append({
            "id": pid, "pinfl": make_pinfl(date(1950, 1, 1) + timedelta(days=n % 20000), "female", 900 + n // 999, 1 + n % 999),
            "surname": "Bench", "given_name": "Bemor", "birth_date": date(1950, 1, 1), "sex": "female", "region_id": TASHKENT_CITY,
        })  # fmt: skip
        dept = rng.randrange(DEPARTMENTS)
        ended = admitted + timedelta(hours=rng.randint(6, 24 * 14))
        still_in = n >= total - 300
        while still_in and not free[dept]:
            dept = (dept + 1) % DEPARTMENTS
        common = {"patient_id": pid, "organization_id": org.id, "created_by": doctor.id, "status": "active"}
        encounters.append({
            "id": eid, "kind": "inpatient", "state": "open" if still_in else "closed", "department_id": departments[dept],
            "practitioner_id": doctor.id, "started_at": admitted, "ended_at": None if still_in else ended, **common,
        })  # fmt: skip
        admissions.append({
            "id": aid, "encounter_id": eid, "department_id": departments[dept], "admitted_at": admitted,
            "admission_type": rng.choice(["emergency", "emergency", "planned", "transfer"]),
            "icd10_code": rng.choice(CODES), **common,
        })  # fmt: skip
        bed = free[dept].pop() if still_in else beds[dept][n % len(beds[dept])]
        if rng.random() < 0.1 and not still_in:
            moved = admitted + (ended - admitted) / 3
            other_dept = (dept + 1) % DEPARTMENTS
            moves.append({"encounter_id": eid, "admission_id": aid, "department_id": departments[dept], "bed_id": bed,
                          "reason": "admission", "started_at": admitted, "ended_at": moved, **common})  # fmt: skip
            moves.append({"encounter_id": eid, "admission_id": aid, "department_id": departments[other_dept],
                          "bed_id": beds[other_dept][n % len(beds[other_dept])], "reason": "transfer",
                          "started_at": moved, "ended_at": ended, **common})  # fmt: skip
        else:
            moves.append({"encounter_id": eid, "admission_id": aid, "department_id": departments[dept], "bed_id": bed,
                          "reason": "admission", "started_at": admitted, "ended_at": None if still_in else ended,
                          **common})  # fmt: skip
        if not still_in:
            outcome = rng.choices(OUTCOMES, weights=(40, 45, 6, 2, 3, 4))[0]
            discharges.append({
                "encounter_id": eid, "admission_id": aid, "discharged_at": ended, "outcome": outcome,
                "icd10_code": rng.choice(CODES), "transferred_to_id": other if outcome == "transferred" else None,
                **common,
            })  # fmt: skip
    for model, rows in ((Patient, patients), (Encounter, encounters), (Admission, admissions),
                        (BedAssignment, moves), (Discharge, discharges)):  # fmt: skip
        for k in range(0, len(rows), 5000):
            session.execute(insert(cast(Table, model.__table__)), rows[k : k + 5000])
    session.commit()
    return org.id, departments[3]


def _busiest(session: Session, kind: OrganizationKind, model: type, column: Any) -> int:
    """The organization of `kind` with the most rows of `model`."""
    return session.execute(
        select(Organization.id)
        .join(model, model.organization_id == Organization.id)  # type: ignore[attr-defined]
        .where(Organization.kind == kind)
        .group_by(Organization.id)
        .order_by(func.count(column).desc())
        .limit(1)
    ).scalar_one()


def _time(session: Session, key: str, scope: Scope) -> tuple[float, float]:
    took = []
    for _ in range(3):
        session.expire_all()
        began = time.perf_counter()
        build(session, key, scope)
        took.append(time.perf_counter() - began)
    return min(took), statistics.median(took)


def main() -> None:
    """Create a scratch database, fill it, time the reports, drop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20000)
    parser.add_argument("--stays", type=int, default=40000)
    args = parser.parse_args()
    assert catalog.KEYS
    name = f"ehealth_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    today = datetime.now(UTC).date()
    year = today.year - 1
    try:
        migrate(url)
        engine = make_engine(url)
        generate(engine, patients=args.patients, seed=7, progress=False)
        with Session(engine) as session:
            hospital, department = _hospital(session, args.stays, year)
            session.execute(text("ANALYZE"))
            session.commit()
            polyclinic = _busiest(session, OrganizationKind.POLYCLINIC, Encounter, Encounter.id)
            pharmacy = _busiest(session, OrganizationKind.PHARMACY, Dispense, Dispense.id)
            names = dict(session.execute(select(Organization.id, Organization.name)).all())
            kinds = dict(session.execute(select(Organization.id, Organization.kind)).all())
            last_year = (date(year, 1, 1), date(year, 12, 31))
            recent = (today - timedelta(days=364), today)
            runs = [
                ("hospital", hospital, None, last_year),
                ("hospital", hospital, department, last_year),
                ("completeness", hospital, None, last_year),
                ("staff", hospital, None, last_year),
                ("polyclinic", polyclinic, None, recent),
                ("prescriptions", polyclinic, None, recent),
                ("completeness", polyclinic, None, recent),
                ("pharmacy", pharmacy, None, recent),
            ]
            print(f"PostgreSQL; demo of {args.patients:,} patients plus one hospital of {args.stays:,} stays a year")
            for key, org, dept, (start, end) in runs:
                scope = Scope(org, names[org], OrganizationKind(kinds[org]), start, end, dept, None)
                best, median = _time(session, key, scope)
                label = f"{key} ({'one department' if dept else names[org][:40]})"
                print(f"{label:<70} best {best:6.2f} s  median {median:6.2f} s")
            scope = Scope(hospital, names[hospital], OrganizationKind.HOSPITAL, *last_year)
            report = build(session, "hospital", scope)
            for fmt, render in (("xlsx", to_xlsx), ("pdf", to_pdf)):
                began = time.perf_counter()
                size = len(render(report))
                print(f"hospital report to {fmt}: {time.perf_counter() - began:.2f} s, {size / 1024:,.0f} KiB, "
                      f"{sum(len(table.rows) for table in report.tables):,} rows")  # fmt: skip
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

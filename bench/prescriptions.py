"""E-prescriptions on PostgreSQL: the issue-to-dispense round trip, and dispensing with 20 concurrent pharmacists.

    python bench/prescriptions.py [--pharmacists 20] [--dispenses 25] [--think 1.0] [--round-trips 50]

A scratch PostgreSQL database (created and dropped here) with the demo drug catalogue, one polyclinic whose doctors
have open visits, and pharmacies with one pharmacist each. Every step is one transaction, as a page callback does.
Reported:
- round trip: a doctor issues a prescription of two medicines (checks, drug-safety review, OneID seal, SMS record,
  audit) and a pharmacist finds it by number + PINFL and dispenses both items whole (the seal is checked again);
  p50 / p95 of issue, find, dispense, and of the whole;
- dispense latency: each pharmacist a process of its own (as behind gunicorn workers) finds and dispenses its own
  prescriptions, with a think time (exponential, mean `--think` s) and with no pause (20 processes on 2 cores queue
  for the CPU: a stress figure);
- contention: all pharmacists dispense 1 unit at a time from the same 5 prescriptions at once; the totals are
  counted afterwards and must never exceed what was prescribed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from db import make_engine, utcnow  # noqa: E402
from ehealth.access.models import Cabinet, DocumentType, Role  # noqa: E402
from ehealth.audit.trail import Actor  # noqa: E402
from ehealth.demo.catalogue import DRUGS  # noqa: E402
from ehealth.emr.models import Encounter, EncounterKind  # noqa: E402
from ehealth.errors import DomainError  # noqa: E402
from ehealth.identifiers import make_pinfl  # noqa: E402
from ehealth.manage import migrate  # noqa: E402
from ehealth.patients.models import Patient, Sex  # noqa: E402
from ehealth.prescription.confirmation import Confirmer, OneIdSession  # noqa: E402
from ehealth.prescription.dispensing import DispenseLine, dispense, find  # noqa: E402
from ehealth.prescription.models import Dispense, PrescriptionItem  # noqa: E402
from ehealth.prescription.prescribing import ItemInput, Order, issue_with_session  # noqa: E402
from ehealth.reference.models import Drug, Organization, OrganizationKind  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TASHKENT_CITY = 1726
CONFIRMER = Confirmer(seal_key=b"bench-confirmation-key-0123456789abcdef")
MEDICINES = ("C08CA01", "C09AA02")  # amlodipine and enalapril for 30 days: no interaction, no allergy


@dataclass(frozen=True)
class Place:
    """Who prescribes for whom, and which pharmacists dispense."""

    doctor: Actor
    doctor_id: int
    visits: list[tuple[int, int, str]]  # (visit id, patient id, PINFL)
    pharmacists: list[Actor]
    drugs: dict[str, int]


def _org(session: Session, n: int, kind: OrganizationKind) -> Organization:
    org = Organization(
        name=f"Bench {kind} {n}", kind=kind, stir=f"{400000000 + n}", licence_number=f"P-{n:05d}",
        licence_date=date(2024, 1, 1), licence_valid_until=date(2029, 1, 1), region_id=TASHKENT_CITY,
        reimbursement_contract=True,
    )  # fmt: skip
    session.add(org)
    session.flush()
    return org


def _cabinet(session: Session, org: Organization, n: int, role: Role) -> Cabinet:
    cabinet = Cabinet(
        id_number=f"R{n:08d}", organization_id=org.id, surname="Rahimova", given_name="Nodira",
        patronymic="Akmalovna", position=str(role), department_name="Bo'lim", document_type=DocumentType.PASSPORT,
        document_series="AC", document_number=f"{n:07d}", pinfl=make_pinfl(date(1985, 3, 3), "female", 702, n + 1),
        email=f"rx{n}@example.uz", role=role,
    )  # fmt: skip
    session.add(cabinet)
    session.flush()
    return cabinet


def _place(factory: sessionmaker[Session], patients: int, pharmacists: int) -> Place:
    with factory() as session:
        drugs = {}
        for spec in DRUGS:
            drug = Drug(
                inn=spec.inn, brand=spec.brand, form=spec.form, strength=spec.strength, unit=spec.unit,
                pack_size=spec.pack_size, atc_code=spec.atc, category=spec.category,
                eprescription_only=spec.eprescription_only, dose_unit=spec.dose_unit,
                doses_per_unit=spec.doses_per_pack // spec.pack_size, usual_dose=spec.dose,
                usual_intakes=spec.intakes, usual_days=spec.days, route=spec.route,
            )  # fmt: skip
            session.add(drug)
            session.flush()
            drugs[spec.atc] = drug.id
        clinic = _org(session, 0, OrganizationKind.POLYCLINIC)
        doctor = _cabinet(session, clinic, 0, Role.DOCTOR)
        visits = []
        for n in range(patients):
            born = date(1950, 1, 1) + timedelta(days=n % 9000)
            patient = Patient(
                pinfl=make_pinfl(born, "male", 703 + n // 999, 1 + n % 999), surname="Qodirov", given_name="Bahodir",
                patronymic="Olimovich", birth_date=born, sex=Sex.MALE, region_id=TASHKENT_CITY, phone="+998901112233",
            )  # fmt: skip
            session.add(patient)
            session.flush()
            visit = Encounter(
                patient_id=patient.id, organization_id=clinic.id, kind=EncounterKind.OUTPATIENT,
                practitioner_id=doctor.id, started_at=utcnow() - timedelta(hours=1), created_by=doctor.id,
            )  # fmt: skip
            session.add(visit)
            session.flush()
            visits.append((visit.id, patient.id, patient.pinfl))
        actors = []
        for n in range(1, pharmacists + 1):
            pharmacy = _org(session, n, OrganizationKind.PHARMACY)
            pharmacist = _cabinet(session, pharmacy, n, Role.PHARMACIST)
            actors.append(Actor(pharmacist.id, "pharmacist", pharmacy.id, "127.0.0.1"))
        session.commit()
        return Place(Actor(doctor.id, "doctor", clinic.id, "127.0.0.1"), doctor.id, visits, actors, drugs)


def _issue(factory: sessionmaker[Session], place: Place, visit: tuple[int, int, str]) -> str:
    visit_id, patient_id, _pinfl = visit
    items = tuple(ItemInput(place.drugs[atc], 1, 1, 30) for atc in MEDICINES)
    order = Order(patient_id=patient_id, encounter_id=visit_id, icd10_code="I10", category="chronic", items=items)
    with factory() as session, session.begin():
        prescription = issue_with_session(
            session, order, (), actor=place.doctor, oneid=OneIdSession(place.doctor_id, utcnow()), confirmer=CONFIRMER
        )
        return prescription.number


def _find_and_dispense(
    factory: sessionmaker[Session], who: Actor, number: str, pinfl: str, whole: bool
) -> tuple[float, float]:
    """Find (one transaction), then dispense every item (another): ms of each."""
    began = time.perf_counter()
    with factory() as session, session.begin():
        found = find(session, number, pinfl, actor=who)
        lines = [
            DispenseLine(view.item.id, view.remaining if whole else 1, view.item.drug_id, "30 tabletka", "AT2511001")
            for view in found.items
        ]
    found_at = time.perf_counter()
    with factory() as session, session.begin():
        dispense(session, number, pinfl, lines, actor=who, confirmer=CONFIRMER)
    done = time.perf_counter()
    return (found_at - began) * 1000, (done - found_at) * 1000


def _round_trips(
    factory: sessionmaker[Session], place: Place, visits: list[tuple[int, int, str]]
) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"issue": [], "find": [], "dispense": [], "round trip": []}
    for visit in visits:
        began = time.perf_counter()
        number = _issue(factory, place, visit)
        issued = (time.perf_counter() - began) * 1000
        found, given = _find_and_dispense(factory, place.pharmacists[0], number, visit[2], whole=True)
        for label, took in (
            ("issue", issued),
            ("find", found),
            ("dispense", given),
            ("round trip", issued + found + given),
        ):
            figures[label].append(took)
    return {label: sorted(values) for label, values in figures.items()}


@dataclass(frozen=True)
class Plan:
    """What one simulated pharmacist does."""

    url: str
    who: Actor
    work: list[tuple[str, str]]  # (number, PINFL)
    think: float
    whole: bool
    seed: int


def _pharmacist(plan: Plan, start: Any, out: Any) -> None:
    """One pharmacist in a process of their own: find, dispense, think, next."""
    engine = make_engine(plan.url, pool_size=1, max_overflow=0)
    factory = sessionmaker(engine, expire_on_commit=False)
    pause = random.Random(plan.seed)
    with factory() as session:  # warm this process up (imports, statement caches) before the clock starts
        try:
            find(session, "RX-0000-0000-0000", plan.work[0][1], actor=plan.who)
        except DomainError:
            session.rollback()
    start.wait()
    latencies, refused = [], 0
    for number, pinfl in plan.work:
        if plan.think:
            time.sleep(pause.expovariate(1 / plan.think))
        try:
            found, given = _find_and_dispense(factory, plan.who, number, pinfl, plan.whole)
        except DomainError:
            refused += 1  # contention: someone else took the last unit first
            continue
        latencies.append(found + given)
    engine.dispose()
    out.put((latencies, refused))


def _parallel(url: str, plans: list[Plan]) -> tuple[list[float], int]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start = context.Barrier(len(plans))
    workers = [context.Process(target=_pharmacist, args=(plan, start, out)) for plan in plans]
    for worker in workers:
        worker.start()
    results = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    return sorted(took for latencies, _ in results for took in latencies), sum(refused for _, refused in results)


def _at(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _line(label: str, ordered: list[float]) -> str:
    return (
        f"{label:<34} n={len(ordered):>4}  p50 {statistics.median(ordered):7.1f} ms  p95 {_at(ordered, 0.95):7.1f} ms"
        f"  p99 {_at(ordered, 0.99):7.1f} ms  max {ordered[-1]:7.1f} ms"
    )


def main() -> None:
    """Create a scratch database, measure, drop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pharmacists", type=int, default=20)
    parser.add_argument("--dispenses", type=int, default=25, help="prescriptions each pharmacist dispenses")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a pharmacist's dispenses")
    parser.add_argument("--round-trips", type=int, default=50)
    args = parser.parse_args()
    name = f"ehealth_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        per_run = args.pharmacists * args.dispenses
        place = _place(factory, 3 + args.round_trips + 2 * per_run + 5, args.pharmacists)
        _round_trips(factory, place, place.visits[:3])  # warm up caches (catalogue, safety table, statements)
        trips = _round_trips(factory, place, place.visits[3 : 3 + args.round_trips])
        visits = iter(place.visits[3 + args.round_trips :])
        runs: dict[str, tuple[list[float], int]] = {}
        for label, think in (("dispense, think time", args.think), ("dispense, no pause", 0.0)):
            plans = []
            for n, who in enumerate(place.pharmacists):
                work = []
                for _ in range(args.dispenses):
                    visit = next(visits)
                    work.append((_issue(factory, place, visit), visit[2]))
                plans.append(Plan(url, who, work, think, True, n))
            runs[label] = _parallel(url, plans)
        hot = [next(visits) for _ in range(5)]
        shared = [(_issue(factory, place, visit), visit[2]) for visit in hot]
        plans = [Plan(url, who, shared * 8, 0.0, False, n) for n, who in enumerate(place.pharmacists)]
        runs["contention (same 5, 1 unit each)"] = _parallel(url, plans)
        with factory() as session:
            over = session.execute(
                select(func.count()).where(
                    PrescriptionItem.dispensed_quantity > PrescriptionItem.quantity * PrescriptionItem.fills
                )
            ).scalar_one()
            mismatched = session.execute(
                select(func.count())
                .select_from(PrescriptionItem)
                .where(
                    PrescriptionItem.dispensed_quantity
                    != select(func.coalesce(func.sum(Dispense.quantity), 0))
                    .where(Dispense.item_id == PrescriptionItem.id)
                    .scalar_subquery()
                )
            ).scalar_one()
        engine.dispose()
        print(f"PostgreSQL; round trips by one doctor and one pharmacist; {args.pharmacists} pharmacists in parallel")
        for label, ordered in trips.items():
            print(_line(label, ordered))
        for label, (ordered, refused) in runs.items():
            print(_line(label, ordered) + (f"  refused {refused}" if refused else ""))
        print(
            f"items over their prescribed total: {over}; items whose dispensed total differs from their dispenses: {mismatched}"
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

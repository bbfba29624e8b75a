"""Saving a record with many concurrent clinicians on PostgreSQL, audit overhead, and write-to-visible time.

    python bench/clinical_saves.py [--users 20] [--saves 30]

A scratch PostgreSQL database (created and dropped here) with one clinic per user, each with its doctor and an open
visit. Each user's thread saves `--saves` times, one transaction per save as the page does: a set of indicators
(record_indicators: pressure, pulse, temperature, SpO2) or a diagnosis, alternately. Reported:
- p50 / p95 / p99 / max of a save (service call + commit), each user a process of its own: with a think time
  between saves (exponential, mean `--think` s: clinicians type between saves) and with no pause at all (a stress
  figure: 20 processes on 2 cores queue for the CPU); each with the audit trail as it is and with the audit
  append replaced by a no-op in the same run (the ratio is the audit's cost);
- write-to-visible: a reader in another connection polls the patient's newest clinical_event every 5 ms; the time
  from the writer's commit returning to the reader seeing the row. The pages poll every 2 s, so a clinician sees a
  change within that interval plus this figure.
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
from ehealth.emr import entries  # noqa: E402
from ehealth.emr.models import ConditionKind, Encounter, EncounterKind  # noqa: E402
from ehealth.identifiers import make_pinfl  # noqa: E402
from ehealth.manage import migrate  # noqa: E402
from ehealth.outbox import ClinicalEvent  # noqa: E402
from ehealth.patients.models import Patient, Sex  # noqa: E402
from ehealth.reference.models import Organization, OrganizationKind  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TASHKENT_CITY = 1726
CODES = ["I10", "J06.9", "E11.9", "K29.7", "M54.5", "N39.0"]


def _clinics(factory: sessionmaker[Session], users: int) -> list[tuple[Actor, int]]:
    """One clinic per user: its doctor (as an actor) and an open visit."""
    made: list[tuple[Actor, int]] = []
    with factory() as session:
        for n in range(1, users + 1):
            org = Organization(
                name=f"Bench clinic {n}",
                kind=OrganizationKind.POLYCLINIC,
                stir=f"{300000000 + n}",
                licence_number=f"B-{n:05d}",
                licence_date=date(2024, 1, 1),
                licence_valid_until=date(2029, 1, 1),
                region_id=TASHKENT_CITY,
            )
            session.add(org)
            session.flush()
            doctor = Cabinet(
                id_number=f"B{n:08d}",
                organization_id=org.id,
                surname="Karimov",
                given_name="Aziz",
                patronymic="Botirovich",
                position="Terapevt",
                department_name="Terapiya",
                document_type=DocumentType.PASSPORT,
                document_series="AB",
                document_number=f"{n:07d}",
                pinfl=make_pinfl(date(1980, 1, 1), "male", 700, n),
                email=f"bench{n}@example.uz",
                role=Role.DOCTOR,
            )
            patient = Patient(
                pinfl=make_pinfl(date(1960, 2, 2), "female", 701, n),
                surname="Saidova",
                given_name="Malika",
                patronymic="Anvarovna",
                birth_date=date(1960, 2, 2),
                sex=Sex.FEMALE,
                region_id=TASHKENT_CITY,
            )
            session.add_all([doctor, patient])
            session.flush()
            visit = Encounter(
                patient_id=patient.id,
                organization_id=org.id,
                kind=EncounterKind.OUTPATIENT,
                practitioner_id=doctor.id,
                started_at=utcnow() - timedelta(hours=1),
                created_by=doctor.id,
            )
            session.add(visit)
            session.flush()
            made.append((Actor(doctor.id, "doctor", org.id, "127.0.0.1"), visit.id))
        session.commit()
    return made


def _save(factory: sessionmaker[Session], who: Actor, visit_id: int, n: int) -> None:
    """One save, as a page callback does it: a transaction around one service call."""
    with factory() as session, session.begin():
        if n % 2:
            entries.record_indicators(
                session,
                encounter_id=visit_id,
                values={"bp_systolic": 120 + n % 20, "bp_diastolic": 80, "pulse": 72, "temperature": 36.6, "spo2": 98},
                effective_at=utcnow() - timedelta(seconds=1),
                actor=who,
            )
        else:
            entries.record_diagnosis(
                session,
                encounter_id=visit_id,
                icd10_code=CODES[n % len(CODES)],
                kind=ConditionKind.COMORBIDITY,
                actor=who,
            )


@dataclass(frozen=True)
class Plan:
    """What one simulated clinician does."""

    url: str
    who: Actor
    visit_id: int
    saves: int
    think: float
    audit: bool
    seed: int


def _user(plan: Plan, start: Any, out: Any) -> None:
    """One clinician in a process of their own (as behind several gunicorn workers): save, think, save again."""
    if not plan.audit:
        entries.record = lambda *a, **k: None  # type: ignore[attr-defined,assignment]  # the audit append, off
    engine = make_engine(plan.url, pool_size=1, max_overflow=0)
    factory = sessionmaker(engine, expire_on_commit=False)
    pause = random.Random(plan.seed)
    for n in range(2):  # warm up this process (imports, ICD-10 data, statement caches), then start together
        _save(factory, plan.who, plan.visit_id, n)
    start.wait()
    latencies = []
    for n in range(plan.saves):
        if plan.think:
            time.sleep(pause.expovariate(1 / plan.think))
        began = time.perf_counter()
        _save(factory, plan.who, plan.visit_id, n)
        latencies.append((time.perf_counter() - began) * 1000)
    engine.dispose()
    out.put(latencies)


def _run(url: str, clinics: list[tuple[Actor, int]], saves: int, think: float, *, audit: bool) -> list[float]:
    """Every user saves `saves` times at once, pausing `think` seconds on average between saves; ms per save."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start = context.Barrier(len(clinics))
    users = [
        context.Process(target=_user, args=(Plan(url, who, visit_id, saves, think, audit, n), start, out))
        for n, (who, visit_id) in enumerate(clinics)
    ]
    for process in users:
        process.start()
    latencies = [took for _ in users for took in out.get()]
    for process in users:
        process.join()
    return sorted(latencies)


def _at(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(label: str, ordered: list[float]) -> str:
    return (
        f"{label}: {len(ordered)} saves, p50 {statistics.median(ordered):.1f} ms, p95 {_at(ordered, 0.95):.1f} ms, "
        f"p99 {_at(ordered, 0.99):.1f} ms, max {ordered[-1]:.1f} ms"
    )


def _visibility(factory: sessionmaker[Session], who: Actor, visit_id: int, patient_id: int, rounds: int) -> list[float]:
    """Commit a diagnosis, then see how long until another connection's poll sees its event."""
    seen: list[float] = []
    newest = select(func.max(ClinicalEvent.id)).where(ClinicalEvent.patient_id == patient_id)
    for n in range(rounds):
        with factory() as reader:
            before = reader.execute(newest).scalar() or 0
        _save(factory, who, visit_id, 2 * n)
        committed = time.perf_counter()
        while True:
            with factory() as reader:
                if (reader.execute(newest).scalar() or 0) > before:
                    seen.append((time.perf_counter() - committed) * 1000)
                    break
            time.sleep(0.005)
    return sorted(seen)


def main() -> None:
    """Create a scratch database, measure, drop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--saves", type=int, default=30)
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds a clinician takes between saves")
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
        clinics = _clinics(factory, args.users)
        _run(url, clinics[:2], 3, 0, audit=True)  # warm up: the server's caches
        figures = {
            "with audit, think time": _run(url, clinics, args.saves, args.think, audit=True),
            "no audit, think time": _run(url, clinics, args.saves, args.think, audit=False),
            "with audit, no pause": _run(url, clinics, args.saves, 0, audit=True),
            "no audit, no pause": _run(url, clinics, args.saves, 0, audit=False),
        }
        who, visit_id = clinics[0]
        with factory() as session:
            patient_id = session.get_one(Encounter, visit_id).patient_id
        visible = _visibility(factory, who, visit_id, patient_id, 30)
        engine.dispose()
        print(f"PostgreSQL, {args.users} concurrent users (one process each), {args.saves} saves each")
        for label, ordered in figures.items():
            print(_summary(f"{label:<24}", ordered))
        for pause in ("think time", "no pause"):
            ratio = statistics.median(figures[f"with audit, {pause}"]) / statistics.median(
                figures[f"no audit, {pause}"]
            )
            print(f"audit cost at p50 ({pause}): x{ratio:.2f}")
        print(
            f"write-to-visible (other connection, 5 ms polling): p50 {statistics.median(visible):.1f} ms, "
            f"max {visible[-1]:.1f} ms"
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

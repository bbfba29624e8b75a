"""The completeness report: every figure against an independent count (plain Python over the rows) and against
hand-computed values, on known visits, stays and entries in and around the period, of another organization, withdrawn,
corrected, and saved late (created_at set explicitly)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ehealth.access.models import Cabinet, Role
from ehealth.clinical import RecordStatus
from ehealth.emr.models import (
    Condition,
    ConditionKind,
    Encounter,
    EncounterKind,
    EncounterState,
    Indicator,
    InstrumentalResult,
    LabResult,
    Modality,
    Observation,
    Referral,
    ReferralKind,
    TreatmentKind,
    TreatmentRecord,
)
from ehealth.errors import NotFound
from ehealth.hospital.models import Admission, AdmissionType, Discharge, DischargeOutcome
from ehealth.i18n import catalog, language
from ehealth.identifiers import TASHKENT
from ehealth.patients.models import Patient
from ehealth.reference.models import Department, Organization, OrganizationKind
from ehealth.reports import base
from ehealth.reports.base import Report, Scope
from ehealth.reports.completeness import KEY, LATE_HOURS, build
from tests import factories
from tests.hospital_factories import department

START, END = date(2030, 3, 4), date(2030, 3, 10)
HOUR = timedelta(hours=1)
# The entries judged for timeliness and the moment each records, listed here independently of the report.
TIMED: tuple[tuple[type[Any], str], ...] = (
    (Condition, "recorded_at"),
    (Observation, "effective_at"),
    (LabResult, "resulted_at"),
    (InstrumentalResult, "performed_at"),
    (TreatmentRecord, "performed_at"),
    (Referral, "issued_at"),
    (Admission, "admitted_at"),
    (Discharge, "discharged_at"),
)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """An instant of Tashkent wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=TASHKENT)


def day(n: int) -> date:
    """The n-th of March 2030."""
    return date(2030, 3, n)


def retire(row: Any, status: RecordStatus = RecordStatus.ENTERED_IN_ERROR) -> Any:
    """Take a clinical row out of force (withdrawn, or superseded by a correction)."""
    row.status, row.status_reason, row.status_changed_at = status, "Xato kiritilgan", at(day(20), 9)
    return row


@dataclass
class World:
    """A hospital with two departments, two doctors and a nurse, and another organization."""

    org: Organization
    d1: Department
    d2: Department
    doc1: Cabinet
    doc2: Cabinet
    nurse: Cabinet
    outsider: Cabinet
    patient: Patient


def _person(session: Session, org: Organization, role: Role, surname: str, position: str) -> Cabinet:
    row = factories.cabinet(session, org, role)
    row.surname, row.position = surname, position
    session.flush()
    return row


def _encounter(
    session: Session,
    w: World,
    doctor: Cabinet,
    dept: Department | None,
    started: datetime,
    ended: datetime | None = None,
    *,
    kind: EncounterKind = EncounterKind.OUTPATIENT,
    state: EncounterState | None = None,
) -> Encounter:
    row = Encounter(
        patient_id=w.patient.id,
        organization_id=doctor.organization_id,
        kind=kind,
        state=state or (EncounterState.CLOSED if ended else EncounterState.OPEN),
        department_id=dept.id if dept else None,
        practitioner_id=doctor.id,
        started_at=started,
        ended_at=ended,
        created_by=doctor.id,
    )
    session.add(row)
    session.flush()
    return row


def _common(visit: Encounter, author: Cabinet, created: datetime | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "patient_id": visit.patient_id,
        "organization_id": visit.organization_id,
        "encounter_id": visit.id,
        "created_by": author.id,
    }
    if created is not None:
        fields["created_at"] = created
    return fields


def _add(session: Session, row: Any) -> Any:
    session.add(row)
    session.flush()
    return row


def dx(session: Session, visit: Encounter, author: Cabinet, when: datetime, created: datetime | None = None) -> Any:
    """A final diagnosis recorded at `when`, saved at `created` (by default when the test runs)."""
    return _add(
        session,
        Condition(**_common(visit, author, created), icd10_code="I10", kind=ConditionKind.FINAL, recorded_at=when),
    )


def obs(session: Session, visit: Encounter, author: Cabinet, when: datetime, created: datetime | None = None) -> Any:
    """A pulse measured at `when`."""
    return _add(
        session,
        Observation(**_common(visit, author, created), code=Indicator.PULSE, value=72, unit="/min", effective_at=when),
    )


@pytest.fixture
def world(session: Session) -> World:
    """The known data; the expected figures are counted from it in the tests."""
    org = factories.organization(session, OrganizationKind.HOSPITAL)
    other = factories.organization(session, OrganizationKind.HOSPITAL)
    w = World(
        org=org,
        d1=department(session, org, "Terapiya"),
        d2=department(session, org, "Kardiologiya"),
        doc1=_person(session, org, Role.DOCTOR, "Aliyev", "Terapevt"),
        doc2=_person(session, org, Role.DOCTOR, "Botirov", "Kardiolog"),
        nurse=_person(session, org, Role.NURSE, "Nazarova", "Hamshira"),
        outsider=_person(session, other, Role.DOCTOR, "Chorshanbiyev", "Terapevt"),
        patient=factories.patient(session),
    )
    doc1, doc2, nurse = w.doc1, w.doc2, w.nurse

    # V1: closed with a diagnosis and indicators; one indicator saved 25 hours late.
    v1 = _encounter(session, w, doc1, w.d1, at(day(4), 10), at(day(4), 10, 20))
    dx(session, v1, doc1, at(day(4), 10, 5), at(day(4), 10, 6))
    obs(session, v1, nurse, at(day(4), 10, 5), at(day(4), 12, 5))
    obs(session, v1, nurse, at(day(4), 10, 6), at(day(4), 10, 6) + 25 * HOUR)
    # V2: its only diagnosis withdrawn (and that late entry does not count either).
    v2 = _encounter(session, w, doc1, w.d1, at(day(5), 9), at(day(5), 9, 30))
    retire(dx(session, v2, doc1, at(day(5), 9, 10), at(day(5), 9, 10) + 30 * HOUR))
    # V3: a diagnosis saved 30 hours late; its indicator withdrawn.
    v3 = _encounter(session, w, doc2, w.d2, at(day(6), 11), at(day(6), 11, 30))
    dx(session, v3, doc2, at(day(6), 11, 10), at(day(6), 11, 10) + 30 * HOUR)
    retire(obs(session, v3, nurse, at(day(6), 11, 5), at(day(6), 11, 5)))
    # V4: started before the period, closed in it; its indicator's moment is before the period.
    v4 = _encounter(session, w, doc2, w.d2, at(day(1), 9), at(day(4), 9))
    dx(session, v4, doc2, at(day(4), 8, 50), at(day(4), 8, 51))
    obs(session, v4, nurse, at(day(1), 9, 10), at(day(1), 9, 10) + 48 * HOUR)
    # V5: closed after the period (not a closed visit of it); entries of the period saved exactly 24 hours later
    # (on time) and 24 hours and a second later (late).
    v5 = _encounter(session, w, doc1, w.d1, at(day(10), 22), at(day(11), 0, 30))
    dx(session, v5, doc1, at(day(10), 22, 10), at(day(10), 22, 10) + 24 * HOUR)
    obs(session, v5, doc1, at(day(10), 22, 15), at(day(10), 22, 15) + 24 * HOUR + timedelta(seconds=1))
    # V6: still open; a laboratory result saved 48 hours late and a treatment entry on time.
    v6 = _encounter(session, w, doc1, w.d1, at(day(7), 9))
    resulted = at(day(7), 12)
    _add(
        session,
        LabResult(
            **_common(v6, nurse, resulted + 48 * HOUR),
            test_code="GLU",
            test_name="Glyukoza",
            value_numeric=5.4,
            unit="mmol/L",
            collected_at=resulted - HOUR,
            resulted_at=resulted,
        ),
    )
    _add(
        session,
        TreatmentRecord(
            **_common(v6, nurse, at(day(7), 14)), kind=TreatmentKind.NOTE, title="Kundalik", performed_at=at(day(7), 13)
        ),
    )
    # V7: a closed visit withdrawn: neither it nor the late indicator entered in it counts.
    v7 = _encounter(session, w, doc1, w.d1, at(day(7), 10), at(day(7), 10, 30))
    dx(session, v7, doc1, at(day(7), 10, 5))
    obs(session, v7, nurse, at(day(7), 10, 5), at(day(7), 10, 5) + 50 * HOUR)
    retire(v7)
    # V8: another organization's visit with a late entry.
    v8 = _encounter(session, w, w.outsider, None, at(day(7), 10), at(day(7), 10, 30))
    dx(session, v8, w.outsider, at(day(7), 10, 5))
    obs(session, v8, w.outsider, at(day(7), 10, 5), at(day(7), 10, 5) + 50 * HOUR)
    # V9: a cancelled visit.
    _encounter(session, w, doc1, w.d1, at(day(8), 9), state=EncounterState.CANCELLED)
    # V10: a closed visit without a department.
    v10 = _encounter(session, w, doc2, None, at(day(9), 9), at(day(9), 9, 30))
    dx(session, v10, doc2, at(day(9), 9, 10), at(day(9), 9, 11))
    # V11: a referral saved late, an indicator corrected three days later (a correction is never late), an
    # instrumental study saved late.
    v11 = _encounter(session, w, doc2, w.d2, at(day(8), 10), at(day(8), 11))
    dx(session, v11, doc2, at(day(8), 10, 10), at(day(8), 10, 11))
    _add(
        session,
        Referral(
            **_common(v11, doc2, at(day(8), 10, 20) + 26 * HOUR),
            kind=ReferralKind.LAB,
            reason="Tahlil",
            issued_at=at(day(8), 10, 20),
        ),
    )
    first = obs(session, v11, nurse, at(day(8), 10, 5), at(day(8), 10, 6))
    correction = obs(session, v11, nurse, at(day(8), 10, 5), at(day(8), 10, 5) + 72 * HOUR)
    correction.replaces_id = first.id
    retire(first, RecordStatus.SUPERSEDED)
    _add(
        session,
        InstrumentalResult(
            **_common(v11, nurse, at(day(8), 10, 30) + 40 * HOUR),
            modality=Modality.XRAY,
            study="Ko'krak qafasi",
            conclusion="Patologiyasiz",
            performed_at=at(day(8), 10, 30),
        ),
    )

    # Stays: S1 discharged in the period; S2 closed with its discharge withdrawn; S3 closed with no discharge at all;
    # S4 discharged after the period; S5 still in hospital; S6 another organization's.
    def stay(
        doctor: Cabinet, dept: Department | None, admitted: datetime, ended: datetime | None, late: bool = False
    ) -> tuple[Encounter, Admission]:
        encounter = _encounter(session, w, doctor, dept, admitted, ended, kind=EncounterKind.INPATIENT)
        created = admitted + (25 * HOUR if late else HOUR)
        admission = _add(
            session,
            Admission(
                **_common(encounter, doctor, created),
                department_id=dept.id if dept else w.d1.id,
                admitted_at=admitted,
                admission_type=AdmissionType.EMERGENCY,
                icd10_code="J18.9",
            ),
        )
        return encounter, admission

    def discharge(encounter: Encounter, admission: Admission, created: datetime) -> Discharge:
        assert encounter.ended_at is not None
        row: Discharge = _add(
            session,
            Discharge(
                **_common(encounter, w.doc1 if encounter.department_id == w.d1.id else w.doc2, created),
                admission_id=admission.id,
                discharged_at=encounter.ended_at,
                outcome=DischargeOutcome.RECOVERED,
                icd10_code="J18.9",
            ),
        )
        return row

    s1 = stay(doc1, w.d1, at(day(2), 9), at(day(5), 12))
    discharge(*s1, at(day(5), 12, 30))
    s2 = stay(doc2, w.d2, at(day(4), 9), at(day(6), 12), late=True)
    retire(discharge(*s2, at(day(6), 12) + 30 * HOUR))
    stay(doc2, w.d2, at(day(5), 9), at(day(7), 12))
    stay(doc1, w.d1, at(day(8), 9), at(day(12), 12))
    stay(doc1, w.d1, at(day(9), 9), None)
    outside = _encounter(session, w, w.outsider, None, at(day(4), 9), at(day(6), 9), kind=EncounterKind.INPATIENT)
    session.flush()
    assert outside.organization_id != org.id
    return w


def scope(w: World, dept: Department | None = None, start: date = START, end: date = END) -> Scope:
    """The report's scope over the hospital (or one of its departments)."""
    return Scope(
        organization_id=w.org.id,
        organization_name=w.org.name,
        organization_kind=OrganizationKind.HOSPITAL,
        start=start,
        end=end,
        department_id=dept.id if dept else None,
        department_name=dept.name if dept else None,
    )


# --- the independent count: plain Python over rows fetched with simple selects -------------------------------------


def _local(moment: datetime) -> date:
    return moment.astimezone(TASHKENT).date()


def counts(session: Session, s: Scope) -> dict[tuple[int | None, int], list[int]]:
    """(department, user) -> [visits, with diagnosis, with indicators, stays, with outcome, entries, late]."""
    encounters = {
        e.id: e
        for e in session.execute(select(Encounter).where(Encounter.organization_id == s.organization_id)).scalars()
    }

    def live_in(model: type[Any], encounter_id: int) -> bool:
        found = session.execute(select(model).where(model.encounter_id == encounter_id)).scalars()
        return any(row.status == RecordStatus.ACTIVE for row in found)

    def wanted(e: Encounter) -> bool:
        return e.status == RecordStatus.ACTIVE and (s.department_id is None or e.department_id == s.department_id)

    tallies: dict[tuple[int | None, int], list[int]] = defaultdict(lambda: [0] * 7)
    for e in encounters.values():
        closed = e.state == EncounterState.CLOSED and e.ended_at is not None and s.start <= _local(e.ended_at) <= s.end
        if not (closed and wanted(e)):
            continue
        tally = tallies[(e.department_id, e.practitioner_id)]
        if e.kind == EncounterKind.OUTPATIENT:
            tally[0] += 1
            tally[1] += live_in(Condition, e.id)
            tally[2] += live_in(Observation, e.id)
        else:
            tally[3] += 1
            tally[4] += live_in(Discharge, e.id)
    for model, moment_name in TIMED:
        for row in session.execute(select(model).where(model.organization_id == s.organization_id)).scalars():
            e = encounters[row.encounter_id]
            moment = getattr(row, moment_name)
            if row.status != RecordStatus.ACTIVE or not wanted(e) or not s.start <= _local(moment) <= s.end:
                continue
            tally = tallies[(e.department_id, row.created_by)]
            tally[5] += 1
            tally[6] += row.replaces_id is None and row.created_at - moment > timedelta(hours=LATE_HOURS)
    return tallies


def cells(t: list[int]) -> tuple[Any, ...]:
    """A tally as the report's figure columns show it."""

    def ratio(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return (t[0], ratio(t[1], t[0]), ratio(t[2], t[0]), t[3], ratio(t[4], t[3]), t[5], t[6], ratio(t[6], t[5]))


def rolled(tallies: dict[tuple[int | None, int], list[int]], position: int) -> dict[Any, list[int]]:
    """The tallies summed per department (0) or per user (1)."""
    out: dict[Any, list[int]] = defaultdict(lambda: [0] * 7)
    for key, tally in tallies.items():
        out[key[position]] = [a + b for a, b in zip(out[key[position]], tally, strict=True)]
    return out


def _check_against(session: Session, report: Report, s: Scope) -> None:
    tallies = counts(session, s)
    total = [sum(t[i] for t in tallies.values()) for i in range(7)]
    departments = {d.id: d.name for d in session.execute(select(Department)).scalars()}
    people = {c.id: c for c in session.execute(select(Cabinet)).scalars()}

    by_department = report.table("by_department")
    want = {
        (departments[dept] if dept is not None else "No department"): cells(t) for dept, t in rolled(tallies, 0).items()
    }
    assert {row[0]: row[1:] for row in by_department.rows} == want
    assert len(by_department.rows) == len(want)
    assert by_department.total == ("Total", *cells(total))

    by_user = report.table("by_user")
    per_user = rolled(tallies, 1)
    assert [row[:2] for row in by_user.rows] == sorted((people[u].full_name, people[u].position) for u in per_user)
    assert {row[0]: row[2:] for row in by_user.rows} == {people[u].full_name: cells(t) for u, t in per_user.items()}
    assert by_user.total == ("Total", "", *cells(total))

    summary = report.table("summary")
    c = cells(total)
    assert [row[1:] for row in summary.rows] == [
        (total[0], total[1], c[1]),
        (total[0], total[2], c[2]),
        (total[3], total[4], c[4]),
        (total[5], total[6], c[7]),
    ]


# --- the tests ---------------------------------------------------------------------------------------------------


def test_registered_for_polyclinics_and_hospitals(session: Session, world: World) -> None:
    spec = base.REGISTRY[KEY]
    assert spec.kinds == frozenset({OrganizationKind.POLYCLINIC, OrganizationKind.HOSPITAL}) and spec.departments
    assert spec in base.offered(OrganizationKind.POLYCLINIC) and spec in base.offered(OrganizationKind.HOSPITAL)
    assert base.build(session, KEY, scope(world)).key == KEY
    pharmacy = Scope(world.org.id, world.org.name, OrganizationKind.PHARMACY, START, END)
    with pytest.raises(NotFound):
        base.build(session, KEY, pharmacy)


def test_every_figure_matches_an_independent_count(session: Session, world: World) -> None:
    s = scope(world)
    with language("en"):
        report = build(session, s)
    _check_against(session, report, s)


def test_figures_by_hand(session: Session, world: World) -> None:
    """The same figures written out from the fixture's story, so that a shared mistake of both counts shows."""
    with language("en"):
        report = build(session, scope(world))
    assert [row[1:] for row in report.table("summary").rows] == [
        (6, 5, pytest.approx(5 / 6)),  # V1-V4, V10, V11 closed; V2's diagnosis withdrawn
        (6, 3, 0.5),  # V1, V4 and V11 have an indicator in force
        (3, 1, pytest.approx(1 / 3)),  # S1-S3 closed; only S1 has its discharge
        (19, 7, pytest.approx(7 / 19)),
    ]
    by_department = {row[0]: row[1:] for row in report.table("by_department").rows}
    assert [row[0] for row in report.table("by_department").rows] == ["Kardiologiya", "Terapiya", "No department"]
    # Kardiologiya: V3, V4, V11; S2, S3; entries V3 dx (late), V4 dx, V11 dx, referral (late), correction,
    # instrumental (late), S2 admission (late), S3 admission.
    assert by_department["Kardiologiya"] == (3, 1.0, pytest.approx(2 / 3), 2, 0.0, 8, 4, 0.5)
    # Terapiya: V1, V2; S1; entries V1 x3 (1 late), V5 x2 (1 late), V6 x2 (1 late), S1 discharge, S4, S5 admissions.
    assert by_department["Terapiya"] == (2, 0.5, 0.5, 1, 1.0, 10, 3, 0.3)
    assert by_department["No department"] == (1, 1.0, 0.0, 0, None, 1, 0, 0.0)
    by_user = {row[0]: row[1:] for row in report.table("by_user").rows}
    assert [row[0] for row in report.table("by_user").rows] == [
        "Aliyev Aziz Botirovich",
        "Botirov Aziz Botirovich",
        "Nazarova Aziz Botirovich",
    ]
    assert by_user["Nazarova Aziz Botirovich"] == ("Hamshira", 0, None, None, 0, None, 6, 3, 0.5)
    assert report.table("summary").rows[3][0] == f"Entries saved more than {LATE_HOURS} hours after the event"


@pytest.mark.parametrize("which", ["d1", "d2"])
def test_department_filter(session: Session, world: World, which: str) -> None:
    dept = getattr(world, which)
    s = scope(world, dept)
    with language("en"):
        report = build(session, s)
    _check_against(session, report, s)
    assert [row[0] for row in report.table("by_department").rows] == [dept.name]


def test_periods(session: Session, world: World) -> None:
    s = scope(world, start=day(4), end=day(4))  # V1 and V4 closed on the 4th; S2 admitted late that day
    with language("en"):
        report = build(session, s)
    _check_against(session, report, s)
    assert [row[1:3] for row in report.table("summary").rows] == [(2, 2), (2, 2), (0, 0), (5, 2)]

    empty = scope(world, start=date(2031, 1, 1), end=date(2031, 1, 31))
    report = build(session, empty)
    assert report.table("by_department").rows == [] and report.table("by_user").rows == []
    assert [row[1:] for row in report.table("summary").rows] == [(0, 0, None)] * 4


@pytest.mark.parametrize("code", ["ru", "uz"])
def test_display_ready_in_the_language_of_the_request(session: Session, world: World, code: str) -> None:
    with language(code):
        report = build(session, scope(world))
    translations = catalog(code)
    assert report.title == translations.gettext("Data completeness and timeliness")
    by_department = report.table("by_department")
    assert by_department.columns[0].label == translations.gettext("Department")
    assert by_department.columns[0].label != "Department"  # translated in the catalog
    assert by_department.rows[-1][0] == translations.gettext("No department")

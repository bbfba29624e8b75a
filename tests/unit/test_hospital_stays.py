"""Hospital stays: admit into a bed, transfer, discharge; one patient per bed, times in order, a closed stay stays
closed, the referral completed, everything audited, nothing half-written on a refusal."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import flush, make_engine, utcnow
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import Actor, verify
from ehealth.emr.models import (
    Condition,
    ConditionKind,
    Encounter,
    EncounterKind,
    EncounterState,
    Referral,
    ReferralKind,
    ReferralState,
)
from ehealth.errors import ConstraintViolation, DomainError, NotFound, ValidationError
from ehealth.hospital.models import (
    Admission,
    AdmissionType,
    BedAssignment,
    BedMoveReason,
    Discharge,
    DischargeOutcome,
)
from ehealth.hospital.stays import admit, discharge, transfer
from ehealth.i18n import language
from ehealth.manage import migrate
from ehealth.outbox import ClinicalEvent
from ehealth.patients.models import Patient
from ehealth.reference.models import Bed, OrganizationKind
from tests import factories
from tests.hospital_factories import Hospital, beds, department, hospital, hospital_referral, ward

TABLES = (Encounter, Admission, BedAssignment, Discharge, Condition, Referral, AuditEvent, ClinicalEvent)


def counts(session: Session) -> dict[str, int]:
    """Rows in every table a stay writes to (what a refusal must leave unchanged)."""
    return {
        model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one() for model in TABLES
    }


def stay(
    session: Session,
    h: Hospital,
    who: Patient,
    bed: Bed,
    *,
    at: datetime | None = None,
    referral_id: int | None = None,
    actor: Actor | None = None,
) -> Admission:
    """Admit `who` into `bed` of the therapy department (or the department the bed is in)."""
    dept = h.icu if bed in h.icu_beds else h.therapy
    return admit(
        session,
        patient_id=who.id,
        department_id=dept.id,
        bed_id=bed.id,
        admission_type=AdmissionType.EMERGENCY,
        admitted_at=at or utcnow() - timedelta(hours=6),
        icd10_code="J18.9",
        actor=actor or h.as_doctor,
        referral_id=referral_id,
    )


def out(session: Session, h: Hospital, admission: Admission, **changes: object) -> Discharge:
    """Discharge `admission` as recovered now, with whatever `changes` say instead."""
    arguments: dict[str, object] = {
        "admission_id": admission.id,
        "discharged_at": utcnow(),
        "outcome": DischargeOutcome.RECOVERED,
        "final_icd10": "J18.9",
        "summary": "Davolash o'tkazildi, ahvoli yaxshilandi.",
        "actor": h.as_doctor,
    }
    arguments.update(changes)
    return discharge(session, **arguments)  # type: ignore[arg-type]


def refused(session: Session, error: type[DomainError], field: str | None, call: object) -> DomainError:
    """Run `call`, expect `error` naming `field`, and check that nothing was written."""
    assert callable(call)
    before = counts(session)
    with pytest.raises(error) as caught:
        call()
    assert caught.value.field == field, str(caught.value)
    assert counts(session) == before
    return caught.value


def actions(session: Session, patient_id: int) -> list[tuple[str, int | None, str | None]]:
    return [
        (action, pid, detail)
        for action, pid, detail in session.execute(
            select(AuditEvent.action, AuditEvent.patient_id, AuditEvent.detail)
            .where(AuditEvent.patient_id == patient_id)
            .order_by(AuditEvent.id)
        )
    ]


# --- the whole stay -------------------------------------------------------------------------------------------


def test_admit_transfer_discharge(session: Session) -> None:
    h = hospital(session)
    who = factories.patient(session)
    referral = hospital_referral(session, who, target=h.org)
    admitted_at = utcnow() - timedelta(days=3)
    admission = admit(
        session,
        patient_id=who.id,
        department_id=h.therapy.id,
        bed_id=h.therapy_beds[0].id,
        admission_type="planned",
        admitted_at=admitted_at,
        icd10_code="j18.9",
        actor=h.as_nurse,
        referral_id=referral.id,
        reason="  Zotiljam,   rejali  ",
    )
    encounter = session.get(Encounter, admission.encounter_id)
    assert encounter is not None
    assert (encounter.kind, encounter.state, encounter.practitioner_id) == (
        EncounterKind.INPATIENT,
        EncounterState.OPEN,
        h.nurse.id,
    )
    assert (encounter.organization_id, encounter.department_id, encounter.patient_id) == (
        h.org.id,
        h.therapy.id,
        who.id,
    )
    assert (encounter.started_at, encounter.reason) == (admitted_at, "Zotiljam, rejali")
    assert (admission.admission_type, admission.icd10_code, admission.referral_id) == ("planned", "J18.9", referral.id)
    first = session.execute(select(BedAssignment).where(BedAssignment.admission_id == admission.id)).scalar_one()
    assert (first.bed_id, first.reason, first.started_at, first.ended_at) == (
        h.therapy_beds[0].id,
        BedMoveReason.ADMISSION,
        admitted_at,
        None,
    )
    assert (referral.state, referral.completed_encounter_id) == (ReferralState.COMPLETED, encounter.id)
    assert referral.completed_at is not None

    moved_at = admitted_at + timedelta(hours=5)
    second = transfer(
        session,
        admission_id=admission.id,
        bed_id=h.icu_beds[1].id,
        moved_at=moved_at,
        reason=BedMoveReason.TRANSFER,
        actor=h.as_doctor,
    )
    assert first.ended_at == moved_at
    # The department comes from the bed when it is not given.
    assert (second.bed_id, second.department_id, second.started_at, second.ended_at) == (
        h.icu_beds[1].id,
        h.icu.id,
        moved_at,
        None,
    )
    assert (second.encounter_id, second.patient_id, second.reason) == (encounter.id, who.id, BedMoveReason.TRANSFER)

    discharged_at = utcnow() - timedelta(minutes=10)
    row = out(session, h, admission, discharged_at=discharged_at, final_icd10="J18.0", summary="  Sog'aydi.  ")
    assert (row.outcome, row.icd10_code, row.discharged_at, row.encounter_id) == (
        DischargeOutcome.RECOVERED,
        "J18.0",
        discharged_at,
        encounter.id,
    )
    assert second.ended_at == discharged_at
    assert (encounter.state, encounter.ended_at) == (EncounterState.CLOSED, discharged_at)
    final = session.execute(select(Condition).where(Condition.encounter_id == encounter.id)).scalar_one()
    assert (final.kind, final.icd10_code, final.recorded_at, final.note, final.created_by) == (
        ConditionKind.FINAL,
        "J18.0",
        discharged_at,
        "Sog'aydi.",
        h.doctor.id,
    )
    assert actions(session, who.id) == [
        ("referral.completed", who.id, None),
        ("hospital.admitted", who.id, None),
        ("hospital.transferred", who.id, None),
        ("hospital.discharged", who.id, None),
    ]
    assert list(verify(session)) == []
    # Every clinical write went to the outbox in the same transaction.
    kinds = set(session.execute(select(ClinicalEvent.kind).where(ClinicalEvent.patient_id == who.id)).scalars())
    assert {"encounter.created", "admission.created", "bed_assignment.created", "bed_assignment.updated"} <= kinds
    assert {"discharge.created", "condition.created", "encounter.updated", "referral.updated"} <= kinds


def test_a_discharged_patient_can_come_back_in_a_new_stay(session: Session) -> None:
    h = hospital(session)
    who = factories.patient(session)
    first = stay(session, h, who, h.therapy_beds[0], at=utcnow() - timedelta(days=5))
    out(session, h, first, discharged_at=utcnow() - timedelta(days=2))
    again = stay(session, h, who, h.therapy_beds[0])
    assert again.encounter_id != first.encounter_id


def test_transferred_outcome_names_another_hospital(session: Session) -> None:
    h = hospital(session)
    other = factories.organization(session, OrganizationKind.HOSPITAL)
    admission = stay(session, h, factories.patient(session), h.therapy_beds[0])
    row = out(session, h, admission, outcome="transferred", transferred_to_id=other.id)
    assert (row.outcome, row.transferred_to_id) == (DischargeOutcome.TRANSFERRED, other.id)


# --- one patient per bed --------------------------------------------------------------------------------------


def test_an_occupied_bed_is_refused_by_name(session: Session) -> None:
    h = hospital(session)
    bed = h.therapy_beds[1]
    stay(session, h, factories.patient(session), bed)
    second = factories.patient(session)
    error = refused(session, ValidationError, "bed_id", lambda: stay(session, h, second, bed))
    with language("en"):
        assert str(error) == "Bed 2 of ward 101 is occupied."
    # Nor can someone be moved into it.
    elsewhere = stay(session, h, second, h.therapy_beds[2])
    refused(
        session,
        ValidationError,
        "bed_id",
        lambda: transfer(session, admission_id=elsewhere.id, bed_id=bed.id, moved_at=utcnow(), actor=h.as_doctor),
    )


def test_the_index_refuses_a_second_patient_the_check_did_not_see(session: Session) -> None:
    h = hospital(session)
    bed = h.therapy_beds[0]
    stay(session, h, factories.patient(session), bed)
    # A stay without a current bed (discharged), so that only the bed's index can object.
    other = stay(session, h, factories.patient(session), h.therapy_beds[1], at=utcnow() - timedelta(days=1))
    out(session, h, other)
    # What a racing writer would insert after passing the service's check: the database refuses it.
    intruder = BedAssignment(
        patient_id=other.patient_id,
        organization_id=h.org.id,
        created_by=h.nurse.id,
        encounter_id=other.encounter_id,
        admission_id=other.id,
        department_id=h.therapy.id,
        bed_id=bed.id,
        reason=BedMoveReason.TRANSFER,
        started_at=utcnow(),
    )
    with pytest.raises(ConstraintViolation) as caught, session.begin_nested():
        session.add(intruder)
        flush(session)
    with language("en"):
        assert str(caught.value) == "This bed is occupied."


@pytest.mark.parametrize("scratch_url", ["postgresql"], indirect=True)
def test_two_sessions_racing_for_a_bed(scratch_url: str) -> None:
    """Both pass the check; the second waits on the unique index and gets a ConstraintViolation, not a 500."""
    migrate(scratch_url)
    engine = make_engine(scratch_url)
    try:
        with Session(engine, expire_on_commit=False) as setup:
            h = hospital(setup)
            first, second = factories.patient(setup), factories.patient(setup)
            setup.commit()
        bed = h.therapy_beds[0]
        winner, loser = Session(engine), Session(engine)
        outcome: list[BaseException | Admission] = []

        def late() -> None:
            try:
                outcome.append(stay(loser, h, second, bed))
            except BaseException as error:  # handed to the main thread to assert on
                outcome.append(error)

        try:
            stay(winner, h, first, bed)  # flushed, not committed: the bed's index entry is held
            racer = threading.Thread(target=late)
            racer.start()
            racer.join(timeout=1.0)
            assert racer.is_alive(), "the second admission should wait on the first one's index entry"
            winner.commit()
            racer.join(timeout=10)
            assert not racer.is_alive()
        finally:
            winner.close()
            loser.rollback()
            loser.close()
        assert len(outcome) == 1 and isinstance(outcome[0], ConstraintViolation), outcome
        with language("en"):
            assert str(outcome[0]) == "This bed is occupied."
        with Session(engine) as check:
            holders = check.execute(
                select(BedAssignment.patient_id).where(BedAssignment.bed_id == bed.id, BedAssignment.ended_at.is_(None))
            ).scalars()
            assert list(holders) == [first.id]
            assert check.execute(select(func.count()).where(Encounter.patient_id == second.id)).scalar_one() == 0
    finally:
        engine.dispose()


# --- who, where and which stay --------------------------------------------------------------------------------


def test_the_patient_already_in_this_hospital_is_refused(session: Session) -> None:
    h = hospital(session)
    who = factories.patient(session)
    stay(session, h, who, h.therapy_beds[0])
    refused(session, ValidationError, "patient_id", lambda: stay(session, h, who, h.therapy_beds[1]))
    # Another hospital may admit them (a stay elsewhere is that hospital's to close).
    other = hospital(session)
    stay(session, other, who, other.therapy_beds[0])


def test_another_organizations_bed_or_department_is_refused(session: Session) -> None:
    h, other = hospital(session), hospital(session)
    who = factories.patient(session)
    error = refused(
        session,
        ValidationError,
        "bed_id",
        lambda: admit(
            session,
            patient_id=who.id,
            department_id=h.therapy.id,
            bed_id=other.therapy_beds[0].id,
            admission_type="emergency",
            admitted_at=utcnow(),
            icd10_code="I10",
            actor=h.as_doctor,
        ),
    )
    with language("en"):
        assert str(error) == "Bed 1 belongs to another organization."
    refused(
        session,
        ValidationError,
        "department_id",
        lambda: admit(
            session,
            patient_id=who.id,
            department_id=other.therapy.id,
            bed_id=h.therapy_beds[0].id,
            admission_type="emergency",
            admitted_at=utcnow(),
            icd10_code="I10",
            actor=h.as_doctor,
        ),
    )
    admission = stay(session, h, who, h.therapy_beds[0])
    refused(
        session,
        ValidationError,
        "bed_id",
        lambda: transfer(
            session, admission_id=admission.id, bed_id=other.icu_beds[0].id, moved_at=utcnow(), actor=h.as_doctor
        ),
    )
    # The other hospital cannot see this stay, let alone move or discharge it.
    refused(
        session,
        NotFound,
        "admission_id",
        lambda: transfer(
            session, admission_id=admission.id, bed_id=other.icu_beds[0].id, moved_at=utcnow(), actor=other.as_doctor
        ),
    )
    refused(session, NotFound, "admission_id", lambda: out(session, h, admission, actor=other.as_doctor))


def test_the_bed_must_be_in_the_department_and_in_service(session: Session) -> None:
    h = hospital(session)
    who = factories.patient(session)

    def into(bed: Bed) -> Admission:
        return admit(
            session,
            patient_id=who.id,
            department_id=h.therapy.id,
            bed_id=bed.id,
            admission_type="emergency",
            admitted_at=utcnow(),
            icd10_code="I10",
            actor=h.as_doctor,
        )

    error = refused(session, ValidationError, "bed_id", lambda: into(h.icu_beds[0]))
    with language("en"):
        assert str(error) == "Bed 1 of ward R1 is not in the department Terapiya."
    broken = beds(session, ward(session, h.therapy, "102"), 1, active=False)[0]
    refused(session, ValidationError, "bed_id", lambda: into(broken))
    refused(session, NotFound, "bed_id", lambda: into(Bed(id=-1)))
    admission = stay(session, h, who, h.therapy_beds[0])
    refused(
        session,
        ValidationError,
        "bed_id",
        lambda: transfer(
            session,
            admission_id=admission.id,
            bed_id=h.therapy_beds[1].id,
            department_id=h.icu.id,
            moved_at=utcnow(),
            actor=h.as_doctor,
        ),
    )
    error = refused(
        session,
        ValidationError,
        "bed_id",
        lambda: transfer(
            session, admission_id=admission.id, bed_id=h.therapy_beds[0].id, moved_at=utcnow(), actor=h.as_doctor
        ),
    )
    with language("en"):
        assert str(error) == "The patient is already in this bed."


def test_a_cabinet_of_an_organization_records_the_stay(session: Session) -> None:
    h = hospital(session)
    who = factories.patient(session)
    nobody = Actor(None, "system", None)
    refused(session, DomainError, None, lambda: stay(session, h, who, h.therapy_beds[0], actor=nobody))


def test_unknown_or_merged_patient_is_refused(session: Session) -> None:
    h = hospital(session)
    survivor, duplicate = factories.patient(session), factories.patient(session)
    duplicate.merged_into_id = survivor.id
    session.flush()
    refused(session, ValidationError, "patient_id", lambda: stay(session, h, duplicate, h.therapy_beds[0]))
    refused(session, NotFound, "patient_id", lambda: stay(session, h, Patient(id=-1), h.therapy_beds[0]))


# --- the referral ---------------------------------------------------------------------------------------------


def test_only_this_patients_issued_hospital_referral_is_accepted(session: Session) -> None:
    h = hospital(session)
    who, someone = factories.patient(session), factories.patient(session)
    bed = h.therapy_beds[0]
    theirs = hospital_referral(session, someone)
    lab = hospital_referral(session, who, kind=ReferralKind.LAB)
    later = hospital_referral(session, who, issued_at=utcnow() - timedelta(hours=1))
    cancelled = hospital_referral(session, who)
    cancelled.state = ReferralState.CANCELLED
    mistaken = hospital_referral(session, who)
    mistaken.status_reason, mistaken.status_changed_at = "Xato kiritilgan", utcnow()
    mistaken.status = "entered_in_error"  # type: ignore[assignment]
    session.flush()
    for referral in (theirs, lab, later, cancelled, mistaken):
        refused(
            session, ValidationError, "referral_id", lambda r=referral: stay(session, h, who, bed, referral_id=r.id)
        )
    refused(session, NotFound, "referral_id", lambda: stay(session, h, who, bed, referral_id=-1))
    used = hospital_referral(session, who)
    first = stay(session, h, who, bed, referral_id=used.id, at=utcnow() - timedelta(days=2))
    out(session, h, first, discharged_at=utcnow() - timedelta(days=1))
    refused(session, ValidationError, "referral_id", lambda: stay(session, h, who, bed, referral_id=used.id))
    assert (theirs.state, lab.state, later.state) == (ReferralState.ISSUED,) * 3


# --- times ----------------------------------------------------------------------------------------------------


def test_future_times_are_refused_beyond_the_clock_skew(session: Session) -> None:
    h = hospital(session)
    who = factories.patient(session)
    bed = h.therapy_beds[0]
    error = refused(
        session, ValidationError, "admitted_at", lambda: stay(session, h, who, bed, at=utcnow() + timedelta(minutes=6))
    )
    with language("en"):
        assert str(error) == "The admission time cannot be in the future."
    refused(
        session,
        ValidationError,
        "admitted_at",
        lambda: stay(session, h, who, bed, at=datetime.now() - timedelta(hours=1)),  # naive on purpose
    )
    # A workstation a few minutes ahead is tolerated.
    admission = stay(session, h, who, bed, at=utcnow() + timedelta(minutes=4))
    refused(
        session,
        ValidationError,
        "moved_at",
        lambda: transfer(
            session,
            admission_id=admission.id,
            bed_id=h.icu_beds[0].id,
            moved_at=utcnow() + timedelta(hours=1),
            actor=h.as_doctor,
        ),
    )
    refused(
        session,
        ValidationError,
        "discharged_at",
        lambda: out(session, h, admission, discharged_at=utcnow() + timedelta(days=1)),
    )


def test_moves_and_discharge_keep_time_order(session: Session) -> None:
    h = hospital(session)
    admitted_at = datetime(2025, 3, 1, 5, 0, tzinfo=UTC)
    admission = stay(session, h, factories.patient(session), h.therapy_beds[0], at=admitted_at)
    error = refused(
        session,
        ValidationError,
        "discharged_at",
        lambda: out(session, h, admission, discharged_at=admitted_at - timedelta(minutes=1)),
    )
    with language("en"):
        assert str(error) == "The discharge cannot be before the admission (01.03.2025 10:00)."
    refused(
        session,
        ValidationError,
        "moved_at",
        lambda: transfer(
            session,
            admission_id=admission.id,
            bed_id=h.icu_beds[0].id,
            moved_at=admitted_at - timedelta(minutes=1),
            actor=h.as_doctor,
        ),
    )
    moved_at = admitted_at + timedelta(days=1)
    transfer(session, admission_id=admission.id, bed_id=h.icu_beds[0].id, moved_at=moved_at, actor=h.as_nurse)
    refused(
        session,
        ValidationError,
        "moved_at",
        lambda: transfer(
            session,
            admission_id=admission.id,
            bed_id=h.icu_beds[1].id,
            moved_at=moved_at - timedelta(hours=1),
            actor=h.as_doctor,
        ),
    )
    refused(
        session,
        ValidationError,
        "discharged_at",
        lambda: out(session, h, admission, discharged_at=moved_at - timedelta(hours=1)),
    )
    out(session, h, admission, discharged_at=moved_at)  # leaving the moment one arrived is allowed


# --- a discharged stay is closed ------------------------------------------------------------------------------


def test_a_discharged_stay_cannot_be_discharged_or_moved_again(session: Session) -> None:
    h = hospital(session)
    admission = stay(session, h, factories.patient(session), h.therapy_beds[0])
    out(session, h, admission)
    error = refused(session, DomainError, "admission_id", lambda: out(session, h, admission))
    with language("en"):
        assert str(error) == "This stay has already been discharged."
    refused(
        session,
        DomainError,
        "admission_id",
        lambda: transfer(
            session, admission_id=admission.id, bed_id=h.icu_beds[0].id, moved_at=utcnow(), actor=h.as_doctor
        ),
    )
    # The bed is free again.
    stay(session, h, factories.patient(session), h.therapy_beds[0])


def test_a_stay_entered_in_error_cannot_be_changed(session: Session) -> None:
    h = hospital(session)
    admission = stay(session, h, factories.patient(session), h.therapy_beds[0])
    admission.status_reason, admission.status_changed_at = "Boshqa bemor", utcnow()
    admission.status = "entered_in_error"  # type: ignore[assignment]
    session.flush()
    refused(session, DomainError, "admission_id", lambda: out(session, h, admission))


# --- what the discharge needs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"outcome": "better"}, "outcome"),
        ({"outcome": ""}, "outcome"),
        ({"final_icd10": "E10-E14"}, "final_icd10"),
        ({"final_icd10": ""}, "final_icd10"),
        ({"summary": "   "}, "summary"),
        ({"summary": "x" * 20_001}, "summary"),
        ({"outcome": "transferred"}, "transferred_to_id"),
        ({"outcome": "died", "transferred_to_id": "other"}, "transferred_to_id"),
        ({"outcome": "transferred", "transferred_to_id": "self"}, "transferred_to_id"),
        ({"outcome": "transferred", "transferred_to_id": "pharmacy"}, "transferred_to_id"),
    ],
)
def test_discharge_refusals_name_the_field(session: Session, changes: dict[str, object], field: str) -> None:
    h = hospital(session)
    targets = {
        "other": factories.organization(session, OrganizationKind.HOSPITAL).id,
        "self": h.org.id,
        "pharmacy": factories.organization(session, OrganizationKind.PHARMACY).id,
    }
    target = changes.get("transferred_to_id")
    if isinstance(target, str):
        changes = {**changes, "transferred_to_id": targets[target]}
    admission = stay(session, h, factories.patient(session), h.therapy_beds[0])
    refused(session, ValidationError, field, lambda: out(session, h, admission, **changes))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"admission_type": "walk-in"}, "admission_type"),
        ({"icd10_code": "XYZ"}, "icd10_code"),
        ({"reason": "x" * 301}, "reason"),
    ],
)
def test_admission_refusals_name_the_field(session: Session, changes: dict[str, object], field: str) -> None:
    h = hospital(session)
    arguments: dict[str, object] = {
        "patient_id": factories.patient(session).id,
        "department_id": h.therapy.id,
        "bed_id": h.therapy_beds[0].id,
        "admission_type": "emergency",
        "admitted_at": utcnow(),
        "icd10_code": "I10",
        "actor": h.as_doctor,
        **changes,
    }
    refused(session, ValidationError, field, lambda: admit(session, **arguments))  # type: ignore[arg-type]


def test_a_move_needs_a_move_reason(session: Session) -> None:
    h = hospital(session)
    admission = stay(session, h, factories.patient(session), h.therapy_beds[0])
    for reason in ("admission", "because"):
        refused(
            session,
            ValidationError,
            "reason",
            lambda r=reason: transfer(
                session,
                admission_id=admission.id,
                bed_id=h.icu_beds[0].id,
                moved_at=utcnow(),
                reason=r,
                actor=h.as_doctor,
            ),
        )


def test_departments_without_beds_do_not_take_patients(session: Session) -> None:
    h = hospital(session)
    empty = department(session, h.org, "Qabul")
    refused(
        session,
        ValidationError,
        "bed_id",
        lambda: admit(
            session,
            patient_id=factories.patient(session).id,
            department_id=empty.id,
            bed_id=h.therapy_beds[0].id,
            admission_type="emergency",
            admitted_at=utcnow(),
            icd10_code="I10",
            actor=h.as_doctor,
        ),
    )

"""The record as a timeline (R-11, R-13): every organization and module, newest first, corrected and withdrawn
entries kept and marked, text in the reader's language, a bounded number of queries, one audited read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Role
from ehealth.audit.models import AuditEvent
from ehealth.clinical import RecordStatus
from ehealth.emr import entries
from ehealth.emr.access import AccessDenied
from ehealth.emr.corrections import correct, withdraw
from ehealth.emr.models import Flag, Observation, ReferralKind, TreatmentRecord
from ehealth.emr.timeline import TimelineItem, TimelineKind, timeline
from ehealth.errors import ValidationError
from ehealth.i18n import language
from ehealth.prescription.models import Prescription
from ehealth.reference.models import OrganizationKind
from tests import emr_factories as ef
from tests import factories


@dataclass
class Record:
    """A patient seen at a polyclinic and earlier in a hospital."""

    clinic: ef.Clinic
    ids: dict[str, int]


def build(session: Session) -> Record:
    c = ef.clinic(session)
    now = utcnow()
    ids: dict[str, int] = {}
    stay, admission, discharge = ef.hospital_stay(session, c.patient, now - timedelta(days=10), now - timedelta(days=3))
    ids |= {"stay": stay.id, "admission": admission.id, "discharge": discharge.id}
    ids["referral"] = ef.referral(session, c.visit, ReferralKind.LAB).id  # issued 50 minutes ago
    vitals = entries.record_indicators(
        session,
        encounter_id=c.visit.id,
        values={"pulse": 118, "temperature": 36.6},
        effective_at=now - timedelta(minutes=45),
        actor=c.as_nurse,
    )
    ids["pulse"] = next(row.id for row in vitals if row.code == "pulse")
    ids["lab"] = entries.record_lab_result(
        session,
        encounter_id=c.visit.id,
        test_code="HGB",
        test_name="Gemoglobin",
        collected_at=now - timedelta(minutes=40),
        resulted_at=now - timedelta(minutes=30),
        value_numeric=98,
        unit="g/L",
        reference_low=120,
        reference_high=160,
        referral_id=ids["referral"],
        actor=c.as_nurse,
    ).id
    ids["prescription"] = ef.prescription(session, c.visit, now - timedelta(minutes=25)).id
    ids["dispense"] = ef.dispense(session, ids["prescription"], now - timedelta(minutes=10)).id
    ids["study"] = entries.record_instrumental_result(
        session,
        encounter_id=c.visit.id,
        modality="ecg",
        study="EKG",
        conclusion="Sinus taxikardiyasi",
        performed_at=now - timedelta(minutes=20),
        actor=c.as_doctor,
    ).id
    ids["treatment"] = entries.record_treatment(
        session,
        encounter_id=c.visit.id,
        kind="note",
        title="Ko'rik",
        performed_at=now - timedelta(minutes=15),
        actor=c.as_doctor,
    ).id
    ids["allergy"] = entries.record_allergy(
        session,
        patient_id=c.patient.id,
        substance="Penitsillin",
        severity="severe",
        reaction="Eshakyem",
        actor=c.as_doctor,
    ).id
    ids["diagnosis"] = entries.record_diagnosis(
        session, encounter_id=c.visit.id, icd10_code="I10", kind="final", actor=c.as_doctor
    ).id
    ids["pulse_corrected"] = correct(
        session, model=Observation, row_id=ids["pulse"], changes={"value": 78}, reason="Xato", actor=c.as_nurse
    ).id
    withdraw(session, model=TreatmentRecord, row_id=ids["treatment"], reason="Boshqa bemor", actor=c.as_doctor)
    return Record(c, ids)


def find(items: list[TimelineItem], kind: TimelineKind, row_id: int) -> TimelineItem:
    return next(item for item in items if item.kind == kind and item.id == row_id)


def test_every_kind_of_entry_newest_first(session: Session) -> None:
    record = build(session)
    c = record.clinic
    items = timeline(session, c.patient.id, actor=c.as_doctor)
    assert {item.kind for item in items} == set(TimelineKind)
    assert [item.when for item in items] == sorted((item.when for item in items), reverse=True)
    # Ten days ago at another organization: the stay and its admission, at the same moment.
    assert {item.kind for item in items[-2:]} == {TimelineKind.ENCOUNTER, TimelineKind.ADMISSION}
    assert len(items) == 15  # 2 encounters, 3 indicators (a pulse and its correction), one of each other kind


def test_items_say_what_where_and_by_whom(session: Session) -> None:
    record = build(session)
    c, ids = record.clinic, record.ids
    with language("en"):
        items = timeline(session, c.patient.id, actor=c.as_doctor)
    diagnosis = find(items, TimelineKind.DIAGNOSIS, ids["diagnosis"])
    assert diagnosis.title == "I10 Essential (primary) hypertension" and diagnosis.detail == "Final diagnosis"
    assert (diagnosis.organization, diagnosis.author, diagnosis.encounter_id) == (
        c.org.name,
        c.doctor.full_name,
        c.visit.id,
    )
    lab = find(items, TimelineKind.LAB, ids["lab"])
    assert (lab.title, lab.detail, lab.flag) == ("Gemoglobin", "98 g/L · reference 120-160 · low", Flag.LOW)
    pulse = find(items, TimelineKind.INDICATOR, ids["pulse_corrected"])
    assert (pulse.title, pulse.detail, pulse.flag) == ("Pulse", "78 /min", Flag.NORMAL)
    assert find(items, TimelineKind.INSTRUMENTAL, ids["study"]).title == "ECG: EKG"
    assert find(items, TimelineKind.ALLERGY, ids["allergy"]).detail == "severe · Eshakyem"
    referral = find(items, TimelineKind.REFERRAL, ids["referral"])
    assert referral.title == "Referral to the laboratory" and referral.detail.startswith("completed")
    prescription = find(items, TimelineKind.PRESCRIPTION, ids["prescription"])
    assert "Amlodipine 5 mg" in prescription.detail and "I10" in prescription.detail
    visit = find(items, TimelineKind.ENCOUNTER, c.visit.id)
    assert (visit.title, visit.encounter_id) == ("Outpatient visit", c.visit.id)
    assert c.doctor.full_name in visit.detail and "in progress" in visit.detail
    stay = find(items, TimelineKind.ENCOUNTER, ids["stay"])
    admission = find(items, TimelineKind.ADMISSION, ids["admission"])
    assert stay.title == "Inpatient stay" and "Terapiya" in stay.detail
    assert admission.organization == stay.organization != c.org.name  # across organizations
    assert "J18.9 Pneumonia, unspecified" in admission.detail and admission.encounter_id == ids["stay"]
    assert "recovered" in find(items, TimelineKind.DISCHARGE, ids["discharge"]).detail


def test_corrected_and_withdrawn_entries_stay_marked(session: Session) -> None:
    record = build(session)
    c, ids = record.clinic, record.ids
    items = timeline(session, c.patient.id, actor=c.as_doctor)
    old, new = (
        find(items, TimelineKind.INDICATOR, ids["pulse"]),
        find(items, TimelineKind.INDICATOR, ids["pulse_corrected"]),
    )
    assert (old.status, new.status, new.replaces_id) == (RecordStatus.SUPERSEDED, RecordStatus.ACTIVE, old.id)
    assert old.flag == Flag.HIGH and old.detail.startswith("118")
    assert find(items, TimelineKind.TREATMENT, ids["treatment"]).status == RecordStatus.ENTERED_IN_ERROR


def test_the_reader_language_is_used(session: Session) -> None:
    record = build(session)
    c, ids = record.clinic, record.ids
    for code, name in (("uz", "Essensial (birlamchi) gipertenziya"), ("ru", "Эссенциальная (первичная) гипертензия")):
        with language(code):
            items = timeline(session, c.patient.id, actor=c.as_doctor, kinds=["diagnosis"])
        assert find(items, TimelineKind.DIAGNOSIS, ids["diagnosis"]).title == f"I10 {name}"


def test_kinds_and_limit(session: Session) -> None:
    record = build(session)
    c = record.clinic
    only = timeline(session, c.patient.id, actor=c.as_doctor, kinds=["diagnosis", "allergy"])
    assert sorted(item.kind for item in only) == ["allergy", "diagnosis"]
    everything = timeline(session, c.patient.id, actor=c.as_doctor)
    assert timeline(session, c.patient.id, actor=c.as_doctor, limit=3) == everything[:3]
    for kinds, limit, field in ((["gossip"], 10, "kinds"), (None, 0, "limit"), (None, 10**6, "limit")):
        with pytest.raises(ValidationError) as error:
            timeline(session, c.patient.id, actor=c.as_doctor, kinds=kinds, limit=limit)
        assert error.value.field == field


def test_one_audited_read_and_no_read_outside_the_work_with_the_patient(session: Session) -> None:
    record = build(session)
    c = record.clinic
    before = session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    timeline(session, c.patient.id, actor=c.as_nurse)
    reads = session.execute(select(AuditEvent).where(AuditEvent.id > before)).scalars().all()
    assert [(e.action, e.patient_id, e.actor_id, e.detail) for e in reads] == [
        ("emr.record.read", c.patient.id, c.nurse.id, "timeline; basis: encounter")
    ]
    stranger = factories.cabinet(session, factories.organization(session, OrganizationKind.HOSPITAL), Role.DOCTOR)
    with pytest.raises(AccessDenied):
        timeline(session, c.patient.id, actor=ef.actor(stranger))


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    connection = session.connection()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def test_the_number_of_queries_does_not_grow_with_the_record(session: Session) -> None:
    record = build(session)
    c = record.clinic
    session.flush()
    session.expire_all()  # nothing cached: both reads start alike
    with statements(session) as small:
        timeline(session, c.patient.id, actor=c.as_doctor)
    for n in range(15):
        entries.record_indicators(
            session,
            encounter_id=c.visit.id,
            values={"pulse": 60 + n},
            effective_at=utcnow() - timedelta(minutes=n),
            actor=c.as_nurse,
        )
        given = ef.prescription(session, c.visit, utcnow() - timedelta(minutes=n))
        ef.dispense(session, given.id, utcnow() - timedelta(minutes=n))
        ef.hospital_stay(session, c.patient, utcnow() - timedelta(days=40 + n), utcnow() - timedelta(days=35 + n))
    session.flush()
    session.expire_all()
    with statements(session) as large:
        items = timeline(session, c.patient.id, actor=c.as_doctor)
    assert len(items) == 15 + 15 * 6
    assert len(large) == len(small) and len(large) <= 21


def test_a_dispense_names_its_prescription_quantity_and_batch(session: Session) -> None:
    record = build(session)
    c, ids = record.clinic, record.ids
    with language("en"):
        items = timeline(session, c.patient.id, actor=c.as_doctor)
    number = session.get(Prescription, ids["prescription"]).number  # type: ignore[union-attr]
    given = find(items, TimelineKind.DISPENSE, ids["dispense"])
    assert given.title == "Dispensed at the pharmacy"
    assert number in given.detail and "30 tablet" in given.detail and "batch AT2511001" in given.detail

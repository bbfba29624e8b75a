"""Merging duplicate patient records and undoing it exactly (R-13.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

import ehealth.models  # noqa: F401  (the whole schema in Base.metadata)
from db import Base
from ehealth.access.models import Role
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import SYSTEM, Actor, verify
from ehealth.emr.models import Encounter
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import language
from ehealth.outbox import ClinicalEvent
from ehealth.patients.merge import HISTORY_TABLES, merge, patient_tables, unmerge
from ehealth.patients.models import Patient, PatientMerge
from ehealth.patients.registry import find_by_pinfl, search
from tests import factories, patients_factories

Row = tuple[str, int, int]


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """These tests read the refusals' English wording (the portal's default language is Uzbek)."""
    with language("en"):
        yield


def every_patient_table() -> list[Table]:
    """Every table with a patient_id referencing patient, the logs included."""
    return [
        table
        for table in Base.metadata.sorted_tables
        if "patient_id" in table.c and any(k.target_fullname == "patient.id" for k in table.c.patient_id.foreign_keys)
    ]


def snapshot(session: Session) -> set[Row]:
    """(table, id, patient_id) of every row of every table that holds a patient id."""
    session.flush()
    rows: set[Row] = set()
    for table in every_patient_table():
        for row_id, patient_id in session.execute(select(table.c.id, table.c.patient_id)):
            rows.add((table.name, row_id, patient_id))
    return rows


@pytest.fixture
def where(session: Session) -> patients_factories.Setting:
    return patients_factories.setting(session)


@pytest.fixture
def registrar(session: Session, where: patients_factories.Setting) -> Actor:
    cabinet = factories.cabinet(session, where.polyclinic, Role.REGISTRAR)
    return Actor(cabinet.id, "registrar", where.polyclinic.id, "10.3.3.3")


def two_records(session: Session, where: patients_factories.Setting) -> tuple[Patient, Patient]:
    """Two records of one person (same name and birth date), each with a row in every patient table."""
    survivor, duplicate = factories.patient(session), factories.patient(session)
    patients_factories.full_record(session, where, survivor)
    patients_factories.full_record(session, where, duplicate)
    return survivor, duplicate


def test_patient_tables_come_from_the_schema() -> None:
    names = {table.name for table in patient_tables()}
    assert names == {table.name for table in every_patient_table()} - HISTORY_TABLES
    assert {"encounter", "condition", "observation", "prescription", "prescription_item", "admission"} <= names
    assert not names & {"audit_event", "clinical_event", "patient", "patient_merge"}
    assert all("id" in table.c for table in patient_tables())  # a merge records row ids


def test_merge_moves_everything_and_unmerge_restores_it_exactly(
    session: Session, where: patients_factories.Setting, registrar: Actor
) -> None:
    survivor, duplicate = two_records(session, where)
    before = snapshot(session)
    duplicate_rows = {(table, row_id) for table, row_id, owner in before if owner == duplicate.id}
    # The fixture covers every table a merge moves, so nothing here passes for want of rows.
    assert {table for table, _ in duplicate_rows} - HISTORY_TABLES == {t.name for t in patient_tables()}

    last_event = session.execute(select(func.max(ClinicalEvent.id))).scalar_one()

    entry = merge(
        session, survivor_id=survivor.id, merged_id=duplicate.id, reason="  Bir odam,  ikki karta ", actor=registrar
    )

    assert (entry.survivor_id, entry.merged_id, entry.reason) == (survivor.id, duplicate.id, "Bir odam, ikki karta")
    assert (entry.merged_by, entry.undone_at) == (registrar.cabinet_id, None)
    assert duplicate.merged_into_id == survivor.id and survivor.merged_into_id is None
    merged_state = snapshot(session)
    moved = {
        (table, row_id) for table, row_id, owner in before if owner == duplicate.id and table not in HISTORY_TABLES
    }
    assert {(t, i) for t, ids in entry.moved.items() for i in ids} == moved
    for table, row_id, owner in merged_state:
        if (table, row_id) in moved:
            assert owner == survivor.id, (table, row_id)
        elif table not in HISTORY_TABLES:
            assert owner == survivor.id or (table, row_id, owner) in before, (table, row_id)
    # The logs keep what they recorded.
    assert {r for r in before if r[0] in HISTORY_TABLES} <= merged_state
    # Downstream learns of each moved clinical row through the outbox.
    visit_ids = entry.moved["encounter"]
    outbox = session.execute(
        select(ClinicalEvent.entity_id, ClinicalEvent.patient_id).where(
            ClinicalEvent.id > last_event,
            ClinicalEvent.kind == "encounter.updated",
            ClinicalEvent.entity_id.in_(visit_ids),
        )
    ).all()
    assert {tuple(row) for row in outbox} == {(visit_id, survivor.id) for visit_id in visit_ids}

    # The duplicate is hidden: search lists the survivor only, its PINFL leads to the survivor.
    found = search(
        session,
        surname=survivor.surname,
        given_name=survivor.given_name,
        birth_date=survivor.birth_date,
        actor=registrar,
    )
    assert found == [survivor]
    assert find_by_pinfl(session, duplicate.pinfl, actor=registrar) is survivor

    # Written for the survivor after the merge: stays with the survivor.
    later = factories.encounter(session, where.polyclinic, where.doctor, survivor)
    later_diagnosis = factories.diagnosis(session, later)

    undone = unmerge(session, merge_id=entry.id, reason="Egizaklar, ikki odam", actor=registrar)

    assert undone is entry
    assert (entry.undone_by, entry.undo_reason) == (registrar.cabinet_id, "Egizaklar, ikki odam")
    assert entry.undone_at is not None
    assert duplicate.merged_into_id is None
    after = snapshot(session)
    assert {row for row in after if (row[0], row[1]) in {(t, i) for t, i, _ in before}} == before
    new_rows = after - before
    assert ("encounter", later.id, survivor.id) in new_rows and (
        "condition",
        later_diagnosis.id,
        survivor.id,
    ) in new_rows
    assert {table for table, _, _ in new_rows} <= HISTORY_TABLES | {"encounter", "condition"}
    assert search(
        session,
        surname=survivor.surname,
        given_name=survivor.given_name,
        birth_date=survivor.birth_date,
        actor=registrar,
    ) == [survivor, duplicate]
    assert find_by_pinfl(session, duplicate.pinfl, actor=registrar) is duplicate

    audit = session.execute(
        select(
            AuditEvent.action, AuditEvent.patient_id, AuditEvent.object_type, AuditEvent.object_id, AuditEvent.detail
        )
        .where(AuditEvent.action.in_(["patient.merged", "patient.unmerged"]))
        .order_by(AuditEvent.id)
    ).all()
    count = len(moved)
    assert [tuple(row) for row in audit] == [
        (
            "patient.merged",
            survivor.id,
            "patient_merge",
            str(entry.id),
            f"merged record {duplicate.id}; {count} rows moved",
        ),
        (
            "patient.unmerged",
            survivor.id,
            "patient_merge",
            str(entry.id),
            f"restored record {duplicate.id}; {count} rows moved back",
        ),
    ]
    assert list(verify(session)) == []


def test_merge_of_a_record_without_rows(session: Session, registrar: Actor) -> None:
    survivor, duplicate = factories.patient(session), factories.patient(session)
    entry = merge(session, survivor_id=survivor.id, merged_id=duplicate.id, reason="Dublikat", actor=registrar)
    assert entry.moved == {} and duplicate.merged_into_id == survivor.id
    unmerge(session, merge_id=entry.id, reason="Xato", actor=registrar)
    assert duplicate.merged_into_id is None


def test_a_doctor_may_merge(session: Session, where: patients_factories.Setting) -> None:
    doctor = Actor(where.doctor.id, "doctor", where.polyclinic.id)
    survivor, duplicate = factories.patient(session), factories.patient(session)
    assert merge(session, survivor_id=survivor.id, merged_id=duplicate.id, reason="Dublikat", actor=doctor).id


def counts(session: Session) -> tuple[int, int]:
    merges = session.execute(select(func.count()).select_from(PatientMerge)).scalar_one()
    audited = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return merges, audited


@pytest.mark.parametrize(
    "actor",
    [
        Actor(None, "registrar", None),  # no cabinet to record as the one who merged
        SYSTEM,
        Actor(1, None, None),
    ],
)
def test_merge_refused_without_a_cabinet_of_a_permitted_role(session: Session, actor: Actor) -> None:
    survivor, duplicate = factories.patient(session), factories.patient(session)
    with pytest.raises(DomainError, match="registrar or a doctor"):
        merge(session, survivor_id=survivor.id, merged_id=duplicate.id, reason="Dublikat", actor=actor)


@pytest.mark.parametrize("role", [Role.NURSE, Role.PHARMACIST, Role.MANAGER, Role.ANALYST, Role.ADMIN, Role.INTEGRATOR])
def test_merge_refused_for_other_roles(session: Session, where: patients_factories.Setting, role: Role) -> None:
    cabinet = factories.cabinet(session, where.polyclinic, role)
    actor = Actor(cabinet.id, role.value, where.polyclinic.id)
    survivor, duplicate = two_records(session, where)
    before, tally = snapshot(session), counts(session)
    with pytest.raises(DomainError) as refused:
        merge(session, survivor_id=survivor.id, merged_id=duplicate.id, reason="Dublikat", actor=actor)
    assert refused.value.msgid == "Only a registrar or a doctor may merge patient records or undo a merge."
    assert (snapshot(session), counts(session), duplicate.merged_into_id) == (before, tally, None)


def test_merge_refusals_change_nothing(session: Session, where: patients_factories.Setting, registrar: Actor) -> None:
    survivor, duplicate = two_records(session, where)
    third = factories.patient(session)
    gone = factories.patient(session)
    gone.merged_into_id = third.id
    session.flush()
    before, tally = snapshot(session), counts(session)

    def refused(error: type[DomainError], field: str | None, **arguments: object) -> None:
        values: dict[str, object] = {"survivor_id": survivor.id, "merged_id": duplicate.id, "reason": "Dublikat"}
        with pytest.raises(error) as caught:
            merge(session, actor=registrar, **(values | arguments))  # type: ignore[arg-type]
        assert caught.value.field == field, caught.value.msgid
        assert (snapshot(session), counts(session)) == (before, tally)

    refused(ValidationError, "reason", reason="   ")
    refused(ValidationError, "reason", reason="x" * 501)
    refused(ValidationError, "merged_id", merged_id=survivor.id)
    refused(NotFound, "survivor_id", survivor_id=10**12)
    refused(NotFound, "merged_id", merged_id=10**12)
    refused(DomainError, "merged_id", merged_id=gone.id)  # already merged
    refused(DomainError, "survivor_id", survivor_id=gone.id)  # a merged record cannot take others
    assert duplicate.merged_into_id is None and gone.merged_into_id == third.id


def test_unmerge_twice_is_refused(session: Session, registrar: Actor) -> None:
    survivor, duplicate = factories.patient(session), factories.patient(session)
    entry = merge(session, survivor_id=survivor.id, merged_id=duplicate.id, reason="Dublikat", actor=registrar)
    unmerge(session, merge_id=entry.id, reason="Xato", actor=registrar)
    tally = counts(session)
    with pytest.raises(DomainError, match="already been undone"):
        unmerge(session, merge_id=entry.id, reason="Yana", actor=registrar)
    assert counts(session) == tally


def test_unmerge_refusals(session: Session, where: patients_factories.Setting, registrar: Actor) -> None:
    survivor, duplicate = two_records(session, where)
    entry = merge(session, survivor_id=survivor.id, merged_id=duplicate.id, reason="Dublikat", actor=registrar)
    nurse = factories.cabinet(session, where.polyclinic, Role.NURSE)
    before, tally = snapshot(session), counts(session)
    with pytest.raises(NotFound):
        unmerge(session, merge_id=10**12, reason="Xato", actor=registrar)
    with pytest.raises(ValidationError) as no_reason:
        unmerge(session, merge_id=entry.id, reason="", actor=registrar)
    assert no_reason.value.field == "reason"
    with pytest.raises(DomainError, match="registrar or a doctor"):
        unmerge(session, merge_id=entry.id, reason="Xato", actor=Actor(nurse.id, "nurse", where.polyclinic.id))
    assert (snapshot(session), counts(session), entry.undone_at) == (before, tally, None)


def test_unmerge_waits_for_a_later_merge_of_the_survivor(
    session: Session, where: patients_factories.Setting, registrar: Actor
) -> None:
    first, second = two_records(session, where)
    third = factories.patient(session)
    before = snapshot(session)
    inner = merge(session, survivor_id=second.id, merged_id=first.id, reason="Dublikat", actor=registrar)
    outer = merge(session, survivor_id=third.id, merged_id=second.id, reason="Dublikat", actor=registrar)
    assert find_by_pinfl(session, first.pinfl, actor=registrar) is third  # two hops
    with pytest.raises(DomainError, match="undo that merge first"):
        unmerge(session, merge_id=inner.id, reason="Xato", actor=registrar)
    unmerge(session, merge_id=outer.id, reason="Xato", actor=registrar)
    unmerge(session, merge_id=inner.id, reason="Xato", actor=registrar)
    after = snapshot(session)
    assert {row for row in after if row[0] not in HISTORY_TABLES} == {
        row for row in before if row[0] not in HISTORY_TABLES
    }


def test_unmerge_refused_when_a_moved_row_changed_owner(
    session: Session, where: patients_factories.Setting, registrar: Actor
) -> None:
    survivor, duplicate = two_records(session, where)
    entry = merge(session, survivor_id=survivor.id, merged_id=duplicate.id, reason="Dublikat", actor=registrar)
    stranger = factories.patient(session)
    visit_id = entry.moved["encounter"][0]
    # Not something the services do: a repair by hand that an exact undo cannot account for.
    session.execute(update(Encounter).where(Encounter.id == visit_id).values(patient_id=stranger.id))
    session.expire_all()
    before, tally = snapshot(session), counts(session)
    with pytest.raises(DomainError, match="cannot be undone exactly"):
        unmerge(session, merge_id=entry.id, reason="Xato", actor=registrar)
    assert (snapshot(session), counts(session)) == (before, tally)
    assert session.get(Patient, duplicate.id).merged_into_id == survivor.id  # type: ignore[union-attr]

"""Merging two records of one person (R-13.1), and undoing it exactly.

A merge re-points every row that belongs to the duplicate to the surviving record and lists each row it moved,
so that unmerge moves back exactly those and nothing written for the survivor since. The tables are found in
the schema, not listed here, so a table added later with a patient_id is merged too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Mapper, Session

import ehealth.models  # noqa: F401  (every model registered, so Base.metadata holds every table to merge)
from db import Base, flush, utcnow
from ehealth.access.models import Role
from ehealth.audit.trail import Actor, record
from ehealth.emr.models import Encounter
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.identifiers import PINFL_LENGTH, validate_pinfl
from ehealth.patients.models import Patient, PatientMerge

# Deciding that two records are one person is an identification act: the registrar does it at the desk with the
# documents, the doctor when the clinical history shows it. Nurses, pharmacists, managers, analysts and admins do
# not identify patients, and a wrong merge shows one person's history to another's doctors. The web layer checks
# the permission too; this check keeps any other caller (scripts, integrations) to the same rule.
MERGE_ROLES = frozenset({Role.REGISTRAR, Role.DOCTOR})
# Logs of what happened, not the patient's data: the audit trail is hash-chained (changing a row breaks verify)
# and the clinical_event outbox records past events as they were; both keep the id they were written with.
# The moved clinical rows get fresh clinical_event rows of their own from the outbox listener.
HISTORY_TABLES = frozenset({"audit_event", "clinical_event"})
REASON_LENGTH = 500
RECENT_MERGES = 20
_LARGEST_ID = 2**63 - 1  # the database's bigint
# Ids per IN (...) list: well under SQLite's and PostgreSQL's limits on bound parameters.
_CHUNK = 1000


def patient_tables() -> list[Table]:
    """Every table whose patient_id references patient.id, except the logs, in dependency order."""
    tables = []
    for table in Base.metadata.sorted_tables:
        column = table.c.get("patient_id")
        if column is None or table.name in HISTORY_TABLES:
            continue
        if any(key.target_fullname == "patient.id" for key in column.foreign_keys):
            tables.append(table)
    return tables


def _mapper(table: Table) -> Mapper[Any] | None:
    for mapper in Base.registry.mappers:
        if mapper.local_table is table:
            return mapper
    return None


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


class _Rows:
    """The rows of one table to be moved, loaded and locked; mapped rows change through the ORM so that the
    outbox records a clinical_event for each clinical row and updated_at moves for the ETL."""

    def __init__(self, table: Table) -> None:
        if "id" not in table.c:
            raise RuntimeError(f"{table.name} has a patient_id but no id column: a merge could not record its rows")
        self.table = table
        self.mapper = _mapper(table)
        self.key = self.mapper.get_property_by_column(table.c.patient_id).key if self.mapper else "patient_id"
        self.rows: list[Any] = []
        self.ids: list[int] = []
        self.owners: list[int] = []

    def load_owned_by(self, session: Session, patient_id: int) -> None:
        """Every row of the table belonging to `patient_id`, locked."""
        self._load(session, [self.table.c.patient_id == patient_id])

    def load_ids(self, session: Session, ids: Sequence[int]) -> None:
        """The rows with these ids, locked."""
        for chunk in _chunks(ids):
            self._load(session, [self.table.c.id.in_(chunk)])

    def _load(self, session: Session, where: list[Any]) -> None:
        if self.mapper is not None:
            query = select(self.mapper).where(*where).order_by(self.table.c.id).with_for_update()
            for row in session.execute(query).scalars():
                self.rows.append(row)
                self.ids.append(row.id)
                self.owners.append(getattr(row, self.key))
        else:
            query = select(self.table.c.id, self.table.c.patient_id).where(*where).order_by(self.table.c.id)
            for row_id, owner in session.execute(query.with_for_update()):
                self.ids.append(row_id)
                self.owners.append(owner)

    def move_to(self, session: Session, patient_id: int) -> None:
        """Give every loaded row to `patient_id` (written at the next flush for mapped tables)."""
        if self.mapper is not None:
            for row in self.rows:
                setattr(row, self.key, patient_id)
            return
        for chunk in _chunks(self.ids):
            session.execute(update(self.table).where(self.table.c.id.in_(chunk)).values(patient_id=patient_id))


def _check_role(actor: Actor) -> None:
    # merged_by/undone_by name a cabinet: a caller without one cannot be recorded as having decided it.
    if actor.role not in MERGE_ROLES or actor.cabinet_id is None:
        raise DomainError(N_("Only a registrar or a doctor may merge patient records or undo a merge."))


def _reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise ValidationError(N_("Give the reason"), field="reason")
    if len(text) > REASON_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field="reason", limit=REASON_LENGTH
        )
    return text


def _patient(session: Session, patient_id: int, field: str) -> Patient:
    patient = session.get(Patient, patient_id, with_for_update=True)
    if patient is None:
        raise NotFound(N_("Patient record {id} does not exist."), field=field, id=patient_id)
    if patient.merged_into_id is not None:
        raise DomainError(
            N_("Patient record {id} has already been merged into record {into}."),
            field=field,
            id=patient.id,
            into=patient.merged_into_id,
        )
    return patient


def merge(session: Session, *, survivor_id: int, merged_id: int, reason: str, actor: Actor) -> PatientMerge:
    """Join the duplicate `merged_id` into `survivor_id`: every row of the duplicate moved, listed, audited."""
    _check_role(actor)
    text = _reason(reason)
    if survivor_id == merged_id:
        raise ValidationError(N_("A record cannot be merged into itself; choose two records."), field="merged_id")
    # Locked in id order so that two merges touching the same pair cannot deadlock.
    fields = {survivor_id: "survivor_id", merged_id: "merged_id"}
    locked = {patient_id: _patient(session, patient_id, fields[patient_id]) for patient_id in sorted(fields)}
    survivor, merged = locked[survivor_id], locked[merged_id]
    moving = [_Rows(table) for table in patient_tables()]
    for rows in moving:
        rows.load_owned_by(session, merged.id)
    for rows in moving:
        rows.move_to(session, survivor.id)
    merged.merged_into_id = survivor.id
    entry = PatientMerge(
        survivor_id=survivor.id,
        merged_id=merged.id,
        reason=text,
        moved={rows.table.name: rows.ids for rows in moving if rows.ids},
        merged_by=actor.cabinet_id,
    )
    session.add(entry)
    flush(session)
    count = sum(len(rows.ids) for rows in moving)
    record(
        session,
        actor,
        "patient.merged",
        patient_id=survivor.id,
        object_type="patient_merge",
        object_id=entry.id,
        detail=f"merged record {merged.id}; {count} rows moved",
    )
    return entry


def unmerge(session: Session, *, merge_id: int, reason: str, actor: Actor) -> PatientMerge:
    """Undo a merge: the rows it moved go back to the restored record; rows written since stay with the survivor."""
    _check_role(actor)
    text = _reason(reason)
    entry = session.get(PatientMerge, merge_id, with_for_update=True)
    if entry is None:
        raise NotFound(N_("The merge does not exist."), field="merge_id")
    if entry.undone_at is not None:
        raise DomainError(N_("This merge has already been undone."))
    first, second = sorted((entry.survivor_id, entry.merged_id))
    patients = {pid: session.get(Patient, pid, with_for_update=True) for pid in (first, second)}
    survivor, merged = patients[entry.survivor_id], patients[entry.merged_id]
    assert survivor is not None and merged is not None  # foreign keys
    if survivor.merged_into_id is not None:
        raise DomainError(N_("The surviving record has since been merged into another; undo that merge first."))
    by_name = {table.name: table for table in Base.metadata.sorted_tables}
    moving: list[_Rows] = []
    for name, ids in entry.moved.items():
        table = by_name.get(name)
        rows = _Rows(table) if table is not None and "patient_id" in table.c else None
        if rows is not None:
            rows.load_ids(session, ids)
        # Every listed row must still be there and still the survivor's, or the undo would not be exact.
        if rows is None or sorted(rows.ids) != sorted(ids) or any(o != survivor.id for o in rows.owners):
            raise DomainError(N_("This merge no longer matches the records, so it cannot be undone exactly."))
        moving.append(rows)
    if merged.merged_into_id != survivor.id:
        raise DomainError(N_("This merge no longer matches the records, so it cannot be undone exactly."))
    for rows in moving:
        rows.move_to(session, merged.id)
    merged.merged_into_id = None
    entry.undone_by, entry.undone_at, entry.undo_reason = actor.cabinet_id, utcnow(), text
    flush(session)
    count = sum(len(rows.ids) for rows in moving)
    record(
        session,
        actor,
        "patient.unmerged",
        patient_id=survivor.id,
        object_type="patient_merge",
        object_id=entry.id,
        detail=f"restored record {merged.id}; {count} rows moved back",
    )
    return entry


@dataclass(frozen=True)
class RecordSummary:
    """One record as the merge page compares it: the patient and how many encounters the record holds."""

    patient: Patient
    encounters: int


def _named_record(session: Session, typed: str, field: str) -> Patient:
    """The record named by its number or by its PINFL (that exact record, merged or not)."""
    digits = "".join(typed.split())
    if not digits:
        raise ValidationError(N_("Enter a record number or a PINFL."), field=field)
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError(N_("A record number or a PINFL has only digits."), field=field)
    if len(digits) == PINFL_LENGTH:
        try:
            number = validate_pinfl(digits)
        except ValidationError as error:
            raise ValidationError(error.msgid, field=field, **error.params) from None
        found = session.execute(select(Patient).where(Patient.pinfl == number)).scalar_one_or_none()
        if found is None:
            raise NotFound(N_("No patient has the PINFL {pinfl}."), field=field, pinfl=number)
        return found
    record_id = int(digits) if len(digits) <= 19 else 0
    patient = session.get(Patient, record_id) if 0 < record_id <= _LARGEST_ID else None
    if patient is None:
        raise NotFound(N_("Patient record {id} does not exist."), field=field, id=digits)
    return patient


def record_summary(session: Session, typed: str, *, field: str, actor: Actor) -> RecordSummary:
    """The record `typed` names (a record number or a PINFL) with its number of encounters, to compare before
    a merge; only for the roles that merge, and audited as a look-up of that patient."""
    _check_role(actor)
    patient = _named_record(session, typed, field)
    encounters = session.scalar(select(func.count()).where(Encounter.patient_id == patient.id)) or 0
    record(
        session,
        actor,
        "patient.looked_up",
        patient_id=patient.id,
        object_type="patient",
        object_id=patient.id,
        detail="compared for a merge",
    )
    return RecordSummary(patient, encounters)


def merges_by(session: Session, cabinet_id: int, *, limit: int = RECENT_MERGES) -> list[PatientMerge]:
    """The merges this cabinet made, newest first (the merge table has no organization: the person is the scope)."""
    query = (
        select(PatientMerge)
        .where(PatientMerge.merged_by == cabinet_id)
        .order_by(PatientMerge.merged_at.desc(), PatientMerge.id.desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())

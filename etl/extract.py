"""Reading the operational database with polars: what changed since the watermark, in bounded batches."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, and_, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute

from ehealth.access.models import Cabinet, EmploymentNotice, InstallationRequest, InventoryReview, LoginIdentity
from ehealth.emr.models import Encounter, EncounterKind
from ehealth.hospital.models import Admission, Discharge
from ehealth.outbox import ClinicalEvent
from ehealth.patients.models import Patient
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem
from ehealth.reference.models import Bed, Department, Drug, Organization, Region
from etl import columnar

# Rows per polars batch (bounded memory at national scale) and ids per query of the incremental path: one array
# parameter on PostgreSQL; on SQLite an IN list, held within its bound-variable limit (see _ids_per_query).
BATCH_ROWS = 50_000
IDS_PER_QUERY = 20_000
# Bound variables left to the query itself (status filters and the like) under SQLite's limit.
_SQLITE_SPARE_VARIABLES = 100

# Any SELECT the ETL reads (SQLAlchemy types a Select by its columns).
Query = columnar.Query

# Only what the warehouse keeps of a patient; names, PINFL, phone and address are never selected.
_PATIENT_COLUMNS = (
    Patient.birth_date.label("birth_date"),
    Patient.sex.label("sex"),
    Patient.region_id.label("patient_region_id"),
)


def prescriptions() -> Query:
    """Prescriptions with the patient's grouping attributes."""
    return (
        select(
            Prescription.id.label("prescription_id"),
            Prescription.patient_id,
            *_PATIENT_COLUMNS,
            Prescription.organization_id,
            Prescription.prescriber_id.label("prescriber_key"),
            Prescription.icd10_code,
            Prescription.category,
            Prescription.state,
            Prescription.status.label("record_status"),
            Prescription.confirmation,
            Prescription.issued_at,
            Prescription.valid_until,
            Prescription.repeats_allowed,
            Prescription.cancelled_at,
        )
        .join(Patient, Patient.id == Prescription.patient_id)
        .order_by(Prescription.id)
    )


def prescription_items() -> Query:
    """Prescription items with their prescription's organization and issue time."""
    return (
        select(
            PrescriptionItem.id.label("item_id"),
            PrescriptionItem.prescription_id,
            PrescriptionItem.patient_id,
            Prescription.organization_id,
            Prescription.issued_at,
            PrescriptionItem.line,
            PrescriptionItem.drug_id,
            PrescriptionItem.inn,
            PrescriptionItem.quantity,
            PrescriptionItem.fills,
            PrescriptionItem.dispensed_quantity,
            PrescriptionItem.duration_days,
        )
        .join(Prescription, Prescription.id == PrescriptionItem.prescription_id)
        .order_by(PrescriptionItem.id)
    )


def dispenses() -> Query:
    """Dispenses with the patient's attributes and the prescription's issue time and organization."""
    return (
        select(
            Dispense.id.label("dispense_id"),
            Dispense.patient_id,
            *_PATIENT_COLUMNS,
            Dispense.prescription_id,
            Dispense.item_id,
            Dispense.drug_id,
            Dispense.organization_id,
            Prescription.organization_id.label("prescribing_organization_id"),
            Dispense.quantity,
            Dispense.status.label("record_status"),
            Dispense.dispensed_at,
            Prescription.issued_at,
        )
        .join(Patient, Patient.id == Dispense.patient_id)
        .join(Prescription, Prescription.id == Dispense.prescription_id)
        .order_by(Dispense.id)
    )


def admissions() -> Query:
    """Admissions with the department profile and the live discharge, if any."""
    return (
        select(
            Admission.id.label("admission_id"),
            Admission.patient_id,
            *_PATIENT_COLUMNS,
            Admission.encounter_id,
            Admission.organization_id,
            Admission.department_id,
            Department.profile.label("department_profile"),
            Admission.admission_type,
            Admission.icd10_code,
            Admission.status.label("record_status"),
            Admission.admitted_at,
            Discharge.discharged_at,
            Discharge.outcome,
            Discharge.icd10_code.label("discharge_icd10_code"),
        )
        .join(Patient, Patient.id == Admission.patient_id)
        .join(Department, Department.id == Admission.department_id)
        # A corrected discharge leaves its old row marked; only the live one ends the stay.
        .outerjoin(Discharge, and_(Discharge.admission_id == Admission.id, Discharge.status == "active"))
        .order_by(Admission.id)
    )


def visits() -> Query:
    """Outpatient encounters (visits)."""
    return (
        select(
            Encounter.id.label("encounter_id"),
            Encounter.patient_id,
            *_PATIENT_COLUMNS,
            Encounter.organization_id,
            Encounter.department_id,
            Encounter.practitioner_id.label("practitioner_key"),
            Encounter.state,
            Encounter.outcome,
            Encounter.status.label("record_status"),
            Encounter.started_at,
            Encounter.ended_at,
        )
        .join(Patient, Patient.id == Encounter.patient_id)
        .where(Encounter.kind == EncounterKind.OUTPATIENT)
        .order_by(Encounter.id)
    )


def regions() -> Query:
    """The regions."""
    return select(
        Region.id.label("region_id"), Region.iso_code, Region.name_uz, Region.name_ru, Region.name_en
    ).order_by(Region.id)


def organizations() -> Query:
    """The organizations (names of institutions, not of people), with their active beds (for bed occupancy)."""
    beds = (
        select(func.count(Bed.id))
        .where(Bed.organization_id == Organization.id, Bed.is_active.is_(True))
        .scalar_subquery()
    )
    return select(
        Organization.id.label("organization_id"),
        Organization.name,
        Organization.kind,
        Organization.region_id,
        Organization.district_id,
        Organization.is_active,
        Organization.reimbursement_contract,
        beds.label("beds"),
    ).order_by(Organization.id)


def drugs() -> Query:
    """The drug catalogue."""
    return select(
        Drug.id.label("drug_id"),
        Drug.inn,
        Drug.brand,
        Drug.form,
        Drug.strength,
        Drug.category,
        Drug.eprescription_only,
        Drug.atc_code,
    ).order_by(Drug.id)


def cabinets() -> Query:
    """Cabinets without their owners' names, PINFLs, documents or e-mail; their region and last sign-in."""
    last_sign_in = (
        select(func.max(LoginIdentity.last_used_at)).where(LoginIdentity.cabinet_id == Cabinet.id).scalar_subquery()
    )
    return (
        select(
            Cabinet.id.label("user_key"),
            Cabinet.role,
            Cabinet.organization_id,
            Cabinet.department_id,
            Cabinet.status,
            Cabinet.created_at,
            Cabinet.blocked_at,
            Cabinet.archived_at,
            last_sign_in.label("last_sign_in_at"),
            Organization.region_id,
        )
        .join(Organization, Organization.id == Cabinet.organization_id)
        .order_by(Cabinet.id)
    )


def notices() -> Query:
    """Employment notices with their deadlines and the organization's region (no position: it is free text)."""
    return (
        select(
            EmploymentNotice.id.label("notice_id"),
            EmploymentNotice.cabinet_id.label("user_key"),
            EmploymentNotice.organization_id,
            Organization.region_id,
            EmploymentNotice.kind,
            EmploymentNotice.event_date,
            EmploymentNotice.notified_on.label("notified_date"),
            EmploymentNotice.notice_due_on.label("notice_due_date"),
            EmploymentNotice.action,
            EmploymentNotice.action_at,
            EmploymentNotice.action_due_on.label("action_due_date"),
        )
        .join(Organization, Organization.id == EmploymentNotice.organization_id)
        .order_by(EmploymentNotice.id)
    )


def installation_requests() -> Query:
    """Installation requests with their deadline and the organization's region (no contact, no reason)."""
    return (
        select(
            InstallationRequest.id.label("request_id"),
            InstallationRequest.organization_id,
            Organization.region_id,
            InstallationRequest.received_on.label("submitted_date"),
            InstallationRequest.due_on.label("due_date"),
            InstallationRequest.status.label("state"),
            InstallationRequest.installed_on,
            InstallationRequest.updated_at,
        )
        .join(Organization, Organization.id == InstallationRequest.organization_id)
        .order_by(InstallationRequest.id)
    )


def reviews() -> Query:
    """Inventory reviews of cabinets."""
    return select(
        InventoryReview.id.label("review_id"),
        InventoryReview.cabinet_id.label("user_key"),
        InventoryReview.decision,
        InventoryReview.reviewed_at,
    ).order_by(InventoryReview.id)


def frames(conn: Connection, query: Query) -> Generator[pl.DataFrame]:
    """The rows of `query` in batches of at most BATCH_ROWS (never the whole table in memory), read column-wise."""
    yield from columnar.frames(conn, query, BATCH_ROWS)


def _ids_per_query(conn: Connection) -> int:
    """How many ids one query of frames_for takes: IDS_PER_QUERY, less on a SQLite built with a low variable limit."""
    if conn.dialect.name != "sqlite":
        return IDS_PER_QUERY
    raw = conn.connection.driver_connection
    limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if isinstance(raw, sqlite3.Connection) else 999
    return max(1, min(IDS_PER_QUERY, limit - _SQLITE_SPARE_VARIABLES))


def _among(conn: Connection, column: InstrumentedAttribute[int], ids: list[int]) -> ColumnElement[bool]:
    """`column` is one of `ids`: `= ANY(:ids)` with one array parameter on PostgreSQL, an IN list elsewhere."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=postgresql.ARRAY(column.type)))
    return column.in_(ids)


def frames_for(
    conn: Connection, query: Query, column: InstrumentedAttribute[int], ids: Sequence[int]
) -> Iterator[pl.DataFrame]:
    """The rows of `query` whose `column` is one of `ids`, one query per chunk of ids (a few round trips in all)."""
    size = _ids_per_query(conn)
    for start in range(0, len(ids), size):
        chunk = list(ids[start : start + size])
        frame = pl.read_database(query.where(_among(conn, column, chunk)), conn, infer_schema_length=None)
        if frame.height:
            yield frame


def whole(conn: Connection, query: Query) -> pl.DataFrame:
    """A small table in one frame (dimensions)."""
    return columnar.whole(conn, query, BATCH_ROWS)


def last_event_id(conn: Connection) -> int:
    """The newest outbox event id (0 on an empty outbox): this run reads up to here and no further."""
    # The run's first look at the database: its reads come next, so the columnar reader gets ready meanwhile.
    columnar.prepare(conn)
    return int(conn.execute(select(func.coalesce(func.max(ClinicalEvent.id), 0))).scalar_one())


def latest(conn: Connection, column: InstrumentedAttribute[Any]) -> object:
    """The largest value of a timestamp column (a source's updated_at mark)."""
    return conn.execute(select(func.max(column))).scalar_one()


@dataclass
class Changes:
    """The clinical entities to refresh, from the outbox events after the watermark."""

    prescriptions: set[int] = field(default_factory=set)
    dispenses: set[int] = field(default_factory=set)
    admissions: set[int] = field(default_factory=set)
    visits: set[int] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        """True when nothing the warehouse keeps has changed."""
        return not (self.prescriptions or self.dispenses or self.admissions or self.visits)


_FOLLOWED = ("prescription", "dispense", "admission", "discharge", "encounter")


def changes(conn: Connection, after: int, upto: int) -> Changes:
    """What the outbox events in (after, upto] touched, mapped to the warehouse's fact keys."""
    found = Changes()
    discharges: set[int] = set()
    query = (
        select(ClinicalEvent.entity, ClinicalEvent.entity_id)
        .where(ClinicalEvent.id > after, ClinicalEvent.id <= upto, ClinicalEvent.entity.in_(_FOLLOWED))
        .order_by(ClinicalEvent.id)
    )
    targets = {
        "prescription": found.prescriptions,
        "dispense": found.dispenses,
        "admission": found.admissions,
        "discharge": discharges,
        "encounter": found.visits,
    }
    for frame in frames(conn, query):
        for (entity,), group in frame.group_by("entity"):
            targets[str(entity)].update(int(value) for value in group["entity_id"])
    # A dispense changes its item's dispensed quantity (and maybe no prescription state): refresh the prescription.
    for frame in frames_for(conn, select(Dispense.prescription_id), Dispense.id, sorted(found.dispenses)):
        found.prescriptions.update(int(value) for value in frame.to_series())
    # A discharge completes its admission's row.
    for frame in frames_for(conn, select(Discharge.admission_id), Discharge.id, sorted(discharges)):
        found.admissions.update(int(value) for value in frame.to_series())
    return found

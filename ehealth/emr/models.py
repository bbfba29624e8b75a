"""Encounters and everything entered in them: diagnoses, indicators, results, treatment, allergies, referrals."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, Float, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from db import Base, IntPk, OptTimestamp, Timestamp, enum_column, fk
from ehealth.clinical import ClinicalRecord
from ehealth.i18n import N_


class EncounterKind(StrEnum):
    """An outpatient visit (Elektron poliklinika) or an inpatient stay (Elektron shifoxona)."""

    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"


class EncounterState(StrEnum):
    """Where the encounter stands in its workflow (separate from the record status)."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class VisitOutcome(StrEnum):
    """How an outpatient visit ended."""

    RECOVERED = "recovered"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    FOLLOW_UP = "follow_up"
    REFERRED = "referred"
    HOSPITALIZED = "hospitalized"


class ConditionKind(StrEnum):
    """Preliminary, final or accompanying diagnosis."""

    PRELIMINARY = "preliminary"
    FINAL = "final"
    COMORBIDITY = "comorbidity"


class Indicator(StrEnum):
    """Medical indicators, each with one fixed unit."""

    BP_SYSTOLIC = "bp_systolic"
    BP_DIASTOLIC = "bp_diastolic"
    PULSE = "pulse"
    TEMPERATURE = "temperature"
    RESPIRATORY_RATE = "respiratory_rate"
    SPO2 = "spo2"
    WEIGHT = "weight"
    HEIGHT = "height"
    BMI = "bmi"
    GLUCOSE = "glucose"


class Flag(StrEnum):
    """How a value compares with its reference range."""

    NORMAL = "normal"
    LOW = "low"
    HIGH = "high"
    CRITICAL = "critical"


class Modality(StrEnum):
    """Instrumental investigations."""

    XRAY = "xray"
    ULTRASOUND = "ultrasound"
    ECG = "ecg"
    CT = "ct"
    MRI = "mri"
    ENDOSCOPY = "endoscopy"


class TreatmentKind(StrEnum):
    """Entries of the course of treatment."""

    PROCEDURE = "procedure"
    NOTE = "note"
    MEDICATION = "medication"


class Severity(StrEnum):
    """How severe an allergic reaction is."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class ReferralKind(StrEnum):
    """Where a doctor sends the patient next."""

    LAB = "lab"
    INSTRUMENTAL = "instrumental"
    HOSPITAL = "hospital"
    CONSULTATION = "consultation"


class ReferralState(StrEnum):
    """A referral is issued, then completed or cancelled."""

    ISSUED = "issued"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class InEncounter(ClinicalRecord):
    """A clinical row entered during an encounter."""

    @declared_attr
    def encounter_id(cls) -> Mapped[int]:  # noqa: N805
        """The visit or stay the entry belongs to."""
        return fk("encounter.id")  # type: ignore[no-any-return]


class Encounter(ClinicalRecord, Base):
    """An outpatient visit or an inpatient stay of one patient at one organization."""

    __tablename__ = "encounter"

    kind: Mapped[EncounterKind] = enum_column(EncounterKind, "kind")
    state: Mapped[EncounterState] = enum_column(EncounterState, "state", default=EncounterState.OPEN)
    department_id: Mapped[int | None] = fk("department.id", nullable=True)
    practitioner_id: Mapped[int] = fk("cabinet.id")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(300))
    complaints: Mapped[str | None] = mapped_column(Text)
    examination: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[VisitOutcome | None] = enum_column(VisitOutcome, "outcome", nullable=True)

    __table_args__ = (
        *ClinicalRecord.clinical_checks(),
        CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name="ends_after_start",
            info={"message": N_("An encounter cannot end before it starts.")},
        ),
        CheckConstraint(
            "state <> 'closed' OR ended_at IS NOT NULL",
            name="closed_has_end",
            info={"message": N_("A closed encounter needs its end time.")},
        ),
        Index("ix_encounter_org_started", "organization_id", "started_at"),
        Index("ix_encounter_patient_started", "patient_id", "started_at"),
        Index("ix_encounter_practitioner_started", "practitioner_id", "started_at"),
    )


class Condition(InEncounter, Base):
    """A diagnosis (ICD-10)."""

    __tablename__ = "condition"

    icd10_code: Mapped[str] = mapped_column(String(8), index=True)
    kind: Mapped[ConditionKind] = enum_column(ConditionKind, "kind")
    onset_date: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (*ClinicalRecord.clinical_checks(),)


class Observation(InEncounter, Base):
    """A medical indicator (vital sign or measurement) with its fixed unit."""

    __tablename__ = "observation"

    code: Mapped[Indicator] = enum_column(Indicator, "code")
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    reference_low: Mapped[float | None] = mapped_column(Float)
    reference_high: Mapped[float | None] = mapped_column(Float)
    flag: Mapped[Flag | None] = enum_column(Flag, "flag", nullable=True)
    effective_at: Mapped[datetime]

    __table_args__ = (
        *ClinicalRecord.clinical_checks(),
        CheckConstraint(
            "reference_low IS NULL OR reference_high IS NULL OR reference_low <= reference_high", name="range_order"
        ),
        Index("ix_observation_patient_code_time", "patient_id", "code", "effective_at"),
    )


class LabResult(InEncounter, Base):
    """A laboratory test result with its reference range."""

    __tablename__ = "lab_result"

    test_code: Mapped[str] = mapped_column(String(20), index=True)
    test_name: Mapped[str] = mapped_column(String(120))
    value_numeric: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(20))
    reference_low: Mapped[float | None] = mapped_column(Float)
    reference_high: Mapped[float | None] = mapped_column(Float)
    flag: Mapped[Flag | None] = enum_column(Flag, "flag", nullable=True)
    collected_at: Mapped[datetime]
    resulted_at: Mapped[datetime]
    referral_id: Mapped[int | None] = fk("referral.id", nullable=True)  # the order this result answers

    __table_args__ = (
        *ClinicalRecord.clinical_checks(),
        CheckConstraint(
            "value_numeric IS NOT NULL OR value_text IS NOT NULL",
            name="has_value",
            info={"message": N_("A laboratory result needs a value.")},
        ),
        CheckConstraint(
            "resulted_at >= collected_at",
            name="resulted_after_collected",
            info={"message": N_("A result cannot come before its sample was taken.")},
        ),
        CheckConstraint(
            "reference_low IS NULL OR reference_high IS NULL OR reference_low <= reference_high", name="range_order"
        ),
        Index("ix_lab_result_patient_time", "patient_id", "resulted_at"),
    )


class InstrumentalResult(InEncounter, Base):
    """An instrumental investigation (X-ray, ultrasound, ECG, CT, MRI, endoscopy) and its conclusion."""

    __tablename__ = "instrumental_result"

    modality: Mapped[Modality] = enum_column(Modality, "modality")
    study: Mapped[str] = mapped_column(String(160))
    conclusion: Mapped[str] = mapped_column(Text)
    performed_at: Mapped[datetime]
    referral_id: Mapped[int | None] = fk("referral.id", nullable=True)  # the order this study answers

    __table_args__ = (
        *ClinicalRecord.clinical_checks(),
        Index("ix_instrumental_result_patient_time", "patient_id", "performed_at"),
    )


class TreatmentRecord(InEncounter, Base):
    """An entry of the course of treatment: a procedure, a medication given, or a clinical note."""

    __tablename__ = "treatment_record"

    kind: Mapped[TreatmentKind] = enum_column(TreatmentKind, "kind")
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    performed_at: Mapped[datetime]

    __table_args__ = (
        *ClinicalRecord.clinical_checks(),
        Index("ix_treatment_record_patient_time", "patient_id", "performed_at"),
    )


class Allergy(ClinicalRecord, Base):
    """A recorded allergy or intolerance; `inn`/`atc_code` let prescribing check against it."""

    __tablename__ = "allergy"

    encounter_id: Mapped[int | None] = fk("encounter.id", nullable=True)
    substance: Mapped[str] = mapped_column(String(120))
    inn: Mapped[str | None] = mapped_column(String(120))
    atc_code: Mapped[str | None] = mapped_column(String(7))
    reaction: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[Severity] = enum_column(Severity, "severity")
    recorded_at: Mapped[datetime]

    __table_args__ = (*ClinicalRecord.clinical_checks(),)


class Referral(InEncounter, Base):
    """A referral to the laboratory, an instrumental study, a hospital or a consultant."""

    __tablename__ = "referral"

    kind: Mapped[ReferralKind] = enum_column(ReferralKind, "kind")
    state: Mapped[ReferralState] = enum_column(ReferralState, "state", default=ReferralState.ISSUED)
    target_organization_id: Mapped[int | None] = fk("organization.id", nullable=True)
    icd10_code: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[datetime]
    completed_at: Mapped[OptTimestamp]
    completed_encounter_id: Mapped[int | None] = fk("encounter.id", nullable=True, index=False)

    __table_args__ = (
        *ClinicalRecord.clinical_checks(),
        CheckConstraint(
            "state <> 'completed' OR completed_at IS NOT NULL",
            name="completed_has_time",
            info={"message": N_("A completed referral needs the time it was completed.")},
        ),
    )


class EmergencyAccess(Base):
    """A clinician opened a record outside their organization's work with the patient, saying why (flagged)."""

    __tablename__ = "emergency_access"

    id: Mapped[IntPk]
    cabinet_id: Mapped[int] = fk("cabinet.id")
    patient_id: Mapped[int] = fk("patient.id")
    organization_id: Mapped[int] = fk("organization.id", index=False)
    reason: Mapped[str] = mapped_column(String(500))
    granted_at: Mapped[Timestamp]
    expires_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("expires_at > granted_at", name="expires_after_grant"),)

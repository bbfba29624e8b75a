"""A prescription with its items, and each dispense at a pharmacy (PRESCRIPTION.md)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, IntPk, OptTimestamp, enum_column, fk
from ehealth.clinical import ClinicalRecord
from ehealth.i18n import N_


class PrescriptionCategory(StrEnum):
    """Categories with their own validity and rules."""

    REGULAR = "regular"
    CHRONIC = "chronic"
    REIMBURSED = "reimbursed"
    CONTROLLED = "controlled"


class PrescriptionState(StrEnum):
    """The lifecycle: active → partially_dispensed → dispensed; or cancelled / expired."""

    ACTIVE = "active"
    PARTIALLY_DISPENSED = "partially_dispensed"
    DISPENSED = "dispensed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ConfirmationKind(StrEnum):
    """How the doctor confirmed the prescription."""

    EIMZO = "eimzo"
    ONEID = "oneid"


class Prescription(ClinicalRecord, Base):
    """An e-prescription: issued once, never edited; a correction cancels it and points from a new one."""

    __tablename__ = "prescription"

    number: Mapped[str] = mapped_column(String(20))
    encounter_id: Mapped[int | None] = fk("encounter.id", nullable=True)
    prescriber_id: Mapped[int] = fk("cabinet.id")
    icd10_code: Mapped[str] = mapped_column(String(8))
    category: Mapped[PrescriptionCategory] = enum_column(PrescriptionCategory, "category")
    state: Mapped[PrescriptionState] = enum_column(PrescriptionState, "state", default=PrescriptionState.ACTIVE)
    issued_at: Mapped[datetime]
    valid_until: Mapped[date] = mapped_column(Date, index=True)
    repeats_allowed: Mapped[int] = mapped_column(SmallInteger, default=0)
    confirmation: Mapped[ConfirmationKind] = enum_column(ConfirmationKind, "confirmation")
    # E-IMZO: the PKCS#7 over the canonical JSON; OneID: the session's identity sealed with the portal's key.
    signature: Mapped[str | None] = mapped_column(Text)
    # Who confirmed, as the confirmation names them: the certificate's serial and name, or the OneID session.
    signer: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    # The version of the drug-safety table the checks ran against (ehealth/prescription/safety_data/VERSION).
    safety_version: Mapped[str | None] = mapped_column(String(20))
    cancelled_at: Mapped[OptTimestamp]
    cancelled_by: Mapped[int | None] = fk("cabinet.id", nullable=True, index=False)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        *ClinicalRecord.clinical_checks(),
        UniqueConstraint(
            "number", name="uq_prescription_number", info={"message": N_("This prescription number is already taken.")}
        ),
        CheckConstraint("repeats_allowed BETWEEN 0 AND 12", name="repeats_range"),
        CheckConstraint(
            "state <> 'cancelled' OR (cancelled_at IS NOT NULL AND cancelled_by IS NOT NULL AND cancel_reason IS NOT NULL)",
            name="cancel_complete",
            info={"message": N_("A cancellation needs who cancelled, when and why.")},
        ),
        CheckConstraint(
            "confirmation <> 'eimzo' OR signature IS NOT NULL",
            name="eimzo_has_signature",
            info={"message": N_("A prescription confirmed with E-IMZO needs its signature.")},
        ),
        Index("ix_prescription_patient_state", "patient_id", "state"),
        Index("ix_prescription_org_issued", "organization_id", "issued_at"),
        Index("ix_prescription_prescriber_issued", "prescriber_id", "issued_at"),
    )

    def change_kind(self) -> str:
        """A lifecycle transition reads as its new state in the outbox (prescription.dispensed, .cancelled ...)."""
        if inspect(self).attrs.state.history.has_changes():
            return str(self.state)
        return super().change_kind()


class PrescriptionItem(Base):
    """One medicine of a prescription; part of the prescription record and immutable like it."""

    __tablename__ = "prescription_item"

    id: Mapped[IntPk]
    prescription_id: Mapped[int] = fk("prescription.id")
    patient_id: Mapped[int] = fk("patient.id", index=False)
    line: Mapped[int] = mapped_column(SmallInteger)
    drug_id: Mapped[int] = fk("drug.id")
    inn: Mapped[str] = mapped_column(String(120), index=True)
    brand: Mapped[str | None] = mapped_column(String(120))
    form: Mapped[str] = mapped_column(String(40))
    strength: Mapped[str] = mapped_column(String(40))
    dose: Mapped[float] = mapped_column(Float)
    dose_unit: Mapped[str] = mapped_column(String(20))
    intakes_per_day: Mapped[int] = mapped_column(SmallInteger)
    route: Mapped[str] = mapped_column(String(20))
    duration_days: Mapped[int] = mapped_column(SmallInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    # A repeat (chronic) prescription may be dispensed `fills` times the quantity inside its validity.
    fills: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    # Kept with the item so that one guarded UPDATE enforces "never more than prescribed" under concurrency.
    dispensed_quantity: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def prescribed_total(self) -> int:
        """Everything that may be dispensed of this item over all its fills."""
        return self.quantity * self.fills

    @property
    def remaining(self) -> int:
        """What is still to be dispensed."""
        return self.prescribed_total - self.dispensed_quantity

    __table_args__ = (
        UniqueConstraint("prescription_id", "line"),
        CheckConstraint("dose > 0", name="dose_positive", info={"message": N_("The dose must be greater than zero.")}),
        CheckConstraint(
            "intakes_per_day BETWEEN 1 AND 24",
            name="intakes_range",
            info={"message": N_("Intakes per day must be between 1 and 24.")},
        ),
        CheckConstraint(
            "duration_days BETWEEN 1 AND 365",
            name="duration_range",
            info={"message": N_("The course must last between 1 and 365 days.")},
        ),
        CheckConstraint(
            "quantity > 0", name="quantity_positive", info={"message": N_("The quantity must be greater than zero.")}
        ),
        CheckConstraint(
            "dispensed_quantity >= 0 AND dispensed_quantity <= quantity * fills",
            name="dispensed_within_quantity",
            info={"message": N_("More cannot be dispensed than was prescribed.")},
        ),
        CheckConstraint("fills BETWEEN 1 AND 13", name="fills_range"),
    )


class Dispense(ClinicalRecord, Base):
    """Medicine handed over at a pharmacy against one prescription item (created_by is the pharmacist)."""

    __tablename__ = "dispense"

    prescription_id: Mapped[int] = fk("prescription.id")
    item_id: Mapped[int] = fk("prescription_item.id")
    drug_id: Mapped[int] = fk("drug.id", index=False)
    quantity: Mapped[int] = mapped_column(Integer)
    brand: Mapped[str | None] = mapped_column(String(120))
    strength: Mapped[str] = mapped_column(String(40))
    pack: Mapped[str] = mapped_column(String(60))
    batch_number: Mapped[str] = mapped_column(String(40))
    dispensed_at: Mapped[datetime]

    __table_args__ = (
        *ClinicalRecord.clinical_checks(),
        CheckConstraint(
            "quantity > 0", name="quantity_positive", info={"message": N_("The quantity must be greater than zero.")}
        ),
        Index("ix_dispense_org_time", "organization_id", "dispensed_at"),
    )


class PrescriptionWarning(Base):
    """A warning of the prescribing checks that the doctor acknowledged, with their reason (PRESCRIPTION.md)."""

    __tablename__ = "prescription_warning"

    id: Mapped[IntPk]
    prescription_id: Mapped[int] = fk("prescription.id")
    line: Mapped[int] = mapped_column(SmallInteger)
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))
    # The warning as the doctor saw it (msgid and parameters, JSON), so it reads again in any language.
    detail: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(500))
    acknowledged_by: Mapped[int] = fk("cabinet.id", index=False)
    acknowledged_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(
            "length(trim(reason)) > 0",
            name="reason_given",
            info={"message": N_("An acknowledged warning needs the reason.")},
        ),
    )


class PrescriptionDraft(Base):
    """A checked prescription waiting for the doctor's E-IMZO signature over its canonical JSON."""

    __tablename__ = "prescription_draft"

    id: Mapped[IntPk]
    token: Mapped[str] = mapped_column(String(64), unique=True)
    cabinet_id: Mapped[int] = fk("cabinet.id")
    patient_id: Mapped[int] = fk("patient.id", index=False)
    # The canonical JSON to be signed, and the acknowledgements to store with the prescription (JSON).
    content: Mapped[str] = mapped_column(Text)
    acknowledgements: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    prescription_id: Mapped[int | None] = fk("prescription.id", nullable=True, index=False)


class NotificationState(StrEnum):
    """Where a message to a patient is on its way."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class PatientNotification(Base):
    """A message to a patient (an SMS), written in the same transaction as what it tells; a sender delivers it."""

    __tablename__ = "patient_notification"

    id: Mapped[IntPk]
    patient_id: Mapped[int] = fk("patient.id")
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    recipient: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    state: Mapped[NotificationState] = enum_column(NotificationState, "state", default=NotificationState.PENDING)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[OptTimestamp]

    __table_args__ = (Index("ix_patient_notification_state", "state", "id"),)

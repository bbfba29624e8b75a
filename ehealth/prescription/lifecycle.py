"""The prescription lifecycle (PRESCRIPTION.md): cancel with a reason, expire past valid-until, and the state a
prescription is in on a given day. Each transition is an outbox event (prescription.<state>) and an audit event."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Role
from ehealth.audit.trail import SYSTEM, Actor, record
from ehealth.clinical import RecordStatus
from ehealth.errors import NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.identifiers import TASHKENT
from ehealth.prescription.models import Prescription, PrescriptionState

# Prescriptions that can still be dispensed (and so cancelled or expired).
LIVE_STATES = (PrescriptionState.ACTIVE, PrescriptionState.PARTIALLY_DISPENSED)
REASON_LENGTH = 500
EXPIRY_BATCH = 500


def state_on(prescription: Prescription, day: date) -> PrescriptionState:
    """The state as of `day`: a live prescription past valid-until reads as expired even before the sweep."""
    state = PrescriptionState(prescription.state)
    if state in LIVE_STATES and prescription.valid_until < day:
        return PrescriptionState.EXPIRED
    return state


def cancel(
    session: Session,
    prescription_id: int,
    *,
    reason: str,
    actor: Actor,
    now: datetime | None = None,
    patient_id: int | None = None,
) -> Prescription:
    """Cancel a prescription with something left to dispense: by its prescriber or a doctor of its organization."""
    now = now or utcnow()
    prescription = session.execute(
        select(Prescription).where(Prescription.id == prescription_id).with_for_update()
    ).scalar_one_or_none()
    if prescription is None or (patient_id is not None and prescription.patient_id != patient_id):
        raise NotFound(N_("The prescription was not found."))
    if actor.role != Role.DOCTOR or (
        actor.cabinet_id != prescription.prescriber_id and actor.organization_id != prescription.organization_id
    ):
        raise ValidationError(N_("Only the prescriber or a doctor of the same organization may cancel a prescription."))
    reason = reason.strip()
    if not reason:
        raise ValidationError(N_("Give the reason for cancelling the prescription."), field="reason")
    if len(reason) > REASON_LENGTH:
        raise ValidationError(N_("The reason is too long (at most {max} characters)."), max=str(REASON_LENGTH))
    state = state_on(prescription, now.astimezone(TASHKENT).date())
    if state not in LIVE_STATES:
        raise ValidationError(
            N_("Prescription {number} cannot be cancelled: nothing is left to dispense on it."),
            number=prescription.number,
        )
    prescription.state = PrescriptionState.CANCELLED
    prescription.cancelled_at = now
    prescription.cancelled_by = actor.cabinet_id
    prescription.cancel_reason = reason
    flush(session)
    record(
        session,
        actor,
        "prescription.cancelled",
        patient_id=prescription.patient_id,
        object_type="prescription",
        object_id=prescription.id,
        detail=prescription.number,
    )
    return prescription


def expire_due(session: Session, *, today: date, limit: int = EXPIRY_BATCH) -> int:
    """Mark up to `limit` live prescriptions past valid-until as expired (the caller commits); how many."""
    due = (
        session.execute(
            select(Prescription)
            .where(
                Prescription.state.in_(LIVE_STATES),
                Prescription.valid_until < today,
                Prescription.status == RecordStatus.ACTIVE,
            )
            .order_by(Prescription.valid_until, Prescription.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for prescription in due:
        prescription.state = PrescriptionState.EXPIRED
    flush(session)
    for prescription in due:
        record(
            session,
            SYSTEM,
            "prescription.expired",
            patient_id=prescription.patient_id,
            object_type="prescription",
            object_id=prescription.id,
            detail=prescription.number,
        )
    return len(due)

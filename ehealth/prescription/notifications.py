"""Messages to patients: written in the transaction of what they tell, delivered by a sender (an SMS gateway)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.i18n import N_, gettext, language
from ehealth.patients.models import Patient
from ehealth.prescription.models import NotificationState, PatientNotification, Prescription

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# The SMS goes out in Uzbek (translated from this msgid in the uz catalog).
ISSUED = N_(
    "Your e-prescription {number} has been issued and is valid until {date}. "
    "At the pharmacy, give this number and your PINFL."
)


class SmsGateway(Protocol):
    """Delivers one SMS; raises on failure. A real deployment plugs the operator's gateway in here."""

    def send(self, phone: str, text: str) -> None:
        """Send `text` to `phone`."""


class LoggingGateway:
    """Development and test stand-in: writes the message to the log instead of sending it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        """Log the message and keep it for inspection."""
        self.sent.append((phone, text))
        log.info("SMS to %s: %s", phone[:-4] + "****", text)


def notify_issued(session: Session, prescription: Prescription) -> PatientNotification:
    """Tell the patient the number of their new prescription (in Uzbek: the SMS language of the system)."""
    patient = session.get(Patient, prescription.patient_id)
    with language("uz"):
        text = gettext(ISSUED, number=prescription.number, date=prescription.valid_until.strftime("%d.%m.%Y"))
    notification = PatientNotification(
        patient_id=prescription.patient_id,
        channel="sms",
        recipient=patient.phone if patient is not None else None,
        kind="prescription.issued",
        text=text,
        state=NotificationState.PENDING,
        attempts=0,
        created_at=utcnow(),
    )
    session.add(notification)
    return notification


def send_pending(
    session: Session, gateway: SmsGateway, *, limit: int = 200, on_error: Callable[[Exception], None] | None = None
) -> int:
    """Deliver up to `limit` pending messages (the caller commits); a message without a phone is marked failed."""
    pending = (
        session.execute(
            select(PatientNotification)
            .where(PatientNotification.state == NotificationState.PENDING)
            .order_by(PatientNotification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    sent = 0
    for notification in pending:
        notification.attempts += 1
        if not notification.recipient:
            notification.state, notification.last_error = NotificationState.FAILED, "no phone number"
            continue
        try:
            gateway.send(notification.recipient, notification.text)
        except Exception as error:
            notification.last_error = f"{type(error).__name__}: {error}"[:200]
            if notification.attempts >= MAX_ATTEMPTS:
                notification.state = NotificationState.FAILED
            if on_error is not None:
                on_error(error)
            continue
        notification.state, notification.sent_at = NotificationState.SENT, utcnow()
        sent += 1
    return sent

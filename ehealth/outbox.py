"""The clinical_event outbox: one row per clinical write, in the same transaction (R-11 hand-over, ETL feed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, event, insert
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column

from db import Base, IntPk, fk, utcnow
from ehealth.clinical import ClinicalRecord
from ehealth.errors import DomainError
from ehealth.i18n import N_


class ClinicalEvent(Base):
    """Something happened to a patient's record; downstream readers follow the id."""

    __tablename__ = "clinical_event"

    id: Mapped[IntPk]
    occurred_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(60))
    patient_id: Mapped[int] = fk("patient.id")
    organization_id: Mapped[int] = fk("organization.id")
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column()


class ClinicalDeletionRefused(DomainError):
    """Nothing clinical is ever deleted (R-17)."""


def _event(row: ClinicalRecord, kind: str, now: datetime) -> dict[str, Any]:
    table = row.__tablename__  # type: ignore[attr-defined]
    return {
        "occurred_at": now,
        "kind": f"{table}.{kind}",
        "patient_id": row.patient_id,
        "organization_id": row.organization_id,
        "entity": table,
        "entity_id": row.id,
    }


@event.listens_for(Session, "before_flush")
def _refuse_deletes(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if any(isinstance(row, ClinicalRecord) for row in session.deleted):
        raise ClinicalDeletionRefused(N_("Clinical records are never deleted; mark the entry as entered in error."))


@event.listens_for(Session, "after_flush")
def _append_events(session: Session, _flush: UOWTransaction) -> None:
    # after_flush still sees the pre-flush new/dirty sets, and the rows now have their ids.
    now = utcnow()
    rows = [_event(row, "created", now) for row in session.new if isinstance(row, ClinicalRecord)]
    for row in session.dirty:
        if isinstance(row, ClinicalRecord) and session.is_modified(row, include_collections=False):
            rows.append(_event(row, row.change_kind(), now))
    if rows:
        session.connection().execute(insert(ClinicalEvent), rows)

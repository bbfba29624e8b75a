"""What a personal cabinet shows its owner about signing in (R-8): the methods used and recent sign-ins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from ehealth.access.models import Cabinet, CabinetStatus, LoginIdentity
from ehealth.audit.models import AuditEvent


@dataclass(frozen=True)
class SignIn:
    """One sign-in of the cabinet's owner as the audit trail recorded it."""

    at: datetime
    method: str  # "oneid" or "eimzo"
    outcome: str
    source_ip: str | None


def sign_in_methods(session: Session, cabinet_id: int) -> list[LoginIdentity]:
    """The OneID accounts and E-IMZO certificates that have opened this cabinet, most recently used first."""
    query = (
        select(LoginIdentity)
        .where(LoginIdentity.cabinet_id == cabinet_id)
        .order_by(LoginIdentity.last_used_at.desc().nulls_last(), LoginIdentity.id.desc())
    )
    return list(session.execute(query).scalars())


def recent_sign_ins(session: Session, cabinet_id: int, limit: int = 10) -> list[SignIn]:
    """The owner's latest sign-ins, newest first (from the audit trail, which no one can edit)."""
    query = (
        select(AuditEvent.at, AuditEvent.action, AuditEvent.outcome, AuditEvent.source_ip)
        .where(AuditEvent.actor_id == cabinet_id, AuditEvent.action.like("sign\\_in.%", escape="\\"))
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        SignIn(at=at, method=action.removeprefix("sign_in."), outcome=str(outcome), source_ip=ip)
        for at, action, outcome, ip in session.execute(query)
    ]


def staff_of(session: Session, organization_id: int) -> list[Cabinet]:
    """The organization's own cabinets that are not purged: active, then blocked, then archived; by name."""
    rank = case({CabinetStatus.ACTIVE.value: 0, CabinetStatus.BLOCKED.value: 1}, value=Cabinet.status, else_=2)
    query = (
        select(Cabinet)
        .where(Cabinet.organization_id == organization_id, Cabinet.status != CabinetStatus.PURGED)
        .order_by(rank, Cabinet.surname, Cabinet.given_name, Cabinet.id)
    )
    return list(session.execute(query).scalars())

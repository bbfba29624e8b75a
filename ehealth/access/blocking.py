"""The ministry blocks a cabinet (a security concern, a leave) and unblocks it later (R-10, R-14); each step is
audited with its reason. An archived or purged cabinet is history and is not unblocked: a new request opens one."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet, CabinetStatus
from ehealth.audit.trail import Actor, record
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_

REASON_LENGTH = 500


def find_cabinets(session: Session, text: str, limit: int = 50) -> list[Cabinet]:
    """Cabinets whose ID number or PINFL is `text`, or whose surname starts with it (not purged ones)."""
    needle = " ".join(text.split())
    if len(needle) < 2:
        return []
    pattern = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = (
        select(Cabinet)
        .where(
            Cabinet.status != CabinetStatus.PURGED,
            or_(
                Cabinet.id_number == needle.upper(),
                Cabinet.pinfl == needle,
                Cabinet.surname.ilike(pattern, escape="\\"),
            ),
        )
        .order_by(Cabinet.surname, Cabinet.given_name, Cabinet.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def _reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise ValidationError(N_("Give the reason"), field="reason")
    if len(text) > REASON_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field="reason", limit=REASON_LENGTH
        )
    return text


def _locked(session: Session, cabinet_id: int) -> Cabinet:
    cabinet = session.get(Cabinet, cabinet_id, with_for_update=True)
    if cabinet is None:
        raise NotFound(N_("The personal cabinet does not exist."))
    return cabinet


def block(session: Session, cabinet_id: int, *, admin: Actor, reason: str) -> Cabinet:
    """Stop an active cabinet from signing in; its open sessions end at their next request."""
    text = _reason(reason)
    cabinet = _locked(session, cabinet_id)
    if cabinet.status != CabinetStatus.ACTIVE:
        raise DomainError(N_("Only an active cabinet can be blocked."))
    cabinet.status, cabinet.blocked_at = CabinetStatus.BLOCKED, utcnow()
    flush(session)
    record(session, admin, "cabinet.blocked", object_type="cabinet", object_id=cabinet.id, detail=text)
    return cabinet


def unblock(session: Session, cabinet_id: int, *, admin: Actor, reason: str) -> Cabinet:
    """Let a blocked (not archived) cabinet sign in again."""
    text = _reason(reason)
    cabinet = _locked(session, cabinet_id)
    if cabinet.status != CabinetStatus.BLOCKED:
        raise DomainError(N_("Only a blocked cabinet can be unblocked; an archived one needs a new request."))
    cabinet.status, cabinet.blocked_at = CabinetStatus.ACTIVE, None
    flush(session)
    record(session, admin, "cabinet.unblocked", object_type="cabinet", object_id=cabinet.id, detail=text)
    return cabinet

"""Purging the archive (R-10): a cabinet archived past the date it is kept until loses its owner's identifiers.

The row itself stays, with its ID number, organization, role, position and name: clinical records and audit events
point at it, and medical-record retention outlives the account. What goes: the PINFL, identity document and e-mail
(on the cabinet and on the request rows that named its owner) and the OneID / E-IMZO identities that signed in to it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import Cabinet, CabinetStatus, LoginIdentity, RequestedUser
from ehealth.audit.trail import Actor, record

_ERASED = {"pinfl": None, "document_series": None, "document_number": None, "email": None}


def _due(today: date) -> Select[Cabinet]:
    # Kept *until* retain_until, that day included: only the days after it are past the retention.
    return (
        select(Cabinet)
        .where(Cabinet.status == CabinetStatus.ARCHIVED, Cabinet.retain_until < today)
        .order_by(Cabinet.retain_until, Cabinet.id)
    )


def due_for_purge(session: Session, today: date) -> list[Cabinet]:
    """Archived cabinets whose retention ended before `today` (a Tashkent date), longest past it first."""
    return list(session.execute(_due(today)).scalars())


def purge(session: Session, today: date, *, actor: Actor) -> list[int]:
    """Erase the owner's identifiers from every cabinet due for purging, audited one by one; the ids purged."""
    cabinets = list(session.execute(_due(today).with_for_update()).scalars())
    now = utcnow()
    for cabinet in cabinets:
        session.execute(delete(LoginIdentity).where(LoginIdentity.cabinet_id == cabinet.id))
        session.execute(update(RequestedUser).where(RequestedUser.cabinet_id == cabinet.id).values(**_ERASED))
        for name, value in _ERASED.items():
            setattr(cabinet, name, value)
        cabinet.status = CabinetStatus.PURGED
        cabinet.purged_at = now
        flush(session)
        assert cabinet.retain_until is not None  # an archived cabinet has it (CHECK archive_retention)
        record(
            session,
            actor,
            "cabinet.purged",
            object_type="cabinet",
            object_id=cabinet.id,
            detail=f"kept until {cabinet.retain_until.isoformat()}",
        )
    return [cabinet.id for cabinet in cabinets]

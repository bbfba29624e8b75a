"""The demo people one signs in as (through the OneID or E-IMZO simulator): one per role, the Tashkent ones."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ehealth.access.models import Cabinet, CabinetStatus, Role


def demo_users(session: Session) -> list[Cabinet]:
    """The first active cabinet of each role (the demo data makes these the fixed Tashkent identities)."""
    first = (
        select(func.min(Cabinet.id))
        .where(Cabinet.status == CabinetStatus.ACTIVE)
        .group_by(Cabinet.role)
        .scalar_subquery()
    )
    cabinets = session.execute(select(Cabinet).where(Cabinet.id.in_(first))).scalars()
    order = list(Role)
    return sorted(cabinets, key=lambda cabinet: order.index(Role(cabinet.role)))

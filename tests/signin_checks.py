"""What the sign-in tests look at afterwards: the newest audit row, remembered identities, the refusal shown."""

from __future__ import annotations

from markupsafe import escape
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ehealth.access.models import LoginIdentity
from ehealth.audit.models import AuditEvent
from ehealth.i18n import gettext, language


def last_event(engine: Engine) -> AuditEvent:
    """The newest audit row."""
    with Session(engine) as session:
        event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert event is not None
    return event


def identities(engine: Engine, cabinet_id: int) -> int:
    """How many sign-in identities the cabinet has."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).where(LoginIdentity.cabinet_id == cabinet_id)) or 0


def assert_refusal_shown(message: str, page: str) -> None:
    """The page shows `message` translated into Uzbek (the default language)."""
    with language("uz"):
        assert gettext(message) != message and str(escape(gettext(message))) in page

"""What the sign-in tests share: the people who sign in, the newest audit row, identities, the refusal shown."""

from __future__ import annotations

from dataclasses import dataclass

from flask.testing import FlaskClient
from flask_login.utils import _create_identifier
from markupsafe import escape
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import CabinetStatus, LoginIdentity, Role
from ehealth.audit.models import AuditEvent
from ehealth.i18n import gettext, language
from tests import factories


@dataclass(frozen=True)
class People:
    """An active doctor and a blocked nurse of one organization: cabinet ids and PINFLs."""

    active: int
    active_pinfl: str
    blocked: int
    blocked_pinfl: str


def active_and_blocked(engine: Engine) -> People:
    """Commit an organization with an active and a blocked cabinet."""
    with Session(engine) as session:
        org = factories.organization(session)
        active = factories.cabinet(session, org, Role.DOCTOR)
        blocked = factories.cabinet(session, org, Role.NURSE)
        blocked.status, blocked.blocked_at = CabinetStatus.BLOCKED, utcnow()
        session.commit()
        assert active.pinfl is not None and blocked.pinfl is not None
        return People(active.id, active.pinfl, blocked.id, blocked.pinfl)


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


def sign_in_as(client: FlaskClient, cabinet_id: int) -> None:
    """Put a signed-in session for `cabinet_id` in the client's cookie jar, as flask-login's login_user would.

    For tests of what a signed-in user may do; the sign-in itself is tested through the OneID and E-IMZO flows.
    """
    with client.application.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()  # the "strong" session protection compares it with each request
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = str(cabinet_id)
        session["_fresh"] = True
        session["_id"] = identifier

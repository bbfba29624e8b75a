"""The cabinet shows its owner's own sign-in methods and sign-ins, newest first, and nobody else's."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.cabinet import recent_sign_ins, sign_in_methods
from ehealth.access.models import IdentityKind, LoginIdentity
from ehealth.audit.models import Outcome
from ehealth.audit.trail import Actor, record
from tests import factories


def test_recent_sign_ins_are_the_owners_own_newest_first(session: Session) -> None:
    org = factories.organization(session)
    me, other = factories.cabinet(session, org), factories.cabinet(session, org)
    mine = Actor(me.id, "doctor", org.id, "10.0.0.7")
    record(session, mine, "sign_in.oneid")
    record(session, mine, "page.denied", outcome=Outcome.DENIED)  # not a sign-in
    record(session, Actor(other.id, "doctor", org.id, "10.0.0.8"), "sign_in.eimzo")
    record(session, mine, "sign_in.eimzo", outcome=Outcome.DENIED)
    history = recent_sign_ins(session, me.id)
    assert [(s.method, s.outcome, s.source_ip) for s in history] == [
        ("eimzo", "denied", "10.0.0.7"),
        ("oneid", "success", "10.0.0.7"),
    ]
    assert len(recent_sign_ins(session, me.id, limit=1)) == 1


def test_sign_in_methods_most_recent_first(session: Session) -> None:
    org = factories.organization(session)
    me, other = factories.cabinet(session, org), factories.cabinet(session, org)
    now = utcnow()
    session.add_all(
        [
            LoginIdentity(cabinet_id=me.id, kind=IdentityKind.ONEID, subject="u-1", pinfl=me.pinfl, last_used_at=now),
            LoginIdentity(cabinet_id=me.id, kind=IdentityKind.EIMZO, subject="7A1F", pinfl=me.pinfl, last_used_at=None),
            LoginIdentity(cabinet_id=other.id, kind=IdentityKind.ONEID, subject="u-2", pinfl=other.pinfl),
        ]
    )
    session.flush()
    # Never-used identities last on both backends (PostgreSQL would put NULLs first in a descending order).
    assert [m.subject for m in sign_in_methods(session, me.id)] == ["u-1", "7A1F"]

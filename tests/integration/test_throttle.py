"""Repeated failed sign-ins from one address are refused for a while and audited; other addresses are not."""

from __future__ import annotations

from datetime import timedelta

from markupsafe import escape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import create_app
from auth.throttle import THROTTLED, TOO_MANY, recent_failures
from ehealth.audit.models import AuditEvent
from ehealth.i18n import gettext, language
from settings import Settings
from tests.signin_checks import last_event


def test_an_address_with_too_many_failures_is_slowed_down(database_url: str, engine: Engine) -> None:
    settings = Settings(
        environment="development",
        database_url=database_url,
        secret_key="z" * 40,
        sign_in_failures_allowed=3,
        oneid_simulator=True,
        eimzo_simulator=True,
    )
    app = create_app(settings)  # development: OneID is the local simulator
    attacker = {"REMOTE_ADDR": "203.0.113.9"}
    forged = "/login/oneid/callback?code=guessed&state=forged"
    with app.server.test_client() as client:
        for _ in range(3):
            assert client.get(forged, environ_base=attacker).status_code == 400
        # The fourth attempt is refused before it is tried, whatever it carries.
        refused = client.get("/login/oneid", environ_base=attacker)
        assert refused.status_code == 429
        with language("uz"):
            expected = gettext(TOO_MANY, minutes=15)
        assert expected != TOO_MANY.format(minutes=15) and str(escape(expected)) in refused.text
        assert last_event(engine).action == THROTTLED
        assert client.get("/login/eimzo", environ_base=attacker).status_code == 429
        # Someone else, from another address, goes on to OneID as usual.
        other = client.get("/login/oneid", environ_base={"REMOTE_ADDR": "198.51.100.4"})
        assert other.status_code == 302 and other.location.startswith("http://127.0.0.1:")
    with Session(engine) as session:
        assert recent_failures(session, "203.0.113.9", timedelta(minutes=15)) == 3  # throttling itself is not counted
        throttled = session.execute(select(AuditEvent).where(AuditEvent.action == THROTTLED)).scalars().all()
        assert {event.source_ip for event in throttled} == {"203.0.113.9"}

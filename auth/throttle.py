"""Repeated failed sign-ins from one address are slowed down and audited (issue 3, R-17).

The audit trail is the memory: every refused or failed sign-in is already an audit row with the source address, so
the count holds across worker processes and restarts without a second store.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auth.views import anonymous_actor, login_page
from db import request_transaction, utcnow
from ehealth.audit.models import AuditEvent, Outcome
from ehealth.audit.trail import record
from ehealth.i18n import N_, gettext
from settings import Settings

# Where a sign-in is attempted (the sign-in page and the demo picker's list stay reachable).
SIGN_IN_PATHS = ("/login/oneid", "/login/eimzo")
THROTTLED = "sign_in.throttled"
TOO_MANY = N_("Too many failed sign-in attempts from this address. Please wait {minutes} minutes and try again.")


def recent_failures(session: Session, address: str, window: timedelta) -> int:
    """Refused or failed sign-ins from `address` within the last `window`."""
    query = select(func.count()).where(
        AuditEvent.source_ip == address,
        AuditEvent.action.like("sign\\_in.%", escape="\\"),
        AuditEvent.action != THROTTLED,  # waiting out the window must end it, however often the page is reloaded
        AuditEvent.outcome.in_([Outcome.DENIED, Outcome.FAILED]),
        AuditEvent.at >= utcnow() - window,
    )
    return session.execute(query).scalar_one()


def init_app(server: Flask, settings: Settings) -> None:
    """Refuse sign-in attempts from an address past the allowed failures, until the window has passed."""
    window = timedelta(minutes=settings.sign_in_failure_window_minutes)

    @server.before_request
    def slow_down_repeated_failures() -> tuple[str, int] | None:
        """Answer 429 (and audit it) instead of trying another sign-in for a flooding address."""
        if not request.path.startswith(SIGN_IN_PATHS):
            return None
        address = request.remote_addr or "unknown"
        with request_transaction() as db:
            if recent_failures(db, address, window) < settings.sign_in_failures_allowed:
                return None
            record(db, anonymous_actor(), THROTTLED, outcome=Outcome.DENIED)
        minutes = settings.sign_in_failure_window_minutes
        return login_page(gettext(TOO_MANY, minutes=minutes), 429)

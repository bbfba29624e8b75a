"""Personal sessions: flask-login, the cabinet loader, idle expiry and cookie hardening (R-17)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, request, session
from flask_login import LoginManager, login_user, logout_user

from auth.user import Anonymous, PortalUser
from db import request_transaction, utcnow
from ehealth.access.models import Cabinet
from settings import Settings

LAST_SEEN = "last_seen"
# How the person proved who they are at sign-in (oneid / eimzo) and when: a prescription may be confirmed by a
# live OneID session (PRESCRIPTION.md).
SIGNED_IN_WITH = "signed_in_with"
# Static files: not user activity, and rewriting the session cookie on each of them costs every page load.
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")


def _load_user(user_id: str) -> PortalUser | None:
    if not user_id.isdigit():
        return None
    with request_transaction() as db:
        cabinet = db.get(Cabinet, int(user_id))
        # A cabinet blocked, archived or purged after sign-in loses its session at the next request.
        return PortalUser.of(cabinet) if cabinet is not None else None


def start_session(who: PortalUser, action: str) -> None:
    """A fresh session (no fixation) for `who`, remembering how they signed in (`sign_in.oneid`, ...)."""
    session.clear()
    login_user(who)
    session[SIGNED_IN_WITH] = {"kind": action.rsplit(".", 1)[-1], "at": utcnow().isoformat()}


def signed_in_with() -> tuple[str, datetime] | None:
    """(kind, time) of this session's sign-in, or None if it is not known."""
    value = session.get(SIGNED_IN_WITH)
    if not isinstance(value, dict) or not isinstance(value.get("kind"), str) or not isinstance(value.get("at"), str):
        return None
    try:
        return value["kind"], datetime.fromisoformat(value["at"])
    except ValueError:
        return None


def init_app(server: Flask, settings: Settings) -> None:
    """Attach flask-login and the session rules to the server."""
    idle = timedelta(hours=settings.session_idle_hours)
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.environment == "production",
        SESSION_COOKIE_NAME="ehealth_session",
        PERMANENT_SESSION_LIFETIME=idle,
    )
    manager = LoginManager()
    manager.anonymous_user = Anonymous
    manager.session_protection = "strong"
    manager.user_loader(_load_user)
    manager.init_app(server)

    @server.before_request
    def expire_idle_sessions() -> None:
        """Sign out a session that has been idle longer than the setting (DMED: 8 hours)."""
        if request.path.startswith(STATIC_PREFIXES) or request.path == "/favicon.ico":
            return
        if "_user_id" not in session:
            # Nobody signed in: nothing to expire, and not rewriting the cookie keeps a parallel request (the
            # browser's favicon) from overwriting the one-time sign-in state another response just stored.
            return
        now = utcnow().timestamp()
        last_seen = session.get(LAST_SEEN)
        if isinstance(last_seen, float) and now - last_seen > idle.total_seconds():
            logout_user()
            session.clear()
        session[LAST_SEEN] = now
        session.permanent = True

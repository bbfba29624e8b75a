"""The sign-in page, sign-in with OneID (R-7, R-9) and sign-out."""

from __future__ import annotations

import dataclasses
import hmac
import logging
import secrets
from collections.abc import Callable

from flask import Blueprint, Flask, Response, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import logout_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from auth import cabinet_choice
from auth.eimzo import EIMZO_KEY
from auth.oneid import (
    NOT_CONFIRMED,
    OneIDConfig,
    OneIDError,
    OneIDUnreachable,
    authorization_url,
    exchange_code,
)
from auth.oneid import identify as oneid_identify
from auth.redirects import safe_next
from auth.session import start_session
from auth.simulators import mask
from auth.user import PortalUser, user
from db import request_transaction, utcnow
from ehealth.access.models import Cabinet, CabinetStatus, IdentityKind, LoginIdentity
from ehealth.audit.models import Outcome
from ehealth.audit.trail import Actor, record
from ehealth.i18n import N_, gettext
from settings import Settings

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

ONEID_KEY = "ehealth.oneid"
# The pending OneID sign-in of this browser: the state we sent and where to go afterwards.
ONEID_PENDING = "oneid_pending"
SIMULATOR_CLIENT_ID = "ehealth-portal-dev"

BAD_STATE = N_("This sign-in attempt is not valid or was already used. Please sign in again.")
NO_CABINET = N_(
    "No personal cabinet is registered for this person. Ask your organization to request access to the portal for you."
)
CABINET_INACTIVE = N_("Your personal cabinet is blocked or archived. Contact your organization.")


def init_oneid(server: Flask, settings: Settings) -> None:
    """Configure OneID sign-in; in development without an endpoint, start the local simulator."""
    if settings.oneid_simulator:
        from auth.simulators import oneid as simulator  # noqa: PLC0415  (development only)

        # A fresh secret per process: the simulator and the portal are the only ones who know it.
        secret = secrets.token_urlsafe(32)
        running = simulator.start(
            settings.database_url, settings=settings, client_id=SIMULATOR_CLIENT_ID, client_secret=secret
        )
        server.extensions["ehealth.oneid_simulator"] = running
        endpoint, client_id = running.url, SIMULATOR_CLIENT_ID
    elif settings.oneid_endpoint:
        endpoint, client_id, secret = settings.oneid_endpoint, settings.oneid_client_id, settings.oneid_client_secret
    else:
        return
    server.extensions[ONEID_KEY] = OneIDConfig(
        endpoint=endpoint,
        client_id=client_id,
        client_secret=secret,
        redirect_uri=settings.oneid_redirect_uri,  # empty: the callback's address as the request reached the portal
        scope=settings.oneid_scope or client_id,  # OneID's convention: the scope is the client's own name
        timeout=settings.oneid_timeout_seconds,
    )


def _oneid_config() -> OneIDConfig | None:
    """This portal's OneID registration with the callback address, or None when OneID is not configured."""
    base: OneIDConfig | None = current_app.extensions.get(ONEID_KEY)
    if base is None:
        return None
    if base.redirect_uri:
        return base
    return dataclasses.replace(base, redirect_uri=url_for("auth.oneid_callback", _external=True))


def login_page(error: str | None = None, status: int = 200, next_path: str = "/") -> tuple[str, int]:
    """The sign-in page, with a refusal or failure shown on it when there is one."""
    page = render_template(
        "login.html",
        next=next_path,
        development=current_app.config["EHEALTH_DEVELOPMENT"],
        oneid=ONEID_KEY in current_app.extensions,
        eimzo=EIMZO_KEY in current_app.extensions,
        error=error,
    )
    return page, status


@bp.get("/login")
def login() -> tuple[str, int]:
    """The sign-in page: the ways to sign in this installation offers."""
    return login_page(next_path=safe_next(request.args.get("next")))


@bp.get("/login/oneid")
def oneid_start() -> BaseResponse:
    """Send the browser to OneID with a fresh one-time state bound to this session."""
    config = _oneid_config()
    if config is None:
        abort(404)
    state = secrets.token_urlsafe(32)
    session[ONEID_PENDING] = {"state": state, "next": safe_next(request.args.get("next"))}
    return redirect(authorization_url(config, state))


def anonymous_actor() -> Actor:
    """The not-yet-signed-in visitor, known only by address."""
    return Actor(None, None, None, request.remote_addr)


def refuse(
    message: str, detail: str, outcome: Outcome = Outcome.DENIED, status: int = 403, action: str = "sign_in.oneid"
) -> tuple[str, int]:
    """Audit a refused sign-in (committed first, so it stays in the trail) and show why on the sign-in page."""
    with request_transaction() as db:
        record(db, anonymous_actor(), action, outcome=outcome, detail=detail)
    return login_page(gettext(message), status)


def remember_identity(db: Session, cabinet: Cabinet, kind: IdentityKind, subject: str, pinfl: str) -> None:
    """Note which external identity (OneID account, E-IMZO certificate) signed in to the cabinet, and when."""
    row = db.execute(
        select(LoginIdentity).where(
            LoginIdentity.kind == kind,
            LoginIdentity.subject == subject,
            LoginIdentity.cabinet_id == cabinet.id,
        )
    ).scalar_one_or_none()
    if row is None:
        row = LoginIdentity(cabinet_id=cabinet.id, kind=kind, subject=subject, pinfl=pinfl)
        db.add(row)
    row.last_used_at = utcnow()


def sign_in_owner(
    pinfl: str, next_path: str, action: str, remember: Callable[[Session, Cabinet], None]
) -> BaseResponse | tuple[str, int]:
    """Open the active cabinet of the person with `pinfl` (R-9), offer a choice if they have several, or refuse;
    audited either way."""
    with request_transaction() as db:
        # A purged cabinet has no PINFL left to match: its former owner is told that no cabinet is registered.
        cabinets = db.execute(select(Cabinet).where(Cabinet.pinfl == pinfl).order_by(Cabinet.id)).scalars().all()
        active = [cabinet for cabinet in cabinets if cabinet.status == CabinetStatus.ACTIVE]
        who: PortalUser | None = None
        for cabinet in active:
            remember(db, cabinet)  # the identity proved itself for each of the person's cabinets
        if len(active) == 1:
            who = PortalUser.of(active[0])
            assert who is not None  # the cabinet is active
            record(db, who.actor(request.remote_addr), action, object_type="cabinet", object_id=who.cabinet_id)
        elif active:
            pass  # several cabinets: the sign-in is audited when the person has chosen one
        elif cabinets:
            record(
                db,
                anonymous_actor(),
                action,
                outcome=Outcome.DENIED,
                object_type="cabinet",
                object_id=cabinets[-1].id,
                detail=f"cabinet {cabinets[-1].status}",
            )
        else:
            record(db, anonymous_actor(), action, outcome=Outcome.DENIED, detail=f"no cabinet for {mask(pinfl)}")
    if len(active) > 1:
        return cabinet_choice.offer([cabinet.id for cabinet in active], action, next_path)
    # After the commit, so that a refusal stays in the audit trail.
    if who is None:
        return login_page(gettext(CABINET_INACTIVE if cabinets else NO_CABINET), 403)
    start_session(who, action)  # a fresh session on sign-in: no fixation
    return redirect(next_path)


@bp.get("/login/oneid/callback")
def oneid_callback() -> BaseResponse | tuple[str, int]:
    """OneID sent the browser back: check the state, fetch the identity, open the owner's cabinet (R-9)."""
    config = _oneid_config()
    if config is None:
        abort(404)
    # One-time: taken out of the session whatever happens next, so a replayed callback finds nothing.
    pending = session.pop(ONEID_PENDING, None)
    given = request.args.get("state", "")
    expected = pending.get("state") if isinstance(pending, dict) else None
    if not isinstance(expected, str) or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        return refuse(BAD_STATE, "state missing, forged or replayed", status=400)
    assert isinstance(pending, dict)
    next_path = safe_next(pending.get("next"))
    code = request.args.get("code", "")
    if not code:  # the person cancelled at OneID, or OneID reported an error instead of a code
        return refuse(NOT_CONFIRMED, "no code from OneID")
    try:
        identity = oneid_identify(config, exchange_code(config, code))
    except OneIDUnreachable as error:
        return refuse(error.msgid, "OneID unreachable", Outcome.FAILED, status=502)
    except OneIDError as error:
        return refuse(error.msgid, f"OneID refused: {error.msgid}")

    return sign_in_owner(
        identity.pin,
        next_path,
        "sign_in.oneid",
        lambda db, cabinet: remember_identity(
            db, cabinet, IdentityKind.ONEID, identity.user_id or identity.pin, identity.pin
        ),
    )


@bp.post("/logout")
def logout() -> BaseResponse | Response:
    """End the session (and audit it)."""
    who = user()
    if who is not None:
        with request_transaction() as db:
            record(db, who.actor(request.remote_addr), "sign_out")
    logout_user()
    session.clear()
    return redirect("/login")

"""Sign-in with an E-IMZO electronic signature (R-9): sign a one-time challenge, verified by E-IMZO-SERVER."""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from auth.eimzo import (
    EIMZO_KEY,
    NOT_CONFIRMED,
    EimzoConfig,
    EimzoError,
    EimzoUnreachable,
    authenticate,
    challenge,
)
from auth.redirects import safe_next
from auth.views import BAD_STATE, refuse, remember_identity, sign_in_owner
from ehealth.access.models import IdentityKind
from ehealth.audit.models import Outcome
from ehealth.pkcs7 import signed_content
from settings import Settings

bp = Blueprint("eimzo", __name__)

SIMULATOR_KEY = "ehealth.eimzo_simulator"
# The pending E-IMZO sign-in of this browser: the challenge to be signed and where to go afterwards.
EIMZO_PENDING = "eimzo_pending"
ACTION = "sign_in.eimzo"


def init_eimzo(server: Flask, settings: Settings) -> None:
    """Configure E-IMZO sign-in; in development without a server URL, start the local simulator."""
    if settings.eimzo_simulator:
        from auth.simulators import eimzo as simulator  # noqa: PLC0415  (development only)

        running = simulator.start(settings.database_url, settings=settings)
        server.extensions[SIMULATOR_KEY] = running
        url = running.url
    elif settings.eimzo_server_url:
        url = settings.eimzo_server_url
    else:
        return
    server.extensions[EIMZO_KEY] = EimzoConfig(server_url=url, timeout=settings.eimzo_timeout_seconds)
    server.register_blueprint(bp)


def _config() -> EimzoConfig:
    config: EimzoConfig | None = current_app.extensions.get(EIMZO_KEY)
    if config is None:
        abort(404)
    return config


@bp.get("/login/eimzo")
def eimzo_start() -> BaseResponse | tuple[str, int]:
    """Fetch a one-time challenge, bind it to this session and send the browser to sign it."""
    config = _config()
    next_path = safe_next(request.args.get("next"))
    try:
        value = challenge(config)
    except EimzoError as error:
        return refuse(error.msgid, "E-IMZO-SERVER unreachable", Outcome.FAILED, status=502, action=ACTION)
    session[EIMZO_PENDING] = {"challenge": value, "next": next_path}
    callback = url_for("eimzo.eimzo_callback", _external=True)
    running = current_app.extensions.get(SIMULATOR_KEY)
    if running is not None:  # development: the simulator's page stands in for the E-IMZO application
        return redirect(f"{running.sign_url()}?{urlencode({'challenge': value, 'return': callback})}")
    settings = current_app.config["EHEALTH_SETTINGS"]
    page = render_template(
        "eimzo_sign.html",
        challenge=value,
        callback=url_for("eimzo.eimzo_callback"),
        next=next_path,
        agent_url=settings.eimzo_agent_url,
        api_key=settings.eimzo_api_key,
    )
    return page, 200


@bp.post("/login/eimzo/callback")
def eimzo_callback() -> BaseResponse | tuple[str, int]:
    """The signed challenge came back: check it is this session's, verify it, open the owner's cabinet (R-9)."""
    config = _config()
    # One-time: taken out of the session whatever happens next, so a replayed callback finds nothing.
    pending = session.pop(EIMZO_PENDING, None)
    expected = pending.get("challenge") if isinstance(pending, dict) else None
    given = request.form.get("challenge", "")
    pkcs7_b64 = request.form.get("pkcs7", "")
    signed = signed_content(pkcs7_b64) if pkcs7_b64 else None
    if (
        not isinstance(expected, str)
        or not given
        or not hmac.compare_digest(expected.encode(), given.encode())
        or signed is None
        or not hmac.compare_digest(expected.encode(), signed)
    ):
        return refuse(BAD_STATE, "challenge missing, foreign or replayed", status=400, action=ACTION)
    assert isinstance(pending, dict)
    next_path = safe_next(pending.get("next"))
    try:
        identity = authenticate(config, pkcs7_b64, request.remote_addr or "", request.host)
    except EimzoUnreachable as error:
        return refuse(error.msgid, "E-IMZO-SERVER unreachable", Outcome.FAILED, status=502, action=ACTION)
    except EimzoError as error:
        detail = "E-IMZO refused the signature" if error.msgid == NOT_CONFIRMED else f"E-IMZO: {error.msgid}"
        return refuse(error.msgid, detail, action=ACTION)
    return sign_in_owner(
        identity.pinfl,
        next_path,
        ACTION,
        lambda db, cabinet: remember_identity(db, cabinet, IdentityKind.EIMZO, identity.serial, identity.pinfl),
    )

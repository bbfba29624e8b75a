"""Signing a prescription with E-IMZO: the doctor's key signs the drafted prescription's canonical JSON, and the
signed text comes back here to be verified and issued (PRESCRIPTION.md, "Confirmation")."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from auth.eimzo import EIMZO_KEY, EimzoConfig, verify_attached
from auth.eimzo_views import SIMULATOR_KEY
from auth.permissions import Permission
from auth.user import user
from db import request_transaction, utcnow
from ehealth.audit.models import Outcome
from ehealth.audit.trail import record
from ehealth.errors import DomainError
from ehealth.i18n import gettext
from ehealth.prescription.confirmation import Confirmer
from ehealth.prescription.models import PrescriptionDraft
from ehealth.prescription.prescribing import issue_signed
from settings import Settings

bp = Blueprint("prescription_signing", __name__)

# The draft this browser is signing: only its owner's session can complete it.
SIGNING = "prescription_signing"


def confirmer(app: Flask | None = None) -> Confirmer:
    """How this portal checks confirmations: its seal key, and E-IMZO-SERVER's verification when configured."""
    app = app or current_app
    settings: Settings = app.config["EHEALTH_SETTINGS"]
    config: EimzoConfig | None = app.extensions.get(EIMZO_KEY)
    verify = partial(verify_attached, config) if config is not None else None
    return Confirmer(seal_key=settings.confirmation_key.encode(), verify_pkcs7=verify)


def begin(token: str, back: str) -> str:
    """Remember the draft this session is about to sign; the address that starts the signing."""
    session[SIGNING] = {"token": token, "back": back}
    return url_for("prescription_signing.sign_page")


def _prescriber() -> None:
    who = user()
    if who is None or not who.can(Permission.PRESCRIBE):
        abort(403)


def _pending() -> dict[str, str] | None:
    value = session.get(SIGNING)
    if not isinstance(value, dict) or not isinstance(value.get("token"), str) or not isinstance(value.get("back"), str):
        return None
    return value


def _back(pending: dict[str, str] | None) -> str:
    back = pending.get("back", "/prescriptions") if pending else "/prescriptions"
    return back if back.startswith("/") and not back.startswith("//") else "/prescriptions"


def _refused(message: str, back: str, status: int = 400) -> tuple[str, int]:
    page = render_template(
        "error.html", title=gettext("The prescription was not issued"), message=message, code=status, back=back
    )
    return page, status


@bp.get("/prescriptions/sign")
def sign_page() -> BaseResponse | tuple[str, int]:
    """Hand the draft's canonical JSON to E-IMZO: the simulator's page in development, the application otherwise."""
    _prescriber()
    pending = _pending()
    who = user()
    assert who is not None
    with request_transaction() as db:
        draft = (
            db.query(PrescriptionDraft).filter_by(token=pending["token"]).one_or_none() if pending is not None else None
        )
        if draft is None or draft.cabinet_id != who.cabinet_id or draft.expires_at < utcnow():
            return _refused(gettext("This signing request has expired or was already used."), _back(pending))
        content = draft.content
    config: EimzoConfig | None = current_app.extensions.get(EIMZO_KEY)
    if config is None:
        return _refused(
            gettext("E-IMZO is not configured on this portal; confirm with your OneID session."), _back(pending)
        )
    callback = url_for("prescription_signing.signed", _external=True)
    running = current_app.extensions.get(SIMULATOR_KEY)
    if running is not None:  # development: the simulator's page stands in for the E-IMZO application
        return redirect(f"{running.sign_url()}?{urlencode({'challenge': content, 'return': callback})}")
    settings: Settings = current_app.config["EHEALTH_SETTINGS"]
    page = render_template(
        "eimzo_sign.html",
        challenge=content,
        document=content,
        callback=url_for("prescription_signing.signed"),
        heading=gettext("Sign the prescription with E-IMZO"),
        intro=gettext("Check the prescription below, choose your key and sign it."),
        button=gettext("Sign and issue"),
        back=_back(pending),
        next="/",
        agent_url=settings.eimzo_agent_url,
        api_key=settings.eimzo_api_key,
    )
    return page, 200


@bp.post("/prescriptions/sign")
def signed() -> BaseResponse | tuple[str, int]:
    """The signed canonical JSON came back: verify it and issue the prescription, or say why not."""
    _prescriber()
    pending = session.pop(SIGNING, None)
    pending = pending if isinstance(pending, dict) and isinstance(pending.get("token"), str) else None
    who = user()
    assert who is not None
    if pending is None:
        return _refused(gettext("This signing request has expired or was already used."), "/prescriptions")
    pkcs7 = request.form.get("pkcs7", "")
    actor = who.actor(request.remote_addr)
    try:
        with request_transaction() as db:
            prescription = issue_signed(db, pending["token"], pkcs7, actor=actor, confirmer=confirmer())
            number = prescription.number
    except DomainError as error:
        with request_transaction() as db:
            record(db, actor, "prescription.signing_refused", outcome=Outcome.DENIED, detail=error.msgid[:300])
        return _refused(str(error), _back(pending))
    return redirect(f"/prescriptions?{urlencode({'issued': number})}")

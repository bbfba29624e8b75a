"""Development-only sign-in: pick a demo user. Registered only under the development setting."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session
from flask_login import login_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from auth.redirects import safe_next
from auth.user import PortalUser
from db import request_transaction
from ehealth.access.models import Cabinet, CabinetStatus, Role
from ehealth.audit.models import Outcome
from ehealth.audit.trail import Actor, record

bp = Blueprint("dev_signin", __name__, url_prefix="/dev")


def demo_users(session: Session) -> list[Cabinet]:
    """The first active cabinet of each role (the demo data makes these the Tashkent ones)."""
    first = (
        select(func.min(Cabinet.id))
        .where(Cabinet.status == CabinetStatus.ACTIVE)
        .group_by(Cabinet.role)
        .scalar_subquery()
    )
    cabinets = session.execute(select(Cabinet).where(Cabinet.id.in_(first))).scalars()
    order = list(Role)
    return sorted(cabinets, key=lambda cabinet: order.index(Role(cabinet.role)))


@bp.before_request
def only_in_development() -> None:
    """Belt and braces: even if registered by mistake, it answers 404 outside development."""
    if not current_app.config["EHEALTH_DEVELOPMENT"]:
        abort(404)


@bp.get("/login")
def pick() -> str:
    """List one demo user per role."""
    with request_transaction() as db:
        users = [PortalUser.of(cabinet) for cabinet in demo_users(db)]
    return render_template("dev_login.html", users=[u for u in users if u], next=safe_next(request.args.get("next")))


@bp.post("/login")
def sign_in() -> Response:
    """Sign in as the chosen demo user."""
    cabinet_id = request.form.get("cabinet_id", "")
    with request_transaction() as db:
        cabinet = db.get(Cabinet, int(cabinet_id)) if cabinet_id.isdigit() else None
        who = PortalUser.of(cabinet) if cabinet is not None else None
        if who is None:
            record(db, Actor(None, None, None, request.remote_addr), "sign_in.dev", outcome=Outcome.DENIED)
        else:
            record(db, Actor(who.cabinet_id, who.role, who.organization_id, request.remote_addr), "sign_in.dev")
    if who is None:  # after the commit, so that the refusal stays in the audit trail
        abort(400)
    session.clear()  # a fresh session on sign-in: no fixation
    login_user(who)
    return redirect(safe_next(request.form.get("next")))

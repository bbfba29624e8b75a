"""A person with several active cabinets (two organizations, or two roles) chooses which one to work in after
OneID or E-IMZO has proved who they are (R-8: each cabinet is personal to one position)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, request, session
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from auth.redirects import safe_next
from auth.session import start_session
from auth.user import PortalUser
from db import request_transaction, utcnow
from ehealth.access.models import Cabinet
from ehealth.audit.trail import record
from ehealth.reference.models import Organization

bp = Blueprint("cabinet_choice", __name__)

# The proven person's cabinets waiting for a choice: their ids, the sign-in action, where to go, and until when.
PENDING = "cabinet_choice"
CHOICE_SECONDS = 300


def offer(cabinet_ids: list[int], action: str, next_path: str) -> BaseResponse:
    """Remember which cabinets the proven person may open and send them to choose one."""
    session.clear()  # nothing of an earlier session survives a new sign-in
    session[PENDING] = {
        "ids": cabinet_ids,
        "action": action,
        "next": next_path,
        "until": utcnow().timestamp() + CHOICE_SECONDS,
    }
    return redirect("/login/choose")


@dataclass(frozen=True)
class Pending:
    """The offer kept in the session, read back with its types checked (the cookie is signed, but be exact)."""

    ids: list[int]
    action: str
    next_path: str


def _pending() -> Pending | None:
    """The offer of this browser's session, unless absent, malformed or expired."""
    stored = session.get(PENDING)
    if not isinstance(stored, dict):
        return None
    ids, action, next_path, until = (stored.get(k) for k in ("ids", "action", "next", "until"))
    well_formed = (
        isinstance(ids, list)
        and all(isinstance(i, int) for i in ids)
        and isinstance(action, str)
        and isinstance(next_path, str)
        and isinstance(until, float)
    )
    if not well_formed or until < utcnow().timestamp():  # type: ignore[operator]
        session.pop(PENDING, None)
        return None
    return Pending(ids, action, next_path)  # type: ignore[arg-type]


@bp.get("/login/choose")
def choose() -> BaseResponse | tuple[str, int]:
    """The cabinets to choose from: organization, role and position of each."""
    pending = _pending()
    if pending is None:
        return redirect("/login")
    with request_transaction() as db:
        rows = db.execute(
            select(Cabinet, Organization.name)
            .join(Organization, Organization.id == Cabinet.organization_id)
            .where(Cabinet.id.in_(pending.ids))
            .order_by(Cabinet.id)
        ).all()
        choices = [(cabinet.id, name, cabinet.role, cabinet.position) for cabinet, name in rows]
    return render_template("choose_cabinet.html", choices=choices), 200


@bp.post("/login/choose")
def chosen() -> BaseResponse:
    """Open the chosen cabinet, if it is one the person was offered and it is still active."""
    pending = _pending()
    if pending is None:
        return redirect("/login")
    picked = request.form.get("cabinet_id", "")
    if not picked.isdigit() or int(picked) not in pending.ids:
        abort(400)  # not one of the offered cabinets: a forged form
    with request_transaction() as db:
        cabinet = db.get(Cabinet, int(picked))
        who = PortalUser.of(cabinet) if cabinet is not None else None
        if who is None:  # blocked between the proof and the choice
            session.pop(PENDING, None)
            return redirect("/login")
        record(db, who.actor(request.remote_addr), pending.action, object_type="cabinet", object_id=who.cabinet_id)
    start_session(who, pending.action)
    return redirect(safe_next(pending.next_path))

"""The sign-in page and sign-out."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, session
from flask_login import logout_user
from werkzeug.wrappers import Response as BaseResponse

from auth.redirects import safe_next
from auth.user import user
from db import request_transaction
from ehealth.audit.trail import Actor, record

bp = Blueprint("auth", __name__)


@bp.get("/login")
def login() -> str:
    """The sign-in page: the ways to sign in this installation offers."""
    return render_template(
        "login.html",
        next=safe_next(request.args.get("next")),
        development=current_app.config["EHEALTH_DEVELOPMENT"],
    )


@bp.post("/logout")
def logout() -> BaseResponse | Response:
    """End the session (and audit it)."""
    who = user()
    if who is not None:
        with request_transaction() as db:
            record(db, Actor(who.cabinet_id, who.role, who.organization_id, request.remote_addr), "sign_out")
    logout_user()
    session.clear()
    return redirect("/login")

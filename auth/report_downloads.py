"""Handing over a finished report export: only to the user who asked for it, while they may still read reports."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from auth.permissions import Permission
from auth.user import user
from db import request_transaction
from ehealth.errors import DomainError
from ehealth.reports.exports import take_file

bp = Blueprint("report_downloads", __name__)


@bp.get("/reports/download/<token>")
def download(token: str) -> Response:
    """The export's file as an attachment (audited by the service); 404 for anything not the requester's."""
    who = user()
    if who is None or not who.can(Permission.VIEW_REPORTS):
        abort(403)
    if len(token) > 64:
        abort(404)
    try:
        with request_transaction() as db:
            name, mimetype, content = take_file(db, who.acting(), token)
    except DomainError:
        abort(404)
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"  # a report is the organization's data: not for shared caches
    return response

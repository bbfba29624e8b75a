"""Deny by default for Dash callbacks: each declares the permission it needs, and the server checks it on every
call to `/_dash-update-component`, whatever the browser sent."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from dash import Dash
from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue

from auth.permissions import Permission
from auth.user import user
from db import request_transaction
from ehealth.audit.models import Outcome
from ehealth.audit.trail import record
from ehealth.i18n import gettext

# Dash keeps the function under this attribute name: functools.wraps copies a function's __dict__ onto Dash's
# wrapper, so the permission stamped here is readable from the app's callback map.
PERMISSION_ATTRIBUTE = "ehealth_permission"
# Dash's own page router: it only renders page layouts, and every layout is guarded itself.
FRAMEWORK_OUTPUTS = frozenset({".._pages_content.children..._pages_store.data.."})
UPDATE_PATH = "/_dash-update-component"

F = TypeVar("F", bound=Callable[..., Any])


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare the permission a callback needs; place it under `@callback(...)`."""

    def stamp(function: F) -> F:
        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            # Belt and braces: the request hook refuses first; this holds if the callback is ever reached another way.
            who = user()
            if who is None or not who.can(permission):
                abort(403)
            return function(*args, **kwargs)

        setattr(checked, PERMISSION_ATTRIBUTE, permission)
        return checked  # type: ignore[return-value]

    return stamp


def declared_permission(app: Dash, output: str) -> Permission | None:
    """The permission the callback answering `output` declared (None: unknown callback or none declared)."""
    entry = app.callback_map.get(output)
    if entry is None or "callback" not in entry:
        return None
    permission = getattr(entry["callback"], PERMISSION_ATTRIBUTE, None)
    return permission if isinstance(permission, Permission) else None


def _is_dependency(item: object) -> bool:
    # One input or state: {"id": ..., "property": ...}; a pattern-matching ALL input is a list of them.
    if isinstance(item, list):
        return all(_is_dependency(part) for part in item)
    return isinstance(item, dict) and isinstance(item.get("property"), str) and isinstance(item.get("id"), str | dict)


def well_formed(body: object) -> bool:
    """True when a callback request has the shape Dash's renderer sends (anything else would fail inside Dash)."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return False
    dependencies = [body.get("inputs", []), body.get("state", [])]
    if not all(isinstance(items, list) and all(_is_dependency(item) for item in items) for items in dependencies):
        return False
    changed = body.get("changedPropIds", [])
    return isinstance(changed, list) and all(isinstance(prop_id, str) for prop_id in changed)


def _refuse(status: int, message: str) -> ResponseReturnValue:
    return jsonify(error=message), status


def install(app: Dash) -> None:
    """Check every callback call on `app`'s server before Dash runs it."""

    def check() -> ResponseReturnValue | None:
        if request.path != UPDATE_PATH or request.method != "POST":
            return None
        body = request.get_json(silent=True)
        output = body.get("output") if isinstance(body, dict) else None
        if not well_formed(body) or not isinstance(output, str) or output not in app.callback_map:
            return _refuse(400, gettext("The request could not be understood. Reload the page and try again."))
        if output in FRAMEWORK_OUTPUTS:
            return None
        who = user()
        if who is None:  # the sign-in hook answers first; kept so that this check stands on its own
            return _refuse(401, gettext("Sign in again: your session has ended."))
        permission = declared_permission(app, output)
        if permission is not None and who.can(permission):
            return None
        with request_transaction() as db:
            record(db, who.actor(request.remote_addr), "callback.denied", outcome=Outcome.DENIED, detail=output[:200])
        return _refuse(403, gettext("Your role does not allow this action."))

    # After Dash's own first-request setup, which moves page callbacks into the app's callback map.
    app.server.before_request(check)

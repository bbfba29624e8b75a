"""Deny by default: a page layout runs only for a signed-in user whose role grants its permission."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import request

from auth.permissions import Permission
from auth.user import user
from db import request_transaction
from ehealth.audit.models import Outcome
from ehealth.audit.trail import record
from ehealth.i18n import gettext

Layout = Callable[..., Any]


def denied() -> dbc.Alert:
    """What a user sees on a page their role does not open."""
    return dbc.Alert(
        [
            html.H4(gettext("No access"), className="alert-heading"),
            gettext("Your role does not give access to this page."),
        ],
        color="warning",
        id="guard-denied",
    )


def guarded(permission: Permission) -> Callable[[Layout], Layout]:
    """Wrap a page layout so that it renders only for users holding `permission` (and audit refusals)."""

    def wrap(layout: Layout) -> Layout:
        @functools.wraps(layout)
        def checked(**kwargs: Any) -> Any:
            who = user()
            if who is None:
                return dcc.Location(id="guard-sign-in", href="/login", refresh=True)
            if not who.can(permission):
                with request_transaction() as db:
                    record(
                        db,
                        who.actor(request.remote_addr),
                        "page.denied",
                        outcome=Outcome.DENIED,
                        detail=str(permission),
                    )
                return denied()
            return layout(**kwargs)

        return checked

    return wrap

"""Personal cabinets for the ministry admin: find one by ID number, PINFL or surname; block or unblock it with a
reason (every step audited)."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html, no_update
from dash.exceptions import PreventUpdate
from flask import request
from sqlalchemy import select

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import user
from components.labels import role_label, status_label
from components.posted import clicked, record_id, text
from components.tables import table
from db import request_transaction
from ehealth.access.blocking import REASON_LENGTH, block, find_cabinets, unblock
from ehealth.errors import DomainError, ValidationError
from ehealth.i18n import N_, gettext
from ehealth.reference.models import Organization

dash.register_page(
    __name__,
    path="/access/cabinets",
    order=65,
    title=lambda **_: gettext("Personal cabinets"),
    nav=N_("Personal cabinets"),
    permission=Permission.MANAGE_ACCESS,
)

SEARCH_LENGTH = 100


@guarded(Permission.MANAGE_ACCESS)
def layout(**_query: str) -> html.Div:
    """The search, its results and the block / unblock form."""
    return html.Div(
        [
            html.H1(gettext("Personal cabinets"), className="h3"),
            html.P(
                gettext("Find a cabinet by its ID number, the owner's PINFL or the first letters of the surname."),
                className="text-muted",
            ),
            dbc.InputGroup(
                [
                    dbc.Input(id="cabinets-search", maxLength=SEARCH_LENGTH, debounce=True),
                    dbc.Button(gettext("Find"), id="cabinets-find"),
                ],
                className="mb-3 w-50",
            ),
            html.Div(id="cabinets-results", className="mb-3"),
            dbc.Card(
                dbc.CardBody(
                    [
                        dbc.Select(id="cabinets-pick", options=[], placeholder=gettext("Choose the cabinet")),
                        dbc.Label(gettext("Reason"), html_for="cabinets-reason", className="mt-2"),
                        dbc.Textarea(id="cabinets-reason", maxLength=REASON_LENGTH, className="mb-2"),
                        html.Div(
                            [
                                dbc.Button(gettext("Block"), id="cabinets-block", color="danger"),
                                dbc.Button(gettext("Unblock"), id="cabinets-unblock", color="success", outline=True),
                            ],
                            className="d-flex gap-2",
                        ),
                    ]
                )
            ),
            html.Div(id="cabinets-result", className="mt-3"),
        ]
    )


def _results(search: str) -> tuple[Any, list[dict[str, Any]]]:
    with request_transaction() as db:
        cabinets = find_cabinets(db, search)
        ids = {c.organization_id for c in cabinets}
        names = dict(db.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all())
        rows = [
            (
                c.full_name,
                c.id_number,
                names.get(c.organization_id, ""),
                role_label(c.role),
                c.position,
                status_label(c.status),
            )
            for c in cabinets
        ]
        options = [{"label": f"{c.full_name} · {c.id_number}", "value": str(c.id)} for c in cabinets]
    headers = [N_("Full name"), N_("ID number"), N_("Organization"), N_("Role"), N_("Position"), N_("Status")]
    return table(headers, rows, "cabinets-table", empty=N_("Nothing found."), scroll=True), options


@callback(
    Output("cabinets-results", "children"),
    Output("cabinets-pick", "options"),
    Input("cabinets-find", "n_clicks"),
    Input("cabinets-search", "value"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_ACCESS)
def find(_clicks: object, search: object) -> tuple[Any, Any]:
    """The cabinets matching what was typed."""
    try:
        needle = text(search, SEARCH_LENGTH)
    except ValidationError as error:
        return dbc.Alert(str(error), color="danger"), []
    if needle is None:
        raise PreventUpdate
    return _results(needle)


@callback(
    Output("cabinets-result", "children"),
    Output("cabinets-results", "children", allow_duplicate=True),
    Input("cabinets-block", "n_clicks"),
    Input("cabinets-unblock", "n_clicks"),
    State("cabinets-pick", "value"),
    State("cabinets-reason", "value"),
    State("cabinets-search", "value"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_ACCESS)
def act(_block: object, _unblock: object, picked: object, reason: object, search: object) -> tuple[Any, Any]:
    """Block or unblock the chosen cabinet with the reason; nothing changes on an error."""
    who = user()
    action = clicked()
    if who is None or action not in ("cabinets-block", "cabinets-unblock"):
        raise PreventUpdate
    cabinet_id = record_id(picked)
    try:
        if cabinet_id is None:
            raise ValidationError(N_("Choose the cabinet"), field="cabinet_id")
        why = text(reason, REASON_LENGTH) or ""
        with request_transaction() as db:
            change = block if action == "cabinets-block" else unblock
            cabinet = change(db, cabinet_id, admin=who.actor(request.remote_addr), reason=why)
            done = gettext(
                "The cabinet of {name} is now: {status}.", name=cabinet.full_name, status=status_label(cabinet.status)
            )
    except DomainError as error:
        return dbc.Alert(str(error), color="danger", id="cabinets-error"), no_update
    needle = search if isinstance(search, str) else ""
    return dbc.Alert(done, color="success", id="cabinets-done"), _results(needle)[0]

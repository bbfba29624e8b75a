"""The ministry's queue of installation requests (R-3): due in 15 working days, overdue first; approve into cabinets
or reject with a reason."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app, request

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import user
from components.labels import document_label, module_label, role_label
from components.posted import clicked, record_id
from components.tables import table
from db import request_transaction
from ehealth.access.requests import QueueEntry, approve, people_of, queue, reject
from ehealth.calendar import today
from ehealth.errors import DomainError
from ehealth.i18n import N_, gettext, ngettext

dash.register_page(
    __name__,
    path="/access/queue",
    order=63,
    title=lambda **_: gettext("Request queue"),
    nav=N_("Request queue"),
    permission=Permission.MANAGE_ACCESS,
)


def _days_left(entry: QueueEntry) -> str:
    if entry.overdue:
        days = -entry.working_days_left
        return ngettext("{n} working day overdue", "{n} working days overdue", days)
    days = entry.working_days_left
    return ngettext("{n} working day left", "{n} working days left", days)


def _queue_table() -> html.Div | dbc.Table:
    settings = current_app.config["EHEALTH_SETTINGS"]
    with request_transaction() as db:
        entries = queue(db, today(), week_days=settings.working_week_days)
    headers = [N_("Number"), N_("Organization"), N_("Received"), N_("Due"), N_("Days left"), N_("Modules")]
    rows = [
        html.Tr(
            [
                html.Td(entry.request.number),
                html.Td(entry.organization),
                html.Td(entry.request.received_on.isoformat()),
                html.Td(entry.request.due_on.isoformat()),
                html.Td(_days_left(entry)),
                html.Td(", ".join(module_label(m) for m in entry.request.modules)),
            ],
            className="table-danger" if entry.overdue else None,
        )
        for entry in entries
    ]
    return table(headers, rows, "queue-table", empty=N_("No open requests."))


def _options() -> list[dict[str, Any]]:
    with request_transaction() as db:
        entries = queue(db, today())
    return [{"label": f"{e.request.number} · {e.organization}", "value": e.request.id} for e in entries]


@guarded(Permission.MANAGE_ACCESS)
def layout(**_query: str) -> html.Div:
    """The open requests and the decision form."""
    return html.Div(
        [
            html.H1(gettext("Request queue"), className="h3"),
            html.Div(id="queue-result"),
            html.Div(_queue_table(), id="queue-table-box", className="mb-4"),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(gettext("Decide on a request"), className="h5"),
                        dbc.Select(id="queue-request", options=_options(), placeholder=gettext("Choose a request")),
                        html.Div(id="queue-people", className="my-3"),
                        dbc.Label(gettext("Reason (for a rejection)"), html_for="queue-reason"),
                        dbc.Textarea(id="queue-reason", maxLength=1000, className="mb-2"),
                        html.Div(
                            [
                                dbc.Button(gettext("Approve and open the cabinets"), id="queue-approve"),
                                dbc.Button(gettext("Reject"), id="queue-reject", color="danger", outline=True),
                            ],
                            className="d-flex gap-2",
                        ),
                    ]
                )
            ),
        ]
    )


@callback(Output("queue-people", "children"), Input("queue-request", "value"), prevent_initial_call=True)
@requires(Permission.MANAGE_ACCESS)
def show_people(request_id: Any) -> Any:
    """The people the chosen request names, as the decision needs them."""
    chosen = record_id(request_id)
    if chosen is None:
        return None
    with request_transaction() as db:
        people = people_of(db, chosen)
        rows = [
            (
                " ".join(filter(None, (p.surname, p.given_name, p.patronymic))),
                p.position,
                p.department_name,
                f"{document_label(p.document_type)} {p.document_series}{p.document_number}",
                p.pinfl,
                p.email,
                role_label(p.role),
            )
            for p in people
        ]
    headers = [N_("Full name"), N_("Position"), N_("Department"), N_("Document"), N_("PINFL"), N_("E-mail"), N_("Role")]
    return table(headers, rows, "queue-people-table")


@callback(
    Output("queue-result", "children"),
    Output("queue-table-box", "children"),
    Output("queue-request", "options"),
    Output("queue-request", "value"),
    Input("queue-approve", "n_clicks"),
    Input("queue-reject", "n_clicks"),
    State("queue-request", "value"),
    State("queue-reason", "value"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_ACCESS)
def decide(_approve: Any, _reject: Any, request_id: Any, reason: Any) -> tuple[Any, ...]:
    """Approve (cabinets for everyone named) or reject with the reason; nothing changes on an error."""
    who = user()
    action = clicked()
    chosen = record_id(request_id)
    if who is None or action not in ("queue-approve", "queue-reject"):
        raise PreventUpdate
    if chosen is None:
        return dbc.Alert(gettext("Choose a request first."), color="warning"), no_update, no_update, no_update
    actor = who.actor(request.remote_addr)
    try:
        with request_transaction() as db:
            if action == "queue-approve":
                cabinets = approve(db, chosen, admin=actor, on=today())
                message = ngettext("Approved: {n} cabinet opened.", "Approved: {n} cabinets opened.", len(cabinets))
            else:
                reject(db, chosen, admin=actor, reason=reason if isinstance(reason, str) else "")
                message = gettext("The request was rejected; the organization sees the reason.")
    except DomainError as error:
        return dbc.Alert(str(error), color="danger", id="queue-error"), no_update, no_update, no_update
    return dbc.Alert(message, color="success", id="queue-done"), _queue_table(), _options(), None

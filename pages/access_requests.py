"""Installation requests (R-2, R-3): the organization's manager asks for modules and names the people to get access,
typed into the table or uploaded from the Excel template; every row is checked and nothing is saved half."""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, fields
from typing import Any

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app, request

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.labels import document_label, module_label, request_status_label, role_label
from components.posted import changed, clicked
from components.tables import table
from db import request_transaction
from ehealth.access.models import DocumentType, InstallationRequest, Role
from ehealth.access.request_sheet import read_sheet, template
from ehealth.access.requests import (
    MODULES_BY_KIND,
    REQUESTABLE_ROLES,
    PersonEntry,
    RequestInvalid,
    file_request,
    requests_of,
)
from ehealth.calendar import today
from ehealth.errors import DomainError
from ehealth.i18n import N_, current_language, gettext
from ehealth.reference.models import Organization, OrganizationKind

dash.register_page(
    __name__,
    path="/access/requests",
    order=60,
    title=lambda **_: gettext("Installation requests"),
    nav=N_("Installation requests"),
    permission=Permission.MANAGE_STAFF,
)

# The people table's columns, in the order clause 2 lists the fields.
COLUMNS: dict[str, str] = {
    "surname": N_("Surname"),
    "given_name": N_("Given name"),
    "patronymic": N_("Patronymic"),
    "position": N_("Position"),
    "department_name": N_("Department"),
    "document_type": N_("Document"),
    "document": N_("Series and number"),
    "pinfl": N_("PINFL"),
    "email": N_("E-mail"),
    "role": N_("Role"),
}
GENERAL_FIELDS: dict[str, str] = {
    "modules": N_("Modules"),
    "people": N_("People"),
    "letter_number": N_("Letter number"),
    "contact_name": N_("Contact person"),
    "contact_phone": N_("Contact phone"),
}
REQUEST = N_("Request")  # the label of an error that concerns no one field
EMPTY_ROW: dict[str, str] = {name: "" for name in COLUMNS} | {"document_type": DocumentType.PASSPORT}
INITIAL_ROWS = 3


def _organization(who: PortalUser) -> Organization:
    with request_transaction() as db:
        organization = db.get(Organization, who.organization_id)
        assert organization is not None  # a cabinet's organization exists (foreign key)
        db.expunge(organization)
    return organization


def _people_table() -> dag.AgGrid:
    roles = [role for role in Role if role in REQUESTABLE_ROLES]
    choices = {
        "role": {str(role): role_label(role) for role in roles},
        "document_type": {str(kind): document_label(kind) for kind in DocumentType},
    }

    def column(name: str, label: str) -> dict[str, Any]:
        definition: dict[str, Any] = {
            "field": name,
            "headerName": gettext(label),
            # A cell the last send found wrong stays red until it is sent again.
            "cellClassRules": {"table-danger": f"params.data._errors && params.data._errors.includes('{name}')"},
        }
        if name in choices:
            # refData shows the translated label of the stored code, in the cell and in the drop-down.
            definition |= {
                "cellEditor": "agSelectCellEditor",
                "cellEditorParams": {"values": list(choices[name])},
                "refData": choices[name],
            }
        return definition

    return dag.AgGrid(
        id="requests-people",
        columnDefs=[column(name, label) for name, label in COLUMNS.items()],
        rowData=[dict(EMPTY_ROW) for _ in range(INITIAL_ROWS)],
        defaultColDef={"editable": True, "resizable": True, "minWidth": 120, "sortable": False},
        columnSize="responsiveSizeToFit",
        dashGridOptions={
            "singleClickEdit": True,
            "stopEditingWhenCellsLoseFocus": True,
            "enterNavigatesVerticallyAfterEdit": True,
            "rowSelection": {"mode": "multiRow"},
            "domLayout": "autoHeight",
        },
    )


def _request_form(kind: OrganizationKind) -> dbc.Card:
    modules = sorted(MODULES_BY_KIND.get(kind, frozenset()))
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("New request"), className="h5"),
                dbc.Label(gettext("Modules"), html_for="requests-modules"),
                dbc.Checklist(
                    id="requests-modules",
                    options=[{"label": module_label(m), "value": str(m)} for m in modules],
                    value=[str(m) for m in modules],
                    inline=True,
                    className="mb-3",
                ),
                dbc.Row(
                    [
                        dbc.Col(_field("requests-letter", N_("Letter number"), "01-12/345")),
                        dbc.Col(_field("requests-contact-name", N_("Contact person"), "")),
                        dbc.Col(_field("requests-contact-phone", N_("Contact phone"), "+998 71 200 00 00")),
                    ],
                    className="mb-3",
                ),
                html.H3(gettext("People to be given access"), className="h6"),
                html.P(
                    gettext(
                        "Type the people into the table, or fill the Excel template and upload it. "
                        "Every field is required."
                    ),
                    className="text-muted small",
                ),
                html.Div(
                    [
                        dbc.Button(
                            gettext("Download the Excel template"),
                            id="requests-template",
                            color="secondary",
                            outline=True,
                            size="sm",
                        ),
                        dcc.Download(id="requests-template-file"),
                        dcc.Upload(
                            dbc.Button(gettext("Upload a filled sheet"), color="secondary", outline=True, size="sm"),
                            id="requests-upload",
                            accept=".xlsx",
                            max_size=2 * 1024 * 1024,
                        ),
                        dbc.Button(gettext("Add a row"), id="requests-add-row", color="light", size="sm"),
                        dbc.Button(
                            gettext("Delete the selected rows"), id="requests-delete-rows", color="light", size="sm"
                        ),
                    ],
                    className="d-flex gap-2 mb-2",
                ),
                html.Div(id="requests-upload-result"),
                _people_table(),
                html.Div(id="requests-errors", className="mt-3"),
                dbc.Button(gettext("Send the request"), id="requests-submit", color="primary", className="mt-2"),
            ]
        ),
        className="mb-4",
    )


def _field(component_id: str, label: str, placeholder: str) -> list[Any]:
    return [
        dbc.Label(gettext(label), html_for=component_id),
        dbc.Input(id=component_id, placeholder=placeholder, maxLength=200),
    ]


def _requests_table(rows: list[InstallationRequest]) -> html.P | dbc.Table:
    headers = [N_("Number"), N_("Received"), N_("Due"), N_("Modules"), N_("Status"), N_("Reason")]
    cells = [
        (
            row.number,
            row.received_on.isoformat(),
            row.due_on.isoformat(),
            ", ".join(module_label(m) for m in row.modules),
            request_status_label(row.status),
            row.rejection_reason or "",
        )
        for row in rows
    ]
    return table(headers, cells, "requests-list", empty=N_("No requests yet."))


def _own_requests(who: PortalUser) -> html.P | dbc.Table:
    with request_transaction() as db:
        return _requests_table(requests_of(db, who.organization_id))


@guarded(Permission.MANAGE_STAFF)
def layout(**_query: str) -> html.Div:
    """The request form and the organization's requests so far."""
    who = user()
    assert who is not None  # guarded
    organization = _organization(who)
    return html.Div(
        [
            html.H1(gettext("Installation requests"), className="h3"),
            html.P(
                gettext(
                    "The ministry installs the modules and opens the cabinets within 15 working days of the request."
                ),
                className="text-muted",
            ),
            html.Div(id="requests-result"),
            _request_form(OrganizationKind(organization.kind)),
            html.H2(gettext("Our requests"), className="h5"),
            html.Div(_own_requests(who), id="requests-list-box"),
        ]
    )


@callback(
    Output("requests-template-file", "data"),
    Input("requests-template", "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_STAFF)
def download_template(clicks: int | None) -> dict[str, Any]:
    """The Excel template in the user's language."""
    if not clicks:
        raise PreventUpdate
    # A plain dict is what dcc.send_bytes builds; written out because Dash does not export it for type checkers.
    content = base64.b64encode(template(current_language())).decode("ascii")
    return {"content": content, "filename": gettext("access-request.xlsx"), "base64": True, "type": None}


@callback(
    Output("requests-people", "rowData"),
    Output("requests-upload-result", "children"),
    Input("requests-add-row", "n_clicks"),
    Input("requests-upload", "contents"),
    State("requests-people", "rowData"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_STAFF)
def edit_rows(_clicks: int | None, contents: str | None, rows: list[dict[str, Any]] | None) -> tuple[Any, Any]:
    """Add an empty row, or replace the table with the rows of an uploaded sheet."""
    if changed() == "requests-upload":
        if not isinstance(contents, str) or not contents:
            raise PreventUpdate
        return _rows_from_upload(contents)
    if clicked() != "requests-add-row":
        raise PreventUpdate
    return [*(rows if isinstance(rows, list) else []), dict(EMPTY_ROW)], no_update


def _rows_from_upload(contents: str) -> tuple[Any, Any]:
    _, _, encoded = contents.partition(",")
    try:
        data = base64.b64decode(encoded, validate=True)
        people = read_sheet(data)
    except (binascii.Error, ValueError):
        return no_update, dbc.Alert(
            gettext("The file could not be read. Upload the filled Excel template."), color="danger"
        )
    except DomainError as error:
        return no_update, dbc.Alert(str(error), color="danger", id="requests-upload-error")
    rows = [asdict(entry) for entry in people]
    message = gettext("{count} rows read from the sheet. Check them and send the request.", count=len(rows))
    return rows, dbc.Alert(message, color="info", id="requests-upload-ok")


@callback(
    Output("requests-people", "deleteSelectedRows"),
    Input("requests-delete-rows", "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_STAFF)
def delete_rows(clicks: int | None) -> bool:
    """Remove the rows ticked in the table."""
    if not clicks:
        raise PreventUpdate
    return True


@callback(
    Output("requests-result", "children"),
    Output("requests-errors", "children"),
    Output("requests-people", "rowData", allow_duplicate=True),
    Output("requests-list-box", "children"),
    Input("requests-submit", "n_clicks"),
    State("requests-modules", "value"),
    State("requests-letter", "value"),
    State("requests-contact-name", "value"),
    State("requests-contact-phone", "value"),
    State("requests-people", "rowData"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_STAFF)
def submit(
    clicks: int | None,
    modules: list[str] | None,
    letter: str | None,
    contact_name: str | None,
    contact_phone: str | None,
    rows: list[dict[str, Any]] | None,
) -> tuple[Any, ...]:
    """File the request for the user's own organization, or show every error and save nothing."""
    who = user()
    if who is None or clicked() != "requests-submit":
        raise PreventUpdate
    typed = [_entry(row) for row in (rows if isinstance(rows, list) else []) if isinstance(row, dict)]
    # A row with nothing typed but the preset document type is a spare row, not a person.
    people = [entry for entry in typed if any(v.strip() for k, v in asdict(entry).items() if k != "document_type")]
    settings = current_app.config["EHEALTH_SETTINGS"]
    try:
        with request_transaction() as db:
            filed = file_request(
                db,
                organization_id=who.organization_id,  # never from the browser: a manager asks only for their own
                modules=[m for m in (modules or []) if isinstance(m, str)],
                people=people,
                letter_number=letter or "",
                contact_name=contact_name or "",
                contact_phone=contact_phone or "",
                received_on=today(),
                author=who.actor(request.remote_addr),
                week_days=settings.working_week_days,
            )
            number, due = filed.number, filed.due_on
    except RequestInvalid as invalid:
        return (
            dbc.Alert(str(invalid), color="danger", id="requests-invalid"),
            _error_list(invalid),
            _marked(people, invalid) if people else no_update,
            no_update,
        )
    except DomainError as error:
        return dbc.Alert(str(error), color="danger", id="requests-invalid"), None, no_update, no_update
    done = gettext("Request {number} was sent. It is due by {due}.", number=number, due=due.isoformat())
    return (
        dbc.Alert(done, color="success", id="requests-sent"),
        None,
        [dict(EMPTY_ROW) for _ in range(INITIAL_ROWS)],
        _own_requests(who),
    )


def _marked(people: list[PersonEntry], invalid: RequestInvalid) -> list[dict[str, Any]]:
    """The rows that were sent (spare rows dropped, so that row numbers match the errors), wrong fields marked."""
    return [asdict(entry) | {"_errors": sorted(invalid.errors.get(index, {}))} for index, entry in enumerate(people)]


def _entry(row: dict[str, Any]) -> PersonEntry:
    """A table row as typed; anything that is not text becomes text so the service can say what is wrong."""
    return PersonEntry(**{f.name: _text(row.get(f.name)) for f in fields(PersonEntry)})


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _error_list(invalid: RequestInvalid) -> html.Ul:
    items = [
        html.Li(f"{gettext(GENERAL_FIELDS.get(error.field or '', REQUEST))}: {error}") for error in invalid.general
    ]
    for index, row_errors in sorted(invalid.errors.items()):
        for name, error in row_errors.items():
            label = gettext(COLUMNS.get(name, name))
            items.append(html.Li(gettext("Row {row}, {field}: {error}", row=index + 1, field=label, error=error)))
    return html.Ul(items, className="text-danger small", id="requests-error-list")

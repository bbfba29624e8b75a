"""The doctor's register of e-prescriptions (Elektron retsept): their own or their organization's, by state, with
what has been dispensed; a prescription still in force is cancelled here with a reason, or corrected (a new one
written from it cancels it)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import select

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components import prescription_form as form
from components.labels import method_label, prescription_category_label, prescription_state_label
from components.posted import clicked, record_id, text
from components.tables import table
from db import request_transaction
from ehealth.calendar import today
from ehealth.errors import DomainError, ValidationError
from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT
from ehealth.prescription.lifecycle import REASON_LENGTH, cancel
from ehealth.prescription.models import Prescription, PrescriptionState
from ehealth.prescription.registers import (
    SCOPES,
    PrescriptionRow,
    own_prescription_number,
    prescriber_register,
)

dash.register_page(
    __name__,
    path="/prescriptions",
    order=40,
    title=lambda **_: gettext("Prescriptions"),
    nav=N_("Prescriptions"),
    permission=Permission.PRESCRIBE,
)

CANCEL = "rx-cancel"  # the per-row button (pattern-matching id)
EVERY_STATE = "all"
NUMBER_LENGTH = 20
SCOPE_LABELS: dict[str, str] = {"mine": N_("Mine"), "organization": N_("My organization")}


def _state(value: object) -> str | None:
    """The state chosen in the filter (None: every state); the register refuses anything else."""
    if value in (None, "", EVERY_STATE):
        return None
    return value if isinstance(value, str) else ""


def _scope(value: object) -> str:
    return value if isinstance(value, str) else ""


# --- the table ------------------------------------------------------------------------------------------------------


def _actions(row: PrescriptionRow) -> list[Any]:
    if not row.left_to_dispense:
        return []
    actions: list[Any] = [
        dbc.Button(gettext("Cancel"), id={"type": CANCEL, "index": row.id}, size="sm", color="danger", outline=True)
    ]
    if row.encounter_id is not None:
        actions.append(
            dcc.Link(
                gettext("Correct"),
                href=f"/prescribe/{row.encounter_id}?replaces={row.id}",
                id=f"rx-correct-{row.id}",
                className="small",
            )
        )
    return [html.Div(actions, className="d-flex flex-wrap gap-2 align-items-center")]


def _row(row: PrescriptionRow, organization: bool) -> html.Tr:
    patient: list[Any] = [dcc.Link(row.patient, href=f"/patient/{row.patient_id}")]
    if organization:
        patient += [html.Br(), html.Small(row.prescriber, className="text-muted")]
    state: list[Any] = [form.state_badge(row.state)]
    if row.state == PrescriptionState.CANCELLED and row.cancel_reason:
        state += [html.Br(), html.Small(row.cancel_reason, className="text-muted")]
    cells: list[Any] = [
        html.Strong(row.number),
        row.issued_at.astimezone(TASHKENT).strftime("%d.%m.%Y %H:%M"),
        patient,
        html.Span(row.icd10_code, title=form.diagnosis_text(row.icd10_code)),
        prescription_category_label(row.category),
        [html.Div(item) for item in row.items],
        row.valid_until.strftime(form.DAY),
        state,
        method_label(row.confirmation),
        _actions(row),
    ]
    return html.Tr([html.Td(cell) for cell in cells], id=f"rx-row-{row.id}")


def _table(rows: list[PrescriptionRow], scope: str) -> Any:
    headers = [
        N_("Number"),
        N_("Issued"),
        N_("Patient"),
        N_("Diagnosis"),
        N_("Category"),
        N_("Medicines (dispensed/prescribed)"),
        N_("Valid until"),
        N_("State"),
        N_("Confirmation"),
        N_("Actions"),
    ]
    body = [_row(row, scope == "organization") for row in rows]
    return table(headers, body, "rx-register-table", empty=N_("No prescriptions to show."), scroll=True)


def _register(who: PortalUser, scope: object, state: object) -> Any:
    """The register as filtered, or why the filter is refused."""
    try:
        with request_transaction() as db:
            rows = prescriber_register(db, who.acting(), scope=_scope(scope), state=_state(state), day=today())
    except DomainError as error:
        return dbc.Alert(str(error), color="warning", id="rx-register-error")
    return _table(rows, _scope(scope))


# --- the page -------------------------------------------------------------------------------------------------------


def _filters() -> dbc.Row:
    states = [{"label": gettext("All states"), "value": EVERY_STATE}] + [
        {"label": prescription_state_label(state), "value": state.value} for state in PrescriptionState
    ]
    return dbc.Row(
        [
            dbc.Col(
                dbc.RadioItems(
                    id="rx-register-scope",
                    options=[{"label": gettext(SCOPE_LABELS[scope]), "value": scope} for scope in SCOPES],
                    value="mine",
                    inline=True,
                ),
                md="auto",
            ),
            dbc.Col(
                dbc.Select(id="rx-register-state", options=states, value=EVERY_STATE, size="sm"),
                md=3,
            ),
        ],
        className="g-3 align-items-center mb-2",
    )


def _cancel_dialog() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id="rx-cancel-title")),
            dbc.ModalBody(
                [
                    dbc.Label(gettext("Reason for cancelling"), html_for="rx-cancel-reason"),
                    dbc.Textarea(id="rx-cancel-reason", maxLength=REASON_LENGTH, rows=2),
                    html.Div(id="rx-cancel-error", className="mt-2"),
                ]
            ),
            dbc.ModalFooter(dbc.Button(gettext("Cancel the prescription"), id="rx-cancel-confirm", color="danger")),
        ],
        id="rx-cancel-dialog",
        is_open=False,
    )


def _issued_alert(who: PortalUser, issued: str | None) -> Any:
    """After E-IMZO signing: the number issued, if it is one of the doctor's own prescriptions."""
    if not issued:
        return None
    with request_transaction() as db:
        number = own_prescription_number(db, who.acting(), issued[:NUMBER_LENGTH])
    if number is None:
        return None
    message = gettext("Prescription {number} was issued.", number=number)
    return dbc.Alert(message, color="success", id="rx-issued", dismissable=True)


@guarded(Permission.PRESCRIBE)
def layout(issued: str | None = None, **_query: str) -> html.Div:
    """The doctor's prescriptions, newest first."""
    who = user()
    assert who is not None  # guarded
    return html.Div(
        [
            html.H1(gettext("Prescriptions"), className="h3"),
            _issued_alert(who, issued if isinstance(issued, str) else None),
            _filters(),
            html.Div(id="rx-register-result"),
            html.Div(_register(who, "mine", EVERY_STATE), id="rx-register-box"),
            _cancel_dialog(),
            dcc.Store(id="rx-cancel-target"),
            dcc.Store(id="rx-register-changed"),
        ],
        id="rx-register-page",
    )


# --- callbacks ------------------------------------------------------------------------------------------------------


@callback(
    Output("rx-register-box", "children"),
    Input("rx-register-scope", "value"),
    Input("rx-register-state", "value"),
    Input("rx-register-changed", "data"),
    prevent_initial_call=True,
)
@requires(Permission.PRESCRIBE)
def show_register(scope: object, state: object, _changed: object) -> Any:
    """The register again for the filter chosen, or after a cancellation."""
    who = user()
    if who is None:
        raise PreventUpdate
    return _register(who, scope, state)


def _row_button() -> int | None:
    """The prescription id of the row's Cancel button that was clicked; None for anything else."""
    prop = clicked()
    try:
        component = json.loads(prop) if prop and prop.startswith("{") else None
    except ValueError:
        return None
    if not isinstance(component, dict) or component.get("type") != CANCEL:
        return None
    return record_id(component.get("index"))


@callback(
    Output("rx-cancel-dialog", "is_open"),
    Output("rx-cancel-target", "data"),
    Output("rx-cancel-title", "children"),
    Output("rx-cancel-reason", "value"),
    Output("rx-cancel-error", "children"),
    Input({"type": CANCEL, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.PRESCRIBE)
def ask_reason(_clicks: object) -> tuple[Any, ...]:
    """Open the cancellation dialog for the row's prescription (one of the doctor's organization's)."""
    who = user()
    prescription_id = _row_button()
    if who is None or prescription_id is None:
        raise PreventUpdate
    with request_transaction() as db:
        number = db.execute(
            select(Prescription.number).where(
                Prescription.id == prescription_id, Prescription.organization_id == who.organization_id
            )
        ).scalar_one_or_none()
    if number is None:
        raise PreventUpdate
    title = gettext("Cancel prescription {number}", number=number)
    return True, prescription_id, title, "", None


@callback(
    Output("rx-cancel-dialog", "is_open", allow_duplicate=True),
    Output("rx-cancel-error", "children", allow_duplicate=True),
    Output("rx-register-result", "children"),
    Output("rx-register-changed", "data"),
    Input("rx-cancel-confirm", "n_clicks"),
    State("rx-cancel-target", "data"),
    State("rx-cancel-reason", "value"),
    prevent_initial_call=True,
)
@requires(Permission.PRESCRIBE)
def cancel_prescription(_clicks: object, target: object, reason: object) -> tuple[Any, ...]:
    """Cancel the prescription with the reason given (its prescriber or a doctor of its organization); a refusal
    keeps the dialog open with the reason why and changes nothing."""
    who = user()
    if who is None or clicked() != "rx-cancel-confirm":
        raise PreventUpdate
    try:
        prescription_id = record_id(target)
        if prescription_id is None:
            raise ValidationError(N_("The prescription was not found."))
        why = text(reason, REASON_LENGTH) or ""
        with request_transaction() as db:
            cancelled = cancel(db, prescription_id, reason=why, actor=who.acting())
            number = cancelled.number
    except DomainError as error:
        return no_update, dbc.Alert(str(error), color="danger", id="rx-cancel-refused"), no_update, no_update
    done = dbc.Alert(
        gettext("Prescription {number} was cancelled.", number=number), color="success", id="rx-cancel-done"
    )
    return False, None, done, datetime.now(TASHKENT).isoformat()

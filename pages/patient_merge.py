"""Merging two records of one person (R-13.1): the registrar names both records, compares them side by side, and
merges the second into the first with a reason; their own merges are listed and can be undone with a reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import request

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.posted import clicked, record_id, text
from components.tables import table
from db import request_transaction
from ehealth.errors import DomainError, ValidationError
from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT
from ehealth.patients.merge import REASON_LENGTH, RecordSummary, merge, merges_by, record_summary, unmerge
from ehealth.patients.models import Patient, PatientMerge, Sex

dash.register_page(
    __name__,
    path="/patients/merge",
    order=12,
    title=lambda **_: gettext("Merge records"),
    nav=N_("Merge records"),
    permission=Permission.REGISTER_PATIENT,
)

RECORD_PATH = "/patient/{id}"
# As on the patients page (a page does not import another: Dash loads each page module itself).
SEX_LABELS: dict[str, str] = {Sex.MALE: N_("Male"), Sex.FEMALE: N_("Female")}
TYPED_LENGTH = 40  # a record number or a PINFL, with the spaces people type
FIELDS: dict[str, str] = {
    "survivor_id": N_("Record to keep"),
    "merged_id": N_("Duplicate record"),
    "reason": N_("Reason"),
    "merge_id": N_("Merge"),
}
GENERAL = N_("Merge records")  # the label of an error that concerns no one field


def _sex(sex: str) -> str:
    return gettext(SEX_LABELS[sex]) if sex in SEX_LABELS else sex


def _when(moment: datetime | None) -> str:
    """A time as the users read it: Tashkent time, to the minute."""
    return moment.astimezone(TASHKENT).strftime("%Y-%m-%d %H:%M") if moment else ""


def _typed(value: object, field: str) -> str:
    try:
        return text(value, TYPED_LENGTH) or ""
    except ValidationError as error:
        raise ValidationError(error.msgid, field=field, **error.params) from None


def _error(error: DomainError, component_id: str) -> dbc.Alert:
    label = gettext(FIELDS.get(error.field or "", GENERAL))
    return dbc.Alert(f"{label}: {error}", color="danger", id=component_id)


# --- comparing and merging -----------------------------------------------------------------------------------------


def _side(summary: RecordSummary, title: str, side: str) -> dbc.Card:
    patient = summary.patient
    facts = [
        (N_("Record"), str(patient.id)),
        (N_("Birth date"), patient.birth_date.isoformat()),
        (N_("Sex"), _sex(patient.sex)),
        (N_("PINFL"), patient.pinfl),
        (N_("Phone"), patient.phone or ""),
        (N_("Encounters"), str(summary.encounters)),
    ]
    merged = (
        [dbc.Alert(gettext("Already merged into record {id}.", id=patient.merged_into_id), color="warning")]
        if patient.merged_into_id is not None
        else []
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3(gettext(title), className="h6 text-muted"),
                dcc.Link(patient.full_name, href=RECORD_PATH.format(id=patient.id), className="h5 d-block mb-2"),
                html.Dl(
                    [item for label, value in facts for item in (html.Dt(gettext(label)), html.Dd(value))],
                    className="row mb-0 small",
                ),
                *merged,
            ]
        ),
        id=f"patients-merge-{side}-card",
        className="h-100",
    )


def _compare(who: PortalUser, keep: object, duplicate: object) -> dbc.Row:
    """Both records side by side; each look-up is checked and audited by the service."""
    actor = who.actor(request.remote_addr)
    with request_transaction() as db:
        first = record_summary(db, _typed(keep, "survivor_id"), field="survivor_id", actor=actor)
        second = record_summary(db, _typed(duplicate, "merged_id"), field="merged_id", actor=actor)
        row = dbc.Row(
            [
                dbc.Col(_side(first, N_("Record to keep"), "keep"), md=6),
                dbc.Col(_side(second, N_("Duplicate record (merged into the first)"), "duplicate"), md=6),
            ],
            className="g-3",
        )
        if first.patient.id == second.patient.id:
            raise ValidationError(N_("A record cannot be merged into itself; choose two records."), field="merged_id")
    return row


@callback(
    Output("patients-merge-compare", "children"),
    Input("patients-merge-show", "n_clicks"),
    State("patients-merge-keep", "value"),
    State("patients-merge-duplicate", "value"),
    prevent_initial_call=True,
)
@requires(Permission.REGISTER_PATIENT)
def show(_clicks: object, keep: object, duplicate: object) -> Any:
    """The two records named, side by side."""
    who = user()
    if who is None or clicked() != "patients-merge-show":
        raise PreventUpdate
    try:
        return _compare(who, keep, duplicate)
    except DomainError as error:
        return _error(error, "patients-merge-show-error")


@callback(
    Output("patients-merge-result", "children"),
    Output("patients-merge-compare", "children", allow_duplicate=True),
    Output("patients-merge-list-box", "children", allow_duplicate=True),
    Output("patients-merge-undo-pick", "options", allow_duplicate=True),
    Output("patients-merge-reason", "value"),
    Input("patients-merge-submit", "n_clicks"),
    State("patients-merge-keep", "value"),
    State("patients-merge-duplicate", "value"),
    State("patients-merge-reason", "value"),
    prevent_initial_call=True,
)
@requires(Permission.REGISTER_PATIENT)
def submit_merge(_clicks: object, keep: object, duplicate: object, reason: object) -> tuple[Any, ...]:
    """Merge the duplicate into the record to keep; the records are named again here, never taken on trust."""
    who = user()
    if who is None or clicked() != "patients-merge-submit":
        raise PreventUpdate
    actor = who.actor(request.remote_addr)
    try:
        why = _reason(reason)
        with request_transaction() as db:
            first = record_summary(db, _typed(keep, "survivor_id"), field="survivor_id", actor=actor)
            second = record_summary(db, _typed(duplicate, "merged_id"), field="merged_id", actor=actor)
            entry = merge(db, survivor_id=first.patient.id, merged_id=second.patient.id, reason=why, actor=actor)
            moved = sum(len(ids) for ids in entry.moved.values())
            done = gettext(
                "Record {merged} was merged into record {survivor}: {count} entries moved.",
                merged=entry.merged_id,
                survivor=entry.survivor_id,
                count=moved,
            )
    except DomainError as error:
        return _error(error, "patients-merge-error"), no_update, no_update, no_update, no_update
    listing, options = _merges(who)
    return dbc.Alert(done, color="success", id="patients-merge-done"), None, listing, options, ""


def _reason(reason: object) -> str:
    try:
        why = text(reason, REASON_LENGTH)
    except ValidationError as error:
        raise ValidationError(error.msgid, field="reason", **error.params) from None
    if why is None:
        raise ValidationError(N_("Give the reason"), field="reason")
    return why


# --- the user's own merges and their undoing -----------------------------------------------------------------------


def _name(patients: dict[int, Patient], patient_id: int) -> str:
    patient = patients.get(patient_id)
    return f"{patient.full_name} ({patient_id})" if patient is not None else str(patient_id)


def _state(entry: PatientMerge) -> str:
    if entry.undone_at is None:
        return gettext("In force")
    return gettext("Undone {when}: {reason}", when=_when(entry.undone_at), reason=entry.undo_reason or "")


def _merges(who: PortalUser) -> tuple[Any, list[dict[str, str]]]:
    """The merges the user made, newest first, and those that can be undone (for the choice)."""
    with request_transaction() as db:
        entries = merges_by(db, who.cabinet_id)
        ids = {pid for entry in entries for pid in (entry.survivor_id, entry.merged_id)}
        patients = {pid: patient for pid in ids if (patient := db.get(Patient, pid)) is not None}
        rows = [
            html.Tr(
                [
                    html.Td(_when(entry.merged_at)),
                    html.Td(_name(patients, entry.survivor_id)),
                    html.Td(_name(patients, entry.merged_id)),
                    html.Td(entry.reason),
                    html.Td(_state(entry)),
                ],
                className="text-muted" if entry.undone_at is not None else None,
                id=f"patients-merge-row-{entry.id}",
            )
            for entry in entries
        ]
        options = [
            {
                "label": f"{_when(entry.merged_at)} · {_name(patients, entry.merged_id)} → {entry.survivor_id}",
                "value": str(entry.id),
            }
            for entry in entries
            if entry.undone_at is None
        ]
    headers = [N_("Merged"), N_("Record kept"), N_("Record merged"), N_("Reason"), N_("State")]
    listing = table(headers, rows, "patients-merge-list", empty=N_("You have not merged any records."), scroll=True)
    return listing, options


@guarded(Permission.REGISTER_PATIENT)
def layout(**_query: str) -> html.Div:
    """The two records to merge, the comparison, the reason, and the user's own merges with their undo."""
    who = user()
    assert who is not None  # guarded
    listing, options = _merges(who)
    return html.Div(
        [
            html.H1(gettext("Merge records"), className="h3"),
            html.P(
                gettext(
                    "When one person has two records, name the record to keep first and the duplicate second, by "
                    "record number or PINFL. Everything in the duplicate moves to the record kept; the merge can be "
                    "undone."
                ),
                className="text-muted",
            ),
            dbc.Form(
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(gettext("Record to keep"), html_for="patients-merge-keep"),
                                dbc.Input(
                                    id="patients-merge-keep",
                                    maxLength=TYPED_LENGTH,
                                    autoFocus=True,
                                    autoComplete="off",
                                    inputMode="numeric",
                                ),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("Duplicate record"), html_for="patients-merge-duplicate"),
                                dbc.Input(
                                    id="patients-merge-duplicate",
                                    maxLength=TYPED_LENGTH,
                                    autoComplete="off",
                                    inputMode="numeric",
                                ),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            dbc.Button(gettext("Compare"), id="patients-merge-show", type="submit", className="w-100"),
                            md=2,
                            className="d-flex align-items-end",
                        ),
                    ],
                    className="g-2",
                ),
                id="patients-merge-form",
                prevent_default_on_submit=True,
                className="mb-3",
            ),
            html.Div(id="patients-merge-compare", className="mb-3"),
            dbc.Label(gettext("Reason for the merge"), html_for="patients-merge-reason"),
            dbc.Textarea(id="patients-merge-reason", maxLength=REASON_LENGTH, className="mb-2"),
            dbc.Button(gettext("Merge"), id="patients-merge-submit", color="danger"),
            html.Div(id="patients-merge-result", className="mt-3 mb-4"),
            html.H2(gettext("Merges you made"), className="h5"),
            html.Div(listing, id="patients-merge-list-box", className="mb-3"),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H3(gettext("Undo a merge"), className="h6"),
                        dbc.Select(
                            id="patients-merge-undo-pick",
                            options=options,
                            placeholder=gettext("Choose the merge"),
                            className="mb-2",
                        ),
                        dbc.Label(gettext("Reason for the undo"), html_for="patients-merge-undo-reason"),
                        dbc.Textarea(id="patients-merge-undo-reason", maxLength=REASON_LENGTH, className="mb-2"),
                        dbc.Button(gettext("Undo"), id="patients-merge-undo", color="secondary"),
                        html.Div(id="patients-merge-undo-result", className="mt-3"),
                    ]
                )
            ),
        ]
    )


@callback(
    Output("patients-merge-undo-result", "children"),
    Output("patients-merge-list-box", "children"),
    Output("patients-merge-undo-pick", "options"),
    Output("patients-merge-undo-reason", "value"),
    Input("patients-merge-undo", "n_clicks"),
    State("patients-merge-undo-pick", "value"),
    State("patients-merge-undo-reason", "value"),
    prevent_initial_call=True,
)
@requires(Permission.REGISTER_PATIENT)
def undo(_clicks: object, picked: object, reason: object) -> tuple[Any, ...]:
    """Undo one of the user's own merges with the reason; nothing changes on an error."""
    who = user()
    if who is None or clicked() != "patients-merge-undo":
        raise PreventUpdate
    merge_id = record_id(picked)
    try:
        why = _reason(reason)
        with request_transaction() as db:
            entry = db.get(PatientMerge, merge_id) if merge_id is not None else None
            # Only the user's own merges are offered; a forged choice of anyone else's is refused the same way.
            if entry is None or entry.merged_by != who.cabinet_id:
                raise ValidationError(N_("Choose the merge from the list."), field="merge_id")
            entry = unmerge(db, merge_id=entry.id, reason=why, actor=who.actor(request.remote_addr))
            done = gettext(
                "Record {merged} is again a record of its own, apart from record {survivor}.",
                merged=entry.merged_id,
                survivor=entry.survivor_id,
            )
    except DomainError as error:
        return _error(error, "patients-merge-undo-error"), no_update, no_update, no_update
    listing, options = _merges(who)
    return dbc.Alert(done, color="success", id="patients-merge-undone"), listing, options, ""

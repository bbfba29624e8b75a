"""Elektron poliklinika: the registrar books a patient to a doctor or puts a walk-in in today's queue and marks
arrivals, cancellations and no-shows; the doctor sees their own queue of today, live, and opens the visit.

Both queues follow the database by themselves: every 2 s a light callback compares a two-number signature of the
doctor's day with the one shown and re-renders only when it changed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app, request

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.posted import changed, clicked, pressed, record_id, text
from components.refusals import refusal
from components.tables import table
from db import request_transaction
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT
from ehealth.patients.models import Patient
from ehealth.patients.registry import find_by_pinfl
from ehealth.polyclinic.models import AppointmentKind, AppointmentState
from ehealth.polyclinic.queue import (
    CLOSES,
    OPENS,
    REASON_LENGTH,
    CancelReason,
    QueueEntry,
    age_on,
    arrive,
    book,
    cancel,
    doctors,
    no_show,
    queue_day,
    queue_signature,
    todays_queue,
    walk_in,
)
from ehealth.polyclinic.visits import open_visit

dash.register_page(
    __name__,
    path="/polyclinic",
    order=20,
    title=lambda **_: gettext("Polyclinic"),
    nav=N_("Polyclinic"),
    permission=Permission.OPEN_ENCOUNTER,
)

TICK_MS = 2_000  # how often the queues ask whether they changed
PINFL_LENGTH = 20  # 14 digits, with room for the spaces people type
MOMENT_LENGTH = 40
ARRIVE, CANCEL, NO_SHOW, OPEN = "polyclinic-arrive", "polyclinic-cancel", "polyclinic-no-show", "polyclinic-open"
CANCEL_REASON = "polyclinic-cancel-reason"

# The labels of the queue's codes (the lead consolidates them into components.labels).
STATES: dict[str, str] = {
    AppointmentState.BOOKED: N_("Booked"),
    AppointmentState.ARRIVED: N_("Waiting"),
    AppointmentState.IN_VISIT: N_("In the visit"),
    AppointmentState.DONE: N_("Seen"),
    AppointmentState.CANCELLED: N_("Cancelled"),
    AppointmentState.NO_SHOW: N_("Did not come"),
}
KINDS: dict[str, str] = {AppointmentKind.BOOKED: N_("By appointment"), AppointmentKind.WALK_IN: N_("Walk-in")}
SEXES: dict[str, str] = {"male": N_("Male"), "female": N_("Female")}
CANCEL_REASONS: dict[str, str] = {
    CancelReason.PATIENT_REQUEST: N_("At the patient's request"),
    CancelReason.DOCTOR_UNAVAILABLE: N_("The doctor is unavailable"),
    CancelReason.RESCHEDULED: N_("Rescheduled"),
    CancelReason.BOOKED_IN_ERROR: N_("Booked in error"),
    CancelReason.OTHER: N_("Other reason"),
}
# The form's name of each field a refusal may name.
FIELDS: dict[str, str] = {
    "pinfl": N_("PINFL"),
    "patient_id": N_("Patient"),
    "practitioner_id": N_("Doctor"),
    "scheduled_at": N_("Date and time"),
    "reason": N_("Reason"),
    "appointment_id": N_("Appointment"),
}
STATE_COLORS: dict[str, str] = {
    AppointmentState.BOOKED: "secondary",
    AppointmentState.ARRIVED: "warning",
    AppointmentState.IN_VISIT: "primary",
    AppointmentState.DONE: "success",
    AppointmentState.NO_SHOW: "dark",
}


def _label(labels: dict[str, str], code: str) -> str:
    return gettext(labels[code]) if code in labels else code


def _row_button() -> tuple[str, int] | None:
    """(button type, appointment id) of the queue row button that was clicked; None for anything else."""
    prop = clicked()
    try:
        component = json.loads(prop) if prop and prop.startswith("{") else None
    except ValueError:
        return None
    if not isinstance(component, dict) or component.get("type") not in (ARRIVE, CANCEL, NO_SHOW, OPEN):
        return None
    appointment_id = record_id(component.get("index"))
    return None if appointment_id is None else (str(component["type"]), appointment_id)


def _row_state(kind: str, appointment_id: int) -> object:
    """The value the browser posted for the row's `kind` component (the cancellation reason), or None."""
    for group in dash.ctx.states_list:
        for item in group if isinstance(group, list) else [group]:
            component = item.get("id") if isinstance(item, dict) else None
            if isinstance(component, dict) and component == {"type": kind, "index": appointment_id}:
                return item.get("value")
    return None


def _time(entry: QueueEntry) -> str:
    return entry.scheduled_at.astimezone(TASHKENT).strftime("%H:%M")


def _state_badge(entry: QueueEntry) -> dbc.Badge:
    return dbc.Badge(_label(STATES, entry.state), color=STATE_COLORS.get(entry.state, "secondary"))


def _patient_cell(entry: QueueEntry) -> list[Any]:
    cell: list[Any] = [entry.patient_name]
    if entry.kind == AppointmentKind.WALK_IN:
        cell += [" ", dbc.Badge(_label(KINDS, entry.kind), color="info", className="ms-1")]
    if entry.reason:
        cell += [html.Br(), html.Small(entry.reason, className="text-muted")]
    return cell


# --- the registrar's desk ---------------------------------------------------------------------------------------


def _doctor_options(who: PortalUser) -> list[dict[str, str]]:
    with request_transaction() as db:
        return [
            {"label": f"{doctor.full_name} — {doctor.position}", "value": str(doctor.id)}
            for doctor in doctors(db, who.organization_id)
        ]


def _desk_actions(entry: QueueEntry) -> list[Any]:
    buttons: list[Any] = []
    index = entry.appointment_id
    if entry.state == AppointmentState.BOOKED:
        buttons.append(dbc.Button(gettext("Arrived"), id={"type": ARRIVE, "index": index}, size="sm", color="success"))
        buttons.append(
            dbc.Button(
                gettext("Did not come"), id={"type": NO_SHOW, "index": index}, size="sm", color="dark", outline=True
            )
        )
    if entry.state in (AppointmentState.BOOKED, AppointmentState.ARRIVED):
        reasons = [{"label": _label(CANCEL_REASONS, code), "value": str(code)} for code in CancelReason]
        buttons.append(
            dbc.InputGroup(
                [
                    dbc.Select(
                        id={"type": CANCEL_REASON, "index": index},
                        options=reasons,
                        placeholder=gettext("Reason for cancelling"),
                        size="sm",
                    ),
                    dbc.Button(
                        gettext("Cancel"), id={"type": CANCEL, "index": index}, size="sm", color="danger", outline=True
                    ),
                ],
                size="sm",
                className="w-auto",
            )
        )
    return [html.Div(buttons, className="d-flex flex-wrap gap-1 align-items-center")]


def _desk_table(entries: list[QueueEntry]) -> Any:
    headers = [N_("Time"), N_("Patient"), N_("Age"), N_("Sex"), N_("State"), N_("Actions")]
    rows = [
        html.Tr(
            [
                html.Td(_time(entry)),
                html.Td(_patient_cell(entry)),
                html.Td(str(entry.age)),
                html.Td(_label(SEXES, entry.sex)),
                html.Td(_state_badge(entry)),
                html.Td(_desk_actions(entry)),
            ],
            id=f"polyclinic-desk-row-{entry.appointment_id}",
        )
        for entry in entries
    ]
    return table(
        headers, rows, "polyclinic-desk-table", empty=N_("No patients in this doctor's queue today."), scroll=True
    )


def _desk_view(who: PortalUser, doctor: object) -> tuple[Any, Any]:
    """(the chosen doctor's queue of today, its signature); a doctor of another organization is never read."""
    doctor_id = record_id(doctor)
    with request_transaction() as db:
        own = {cabinet.id for cabinet in doctors(db, who.organization_id)}
        if doctor_id is None or doctor_id not in own:
            choose = html.P(
                gettext("Choose a doctor to see their queue."), className="text-muted", id="polyclinic-desk-table"
            )
            return choose, None
        day = queue_day()
        signature = [doctor_id, *queue_signature(db, doctor_id, day)]
        entries = todays_queue(db, doctor_id, day)
    return _desk_table(entries), signature


def _booking_form(who: PortalUser) -> dbc.Card:
    now = datetime.now(TASHKENT).replace(second=0, microsecond=0, tzinfo=None)
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Book a patient"), className="h5"),
                dbc.Label(gettext("Patient's PINFL"), html_for="polyclinic-pinfl"),
                dbc.InputGroup(
                    [
                        dbc.Input(
                            id="polyclinic-pinfl",
                            maxLength=PINFL_LENGTH,
                            inputMode="numeric",
                            autoFocus=True,
                            autoComplete="off",
                            placeholder="12345678901234",
                        ),
                        dbc.Button(gettext("Find"), id="polyclinic-find", color="secondary"),
                    ],
                    className="mb-2",
                ),
                html.Div(id="polyclinic-patient", className="mb-3"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(gettext("Doctor"), html_for="polyclinic-doctor"),
                                dbc.Select(
                                    id="polyclinic-doctor",
                                    options=_doctor_options(who),
                                    placeholder=gettext("Choose the doctor"),
                                ),
                            ],
                            md=5,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("Date and time (Tashkent)"), html_for="polyclinic-when"),
                                dbc.Input(
                                    id="polyclinic-when",
                                    type="datetime-local",
                                    min=now.isoformat(timespec="minutes"),
                                    step=60,
                                ),
                                dbc.FormText(
                                    gettext(
                                        "Working days, {opens}–{closes}.",
                                        opens=OPENS.strftime("%H:%M"),
                                        closes=CLOSES.strftime("%H:%M"),
                                    )
                                ),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("Reason for the visit"), html_for="polyclinic-reason"),
                                dbc.Input(id="polyclinic-reason", maxLength=REASON_LENGTH),
                            ],
                            md=3,
                        ),
                    ],
                    className="mb-3",
                ),
                html.Div(
                    [
                        dbc.Button(gettext("Book"), id="polyclinic-book", color="primary"),
                        dbc.Button(gettext("Walk-in now"), id="polyclinic-walk-in", color="secondary", outline=True),
                    ],
                    className="d-flex gap-2",
                ),
                html.Div(id="polyclinic-booking-result", className="mt-3"),
            ]
        ),
        className="mb-4",
    )


def _desk(who: PortalUser) -> list[Any]:
    return [
        _booking_form(who),
        html.H2(gettext("Today's queue of the chosen doctor"), className="h5"),
        html.Div(id="polyclinic-desk-result"),
        html.Div(
            html.P(gettext("Choose a doctor to see their queue."), className="text-muted", id="polyclinic-desk-table"),
            id="polyclinic-desk-box",
        ),
        dcc.Store(id="polyclinic-desk-shown"),
        dcc.Store(id="polyclinic-desk-changed"),
        dcc.Interval(id="polyclinic-desk-tick", interval=TICK_MS),
    ]


# --- the doctor's queue -------------------------------------------------------------------------------------------


def _mine_action(entry: QueueEntry) -> Any:
    if entry.state in (AppointmentState.BOOKED, AppointmentState.ARRIVED):
        primary = entry.state == AppointmentState.ARRIVED
        return dbc.Button(
            gettext("Open visit"),
            id={"type": OPEN, "index": entry.appointment_id},
            size="sm",
            color="primary",
            outline=not primary,
        )
    if entry.state == AppointmentState.IN_VISIT and entry.encounter_id is not None:
        return dcc.Link(
            gettext("Continue the visit"),
            href=f"/visit/{entry.encounter_id}",
            id=f"polyclinic-continue-{entry.appointment_id}",
        )
    return ""


def _mine_table(entries: list[QueueEntry]) -> Any:
    headers = [N_("Time"), N_("Patient"), N_("Age"), N_("Sex"), N_("State"), N_("Visit")]
    rows = [
        html.Tr(
            [
                html.Td(_time(entry)),
                html.Td(_patient_cell(entry)),
                html.Td(str(entry.age)),
                html.Td(_label(SEXES, entry.sex)),
                html.Td(_state_badge(entry)),
                html.Td(_mine_action(entry)),
            ],
            className="table-warning" if entry.state == AppointmentState.ARRIVED else None,
            id=f"polyclinic-mine-row-{entry.appointment_id}",
        )
        for entry in entries
    ]
    return table(headers, rows, "polyclinic-mine-table", empty=N_("No patients in your queue today."), scroll=True)


def _mine_view(who: PortalUser) -> tuple[Any, list[object]]:
    """(the signed-in doctor's queue of today, its signature)."""
    day = queue_day()
    with request_transaction() as db:
        signature = queue_signature(db, who.cabinet_id, day)
        entries = todays_queue(db, who.cabinet_id, day)
    return _mine_table(entries), signature


def _mine(who: PortalUser) -> list[Any]:
    view, signature = _mine_view(who)
    return [
        html.H2(gettext("My queue today"), className="h5"),
        html.Div(id="polyclinic-mine-result"),
        html.Div(view, id="polyclinic-mine-box"),
        dcc.Store(id="polyclinic-mine-shown", data=signature),
        dcc.Interval(id="polyclinic-mine-tick", interval=TICK_MS),
        dcc.Location(id="polyclinic-go", refresh="callback-nav"),
    ]


@guarded(Permission.OPEN_ENCOUNTER)
def layout(**_query: str) -> html.Div:
    """The registrar's booking desk or the doctor's queue, by role."""
    who = user()
    assert who is not None  # guarded
    parts: list[Any] = [html.H1(gettext("Polyclinic"), className="h3")]
    if who.can(Permission.REGISTER_PATIENT):
        parts += _desk(who)
    if who.can(Permission.RECORD_DIAGNOSIS):
        parts += _mine(who)
    return html.Div(parts, id="polyclinic-page")


# --- the registrar's callbacks ----------------------------------------------------------------------------------


def _pinfl(value: object) -> str:
    typed = text(value, PINFL_LENGTH)
    if typed is None:
        raise ValidationError(N_("Enter the patient's PINFL."), field="pinfl")
    return typed


def _found(patient: Patient) -> dbc.Alert:
    day = queue_day()
    facts = gettext(
        "born {date}, {age} years, {sex}",
        date=patient.birth_date.strftime("%d.%m.%Y"),
        age=age_on(patient.birth_date, day),
        sex=_label(SEXES, patient.sex),
    )
    return dbc.Alert([html.Strong(patient.full_name), ", ", facts], color="info", id="polyclinic-patient-found")


def _not_registered() -> dbc.Alert:
    return dbc.Alert(
        [
            gettext("No patient with this PINFL is registered."),
            " ",
            dcc.Link(gettext("Register the patient"), href="/patients", className="alert-link"),
        ],
        color="warning",
        id="polyclinic-patient-missing",
    )


@callback(
    Output("polyclinic-patient", "children"),
    Input("polyclinic-find", "n_clicks"),
    Input("polyclinic-pinfl", "n_submit"),
    State("polyclinic-pinfl", "value"),
    prevent_initial_call=True,
)
@requires(Permission.REGISTER_PATIENT)
def find_patient(_clicks: object, _submit: object, pinfl: object) -> Any:
    """Who the PINFL belongs to (the lookup is audited), so that the registrar books the right person."""
    who = user()
    if who is None or not pressed("polyclinic-find", "polyclinic-pinfl"):
        raise PreventUpdate
    try:
        number = _pinfl(pinfl)
        with request_transaction() as db:
            patient = find_by_pinfl(db, number, actor=who.actor(request.remote_addr))
            return _not_registered() if patient is None else _found(patient)
    except DomainError as error:
        return refusal(error, "polyclinic-patient-error", FIELDS)


def _moment(value: object) -> datetime:
    """The appointment's date and time as typed (Tashkent wall-clock time)."""
    missing = N_("Enter the date and time of the appointment.")
    if not isinstance(value, str) or len(value) > MOMENT_LENGTH:
        raise ValidationError(missing, field="scheduled_at")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(missing, field="scheduled_at") from None
    return moment.replace(tzinfo=TASHKENT) if moment.tzinfo is None else moment


@callback(
    Output("polyclinic-booking-result", "children"),
    Output("polyclinic-desk-changed", "data"),
    Input("polyclinic-book", "n_clicks"),
    Input("polyclinic-walk-in", "n_clicks"),
    State("polyclinic-pinfl", "value"),
    State("polyclinic-doctor", "value"),
    State("polyclinic-when", "value"),
    State("polyclinic-reason", "value"),
    prevent_initial_call=True,
)
@requires(Permission.REGISTER_PATIENT)
def book_patient(
    _book: object, _walk_in: object, pinfl: object, doctor: object, when: object, reason: object
) -> tuple[Any, Any]:
    """Book the patient to the doctor at the time, or put them in the doctor's queue now; nothing on an error."""
    who = user()
    action = clicked()
    if who is None or action not in ("polyclinic-book", "polyclinic-walk-in"):
        raise PreventUpdate
    settings = current_app.config["EHEALTH_SETTINGS"]
    try:
        number = _pinfl(pinfl)
        doctor_id = record_id(doctor)
        if doctor_id is None:
            raise ValidationError(N_("Choose the doctor."), field="practitioner_id")
        note = text(reason, REASON_LENGTH)
        moment = _moment(when) if action == "polyclinic-book" else None
        actor = who.actor(request.remote_addr)
        with request_transaction() as db:
            # Looked up again, never an id from the browser: the PINFL typed is the person booked.
            patient = find_by_pinfl(db, number, actor=actor)
            if patient is None:
                raise NotFound(N_("No patient with this PINFL is registered."), field="pinfl")
            if moment is None:
                walk_in(db, patient_id=patient.id, practitioner_id=doctor_id, reason=note, actor=actor)
                done = gettext("{patient} is in the queue now.", patient=patient.full_name)
            else:
                made = book(
                    db,
                    patient_id=patient.id,
                    practitioner_id=doctor_id,
                    scheduled_at=moment,
                    reason=note,
                    actor=actor,
                    week_days=settings.working_week_days,
                )
                local = made.scheduled_at.astimezone(TASHKENT)
                done = gettext(
                    "{patient} is booked for {date} at {time}.",
                    patient=patient.full_name,
                    date=local.strftime("%d.%m.%Y"),
                    time=local.strftime("%H:%M"),
                )
    except DomainError as error:
        return refusal(error, "polyclinic-booking-error", FIELDS), no_update
    return dbc.Alert(done, color="success", id="polyclinic-booked"), datetime.now(TASHKENT).isoformat()


@callback(
    Output("polyclinic-desk-box", "children"),
    Output("polyclinic-desk-shown", "data"),
    Input("polyclinic-doctor", "value"),
    Input("polyclinic-desk-tick", "n_intervals"),
    Input("polyclinic-desk-changed", "data"),
    State("polyclinic-desk-shown", "data"),
    prevent_initial_call=True,
)
@requires(Permission.REGISTER_PATIENT)
def desk_queue(doctor: object, _tick: object, _changed: object, shown: object) -> tuple[Any, Any]:
    """The chosen doctor's queue of today: at once when the choice or an action changed it, else every 2 s only
    when its signature changed."""
    who = user()
    if who is None:
        raise PreventUpdate
    doctor_id = record_id(doctor)
    if changed() == "polyclinic-desk-tick":
        current = None
        if doctor_id is not None:
            with request_transaction() as db:
                if doctor_id in {cabinet.id for cabinet in doctors(db, who.organization_id)}:
                    current = [doctor_id, *queue_signature(db, doctor_id, queue_day())]
        if current == shown:
            raise PreventUpdate
    return _desk_view(who, doctor)


@callback(
    Output("polyclinic-desk-result", "children"),
    Output("polyclinic-desk-changed", "data", allow_duplicate=True),
    Input({"type": ARRIVE, "index": ALL}, "n_clicks"),
    Input({"type": CANCEL, "index": ALL}, "n_clicks"),
    Input({"type": NO_SHOW, "index": ALL}, "n_clicks"),
    State({"type": CANCEL_REASON, "index": ALL}, "value"),
    prevent_initial_call=True,
)
@requires(Permission.REGISTER_PATIENT)
def desk_action(_arrive: object, _cancel: object, _no_show: object, _reasons: object) -> tuple[Any, Any]:
    """Mark the row's patient as arrived or not come, or cancel with the chosen reason; nothing on an error."""
    who = user()
    pressed = _row_button()
    if who is None or pressed is None or pressed[0] == OPEN:
        raise PreventUpdate
    kind, appointment_id = pressed
    actor = who.actor(request.remote_addr)
    try:
        with request_transaction() as db:
            if kind == ARRIVE:
                arrive(db, appointment_id, actor=actor)
                done = gettext("The patient is waiting for the doctor.")
            elif kind == NO_SHOW:
                no_show(db, appointment_id, actor=actor)
                done = gettext("The patient is marked as not come.")
            else:
                chosen = _row_state(CANCEL_REASON, appointment_id)
                cancel(db, appointment_id, reason=chosen if isinstance(chosen, str) else "", actor=actor)
                done = gettext("The appointment was cancelled.")
    except DomainError as error:
        return refusal(error, "polyclinic-desk-error", FIELDS), no_update
    return dbc.Alert(done, color="success", id="polyclinic-desk-done"), datetime.now(TASHKENT).isoformat()


# --- the doctor's callbacks ---------------------------------------------------------------------------------------


@callback(
    Output("polyclinic-mine-box", "children"),
    Output("polyclinic-mine-shown", "data"),
    Input("polyclinic-mine-tick", "n_intervals"),
    State("polyclinic-mine-shown", "data"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def my_queue(_tick: object, shown: object) -> tuple[Any, Any]:
    """Every 2 s: the doctor's queue of today, re-rendered only when its signature changed."""
    who = user()
    if who is None:
        raise PreventUpdate
    with request_transaction() as db:
        current = queue_signature(db, who.cabinet_id, queue_day())
    if current == shown:
        raise PreventUpdate  # nothing changed: nothing re-read
    return _mine_view(who)


@callback(
    Output("polyclinic-go", "href"),
    Output("polyclinic-mine-result", "children"),
    Input({"type": OPEN, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def open_from_queue(_clicks: object) -> tuple[Any, Any]:
    """Take the row's patient into a visit (the appointment goes into it) and go to the visit's page."""
    who = user()
    pressed = _row_button()
    if who is None or pressed is None or pressed[0] != OPEN:
        raise PreventUpdate
    try:
        with request_transaction() as db:
            visit = open_visit(db, appointment_id=pressed[1], actor=who.actor(request.remote_addr))
            encounter_id = visit.id
    except DomainError as error:
        return no_update, refusal(error, "polyclinic-mine-error", FIELDS)
    return f"/visit/{encounter_id}", None

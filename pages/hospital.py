"""Elektron shifoxona: bed occupancy and the ward board (every bed with its patient or free, redrawn within two
seconds of an admission, move or discharge on any screen of the hospital), and the forms to admit a patient, move
them to another bed of the department (nurse), transfer them to another department and discharge them (doctor)."""

from __future__ import annotations

import math
import time
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components import hospital_forms as forms
from components.posted import changed, clicked, record_id, text
from db import request_transaction
from ehealth.audit.trail import Actor, record
from ehealth.emr.icd10_search import describe
from ehealth.emr.icd10_search import search as icd10_search
from ehealth.emr.models import ReferralKind
from ehealth.emr.referrals import open_referrals
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.hospital.board import BoardBed, board_version, occupancy, ward_board
from ehealth.hospital.models import Admission, AdmissionType, BedMoveReason, DischargeOutcome
from ehealth.hospital.stays import admit, discharge, transfer, transfer_hospitals
from ehealth.i18n import N_, current_language, gettext
from ehealth.patients.models import Patient
from ehealth.patients.registry import find_by_pinfl
from ehealth.reference.models import Bed, Department, Organization, Ward

dash.register_page(
    __name__,
    path="/hospital",
    order=30,
    title=lambda **_: gettext("Hospital"),
    nav=N_("Hospital"),
    permission=Permission.READ_PATIENT,
)

TICK_MS = 2000  # an admission on one screen shows on the others within this
# The board is redrawn at least this often even without a new event: a bed taken out of service, the day's count of
# days in hospital, and an event whose transaction committed after a newer one had been seen.
FULL_RENDER_SECONDS = 60
SEARCH_LENGTH = 100
NEW_BOARD = "hospital-signal"  # written by every form after a save: the board is redrawn at once


# --- reading -------------------------------------------------------------------------------------------------------


def _version(event: int) -> dict[str, Any]:
    """What a screen keeps of the board it shows: the newest event it saw and when it was drawn."""
    return {"event": event, "at": time.time()}


def _seen(data: object) -> tuple[int, float | None]:
    """The event id and the drawing time kept in the browser (a forged value only delays that browser's redraw)."""
    if not isinstance(data, dict):
        return 0, None
    at = data.get("at")
    drawn = float(at) if isinstance(at, int | float) and not isinstance(at, bool) and math.isfinite(at) else None
    return record_id(data.get("event")) or 0, drawn


def _board_box(who: PortalUser, beds: list[BoardBed], version: dict[str, Any]) -> list[Any]:
    """The board, with the marks that tell the user's forms it was drawn anew."""
    marks = [
        dcc.Store(id=mark, data=version)
        for mark, permission in (
            (forms.BOARD_FOR_DOCTOR, Permission.ADMIT_DISCHARGE),
            (forms.BOARD_FOR_NURSE, Permission.MOVE_BED),
        )
        if who.can(permission)
    ]
    return [forms.board(beds), *marks]


def _submitted(button: str, field: str) -> bool:
    """True when the form's button was clicked or Enter was pressed in `field`."""
    if clicked() == button:
        return True
    for item in dash.ctx.triggered:
        if isinstance(item, dict) and item.get("prop_id") == f"{field}.n_submit":
            value = item.get("value")
            return isinstance(value, int) and not isinstance(value, bool) and value > 0
    return False


def _chosen(value: object, message: str, field: str) -> int:
    """The id chosen in a select, or the refusal naming the field."""
    chosen = record_id(value)
    if chosen is None:
        raise ValidationError(message, field=field)
    return chosen


def _plain(value: object) -> str:
    """A posted value the services read as text (anything else becomes empty, which they refuse by name)."""
    return value if isinstance(value, str) else ""


def _patient(db: Session, actor: Actor, pinfl: object) -> Patient | None:
    """The patient with the typed PINFL (the lookup is audited), or None."""
    try:
        typed = text(pinfl, forms.PINFL_TYPED_LENGTH)
    except ValidationError as error:
        error.field = "pinfl"
        raise
    if typed is None:
        raise ValidationError(N_("Enter the patient's PINFL."), field="pinfl")
    return find_by_pinfl(db, typed, actor=actor)


def _referrals(db: Session, who: PortalUser, patient_id: int) -> list[dict[str, str]]:
    """The patient's issued hospital referrals addressed to this hospital (the others are not this hospital's)."""
    found = open_referrals(db, patient_id, kind=ReferralKind.HOSPITAL, actor=who.acting())
    ours = [r for r in found if r.target_organization_id == who.organization_id]
    senders = {r.organization_id for r in ours}
    names = dict(db.execute(select(Organization.id, Organization.name).where(Organization.id.in_(senders))).all())
    return [
        {
            "label": " · ".join(
                part
                for part in (forms.local_time(r.issued_at), names.get(r.organization_id, ""), r.icd10_code, r.reason)
                if part
            ),
            "value": str(r.id),
        }
        for r in ours
    ]


def _in_bed(db: Session, organization_id: int, admission_id: int) -> BoardBed:
    """Where the stay's patient lies now in this hospital (another hospital's stay is not found)."""
    for bed in ward_board(db, organization_id):
        if bed.admission_id == admission_id:
            return bed
    raise NotFound(N_("The hospital stay does not exist."), field="admission_id")


def _place(db: Session, bed_id: int) -> str:
    department, ward, code = db.execute(
        select(Department.name, Ward.name, Bed.code)
        .join(Ward, Ward.department_id == Department.id)
        .join(Bed, Bed.ward_id == Ward.id)
        .where(Bed.id == bed_id)
    ).one()
    return gettext("{department}, ward {ward}, bed {bed}", department=department, ward=ward, bed=code)


def _free_beds(who: PortalUser, department_id: int | None) -> list[dict[str, str]]:
    if department_id is None:
        return []
    with request_transaction() as db:
        return forms.bed_options(ward_board(db, who.organization_id, department_id=department_id))


def _icd10_options(typed: object, chosen: object) -> list[dict[str, str]]:
    """The codes matching what is typed, the chosen one kept so that it stays shown."""
    words = typed.strip()[:SEARCH_LENGTH] if isinstance(typed, str) else ""
    if not words:
        raise PreventUpdate  # the search box was cleared, or an option was just picked: keep the list
    language = current_language()
    options = forms.search_options(words, [(code, f"{code} — {name}") for code, name in icd10_search(words, language)])
    name = describe(chosen, language) if isinstance(chosen, str) and chosen else ""
    if name and all(option["value"] != chosen for option in options):
        options.insert(0, {"label": f"{chosen} — {name}", "value": str(chosen)})
    return options


def _prescribe_card(stays: list[dict[str, str]]) -> dbc.Card:
    """The doctor picks a patient in a bed and opens the prescription form of their stay."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Write a prescription"), className="h5"),
                dbc.Label(gettext("Patient"), html_for="hospital-prescribe-stay", className="small mb-0"),
                dcc.Dropdown(
                    id="hospital-prescribe-stay",
                    options=stays,
                    placeholder=gettext("Type the patient's name"),
                    labels={"search": gettext("Search"), "no_options_found": gettext("Nothing found.")},
                ),
                dbc.Button(
                    gettext("Write a prescription"),
                    id="hospital-prescribe-go",
                    color="primary",
                    size="sm",
                    className="mt-2",
                    disabled=True,
                ),
            ]
        ),
        id="hospital-prescribe-card",
        className="mb-3",
    )


# --- the page ------------------------------------------------------------------------------------------------------


@guarded(Permission.READ_PATIENT)
def layout(**_query: str) -> html.Div:
    """The forms the user's role may use, the occupancy and the ward board."""
    who = user()
    assert who is not None  # guarded
    now = forms.local_now()
    with request_transaction() as db:
        counts = occupancy(db, who.organization_id)
        beds = ward_board(db, who.organization_id)
        version = _version(board_version(db, who.organization_id))
        record(db, who.acting(), "hospital.board.viewed", object_type="organization", object_id=who.organization_id)
    departments = forms.department_options(counts)
    stays = forms.stay_options(beds)
    cards: list[dbc.Card] = []
    if who.can(Permission.ADMIT_DISCHARGE):
        cards += [
            forms.admit_form(departments, now),
            forms.transfer_form(stays, departments, now),
            forms.discharge_form(stays, now),
        ]
    if who.can(Permission.ADMIT_DISCHARGE) and who.can(Permission.PRESCRIBE):
        cards.append(_prescribe_card(stays))
    if who.can(Permission.MOVE_BED):
        cards.append(forms.move_form(stays, now))
    every = [{"label": gettext("All departments"), "value": forms.EVERY_DEPARTMENT}, *departments]
    return html.Div(
        [
            html.H1(gettext("Hospital"), className="h3"),
            dbc.Row([dbc.Col(card, lg=4) for card in cards], className="g-3") if cards else None,
            html.H2(gettext("Bed occupancy"), className="h5"),
            html.Div(forms.occupancy_table(counts), id="hospital-occupancy-box", className="mb-3"),
            html.H2(gettext("Ward board"), className="h5"),
            dbc.Row(
                dbc.Col(
                    [
                        dbc.Label(gettext("Department"), html_for="hospital-department", className="small mb-0"),
                        dbc.Select(id="hospital-department", options=every, value=forms.EVERY_DEPARTMENT, size="sm"),
                    ],
                    md=4,
                ),
                className="mb-2",
            ),
            html.Div(_board_box(who, beds, version), id="hospital-board-box"),
            dcc.Interval(id="hospital-tick", interval=TICK_MS),
            dcc.Store(id="hospital-version", data=version),
            dcc.Store(id=NEW_BOARD),
        ]
    )


@callback(
    Output("hospital-board-box", "children"),
    Output("hospital-occupancy-box", "children"),
    Output("hospital-version", "data"),
    Input("hospital-tick", "n_intervals"),
    Input("hospital-department", "value"),
    Input(NEW_BOARD, "data"),
    State("hospital-version", "data"),
    prevent_initial_call=True,
)
@requires(Permission.READ_PATIENT)
def refresh(_tick: object, department: object, _saved: object, seen: object) -> tuple[Any, ...]:
    """Redraw the board when the hospital's newest admission, bed or discharge event moved on (else nothing)."""
    who = user()
    if who is None:
        raise PreventUpdate
    last, drawn_at = _seen(seen)
    with request_transaction() as db:
        newest = board_version(db, who.organization_id, after=last)
        recent = drawn_at is not None and 0 <= time.time() - drawn_at < FULL_RENDER_SECONDS
        if changed() == "hospital-tick" and newest == last and recent:
            raise PreventUpdate  # the poll of a quiet board: one indexed query, no drawing, no answer
        counts = occupancy(db, who.organization_id)
        beds = ward_board(db, who.organization_id, department_id=record_id(department))
    version = _version(newest)
    return _board_box(who, beds, version), forms.occupancy_table(counts), version


# --- admission -----------------------------------------------------------------------------------------------------


@callback(
    Output("hospital-admit-patient", "children"),
    Output("hospital-admit-referral", "options"),
    Output("hospital-admit-referral", "value"),
    Output("hospital-admit-type", "value"),
    Input("hospital-admit-find", "n_clicks"),
    State("hospital-admit-pinfl", "value"),
    prevent_initial_call=True,
)
@requires(Permission.ADMIT_DISCHARGE)
def find_patient(_clicks: object, pinfl: object) -> tuple[Any, ...]:
    """The patient with the PINFL, where they lie if already admitted, and their referrals to this hospital."""
    who = user()
    if who is None or clicked() != "hospital-admit-find":
        raise PreventUpdate
    none = forms.referral_options([])
    try:
        with request_transaction() as db:
            patient = _patient(db, who.acting(), pinfl)
            if patient is not None:
                referrals = _referrals(db, who, patient.id)
                here = [bed for bed in ward_board(db, who.organization_id) if bed.patient_id == patient.id]
                found = [
                    html.Strong(patient.full_name, id="hospital-admit-found"),
                    html.Span(f" · {patient.birth_date.isoformat()} · {patient.pinfl}", className="text-muted"),
                ]
                if here:
                    where = gettext("Ward {ward} · bed {bed}", ward=here[0].ward, bed=here[0].bed)
                    message = gettext(
                        "Already in this hospital: {department}, {place}.", department=here[0].department, place=where
                    )
                    found.append(
                        dbc.Alert(message, color="warning", id="hospital-admit-already", className="mt-1 mb-0 py-1")
                    )
    except DomainError as error:
        return forms.error_alert(error, forms.ADMIT_FIELDS, "hospital-admit-error"), none, forms.NO_REFERRAL, no_update
    if patient is None:
        missing = NotFound(N_("No patient has this PINFL. Register the patient first."), field="pinfl")
        return (
            forms.error_alert(missing, forms.ADMIT_FIELDS, "hospital-admit-error"),
            none,
            forms.NO_REFERRAL,
            no_update,
        )
    kind = AdmissionType.PLANNED if referrals else AdmissionType.EMERGENCY
    return (
        found,
        forms.referral_options(referrals),
        referrals[0]["value"] if referrals else forms.NO_REFERRAL,
        str(kind),
    )


@callback(
    Output("hospital-admit-bed", "options"),
    Output("hospital-admit-bed", "value"),
    Input(forms.BOARD_FOR_DOCTOR, "data"),
    Input("hospital-admit-department", "value"),
    State("hospital-admit-bed", "value"),
)
@requires(Permission.ADMIT_DISCHARGE)
def admit_beds(_version: object, department: object, chosen: object) -> tuple[Any, Any]:
    """The free beds of the chosen department, kept current with the board."""
    who = user()
    if who is None:
        raise PreventUpdate
    options = _free_beds(who, record_id(department))
    return options, forms.kept(chosen, options)


@callback(
    Output("hospital-admit-icd10", "options"),
    Input("hospital-admit-icd10", "search_value"),
    State("hospital-admit-icd10", "value"),
    prevent_initial_call=True,
)
@requires(Permission.ADMIT_DISCHARGE)
def admit_icd10(typed: object, chosen: object) -> list[dict[str, str]]:
    """ICD-10 codes as the doctor types."""
    return _icd10_options(typed, chosen)


@callback(
    Output("hospital-admit-result", "children"),
    Output(NEW_BOARD, "data", allow_duplicate=True),
    Output("hospital-admit-pinfl", "value"),
    Output("hospital-admit-patient", "children", allow_duplicate=True),
    Output("hospital-admit-referral", "options", allow_duplicate=True),
    Output("hospital-admit-referral", "value", allow_duplicate=True),
    Output("hospital-admit-bed", "value", allow_duplicate=True),
    Output("hospital-admit-icd10", "value"),
    Output("hospital-admit-time", "value"),
    Output("hospital-admit-time-opened", "data"),
    Input("hospital-admit-submit", "n_clicks"),
    Input("hospital-admit-time", "n_submit"),
    State("hospital-admit-pinfl", "value"),
    State("hospital-admit-referral", "value"),
    State("hospital-admit-type", "value"),
    State("hospital-admit-department", "value"),
    State("hospital-admit-bed", "value"),
    State("hospital-admit-icd10", "value"),
    State("hospital-admit-time", "value"),
    State("hospital-admit-time-opened", "data"),
    prevent_initial_call=True,
)
@requires(Permission.ADMIT_DISCHARGE)
def admit_patient(
    _clicks: object,
    _enter: object,
    pinfl: object,
    referral: object,
    kind: object,
    department: object,
    bed: object,
    code: object,
    moment: object,
    opened: object,
) -> tuple[Any, ...]:
    """Admit the found patient into the chosen free bed of this hospital, or name the wrong field and save nothing."""
    who = user()
    if who is None or not _submitted("hospital-admit-submit", "hospital-admit-time"):
        raise PreventUpdate
    actor = who.acting()
    try:
        with request_transaction() as db:
            patient = _patient(db, actor, pinfl)
            if patient is None:
                raise NotFound(N_("No patient has this PINFL. Register the patient first."), field="pinfl")
            referral_id = None
            if referral not in (None, "", forms.NO_REFERRAL):
                referral_id = _chosen(referral, N_("Choose a referral from the list."), "referral_id")
                # Only a referral this form offered: the patient's, to hospital, addressed to this hospital.
                if str(referral_id) not in {option["value"] for option in _referrals(db, who, patient.id)}:
                    raise ValidationError(N_("Choose a referral from the list."), field="referral_id")
            department_id = _chosen(department, N_("Choose the department"), "department_id")
            bed_id = _chosen(bed, N_("Choose a free bed"), "bed_id")
            admit(
                db,
                patient_id=patient.id,
                department_id=department_id,
                bed_id=bed_id,
                admission_type=_plain(kind),
                admitted_at=forms.typed_moment(moment, opened, "admitted_at"),
                icd10_code=_plain(code),
                referral_id=referral_id,
                actor=actor,
            )
            message = gettext("{patient} was admitted: {place}.", patient=patient.full_name, place=_place(db, bed_id))
    except DomainError as error:
        return (forms.error_alert(error, forms.ADMIT_FIELDS, "hospital-admit-error"), *([no_update] * 9))
    now = forms.local_now()
    return (
        forms.done_alert(message, "hospital-admit-done"),
        time.time(),
        "",
        None,
        forms.referral_options([]),
        forms.NO_REFERRAL,
        None,
        None,
        now,
        now,
    )


@callback(
    Output("hospital-prescribe-stay", "options"),
    Output("hospital-prescribe-stay", "value"),
    Output("hospital-prescribe-go", "href"),
    Output("hospital-prescribe-go", "disabled"),
    Input(forms.BOARD_FOR_DOCTOR, "data"),
    Input("hospital-prescribe-stay", "value"),
)
@requires(Permission.PRESCRIBE)
def prescribe_choices(_version: object, stay: object) -> tuple[Any, ...]:
    """The patients in beds, kept current with the board; the chosen one's stay opens the prescription form."""
    who = user()
    if who is None:
        raise PreventUpdate
    with request_transaction() as db:
        stays = forms.stay_options(ward_board(db, who.organization_id))
        chosen = forms.kept(stay, stays)
        admission_id = record_id(chosen)
        encounter_id = (
            None
            if admission_id is None
            else db.execute(
                select(Admission.encounter_id).where(
                    Admission.id == admission_id, Admission.organization_id == who.organization_id
                )
            ).scalar_one_or_none()
        )
    if encounter_id is None:
        return stays, chosen, None, True
    return stays, chosen, f"/prescribe/{encounter_id}", False


# --- moves between beds --------------------------------------------------------------------------------------------


def _stays_and_beds(who: PortalUser, stay: object, department_id: int | None, bed: object) -> tuple[Any, ...]:
    """The patients in beds (the chosen one kept if still there) and the free beds of `department_id`."""
    with request_transaction() as db:
        beds = ward_board(db, who.organization_id)
    stays = forms.stay_options(beds)
    chosen = forms.kept(stay, stays)
    if department_id is None and chosen is not None:  # the move form: the chosen patient's own department
        department_id = next(b.department_id for b in beds if str(b.admission_id) == chosen)
    free = forms.bed_options([b for b in beds if b.department_id == department_id]) if department_id else []
    return stays, chosen, free, forms.kept(bed, free)


@callback(
    Output("hospital-move-stay", "options"),
    Output("hospital-move-stay", "value"),
    Output("hospital-move-bed", "options"),
    Output("hospital-move-bed", "value"),
    Input(forms.BOARD_FOR_NURSE, "data"),
    Input("hospital-move-stay", "value"),
    State("hospital-move-bed", "value"),
)
@requires(Permission.MOVE_BED)
def move_choices(_version: object, stay: object, bed: object) -> tuple[Any, ...]:
    """The patients in beds and the free beds of the chosen patient's department."""
    who = user()
    if who is None:
        raise PreventUpdate
    return _stays_and_beds(who, stay, None, bed)


@callback(
    Output("hospital-move-result", "children"),
    Output(NEW_BOARD, "data", allow_duplicate=True),
    Output("hospital-move-stay", "value", allow_duplicate=True),
    Output("hospital-move-bed", "value", allow_duplicate=True),
    Output("hospital-move-time", "value"),
    Output("hospital-move-time-opened", "data"),
    Input("hospital-move-submit", "n_clicks"),
    Input("hospital-move-time", "n_submit"),
    State("hospital-move-stay", "value"),
    State("hospital-move-bed", "value"),
    State("hospital-move-time", "value"),
    State("hospital-move-time-opened", "data"),
    prevent_initial_call=True,
)
@requires(Permission.MOVE_BED)
def move_patient(
    _clicks: object, _enter: object, stay: object, bed: object, moment: object, opened: object
) -> tuple[Any, ...]:
    """Move the patient to another free bed of the same department (the department is the stay's, not the form's)."""
    who = user()
    if who is None or not _submitted("hospital-move-submit", "hospital-move-time"):
        raise PreventUpdate
    moved = N_("{patient} was moved: {place}.")
    return _move(who, stay, None, bed, moment, opened, done=moved, fields=forms.MOVE_FIELDS, prefix="hospital-move")


@callback(
    Output("hospital-transfer-stay", "options"),
    Output("hospital-transfer-stay", "value"),
    Output("hospital-transfer-bed", "options"),
    Output("hospital-transfer-bed", "value"),
    Input(forms.BOARD_FOR_DOCTOR, "data"),
    Input("hospital-transfer-department", "value"),
    State("hospital-transfer-stay", "value"),
    State("hospital-transfer-bed", "value"),
)
@requires(Permission.ADMIT_DISCHARGE)
def transfer_choices(_version: object, department: object, stay: object, bed: object) -> tuple[Any, ...]:
    """The patients in beds and the free beds of the department chosen to transfer to."""
    who = user()
    if who is None:
        raise PreventUpdate
    department_id = record_id(department)
    if department_id is None:
        stays, chosen, _beds, _bed = _stays_and_beds(who, stay, None, None)
        return stays, chosen, [], None
    return _stays_and_beds(who, stay, department_id, bed)


@callback(
    Output("hospital-transfer-result", "children"),
    Output(NEW_BOARD, "data", allow_duplicate=True),
    Output("hospital-transfer-stay", "value", allow_duplicate=True),
    Output("hospital-transfer-bed", "value", allow_duplicate=True),
    Output("hospital-transfer-time", "value"),
    Output("hospital-transfer-time-opened", "data"),
    Input("hospital-transfer-submit", "n_clicks"),
    Input("hospital-transfer-time", "n_submit"),
    State("hospital-transfer-stay", "value"),
    State("hospital-transfer-department", "value"),
    State("hospital-transfer-bed", "value"),
    State("hospital-transfer-time", "value"),
    State("hospital-transfer-time-opened", "data"),
    prevent_initial_call=True,
)
@requires(Permission.ADMIT_DISCHARGE)
def transfer_patient(
    _clicks: object, _enter: object, stay: object, department: object, bed: object, moment: object, opened: object
) -> tuple[Any, ...]:
    """Transfer the patient to a free bed of the chosen department of this hospital."""
    who = user()
    if who is None or not _submitted("hospital-transfer-submit", "hospital-transfer-time"):
        raise PreventUpdate
    moved = N_("{patient} was transferred: {place}.")
    fields = forms.TRANSFER_FIELDS
    return _move(who, stay, department, bed, moment, opened, done=moved, fields=fields, prefix="hospital-transfer")


def _move(
    who: PortalUser,
    stay: object,
    department: object | None,
    bed: object,
    moment: object,
    opened: object,
    *,
    done: str,
    fields: Any,
    prefix: str,
) -> tuple[Any, ...]:
    """Move a patient in a bed to a free bed: of the chosen department, or (department None) of the stay's own."""
    try:
        admission_id = _chosen(stay, N_("Choose the patient."), "admission_id")
        chosen_department = (
            None if department is None else _chosen(department, N_("Choose the department"), "department_id")
        )
        bed_id = _chosen(bed, N_("Choose a free bed"), "bed_id")
        when = forms.typed_moment(moment, opened, "moved_at")
        with request_transaction() as db:
            now_in = _in_bed(db, who.organization_id, admission_id)
            transfer(
                db,
                admission_id=admission_id,
                bed_id=bed_id,
                department_id=chosen_department or now_in.department_id,
                moved_at=when,
                reason=BedMoveReason.TRANSFER,
                actor=who.acting(),
            )
            message = gettext(done, patient=now_in.patient_name, place=_place(db, bed_id))
    except DomainError as error:
        return (forms.error_alert(error, fields, f"{prefix}-error"), *([no_update] * 5))
    now = forms.local_now()
    return forms.done_alert(message, f"{prefix}-done"), time.time(), None, None, now, now


# --- discharge -----------------------------------------------------------------------------------------------------


@callback(
    Output("hospital-discharge-stay", "options"),
    Output("hospital-discharge-stay", "value"),
    Input(forms.BOARD_FOR_DOCTOR, "data"),
    State("hospital-discharge-stay", "value"),
)
@requires(Permission.ADMIT_DISCHARGE)
def discharge_choices(_version: object, stay: object) -> tuple[Any, Any]:
    """The patients in beds, kept current with the board."""
    who = user()
    if who is None:
        raise PreventUpdate
    stays, chosen, _beds, _bed = _stays_and_beds(who, stay, None, None)
    return stays, chosen


@callback(
    Output("hospital-discharge-target", "disabled"),
    Output("hospital-discharge-target", "value"),
    Input("hospital-discharge-outcome", "value"),
    prevent_initial_call=True,
)
@requires(Permission.ADMIT_DISCHARGE)
def discharge_target(outcome: object) -> tuple[bool, Any]:
    """The hospital transferred to is asked only for a transfer."""
    if outcome == DischargeOutcome.TRANSFERRED:
        return False, no_update
    return True, None


@callback(
    Output("hospital-discharge-target", "options"),
    Input("hospital-discharge-target", "search_value"),
    State("hospital-discharge-target", "value"),
    State("hospital-discharge-target", "options"),
    prevent_initial_call=True,
)
@requires(Permission.ADMIT_DISCHARGE)
def discharge_targets(typed: object, chosen: object, shown: object) -> list[dict[str, str]]:
    """Other hospitals whose name has what is typed, the chosen one kept so that it stays shown."""
    who = user()
    words = typed.strip()[:SEARCH_LENGTH] if isinstance(typed, str) else ""
    if who is None or not words:
        raise PreventUpdate
    with request_transaction() as db:
        options = forms.search_options(words, transfer_hospitals(db, who.organization_id, words))
    previous = [
        {"label": option["label"], "value": option["value"]}
        for option in (shown if isinstance(shown, list) else [])
        if isinstance(option, dict)
        and isinstance(option.get("label"), str)
        and option.get("value") == chosen
        and isinstance(chosen, str)
    ]
    return [*previous[:1], *(option for option in options if option["value"] != chosen)]


@callback(
    Output("hospital-discharge-icd10", "options"),
    Input("hospital-discharge-icd10", "search_value"),
    State("hospital-discharge-icd10", "value"),
    prevent_initial_call=True,
)
@requires(Permission.ADMIT_DISCHARGE)
def discharge_icd10(typed: object, chosen: object) -> list[dict[str, str]]:
    """ICD-10 codes as the doctor types."""
    return _icd10_options(typed, chosen)


@callback(
    Output("hospital-discharge-result", "children"),
    Output(NEW_BOARD, "data", allow_duplicate=True),
    Output("hospital-discharge-stay", "value", allow_duplicate=True),
    Output("hospital-discharge-outcome", "value"),
    Output("hospital-discharge-target", "value", allow_duplicate=True),
    Output("hospital-discharge-icd10", "value"),
    Output("hospital-discharge-summary", "value"),
    Output("hospital-discharge-time", "value"),
    Output("hospital-discharge-time-opened", "data"),
    Input("hospital-discharge-submit", "n_clicks"),
    Input("hospital-discharge-time", "n_submit"),
    State("hospital-discharge-stay", "value"),
    State("hospital-discharge-outcome", "value"),
    State("hospital-discharge-target", "value"),
    State("hospital-discharge-icd10", "value"),
    State("hospital-discharge-summary", "value"),
    State("hospital-discharge-time", "value"),
    State("hospital-discharge-time-opened", "data"),
    prevent_initial_call=True,
)
@requires(Permission.ADMIT_DISCHARGE)
def discharge_patient(
    _clicks: object,
    _enter: object,
    stay: object,
    outcome: object,
    target: object,
    code: object,
    summary: object,
    moment: object,
    opened: object,
) -> tuple[Any, ...]:
    """Discharge the patient with the outcome, final diagnosis and summary; the bed is freed."""
    who = user()
    if who is None or not _submitted("hospital-discharge-submit", "hospital-discharge-time"):
        raise PreventUpdate
    try:
        admission_id = _chosen(stay, N_("Choose the patient."), "admission_id")
        target_id = None if target in (None, "") else _chosen(target, N_("Choose the hospital."), "transferred_to_id")
        when = forms.typed_moment(moment, opened, "discharged_at")
        with request_transaction() as db:
            row = discharge(
                db,
                admission_id=admission_id,
                discharged_at=when,
                outcome=_plain(outcome),
                final_icd10=_plain(code),
                summary=_plain(summary),
                transferred_to_id=target_id,
                actor=who.acting(),
            )
            patient = db.get_one(Patient, row.patient_id).full_name
            message = gettext(
                "{patient} was discharged: {outcome}.",
                patient=patient,
                outcome=forms.label(forms.OUTCOMES, row.outcome),
            )
    except DomainError as error:
        return (forms.error_alert(error, forms.DISCHARGE_FIELDS, "hospital-discharge-error"), *([no_update] * 8))
    now = forms.local_now()
    return forms.done_alert(message, "hospital-discharge-done"), time.time(), None, None, None, None, "", now, now

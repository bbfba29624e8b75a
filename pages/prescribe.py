"""Writing an e-prescription (Elektron retsept) from a visit or hospital stay of the doctor's organization: the
diagnosis, the category and up to five medicines, the checks (blocking problems, warnings to acknowledge with a
reason), then the doctor's confirmation with the live OneID session or an E-IMZO signature.

`?replaces=<id>` corrects a prescription still in force: the form starts from it, and issuing the new one cancels
it with the reason given. Every id the browser posts is checked again by the services.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app
from sqlalchemy.orm import Session

from auth.callbacks import requires
from auth.document_signing import begin, confirmer
from auth.eimzo import EIMZO_KEY
from auth.guard import guarded
from auth.permissions import Permission
from auth.session import signed_in_with
from auth.user import PortalUser, user
from components import prescription_form as form
from components.posted import changed, clicked, record_id, text
from components.refusals import refusal
from db import request_transaction
from ehealth.audit.trail import Actor, record
from ehealth.calendar import today
from ehealth.emr.access import AccessDenied, check_read
from ehealth.emr.icd10_search import search
from ehealth.emr.models import ConditionKind, EncounterKind
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_, current_language, gettext
from ehealth.prescription.confirmation import OneIdSession
from ehealth.prescription.lifecycle import REASON_LENGTH
from ehealth.prescription.prescribing import Order, issue_with_session, prepare_signature, review
from ehealth.prescription.registers import (
    NO_CORRECTION,
    NOT_FOUND,
    SEARCH_MIN,
    Correction,
    PrescribingContext,
    correction_source,
    encounter_for_prescribing,
    patient_prescriptions,
    search_catalogue,
)
from ehealth.prescription.rules import RULES
from ehealth.reference.models import Drug

dash.register_page(
    __name__,
    path_template="/prescribe/<encounter_id>",
    order=41,
    title=lambda **_: gettext("Write a prescription"),
    permission=Permission.PRESCRIBE,
)

SEARCH_LENGTH = 100
CODE_LENGTH = 10  # an ICD-10 code with its dot, and a little room
CATEGORY_LENGTH = 20
MAX_BASE_CODES = 40
HIDDEN = "d-none"
ONEID, EIMZO = "prescribe-issue-oneid", "prescribe-sign-eimzo"
# The form's name of each field a refusal may name.
FIELDS: dict[str, str] = {
    "encounter_id": N_("Visit or stay"),
    "icd10": N_("Diagnosis"),
    "reason": N_("Reason for the correction"),
    "replace_reason": N_("Reason for the correction"),
    "replaces_id": N_("Prescription corrected"),
    "repeats": N_("Repeats"),
}
# Everything the checks and the confirmation read from the form: its fields, every medicine slot, every warning.
FORM_STATES = [
    State("prescribe-context", "data"),
    State("prescribe-dx", "value"),
    State("prescribe-category", "value"),
    State("prescribe-repeats", "value"),
    State("prescribe-replace-reason", "value"),
    State("prescribe-slots", "data"),
    *(State(form.slot_id(field, slot), prop) for slot in form.SLOTS for field, prop in form.ITEM_FIELDS),
    State({"type": form.ACK, "index": ALL}, "value"),
    State({"type": form.ACK_REASON, "index": ALL}, "value"),
]


def _not_open(message: str, component_id: str = "prescribe-missing") -> dbc.Alert:
    back = dcc.Link(gettext("Back to my prescriptions"), href="/prescriptions", className="alert-link")
    return dbc.Alert([message, " ", back], color="warning", id=component_id)


def _eimzo_configured() -> bool:
    return current_app.extensions.get(EIMZO_KEY) is not None


def _session_is_oneid() -> bool:
    signed = signed_in_with()
    return signed is not None and signed[0] == "oneid"


# --- the page -------------------------------------------------------------------------------------------------------


def _code_option(code: str, chronic: bool = False) -> dict[str, str]:
    label = form.diagnosis_text(code)
    return {"label": f"{label} · {gettext('chronic')}" if chronic else label, "value": code}


def _diagnosis_choice(context: PrescribingContext, correction: Correction | None) -> tuple[list[str], str | None]:
    """(the codes offered before any search: this encounter's, then the chronic ones; the code chosen at first:
    the corrected prescription's, else the encounter's latest final diagnosis)."""
    here = [*context.stay_codes, *(row.icd10_code for row in context.diagnoses)]
    codes = list(dict.fromkeys([*here, *(row.icd10_code for row in context.chronic)]))[:MAX_BASE_CODES]
    finals = [
        *context.stay_codes[1:],
        *(row.icd10_code for row in context.diagnoses if row.kind == ConditionKind.FINAL),
    ]
    if correction is not None:
        corrected = correction.prescription.icd10_code
        if corrected not in codes:
            codes.insert(0, corrected)
        chosen: str | None = corrected
    else:
        chosen = finals[-1] if finals else here[-1] if here else None
    return codes, chosen


def _diagnosis_card(context: PrescribingContext, correction: Correction | None) -> dbc.Card:
    codes, chosen = _diagnosis_choice(context, correction)
    here = {*context.stay_codes, *(row.icd10_code for row in context.diagnoses)}
    chronic = {row.icd10_code for row in context.chronic} - here
    category = str(correction.prescription.category) if correction is not None else "regular"
    repeats = correction.prescription.repeats_allowed if correction is not None else 0
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Label(gettext("Diagnosis"), html_for="prescribe-dx"),
                dcc.Dropdown(
                    id="prescribe-dx",
                    options=[_code_option(code, code in chronic) for code in codes],
                    value=chosen,
                    placeholder=gettext("Type a code or words of the name"),
                    labels=form.dropdown_labels(N_("Type a code or words of the name")),
                    className="mb-3",
                ),
                dcc.Store(id="prescribe-dx-base", data=codes),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(gettext("Category"), html_for="prescribe-category"),
                                dbc.RadioItems(
                                    id="prescribe-category", options=form.category_options(), value=category
                                ),
                            ],
                            md=9,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("Repeats"), html_for="prescribe-repeats"),
                                dbc.Input(
                                    id="prescribe-repeats",
                                    type="number",
                                    min=0,
                                    max=RULES.max_repeats,
                                    step=1,
                                    value=repeats,
                                    disabled=not form.is_chronic(category),
                                ),
                                dbc.FormText(gettext("Chronic only: extra fills, up to {max}.", max=RULES.max_repeats)),
                            ],
                            md=3,
                        ),
                    ]
                ),
            ]
        ),
        className="mb-3",
    )


def _items_card(correction: Correction | None) -> dbc.Card:
    prefills = correction.items[: len(form.SLOTS)] if correction is not None else []
    shown = list(form.SLOTS[: max(1, len(prefills))])
    rows = [
        form.item_row(slot, prefills[slot - 1] if slot <= len(prefills) else None, shown=slot in shown)
        for slot in form.SLOTS
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Medicines"), className="h5"),
                html.Div(rows, id="prescribe-items"),
                dcc.Store(id="prescribe-slots", data=shown),
                dbc.Button(gettext("Add medicine"), id="prescribe-add", color="secondary", outline=True, size="sm"),
                html.Span(id="prescribe-items-note", className="small text-muted ms-2"),
            ]
        ),
        className="mb-3",
    )


def _correction_box(correction: Correction | None) -> html.Div:
    """The reason for a correction (asked only when correcting; the field is always there for the callbacks)."""
    if correction is None:
        return html.Div(dbc.Input(id="prescribe-replace-reason", value=None), className=HIDDEN)
    note = gettext(
        "You are correcting prescription {number}: issuing this one cancels it.",
        number=correction.prescription.number,
    )
    return html.Div(
        [
            dbc.Alert(note, color="info", className="mb-2", id="prescribe-correcting"),
            dbc.Label(gettext("Reason for the correction"), html_for="prescribe-replace-reason"),
            dbc.Input(id="prescribe-replace-reason", maxLength=REASON_LENGTH, className="mb-3"),
        ]
    )


def _confirm_card() -> dbc.Card:
    oneid, eimzo = _session_is_oneid(), _eimzo_configured()
    oneid_hint = (
        gettext("Your OneID sign-in confirms the prescription.")
        if oneid
        else gettext("Available when you signed in with OneID.")
    )
    eimzo_hint = (
        gettext("Your E-IMZO key signs the prescription.") if eimzo else gettext("E-IMZO is not configured here.")
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Confirm and issue"), className="h5"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Button(
                                    gettext("Issue (OneID session)"), id=ONEID, color="primary", disabled=not oneid
                                ),
                                dbc.FormText(oneid_hint, className="d-block"),
                            ],
                            md=6,
                        ),
                        dbc.Col(
                            [
                                dbc.Button(
                                    gettext("Sign with E-IMZO"),
                                    id=EIMZO,
                                    color="primary",
                                    outline=True,
                                    disabled=not eimzo,
                                ),
                                dbc.FormText(eimzo_hint, className="d-block"),
                            ],
                            md=6,
                        ),
                    ],
                    className="g-2",
                ),
            ]
        ),
        className="mb-3",
    )


def _form(context: PrescribingContext, correction: Correction | None) -> html.Div:
    return html.Div(
        [
            _diagnosis_card(context, correction),
            _items_card(correction),
            _correction_box(correction),
            html.Div(
                [
                    dbc.Button(gettext("Check"), id="prescribe-check", color="secondary", className="mb-2"),
                    html.Div(id="prescribe-review", className="mb-3"),
                ]
            ),
            _confirm_card(),
        ],
        id="prescribe-form",
    )


def _correction(db: Session, replaces: str, context: PrescribingContext, actor: Actor, day: date) -> Correction:
    """The prescription `?replaces=` names, if the doctor may correct it for this patient."""
    replaced_id = record_id(replaces)
    if replaced_id is None:
        raise NotFound(NO_CORRECTION, field="replaces_id")
    return correction_source(db, replaced_id, patient_id=context.patient.id, actor=actor, day=day)


def _workspace(who: PortalUser, encounter_id: int, replaces: str | None) -> list[Any]:
    """The header and the form, or why the visit or stay does not open for prescribing."""
    actor, day = who.acting(), today()
    with request_transaction() as db:
        try:
            context = encounter_for_prescribing(db, encounter_id, actor)
            access = check_read(db, context.patient.id, actor=actor)
        except AccessDenied as refusal:  # caught inside: the refusal's audit row is committed
            return [_not_open(str(refusal), "prescribe-denied")]
        except DomainError as error:
            return [_not_open(str(error))]
        live = patient_prescriptions(db, context.patient.id, day=day)
        record(
            db,
            actor,
            "emr.record.read",
            patient_id=context.patient.id,
            object_type="encounter",
            object_id=encounter_id,
            detail=f"prescribing; basis: {access.basis}",
        )
        top = form.header(context, live, day)
        correction = None
        if replaces is not None:
            try:
                correction = _correction(db, replaces, context, actor, day)
            except DomainError as error:
                fresh = dcc.Link(
                    gettext("Write a new prescription instead"),
                    href=f"/prescribe/{encounter_id}",
                    className="alert-link",
                )
                return [top, dbc.Alert([str(error), " ", fresh], color="warning", id="prescribe-no-correction")]
        body = _form(context, correction)
    replaced = correction.prescription.id if correction is not None else None
    return [
        top,
        body,
        html.Div(id="prescribe-result"),
        dcc.Store(id="prescribe-context", data={"encounter": encounter_id, "replaces": replaced}),
        dcc.Location(id="prescribe-go", refresh=True),
    ]


@guarded(Permission.PRESCRIBE)
def layout(encounter_id: str | None = None, replaces: str | None = None, **_query: str) -> html.Div:
    """The prescription form of a visit or stay of the doctor's organization."""
    who = user()
    assert who is not None  # guarded
    chosen = record_id(encounter_id)
    body = [_not_open(gettext(NOT_FOUND))] if chosen is None else _workspace(who, chosen, replaces)
    return html.Div(body, id="prescribe-page")


# --- reading the form -------------------------------------------------------------------------------------------------


def _code(value: object) -> str:
    """The chosen ICD-10 code as posted (the service validates it)."""
    return value.strip()[:CODE_LENGTH] if isinstance(value, str) else ""


def _repeats(value: object) -> int:
    """The repeats as posted (a number field posts a number; the service checks the range)."""
    if value is None or value == "":
        return 0
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        return int(value) if abs(value) < 100 else 100  # out of range either way: refused by the checks
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 2:
        return int(value.strip())
    raise ValidationError(N_("Repeats must be a whole number."), field="repeats")


def _order(
    db: Session, actor: Actor, posted: dict[str, object], *, confirming: bool
) -> tuple[Order, PrescribingContext]:
    """The order the form describes and its encounter; the patient is the encounter's, read here, never taken from
    the browser."""
    context = posted["context"] if isinstance(posted["context"], dict) else {}
    encounter_id = record_id(context.get("encounter"))
    if encounter_id is None:
        raise NotFound(NOT_FOUND, field="encounter_id")
    replaces_id = record_id(context.get("replaces"))
    prescribing = encounter_for_prescribing(db, encounter_id, actor)
    reason = text(posted["reason"], REASON_LENGTH) if replaces_id is not None else None
    if confirming and replaces_id is not None and reason is None:
        raise ValidationError(N_("Give the reason for the correction."), field="replace_reason")
    category = posted["category"]
    order = Order(
        patient_id=prescribing.patient.id,
        encounter_id=encounter_id,
        icd10_code=_code(posted["dx"]),
        category=category[:CATEGORY_LENGTH] if isinstance(category, str) else "",
        items=form.posted_items(posted["slots"]),
        repeats=_repeats(posted["repeats"]),
        replaces_id=replaces_id,
        replace_reason=reason,
    )
    return order, prescribing


def _named(posted: tuple[object, ...]) -> dict[str, object]:
    """The form's plain fields, as FORM_STATES post them (the slots' and warnings' values are read by name)."""
    names = ("context", "dx", "category", "repeats", "reason", "slots")
    return dict(zip(names, posted[: len(names)], strict=True))


def _encounter_of(context: object) -> tuple[int | None, int | None]:
    data = context if isinstance(context, dict) else {}
    return record_id(data.get("encounter")), record_id(data.get("replaces"))


# --- callbacks ------------------------------------------------------------------------------------------------------


@callback(
    Output("prescribe-dx", "options"),
    Input("prescribe-dx", "search_value"),
    State("prescribe-dx", "value"),
    State("prescribe-dx-base", "data"),
    prevent_initial_call=True,
)
@requires(Permission.PRESCRIBE)
def find_diagnosis(typed: object, chosen: object, base: object) -> list[dict[str, str]]:
    """The encounter's and chronic diagnoses, and the ICD-10 codes for what the doctor types."""
    try:
        needle = text(typed, SEARCH_LENGTH)
    except ValidationError:
        raise PreventUpdate from None
    if needle is None:
        raise PreventUpdate
    offered = [code for code in (base if isinstance(base, list) else [])[:MAX_BASE_CODES] if isinstance(code, str)]
    codes = [code[:CODE_LENGTH] for code in offered]
    picked = _code(chosen)
    if picked and picked not in codes:
        codes.insert(0, picked)
    options = [_code_option(code) for code in codes]
    for code, name in search(needle, current_language()):
        if code not in codes:
            # The drop-down also filters by what is typed: `search` lets every code found through.
            options.append({"label": f"{code} {name}", "value": code, "search": f"{needle} {code} {name}"})
    return options


@callback(
    Output("prescribe-repeats", "disabled"),
    Output("prescribe-repeats", "value"),
    Input("prescribe-category", "value"),
    prevent_initial_call=True,
)
@requires(Permission.PRESCRIBE)
def category_changed(category: object) -> tuple[bool, Any]:
    """Repeats only for a chronic prescription (set back to none for the others)."""
    if form.is_chronic(category):
        return False, no_update
    return True, 0


def _find_medicine(typed: object, chosen: object) -> list[dict[str, str]]:
    """Medicines of the catalogue whose INN or brand has what the doctor types; the chosen one kept."""
    try:
        needle = text(typed, SEARCH_LENGTH)
    except ValidationError:
        raise PreventUpdate from None
    if needle is None or len(needle) < SEARCH_MIN:
        raise PreventUpdate  # too little to search on: the list stays as it is
    with request_transaction() as db:
        options = [form.drug_option(drug, needle) for drug in search_catalogue(db, needle)]
        picked = record_id(chosen)
        if picked is not None and str(picked) not in {option["value"] for option in options}:
            drug = db.get(Drug, picked)
            if drug is not None and drug.is_active:
                options.insert(0, form.drug_option(drug))
    return options


def _typed(value: object, whole: bool) -> float | None:
    try:
        return form.whole(value, 0, "") if whole else form.decimal(value, 0, "")
    except ValidationError:
        return None


def _fill_item(
    slot: int, drug: object, dose: object, intakes: object, days: object, quantity: object, auto: object
) -> tuple[Any, ...]:
    """A medicine just chosen gets its usual regimen and route; the quantity follows the regimen (the units the
    course takes) until the doctor types another, and the most that may be prescribed is shown."""
    drug_id = record_id(drug)
    picked = changed() == form.slot_id(form.DRUG, slot)
    if drug_id is None:
        if not picked:
            raise PreventUpdate
        # The medicine was cleared: its units, its limit and a quantity the page filled in go with it.
        typed, auto_filled = _typed(quantity, True), isinstance(auto, int)
        emptied = ("", None) if typed is None or (auto_filled and typed == auto) else (no_update, no_update)
        return (no_update, no_update, no_update, no_update, "", "", *emptied, "")
    with request_transaction() as db:
        medicine = db.get(Drug, drug_id)
        if medicine is None or not medicine.is_active:
            raise PreventUpdate
        regimen: tuple[float | None, int | None, int | None]
        if picked:
            regimen = (medicine.usual_dose, medicine.usual_intakes, medicine.usual_days)
        else:
            typed_intakes, typed_days = _typed(intakes, True), _typed(days, True)
            regimen = (
                _typed(dose, False),
                int(typed_intakes) if typed_intakes is not None else None,
                int(typed_days) if typed_days is not None else None,
            )
        need, hint = form.quantity_hint(medicine, *regimen)
        dose_unit, unit, route = medicine.dose_unit or medicine.unit, medicine.unit, medicine.route
    typed = _typed(quantity, True)
    follows = picked or typed is None or (isinstance(auto, int) and typed == auto)
    filled = (need if need is not None else "", need) if follows else (no_update, no_update)
    start: tuple[Any, ...] = (no_update, no_update, no_update, no_update)
    if picked:
        usual_dose, usual_intakes, usual_days = regimen
        start = (f"{usual_dose:g}", usual_intakes, usual_days, route if route in RULES.routes else None)
    return (*start, dose_unit, unit, *filled, hint)


def _slot_callbacks(slot: int) -> None:
    """The search and the regimen callbacks of one medicine slot (plain ids: every output is one component)."""

    def slot_id(field: str) -> str:
        return form.slot_id(field, slot)

    @callback(
        Output(slot_id(form.DRUG), "options"),
        Input(slot_id(form.DRUG), "search_value"),
        State(slot_id(form.DRUG), "value"),
        prevent_initial_call=True,
    )
    @requires(Permission.PRESCRIBE)
    def find_medicine(typed: object, chosen: object) -> list[dict[str, str]]:
        """Medicines of the catalogue for what the doctor types in this slot."""
        return _find_medicine(typed, chosen)

    @callback(
        Output(slot_id(form.DOSE), "value"),
        Output(slot_id(form.INTAKES), "value"),
        Output(slot_id(form.DAYS), "value"),
        Output(slot_id(form.ROUTE), "value"),
        Output(slot_id(form.DOSE_UNIT), "children"),
        Output(slot_id(form.UNIT), "children"),
        Output(slot_id(form.QUANTITY), "value"),
        Output(slot_id(form.AUTO), "data"),
        Output(slot_id(form.MAXIMUM), "children"),
        Input(slot_id(form.DRUG), "value"),
        Input(slot_id(form.DOSE), "value"),
        Input(slot_id(form.INTAKES), "value"),
        Input(slot_id(form.DAYS), "value"),
        State(slot_id(form.QUANTITY), "value"),
        State(slot_id(form.AUTO), "data"),
        prevent_initial_call=True,
    )
    @requires(Permission.PRESCRIBE)
    def fill_item(
        drug: object, dose: object, intakes: object, days: object, quantity: object, auto: object
    ) -> tuple[Any, ...]:
        """The regimen and quantity of this slot as the medicine or the regimen changes."""
        return _fill_item(slot, drug, dose, intakes, days, quantity, auto)


for _slot in form.SLOTS:
    _slot_callbacks(_slot)

# What removing a slot empties (so that adding it again starts blank).
CLEARED: tuple[tuple[str, str, Any], ...] = (
    (form.DRUG, "value", None),
    (form.BRAND, "value", False),
    (form.DOSE, "value", ""),
    (form.INTAKES, "value", ""),
    (form.DAYS, "value", ""),
    (form.ROUTE, "value", None),
    (form.QUANTITY, "value", ""),
    (form.AUTO, "data", None),
    (form.MAXIMUM, "children", ""),
)


@callback(
    Output("prescribe-slots", "data"),
    Output("prescribe-items-note", "children"),
    *(Output(form.slot_id(form.ROW, slot), "className") for slot in form.SLOTS),
    *(Output(form.slot_id(field, slot), prop) for slot in form.SLOTS for field, prop, _empty in CLEARED),
    Input("prescribe-add", "n_clicks"),
    *(Input(form.slot_id(form.REMOVE, slot), "n_clicks") for slot in form.SLOTS),
    State("prescribe-slots", "data"),
    prevent_initial_call=True,
)
@requires(Permission.PRESCRIBE)
def change_rows(*posted: object) -> tuple[Any, ...]:
    """Show another medicine slot (up to the most a prescription holds), or remove one (one always stays)."""
    pressed = clicked()
    if pressed is None:
        raise PreventUpdate
    shown = form.shown_slots(posted[-1])
    untouched = [no_update] * (len(form.SLOTS) * len(CLEARED))
    if pressed == "prescribe-add":
        free = [slot for slot in form.SLOTS if slot not in shown]
        if not free:
            note = gettext("A prescription holds at most {max} medicines.", max=len(form.SLOTS))
            return (no_update, note, *([no_update] * len(form.SLOTS)), *untouched)
        shown.append(free[0])
        classes = [form.row_class(slot in shown) for slot in form.SLOTS]
        return (shown, "", *classes, *untouched)
    removed = next((slot for slot in form.SLOTS if pressed == form.slot_id(form.REMOVE, slot)), None)
    if removed is None or removed not in shown or len(shown) <= 1:
        raise PreventUpdate
    shown.remove(removed)
    classes = [form.row_class(slot in shown) for slot in form.SLOTS]
    cleared = [empty if slot == removed else no_update for slot in form.SLOTS for _field, _prop, empty in CLEARED]
    return (shown, "", *classes, *cleared)


@callback(
    Output("prescribe-review", "children"),
    Input("prescribe-check", "n_clicks"),
    *FORM_STATES,
    prevent_initial_call=True,
)
@requires(Permission.PRESCRIBE)
def check(_clicks: object, *form_values: object) -> Any:
    """Run every check on the prescription as written, saving nothing: problems, warnings and validity."""
    who = user()
    if who is None or clicked() != "prescribe-check":
        raise PreventUpdate
    actor = who.acting()
    try:
        with request_transaction() as db:
            order, _prescribing = _order(db, actor, _named(form_values), confirming=False)
            return form.review_panel(review(db, order, actor=actor))
    except DomainError as error:
        return refusal(error, "prescribe-check-error", FIELDS)


def _issued(number: str, encounter_id: int | None, outpatient: bool, phone: bool) -> dbc.Alert:
    links: list[Any] = [
        dcc.Link(
            gettext("Open my prescriptions"), href="/prescriptions", className="alert-link me-3", id="prescribe-list"
        )
    ]
    if outpatient and encounter_id is not None:
        links.append(dcc.Link(gettext("Back to the visit"), href=f"/visit/{encounter_id}", className="alert-link"))
    return dbc.Alert(
        [
            html.H2(gettext("Prescription {number} was issued.", number=number), className="h5 alert-heading"),
            html.P(
                gettext("The number is sent to the patient by SMS.")
                if phone
                else gettext("The patient has no phone number recorded: give them the number written down."),
                className="mb-1",
            ),
            html.Div(links),
        ],
        color="success",
        id="prescribe-issued",
    )


@callback(
    Output("prescribe-result", "children"),
    Output("prescribe-go", "href"),
    Output("prescribe-form", "className"),
    Input(ONEID, "n_clicks"),
    Input(EIMZO, "n_clicks"),
    *FORM_STATES,
    prevent_initial_call=True,
)
@requires(Permission.PRESCRIBE)
def confirm(_oneid: object, _eimzo: object, *form_values: object) -> tuple[Any, Any, Any]:
    """Issue the prescription confirmed by the doctor's OneID session, or draft it and go to sign it with E-IMZO;
    a refusal writes nothing."""
    who = user()
    action = clicked()
    if who is None or action not in (ONEID, EIMZO):
        raise PreventUpdate
    actor = who.acting()
    posted = _named(form_values)
    encounter_id, replaces_id = _encounter_of(posted["context"])
    try:
        if action == ONEID:
            signed = signed_in_with()
            if signed is None or signed[0] != "oneid":
                raise ValidationError(
                    N_("Confirming with the session needs a sign-in with OneID; sign with E-IMZO instead.")
                )
            with request_transaction() as db:
                order, prescribing = _order(db, actor, posted, confirming=True)
                session = OneIdSession(who.cabinet_id, signed[1])
                issued = issue_with_session(
                    db, order, form.posted_acknowledgements(), actor=actor, oneid=session, confirmer=confirmer()
                )
                number = issued.number
            outpatient = prescribing.encounter.kind == EncounterKind.OUTPATIENT
            return _issued(number, encounter_id, outpatient, bool(prescribing.patient.phone)), no_update, HIDDEN
        if not _eimzo_configured():
            raise ValidationError(N_("E-IMZO is not configured on this portal; confirm with your OneID session."))
        with request_transaction() as db:
            order, _prescribing = _order(db, actor, posted, confirming=True)
            draft = prepare_signature(db, order, form.posted_acknowledgements(), actor=actor)
            token = draft.token
    except DomainError as error:
        return refusal(error, "prescribe-confirm-error", FIELDS), no_update, no_update
    back = f"/prescribe/{encounter_id}" + (f"?replaces={replaces_id}" if replaces_id is not None else "")
    going = dbc.Alert(gettext("Opening E-IMZO to sign the prescription…"), color="info", id="prescribe-signing")
    return going, begin(token, back), no_update

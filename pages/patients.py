"""The patient registry (R-13.1): find a patient by PINFL, or by name and birth date in any script; the registrar
registers a new patient only after the records that may be the same person have been shown."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import request
from sqlalchemy import select

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.posted import clicked, record_id, text, typed_date
from components.tables import table
from db import request_transaction
from ehealth.calendar import today
from ehealth.errors import DomainError, ValidationError
from ehealth.i18n import N_, current_language, gettext
from ehealth.identifiers import NAME_MAX_LENGTH, PINFL_LENGTH, pinfl_birth_date, pinfl_sex, validate_pinfl
from ehealth.patients.models import Patient, Sex
from ehealth.patients.registry import ADDRESS_LENGTH, Candidate, RegistrationOutcome, find_by_pinfl, register, search
from ehealth.reference.models import Organization, Region

dash.register_page(
    __name__,
    path="/patients",
    order=10,
    title=lambda **_: gettext("Patients"),
    nav=N_("Patients"),
    permission=Permission.READ_PATIENT,
)

SEARCH_LENGTH = 120
PINFL_TYPED_LENGTH = 40  # 14 digits, with the spaces people type between groups
PHONE_LENGTH = 40
RECORD_PATH = "/patient/{id}"

SEX_LABELS: dict[str, str] = {Sex.MALE: N_("Male"), Sex.FEMALE: N_("Female")}

# The registration form: the service's field name → (the component's id suffix, the label msgid).
FIELDS: dict[str, tuple[str, str]] = {
    "pinfl": ("pinfl", N_("PINFL")),
    "surname": ("surname", N_("Surname")),
    "given_name": ("given-name", N_("Given name")),
    "patronymic": ("patronymic", N_("Patronymic")),
    "birth_date": ("birth-date", N_("Birth date")),
    "sex": ("sex", N_("Sex")),
    "region_id": ("region", N_("Region")),
    "phone": ("phone", N_("Phone")),
    "address": ("address", N_("Address")),
}
# Fields with an `invalid` property (the radio buttons of `sex` have none: its message alone shows).
MARKED = [name for name in FIELDS if name != "sex"]
# Fields emptied after a registration (the region stays: the next patient is most often from the same one).
CLEARED = [name for name in FIELDS if name != "region_id"]
HIDDEN, SHOWN = "d-none", "mt-2"
FORM = N_("Registration")  # the label of an error that concerns no one field
SEARCH = N_("Search")
# The fields a search's refusal may name.
SEARCH_FIELDS: dict[str, str] = {
    "pinfl": N_("PINFL"),
    "surname": N_("Surname"),
    "given_name": N_("Given name"),
    "birth_date": N_("Birth date"),
}


def _id(name: str) -> str:
    return f"patients-new-{FIELDS[name][0]}"


def sex_label(sex: str) -> str:
    """The sex as people read it, in the current language."""
    return gettext(SEX_LABELS[sex]) if sex in SEX_LABELS else sex


def _record_link(patient: Patient, prefix: str, label: str | None = None, **style: Any) -> dcc.Link:
    return dcc.Link(
        label or patient.full_name,
        href=RECORD_PATH.format(id=patient.id),
        id=f"{prefix}-{patient.id}",
        **style,
    )


# --- search ------------------------------------------------------------------------------------------------------


def _search_form() -> dbc.Form:
    return dbc.Form(
        dbc.Row(
            [
                dbc.Col(
                    [
                        dbc.Label(gettext("PINFL, or surname and given name"), html_for="patients-search"),
                        dbc.Input(
                            id="patients-search",
                            maxLength=SEARCH_LENGTH,
                            autoFocus=True,
                            autoComplete="off",
                            placeholder=gettext("e.g. 31503870010018 or Toshmatov Alisher"),
                        ),
                    ],
                    md=6,
                ),
                dbc.Col(
                    [
                        dbc.Label(gettext("Birth date (for a search by name)"), html_for="patients-search-born"),
                        dbc.Input(id="patients-search-born", type="date", max=today().isoformat()),
                    ],
                    md=3,
                ),
                dbc.Col(
                    dbc.Button(gettext("Find"), id="patients-find", type="submit", color="primary", className="w-100"),
                    md=2,
                    className="d-flex align-items-end",
                ),
            ],
            className="g-2",
        ),
        id="patients-search-form",
        prevent_default_on_submit=True,
        className="mb-3",
    )


def _results_table(found: list[Patient]) -> Any:
    headers = [N_("Full name"), N_("Birth date"), N_("Sex"), N_("PINFL"), N_("Record")]
    rows = [
        (
            _record_link(patient, "patients-result-open"),
            patient.birth_date.isoformat(),
            sex_label(patient.sex),
            patient.pinfl,
            patient.id,
        )
        for patient in found
    ]
    return table(headers, rows, "patients-results-table", empty=N_("Nothing found."), scroll=True)


def _search_terms(typed: str) -> tuple[str, str]:
    """(surname, given name) from "Surname Given name [Patronymic]" or "Surname, Given name"."""
    surname, comma, rest = typed.partition(",")
    words = [surname.strip(), *rest.split()[:1]] if comma else typed.split()[:2]
    if len(words) < 2 or not all(words):
        raise ValidationError(N_("Type the surname and the given name, or the PINFL."), field="search")
    return words[0], words[1]


def _find(who: PortalUser, typed: str, born: object) -> list[Patient]:
    """The patients matching what was typed: the PINFL's patient, or the name's patients born that day."""
    actor = who.actor(request.remote_addr)
    compact = "".join(typed.split())
    with request_transaction() as db:
        if compact.isascii() and compact.isdigit():
            patient = find_by_pinfl(db, compact, actor=actor)
            found = [patient] if patient is not None else []
        else:
            surname, given_name = _search_terms(typed)
            birth_date = typed_date(born, N_("Enter the birth date to search by name."), "birth_date")
            found = search(db, surname=surname, given_name=given_name, birth_date=birth_date, actor=actor)
    return found


@callback(
    Output("patients-results", "children"),
    Input("patients-find", "n_clicks"),
    State("patients-search", "value"),
    State("patients-search-born", "value"),
    prevent_initial_call=True,
)
@requires(Permission.READ_PATIENT)
def find(_clicks: object, typed: object, born: object) -> Any:
    """The patients matching the PINFL, or the surname and given name with the birth date."""
    who = user()
    if who is None or clicked() != "patients-find":
        raise PreventUpdate
    try:
        needle = text(typed, SEARCH_LENGTH)
        if needle is None:
            raise ValidationError(N_("Type the surname and the given name, or the PINFL."), field="search")
        found = _find(who, needle, born)
    except DomainError as error:
        label = gettext(SEARCH_FIELDS.get(error.field or "", SEARCH))
        return dbc.Alert(f"{label}: {error}", color="danger", id="patients-search-error")
    return _results_table(found)


# --- registration ------------------------------------------------------------------------------------------------


def _regions() -> list[dict[str, Any]]:
    column = f"name_{current_language()}"
    with request_transaction() as db:
        regions = db.execute(select(Region)).scalars().all()
        options = [{"label": getattr(region, column, region.name_uz), "value": str(region.id)} for region in regions]
    return sorted(options, key=lambda option: option["label"])


def _home_region(who: PortalUser) -> str | None:
    with request_transaction() as db:
        organization = db.get(Organization, who.organization_id)
        return str(organization.region_id) if organization is not None else None


def _field(name: str, control: Any, width: int) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(gettext(FIELDS[name][1]), html_for=_id(name)),
            control,
            dbc.FormFeedback(id=f"{_id(name)}-feedback", type="invalid", className="d-block"),
        ],
        md=width,
    )


def _registration_form(who: PortalUser) -> dbc.Card:
    latest = today().isoformat()
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Register a patient"), className="h5"),
                html.P(
                    gettext(
                        "Search first: the patient may already be registered. Typing the PINFL fills the birth date "
                        "and the sex."
                    ),
                    className="text-muted small",
                ),
                dbc.Form(
                    [
                        # Tab order: the PINFL, the names, then the birth date and sex it has filled (to glance at).
                        dbc.Row(
                            [
                                _field(
                                    "pinfl",
                                    dbc.Input(
                                        id=_id("pinfl"),
                                        maxLength=PINFL_TYPED_LENGTH,
                                        inputMode="numeric",
                                        autoComplete="off",
                                    ),
                                    3,
                                ),
                                _field("surname", dbc.Input(id=_id("surname"), maxLength=NAME_MAX_LENGTH), 3),
                                _field("given_name", dbc.Input(id=_id("given_name"), maxLength=NAME_MAX_LENGTH), 3),
                                _field("patronymic", dbc.Input(id=_id("patronymic"), maxLength=NAME_MAX_LENGTH), 3),
                            ],
                            className="g-2 mb-2",
                        ),
                        dbc.Row(
                            [
                                _field("birth_date", dbc.Input(id=_id("birth_date"), type="date", max=latest), 3),
                                _field(
                                    "sex",
                                    dbc.RadioItems(
                                        id=_id("sex"),
                                        options=[{"label": sex_label(sex), "value": str(sex)} for sex in Sex],
                                        inline=True,
                                    ),
                                    3,
                                ),
                                _field(
                                    "region_id",
                                    dbc.Select(
                                        id=_id("region_id"),
                                        options=_regions(),
                                        value=_home_region(who),
                                        placeholder=gettext("Choose the region"),
                                    ),
                                    6,
                                ),
                            ],
                            className="g-2 mb-2",
                        ),
                        dbc.Row(
                            [
                                _field(
                                    "phone",
                                    dbc.Input(
                                        id=_id("phone"),
                                        type="tel",
                                        maxLength=PHONE_LENGTH,
                                        placeholder="+998 90 123 45 67",
                                    ),
                                    3,
                                ),
                                _field("address", dbc.Input(id=_id("address"), maxLength=ADDRESS_LENGTH), 9),
                            ],
                            className="g-2 mb-3",
                        ),
                        dbc.Button(gettext("Register"), id="patients-new-submit", type="submit", color="primary"),
                    ],
                    id="patients-new-form",
                    prevent_default_on_submit=True,
                ),
                # The values the candidates were shown for: "Register as a new patient" holds only for those.
                dcc.Store(id="patients-new-checked"),
                html.Div(id="patients-new-result", className="mt-3"),
                # In the layout from the start (a callback does not fire for an input missing from the page);
                # shown with the candidates only.
                dbc.Button(
                    gettext("Register as a new patient"),
                    id="patients-new-confirm",
                    color="secondary",
                    className=HIDDEN,
                ),
            ]
        ),
        className="mb-4",
    )


@guarded(Permission.READ_PATIENT)
def layout(**_query: str) -> html.Div:
    """The search, its results and, for the registrar, the registration form."""
    who = user()
    assert who is not None  # guarded
    registration = [_registration_form(who)] if who.can(Permission.REGISTER_PATIENT) else []
    return html.Div(
        [
            html.H1(gettext("Patients"), className="h3"),
            html.P(
                gettext(
                    "Find a patient by PINFL, or by surname and given name (Latin or Cyrillic) with the birth date."
                ),
                className="text-muted",
            ),
            _search_form(),
            html.Div(id="patients-results", className="mb-4"),
            *registration,
        ]
    )


@callback(
    Output(_id("birth_date"), "value"),
    Output(_id("sex"), "value"),
    Input(_id("pinfl"), "value"),
    prevent_initial_call=True,
)
@requires(Permission.REGISTER_PATIENT)
def fill_from_pinfl(typed: object) -> tuple[str, str]:
    """The birth date and the sex a valid PINFL encodes (the registration checks them again)."""
    compact = "".join(typed.split()) if isinstance(typed, str) else ""
    if len(compact) != PINFL_LENGTH:
        raise PreventUpdate
    try:
        number = validate_pinfl(compact)
    except ValidationError:
        raise PreventUpdate from None
    return pinfl_birth_date(number).isoformat(), pinfl_sex(number)


def _typed(value: object, limit: int, field: str) -> str | None:
    """Typed text tidied, with a refusal naming `field`."""
    try:
        return text(value, limit)
    except ValidationError as error:
        raise ValidationError(error.msgid, field=field, **error.params) from None


def _values(typed: dict[str, object]) -> dict[str, Any]:
    """The form's values as the service takes them; a refusal names the field."""
    # The PINFL first, as the form reads: an empty form is told to start there (the service checks it again).
    pinfl = validate_pinfl(_typed(typed["pinfl"], PINFL_TYPED_LENGTH, "pinfl") or "")
    birth_date = typed_date(typed["birth_date"], N_("Enter the birth date."), "birth_date")
    region = record_id(typed["region_id"])
    if region is None:
        raise ValidationError(N_("Choose the region from the list"), field="region_id")
    return {
        "pinfl": pinfl,
        "surname": _typed(typed["surname"], NAME_MAX_LENGTH, "surname") or "",
        "given_name": _typed(typed["given_name"], NAME_MAX_LENGTH, "given_name") or "",
        "patronymic": _typed(typed["patronymic"], NAME_MAX_LENGTH, "patronymic"),
        "birth_date": birth_date,
        "sex": typed["sex"] if isinstance(typed["sex"], str) else "",
        "region_id": region,
        "phone": _typed(typed["phone"], PHONE_LENGTH, "phone"),
        "address": _typed(typed["address"], ADDRESS_LENGTH, "address"),
    }


def _fingerprint(values: dict[str, Any]) -> list[str]:
    return [str(values[name]) for name in FIELDS]


def _candidates(candidates: tuple[Candidate, ...]) -> html.Div:
    headers = [
        N_("Full name"),
        N_("Birth date"),
        N_("Sex"),
        N_("PINFL"),
        N_("Phone"),
        N_("Why it may be the same"),
        N_("Record"),
    ]
    rows = [
        (
            candidate.patient.full_name,
            candidate.patient.birth_date.isoformat(),
            sex_label(candidate.patient.sex),
            candidate.patient.pinfl,
            candidate.patient.phone or "",
            ", ".join(candidate.labels()),
            _record_link(
                candidate.patient,
                "patients-candidate-open",
                gettext("Open this record"),
                className="btn btn-sm btn-outline-primary",
            ),
        )
        for candidate in candidates
    ]
    return html.Div(
        [
            dbc.Alert(
                gettext(
                    "These records may be the same person. Open the right one, or register a new patient if none is."
                ),
                color="warning",
                id="patients-new-candidates-note",
            ),
            table(headers, rows, "patients-new-candidates"),
        ]
    )


REGISTER_OUTPUTS = [
    Output("patients-new-result", "children"),
    Output("patients-new-checked", "data"),
    Output("patients-new-confirm", "className"),
    *[Output(_id(name), "invalid") for name in MARKED],
    *[Output(f"{_id(name)}-feedback", "children") for name in FIELDS],
    *[Output(_id(name), "value", allow_duplicate=name in ("birth_date", "sex")) for name in CLEARED],
]


@callback(
    *REGISTER_OUTPUTS,
    Input("patients-new-submit", "n_clicks"),
    Input("patients-new-confirm", "n_clicks"),
    State("patients-new-checked", "data"),
    *[State(_id(name), "value") for name in FIELDS],
    prevent_initial_call=True,
)
@requires(Permission.REGISTER_PATIENT)
def submit_registration(_submit: object, _confirm: object, checked: object, *typed: object) -> tuple[Any, ...]:
    """Register the patient: the existing record, else the possible duplicates first, else a new record."""
    who = user()
    action = clicked()
    if who is None or action not in ("patients-new-submit", "patients-new-confirm"):
        raise PreventUpdate
    unchanged = [no_update] * len(CLEARED)
    try:
        values = _values(dict(zip(FIELDS, typed, strict=True)))
        # "Register as a new patient" holds for the very values the candidates were shown for, nothing else.
        confirmed = action == "patients-new-confirm" and checked == _fingerprint(values)
        with request_transaction() as db:
            outcome = register(db, **values, actor=who.actor(request.remote_addr), confirmed_new=confirmed)
            result, cleared = _outcome(outcome.outcome, outcome.patient, outcome.candidates)
    except DomainError as error:
        return _refused(error)
    shown = outcome.outcome == RegistrationOutcome.CANDIDATES
    return (
        result,
        _fingerprint(values) if shown else None,
        SHOWN if shown else HIDDEN,
        *[False] * len(MARKED),
        *[None] * len(FIELDS),
        *(["" if name != "sex" else None for name in CLEARED] if cleared else unchanged),
    )


def _outcome(
    outcome: RegistrationOutcome, patient: Patient | None, candidates: tuple[Candidate, ...]
) -> tuple[Any, bool]:
    """What the registrar sees, and whether the form is emptied for the next patient."""
    if outcome == RegistrationOutcome.CANDIDATES:
        return _candidates(candidates), False
    assert patient is not None  # existing or created
    if outcome == RegistrationOutcome.EXISTING:
        message = gettext(
            "This PINFL is already registered: {name}, born {born}.",
            name=patient.full_name,
            born=patient.birth_date.isoformat(),
        )
        link = _record_link(patient, "patients-new-existing-open", gettext("Open the record"), className="alert-link")
        return dbc.Alert([message, " ", link], color="warning", id="patients-new-existing"), False
    message = gettext("{name} is registered (record {id}).", name=patient.full_name, id=patient.id)
    link = _record_link(patient, "patients-new-created-open", gettext("Open the record"), className="alert-link")
    return dbc.Alert([message, " ", link], color="success", id="patients-new-created"), True


def _refused(error: DomainError) -> tuple[Any, ...]:
    """The error at the top of the form and next to its field; nothing else changes."""
    field = error.field if error.field in FIELDS else None
    label = gettext(FIELDS[field][1] if field else FORM)
    alert = dbc.Alert(f"{label}: {error}", color="danger", id="patients-new-error")
    return (
        alert,
        None,
        HIDDEN,
        *[name == field for name in MARKED],
        *[str(error) if name == field else None for name in FIELDS],
        *[no_update] * len(CLEARED),
    )

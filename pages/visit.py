"""The visit workspace (Elektron poliklinika): the doctor writes the complaints and the examination, the indicators,
the diagnoses (ICD-10 search as you type) and the referrals of an open outpatient visit, then closes it with its
outcome. Only an open visit of the user's own organization opens here; every id the browser posts is checked again
by the services against the user's organization.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy.orm import Session

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.labels import organization_kind_label
from components.posted import clicked, pressed, record_id, text
from components.refusals import refusal
from components.tables import table
from db import request_transaction, utcnow
from ehealth.emr.access import AccessDenied
from ehealth.emr.entries import TEXT_LENGTH, record_diagnosis, record_indicators
from ehealth.emr.icd10_search import describe, search
from ehealth.emr.indicators import RULES, bmi, check, number_text
from ehealth.emr.models import (
    Allergy,
    ConditionKind,
    Encounter,
    Flag,
    Indicator,
    ReferralKind,
    ReferralState,
    Severity,
    VisitOutcome,
)
from ehealth.emr.referrals import REASON_LENGTH, refer, referral_targets
from ehealth.errors import DomainError, ValidationError
from ehealth.i18n import N_, current_language, gettext
from ehealth.identifiers import TASHKENT
from ehealth.patients.models import Patient
from ehealth.polyclinic.queue import age_on, queue_day
from ehealth.polyclinic.visits import (
    FINDINGS_LENGTH,
    VisitEntries,
    close_visit,
    record_findings,
    visit_entries,
    visit_view,
)
from ehealth.reference.models import Organization, OrganizationKind

dash.register_page(
    __name__,
    path_template="/visit/<encounter_id>",
    order=21,
    title=lambda **_: gettext("Visit"),
    permission=Permission.RECORD_DIAGNOSIS,
)

SEARCH_LENGTH = 100
NUMBER_LENGTH = 20
MOMENT_LENGTH = 40
CODE_LENGTH = 10  # an ICD-10 code with its dot, and a little room
HIDDEN = "d-none"
DAY = "%d.%m.%Y"
# The indicators typed in (the body mass index is computed from the weight and the height).
ENTERED = [kind for kind in Indicator if kind != Indicator.BMI]
TARGETED = (ReferralKind.HOSPITAL, ReferralKind.CONSULTATION)
TARGET_KINDS = (OrganizationKind.HOSPITAL, OrganizationKind.POLYCLINIC)

# The labels of the codes the page shows (the lead consolidates them into components.labels).
SEXES: dict[str, str] = {"male": N_("Male"), "female": N_("Female")}
SEVERITIES: dict[str, str] = {
    Severity.MILD: N_("mild"),
    Severity.MODERATE: N_("moderate"),
    Severity.SEVERE: N_("severe"),
}
CONDITION_KINDS: dict[str, str] = {
    ConditionKind.PRELIMINARY: N_("Preliminary diagnosis"),
    ConditionKind.FINAL: N_("Final diagnosis"),
    ConditionKind.COMORBIDITY: N_("Accompanying diagnosis"),
}
REFERRAL_KINDS: dict[str, str] = {
    ReferralKind.LAB: N_("Referral to the laboratory"),
    ReferralKind.INSTRUMENTAL: N_("Referral for an instrumental study"),
    ReferralKind.HOSPITAL: N_("Referral to hospital"),
    ReferralKind.CONSULTATION: N_("Referral for a consultation"),
}
REFERRAL_STATES: dict[str, str] = {
    ReferralState.ISSUED: N_("issued"),
    ReferralState.COMPLETED: N_("completed"),
    ReferralState.CANCELLED: N_("cancelled"),
}
FLAGS: dict[str, tuple[str, str]] = {
    Flag.NORMAL: (N_("normal"), "success"),
    Flag.LOW: (N_("low"), "warning"),
    Flag.HIGH: (N_("high"), "warning"),
    Flag.CRITICAL: (N_("critical"), "danger"),
}
OUTCOMES: dict[str, str] = {
    VisitOutcome.RECOVERED: N_("Recovered"),
    VisitOutcome.IMPROVED: N_("Improved"),
    VisitOutcome.UNCHANGED: N_("Unchanged"),
    VisitOutcome.FOLLOW_UP: N_("To be seen again"),
    VisitOutcome.REFERRED: N_("Referred"),
    VisitOutcome.HOSPITALIZED: N_("Hospitalized"),
}
# The form's name of each field a refusal may name.
FIELDS: dict[str, str] = {
    "encounter_id": N_("Visit"),
    "patient_id": N_("Patient"),
    "complaints": N_("Complaints"),
    "examination": N_("Examination"),
    "values": N_("Indicators"),
    "effective_at": N_("Measured at"),
    "icd10_code": N_("ICD-10 code"),
    "note": N_("Note"),
    "onset_date": N_("Onset"),
    "reason": N_("Reason"),
    "target_organization_id": N_("Organization referred to"),
    "outcome": N_("Outcome"),
    "diagnosis": N_("Diagnosis"),
    "ended_at": N_("End of the visit"),
    **{kind.value: rule.label for kind, rule in RULES.items()},
}
DIAGNOSIS_FIELDS: dict[str, str] = FIELDS | {"kind": N_("Kind of diagnosis")}
REFERRAL_FIELDS: dict[str, str] = FIELDS | {"kind": N_("Kind of referral")}


def _label(labels: dict[str, str], code: str) -> str:
    return gettext(labels[code]) if code in labels else code


def _local(moment: datetime, form: str = "%H:%M") -> str:
    return moment.astimezone(TASHKENT).strftime(form)


def _saved() -> str:
    """A new value for a form's "saved" store: the lists below re-render when it changes."""
    return datetime.now(TASHKENT).isoformat()


# --- the lists of what was entered -------------------------------------------------------------------------------


def _diagnoses(entries: VisitEntries) -> Any:
    language = current_language()
    rows = [
        (
            _label(CONDITION_KINDS, row.kind),
            html.Span([html.Strong(row.icd10_code), " ", describe(row.icd10_code, language)]),
            row.note or "",
        )
        for row in entries.diagnoses
    ]
    headers = [N_("Kind"), N_("Diagnosis"), N_("Note")]
    return table(headers, rows, "visit-diagnoses", empty=N_("No diagnosis recorded yet."))


def _flag(flag: str | None) -> Any:
    if flag is None or flag not in FLAGS:
        return ""
    message, color = FLAGS[flag]
    return dbc.Badge(gettext(message), color=color)


def _indicators(entries: VisitEntries) -> Any:
    rows = [
        (
            _local(row.effective_at),
            gettext(RULES[Indicator(row.code)].label),
            f"{number_text(row.value)} {row.unit}",
            _flag(row.flag),
        )
        for row in entries.indicators
    ]
    headers = [N_("Time"), N_("Indicator"), N_("Value"), N_("Flag")]
    return table(headers, rows, "visit-indicators", empty=N_("No indicators recorded yet."))


def _referrals(entries: VisitEntries) -> Any:
    rows = [
        (
            _label(REFERRAL_KINDS, row.kind),
            row.reason,
            row.icd10_code or "",
            target or "",
            _label(REFERRAL_STATES, row.state),
        )
        for row, target in entries.referrals
    ]
    headers = [N_("Referral"), N_("Reason"), N_("ICD-10"), N_("Organization"), N_("State")]
    return table(headers, rows, "visit-referrals", empty=N_("No referrals issued yet."))


def _lists(entries: VisitEntries) -> list[Any]:
    return [
        html.H2(gettext("Diagnoses"), className="h6"),
        _diagnoses(entries),
        html.H2(gettext("Indicators"), className="h6 mt-3"),
        _indicators(entries),
        html.H2(gettext("Referrals"), className="h6 mt-3"),
        _referrals(entries),
    ]


# --- the forms ------------------------------------------------------------------------------------------------------


def _header(visit: Encounter, patient: Patient, allergies: list[Allergy]) -> html.Div:
    day = queue_day()
    facts = [
        gettext("Born {date}, {age} years", date=patient.birth_date.strftime(DAY), age=age_on(patient.birth_date, day)),
        _label(SEXES, patient.sex),
        f"{gettext('PINFL')}: {patient.pinfl}",
    ]
    if allergies:
        badges: list[Any] = [html.Span(gettext("Allergies:"), className="fw-semibold me-1")]
        for allergy in allergies:
            words = f"{allergy.substance} ({_label(SEVERITIES, allergy.severity)})"
            badges.append(dbc.Badge(words, color="danger", className="me-1", title=allergy.reaction or ""))
    else:
        badges = [html.Span(gettext("No allergies recorded."), className="text-muted small")]
    started = gettext("Visit started at {time}", time=_local(visit.started_at))
    return html.Div(
        [
            html.P(gettext("Outpatient visit"), className="text-muted small mb-0"),
            html.H1(patient.full_name, className="h3 mb-1", id="visit-name"),
            html.Div(" · ".join(facts), className="mb-1", id="visit-facts"),
            html.Div(badges, className="mb-1", id="visit-allergies"),
            html.Div(
                [
                    html.Span(started, className="me-3"),
                    html.Span(visit.reason or "", className="text-muted me-3"),
                    dcc.Link(gettext("Open the full record"), href=f"/patient/{patient.id}", id="visit-record-link"),
                ],
                className="small",
            ),
        ],
        className="mb-3",
        id="visit-header",
    )


def _findings_form(visit: Encounter) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Complaints and examination"), className="h5"),
                dbc.Label(gettext("Complaints"), html_for="visit-complaints"),
                dbc.Textarea(
                    id="visit-complaints",
                    value=visit.complaints or "",
                    maxLength=FINDINGS_LENGTH,
                    rows=3,
                    autoFocus=True,
                    className="mb-2",
                ),
                dbc.Label(gettext("Examination"), html_for="visit-examination"),
                dbc.Textarea(
                    id="visit-examination",
                    value=visit.examination or "",
                    maxLength=FINDINGS_LENGTH,
                    rows=4,
                    className="mb-2",
                ),
                dbc.Button(gettext("Save the findings"), id="visit-findings-save", color="primary"),
                html.Div(id="visit-findings-result", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def _indicator_field(kind: Indicator) -> dbc.Col:
    rule = RULES[kind]
    component = f"visit-ind-{kind.value}"
    return dbc.Col(
        [
            dbc.Label(gettext(rule.label), html_for=component, className="small mb-0"),
            dbc.InputGroup(
                [
                    dbc.Input(id=component, inputMode="decimal", maxLength=NUMBER_LENGTH, autoComplete="off"),
                    dbc.InputGroupText(rule.unit),
                ],
                size="sm",
                className="mb-2",
            ),
        ],
        md=4,
    )


def _indicators_form() -> dbc.Card:
    bmi_rule = RULES[Indicator.BMI]
    computed = dbc.Col(
        [
            dbc.Label(gettext(bmi_rule.label), html_for="visit-ind-bmi", className="small mb-0"),
            dbc.InputGroup(
                [
                    dbc.Input(id="visit-ind-bmi", readonly=True, tabIndex=-1, value=""),
                    dbc.InputGroupText(bmi_rule.unit),
                ],
                size="sm",
                className="mb-2",
            ),
        ],
        md=4,
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Indicators"), className="h5"),
                dbc.Row([*(_indicator_field(kind) for kind in ENTERED), computed], className="g-2"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(
                                    gettext("Measured at (empty: now)"), html_for="visit-ind-at", className="small mb-0"
                                ),
                                dbc.Input(id="visit-ind-at", type="datetime-local", size="sm"),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            dbc.Button(gettext("Save the indicators"), id="visit-ind-save", color="primary"),
                            className="d-flex align-items-end",
                        ),
                    ],
                    className="g-2",
                ),
                html.Div(id="visit-ind-result", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def _dropdown_labels(search_hint: str) -> dcc.Dropdown.Labels:
    """The drop-down's own words in the user's language (Dash shows English ones otherwise)."""
    return {"search": gettext(search_hint), "no_options_found": gettext("Nothing found.")}


def _code_options(codes: list[str]) -> list[dict[str, str]]:
    language = current_language()
    return [{"label": f"{code} {describe(code, language)}".strip(), "value": code} for code in dict.fromkeys(codes)]


def _diagnosis_form() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Diagnosis"), className="h5"),
                dbc.Label(gettext("ICD-10 code"), html_for="visit-dx-code"),
                dcc.Dropdown(
                    id="visit-dx-code",
                    options=[],
                    placeholder=gettext("Type a code or words of the name"),
                    labels=_dropdown_labels(N_("Type a code or words of the name")),
                    className="mb-2",
                ),
                dbc.RadioItems(
                    id="visit-dx-kind",
                    options=[{"label": _label(CONDITION_KINDS, kind), "value": str(kind)} for kind in ConditionKind],
                    value=str(ConditionKind.PRELIMINARY),
                    inline=True,
                    className="mb-2",
                ),
                dbc.Label(gettext("Note"), html_for="visit-dx-note"),
                dbc.Textarea(id="visit-dx-note", maxLength=TEXT_LENGTH, rows=2, className="mb-2"),
                dbc.Button(gettext("Record the diagnosis"), id="visit-dx-save", color="primary"),
                html.Div(id="visit-dx-result", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def _referral_form(codes: list[str]) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Referral"), className="h5"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(gettext("Kind of referral"), html_for="visit-ref-kind"),
                                dbc.Select(
                                    id="visit-ref-kind",
                                    options=[
                                        {"label": _label(REFERRAL_KINDS, kind), "value": str(kind)}
                                        for kind in ReferralKind
                                    ],
                                    placeholder=gettext("Choose the kind"),
                                ),
                            ],
                            md=6,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("ICD-10 code (if any)"), html_for="visit-ref-code"),
                                dcc.Dropdown(
                                    id="visit-ref-code",
                                    options=_code_options(codes),
                                    placeholder=gettext("Type a code or words of the name"),
                                    labels=_dropdown_labels(N_("Type a code or words of the name")),
                                ),
                            ],
                            md=6,
                        ),
                    ],
                    className="mb-2",
                ),
                dbc.Label(gettext("Reason"), html_for="visit-ref-reason"),
                dbc.Input(id="visit-ref-reason", maxLength=REASON_LENGTH, className="mb-2"),
                html.Div(
                    [
                        dbc.Label(gettext("Organization referred to"), html_for="visit-ref-target"),
                        dcc.Dropdown(
                            id="visit-ref-target",
                            options=[],
                            placeholder=gettext("Type a part of the name"),
                            labels=_dropdown_labels(N_("Type a part of the name")),
                            className="mb-2",
                        ),
                    ],
                    id="visit-ref-target-box",
                    className=HIDDEN,
                ),
                dbc.Button(gettext("Issue the referral"), id="visit-ref-save", color="primary"),
                html.Div(id="visit-ref-result", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def _close_form() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Close the visit"), className="h5"),
                dbc.InputGroup(
                    [
                        dbc.Select(
                            id="visit-outcome",
                            options=[{"label": _label(OUTCOMES, o), "value": str(o)} for o in VisitOutcome],
                            placeholder=gettext("Choose the outcome"),
                        ),
                        dbc.Button(gettext("Close the visit"), id="visit-close", color="success"),
                    ]
                ),
                html.Div(id="visit-close-result", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def _workspace(who: PortalUser, encounter_id: int) -> Any:
    """The open visit's page, or why it does not open."""
    actor = who.acting()
    with request_transaction() as db:
        try:
            view = visit_view(db, encounter_id, actor=actor)
        except AccessDenied as refusal:  # caught inside: the refusal's audit row is committed
            return _not_open(str(refusal), "visit-denied")
        except DomainError as error:
            return _not_open(str(error), "visit-missing")
    codes = [row.icd10_code for row in view.entries.diagnoses]
    forms = [
        _findings_form(view.visit),
        _indicators_form(),
        _diagnosis_form(),
        _referral_form(codes),
        _close_form(),
    ]
    prescribe = (
        dbc.Button(
            gettext("Write a prescription"),
            href=f"/prescribe/{view.visit.id}",
            color="primary",
            outline=True,
            size="sm",
            className="mb-3",
            id="visit-prescribe",
        )
        if who.can(Permission.PRESCRIBE)
        else None
    )
    return [
        _header(view.visit, view.patient, view.allergies),
        prescribe,
        dbc.Row(
            [
                dbc.Col(forms, lg=7),
                dbc.Col(html.Div(_lists(view.entries), id="visit-lists"), lg=5),
            ]
        ),
        dcc.Store(id="visit-ind-saved"),
        dcc.Store(id="visit-dx-saved"),
        dcc.Store(id="visit-ref-saved"),
    ]


def _not_open(message: str, component_id: str) -> dbc.Alert:
    back = dcc.Link(gettext("Back to my queue"), href="/polyclinic", className="alert-link")
    return dbc.Alert([message, " ", back], color="warning", id=component_id)


@guarded(Permission.RECORD_DIAGNOSIS)
def layout(encounter_id: str | None = None, **_query: str) -> html.Div:
    """The visit workspace of an open outpatient visit of the user's organization."""
    who = user()
    assert who is not None  # guarded
    chosen = record_id(encounter_id)
    body = (
        _not_open(gettext("The visit does not exist."), "visit-missing") if chosen is None else _workspace(who, chosen)
    )
    return html.Div([dcc.Store(id="visit-encounter", data=chosen), html.Div(body, id="visit-body")], id="visit-page")


# --- callbacks ----------------------------------------------------------------------------------------------------


def _encounter(value: object) -> int:
    encounter_id = record_id(value)
    if encounter_id is None:
        raise ValidationError(N_("The visit does not exist."), field="encounter_id")
    return encounter_id


@callback(
    Output("visit-lists", "children"),
    Input("visit-ind-saved", "data"),
    Input("visit-dx-saved", "data"),
    Input("visit-ref-saved", "data"),
    State("visit-encounter", "data"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def show_entries(_indicators: object, _diagnoses: object, _referrals: object, encounter: object) -> Any:
    """The visit's diagnoses, indicators and referrals, again after a form saved."""
    who = user()
    encounter_id = record_id(encounter)
    if who is None or encounter_id is None:
        raise PreventUpdate
    try:
        with request_transaction() as db:
            entries = visit_entries(db, encounter_id, actor=who.acting())
    except DomainError as error:
        return dbc.Alert(str(error), color="warning", id="visit-lists-error")
    return _lists(entries)


@callback(
    Output("visit-findings-result", "children"),
    Input("visit-findings-save", "n_clicks"),
    State("visit-encounter", "data"),
    State("visit-complaints", "value"),
    State("visit-examination", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def save_findings(_clicks: object, encounter: object, complaints: object, examination: object) -> Any:
    """Write the complaints and the examination of the visit."""
    who = user()
    if who is None or clicked() != "visit-findings-save":
        raise PreventUpdate
    try:
        with request_transaction() as db:
            record_findings(
                db,
                encounter_id=_encounter(encounter),
                complaints=_block(complaints, "complaints"),
                examination=_block(examination, "examination"),
                actor=who.acting(),
            )
    except DomainError as error:
        return refusal(error, "visit-findings-error", FIELDS)
    return dbc.Alert(gettext("The findings were saved."), color="success", id="visit-findings-saved")


def _block(value: object, field: str) -> str | None:
    """Free text whose line breaks matter; anything that is not text is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(N_("The text contains characters that cannot be saved."), field=field)
    if len(value) > FINDINGS_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field=field, limit=FINDINGS_LENGTH
        )
    if not all(char.isprintable() or char in "\r\n\t" for char in value):
        raise ValidationError(N_("The text contains characters that cannot be saved."), field=field)
    return value


def _number(value: object, field: str) -> float | None:
    """A number as typed ("36,6" or "36.6"); None when empty."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and len(value) <= NUMBER_LENGTH:
        typed = value.strip().replace(",", ".")
        if not typed:
            return None
        try:
            return float(typed)
        except ValueError:
            pass
    raise ValidationError(N_("Enter a number"), field=field)


def _moment(value: object, field: str) -> datetime | None:
    """A time typed in a datetime-local field (Tashkent wall-clock time); None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value) <= MOMENT_LENGTH:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment.replace(tzinfo=TASHKENT) if moment.tzinfo is None else moment
    raise ValidationError(N_("Enter the date and time."), field=field)


@callback(
    Output("visit-ind-bmi", "value"),
    Input(f"visit-ind-{Indicator.WEIGHT.value}", "value"),
    Input(f"visit-ind-{Indicator.HEIGHT.value}", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_INDICATORS)
def show_bmi(weight: object, height: object) -> str:
    """Body mass index of the weight and height as typed (computed again when saved)."""
    try:
        kilograms, centimetres = _number(weight, "weight"), _number(height, "height")
        if kilograms is None or centimetres is None:
            return ""
        kilograms = check(Indicator.WEIGHT, kilograms)[0]
        centimetres = check(Indicator.HEIGHT, centimetres)[0]
        return number_text(check(Indicator.BMI, bmi(kilograms, centimetres))[0])
    except ValidationError:
        return ""


INDICATOR_IDS = [f"visit-ind-{kind.value}" for kind in ENTERED]


@callback(
    Output("visit-ind-result", "children"),
    Output("visit-ind-saved", "data"),
    *(Output(component, "value") for component in INDICATOR_IDS),
    Input("visit-ind-save", "n_clicks"),
    *(Input(component, "n_submit") for component in INDICATOR_IDS),
    State("visit-encounter", "data"),
    State("visit-ind-at", "value"),
    *(State(component, "value") for component in INDICATOR_IDS),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_INDICATORS)
def save_indicators(*posted: object) -> tuple[Any, ...]:
    """Record the indicators typed, measured together (body mass index added); all or none."""
    who = user()
    if who is None or not pressed("visit-ind-save", *INDICATOR_IDS):
        raise PreventUpdate
    encounter, when = posted[1 + len(INDICATOR_IDS)], posted[2 + len(INDICATOR_IDS)]
    typed = posted[3 + len(INDICATOR_IDS) :]
    unchanged = [no_update] * len(INDICATOR_IDS)
    try:
        values: dict[str, float] = {}
        for kind, value in zip(ENTERED, typed, strict=True):
            number = _number(value, kind.value)
            if number is not None:
                values[kind.value] = number
        measured = _moment(when, "effective_at") or utcnow()
        with request_transaction() as db:
            rows = record_indicators(
                db, encounter_id=_encounter(encounter), values=values, effective_at=measured, actor=who.acting()
            )
            count = len(rows)
    except DomainError as error:
        return refusal(error, "visit-ind-error", FIELDS), no_update, *unchanged
    done = gettext("Indicators recorded: {count}.", count=count)
    return dbc.Alert(done, color="success", id="visit-ind-done"), _saved(), *([""] * len(INDICATOR_IDS))


def _icd10_options(typed: object, chosen: object) -> list[dict[str, str]]:
    """ICD-10 codes for what is typed (a code or words, in any language), the chosen one kept."""
    try:
        needle = text(typed, SEARCH_LENGTH)
    except ValidationError:
        raise PreventUpdate from None
    if needle is None:
        raise PreventUpdate
    language = current_language()
    options: list[dict[str, str]] = []
    if isinstance(chosen, str) and chosen and len(chosen) <= CODE_LENGTH:
        options.append({"label": f"{chosen} {describe(chosen, language)}".strip(), "value": chosen})
    for code, name in search(needle, language):
        if code != chosen:
            # The drop-down also filters by what is typed: `search` lets every code found through.
            options.append({"label": f"{code} {name}", "value": code, "search": f"{needle} {code} {name}"})
    return options


@callback(
    Output("visit-dx-code", "options"),
    Input("visit-dx-code", "search_value"),
    State("visit-dx-code", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def find_diagnosis(typed: object, chosen: object) -> list[dict[str, str]]:
    """ICD-10 codes for the diagnosis, as the doctor types."""
    return _icd10_options(typed, chosen)


@callback(
    Output("visit-ref-code", "options"),
    Input("visit-ref-code", "search_value"),
    State("visit-ref-code", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def find_referral_code(typed: object, chosen: object) -> list[dict[str, str]]:
    """ICD-10 codes for the referral, as the doctor types."""
    return _icd10_options(typed, chosen)


def _code(value: object) -> str:
    """The chosen ICD-10 code as posted (the service validates it)."""
    return value[:CODE_LENGTH] if isinstance(value, str) else ""


@callback(
    Output("visit-dx-result", "children"),
    Output("visit-dx-saved", "data"),
    Output("visit-dx-code", "value"),
    Output("visit-dx-note", "value"),
    Input("visit-dx-save", "n_clicks"),
    State("visit-encounter", "data"),
    State("visit-dx-code", "value"),
    State("visit-dx-kind", "value"),
    State("visit-dx-note", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def save_diagnosis(_clicks: object, encounter: object, code: object, kind: object, note: object) -> tuple[Any, ...]:
    """Record a preliminary, final or accompanying diagnosis in the visit."""
    who = user()
    if who is None or clicked() != "visit-dx-save":
        raise PreventUpdate
    try:
        if not _code(code):
            raise ValidationError(N_("Choose the diagnosis from the ICD-10 list."), field="icd10_code")
        with request_transaction() as db:
            row = record_diagnosis(
                db,
                encounter_id=_encounter(encounter),
                icd10_code=_code(code),
                kind=kind if isinstance(kind, str) else "",
                note=_block(note, "note"),
                actor=who.acting(),
            )
            done = gettext("The diagnosis {code} was recorded.", code=row.icd10_code)
    except DomainError as error:
        return refusal(error, "visit-dx-error", DIAGNOSIS_FIELDS), no_update, no_update, no_update
    return dbc.Alert(done, color="success", id="visit-dx-done"), _saved(), None, ""


def _target_option(organization: Organization) -> dict[str, str]:
    kind = organization_kind_label(organization.kind)
    return {"label": f"{organization.name} ({kind})", "value": str(organization.id)}


def _region(db: Session, who: PortalUser) -> int | None:
    own = db.get(Organization, who.organization_id)
    return None if own is None else own.region_id


@callback(
    Output("visit-ref-target", "options"),
    Output("visit-ref-target-box", "className"),
    Input("visit-ref-kind", "value"),
    Input("visit-ref-target", "search_value"),
    State("visit-ref-target", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def find_targets(kind: object, typed: object, chosen: object) -> tuple[Any, Any]:
    """The hospitals (or, for a consultation, hospitals and polyclinics) the patient may be referred to, those of
    the user's region first; shown only for the referrals that go to another organization."""
    who = user()
    if who is None:
        raise PreventUpdate
    if kind not in TARGETED:
        return [], HIDDEN
    try:
        needle = text(typed, SEARCH_LENGTH)
    except ValidationError:
        raise PreventUpdate from None
    assert isinstance(kind, str)
    with request_transaction() as db:
        found = referral_targets(db, kind, search=needle, region_id=_region(db, who))
        options = [_target_option(organization) for organization in found]
        picked = record_id(chosen)
        if picked is not None and str(picked) not in {option["value"] for option in options}:
            options = [_target_option(o) for o in _still_a_target(db, picked, kind)] + options
    return options, ""


def _still_a_target(db: Session, organization_id: int, kind: str) -> list[Organization]:
    """The chosen organization, if it may still receive a referral of `kind`."""
    organization = db.get(Organization, organization_id)
    if organization is None or not organization.is_active:
        return []
    allowed = (OrganizationKind.HOSPITAL,) if kind == ReferralKind.HOSPITAL else TARGET_KINDS
    return [organization] if organization.kind in allowed else []


@callback(
    Output("visit-ref-result", "children"),
    Output("visit-ref-saved", "data"),
    Output("visit-ref-reason", "value"),
    Output("visit-ref-code", "value"),
    Output("visit-ref-target", "value"),
    Input("visit-ref-save", "n_clicks"),
    Input("visit-ref-reason", "n_submit"),
    State("visit-encounter", "data"),
    State("visit-ref-kind", "value"),
    State("visit-ref-reason", "value"),
    State("visit-ref-code", "value"),
    State("visit-ref-target", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def save_referral(
    _clicks: object, _submit: object, encounter: object, kind: object, reason: object, code: object, target: object
) -> tuple[Any, ...]:
    """Issue a referral in the visit: to the laboratory, a study, a hospital or a consultant."""
    who = user()
    if who is None or not pressed("visit-ref-save", "visit-ref-reason"):
        raise PreventUpdate
    try:
        why = text(reason, REASON_LENGTH) or ""
        with request_transaction() as db:
            refer(
                db,
                encounter_id=_encounter(encounter),
                kind=kind if isinstance(kind, str) else "",
                reason=why,
                icd10_code=_code(code) or None,
                target_organization_id=record_id(target) if kind in TARGETED else None,
                actor=who.acting(),
            )
    except DomainError as error:
        return refusal(error, "visit-ref-error", REFERRAL_FIELDS), no_update, no_update, no_update, no_update
    done = dbc.Alert(gettext("The referral was issued."), color="success", id="visit-ref-done")
    return done, _saved(), "", None, None


@callback(
    Output("visit-body", "children"),
    Output("visit-close-result", "children"),
    Input("visit-close", "n_clicks"),
    State("visit-encounter", "data"),
    State("visit-outcome", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def close(_clicks: object, encounter: object, outcome: object) -> tuple[Any, Any]:
    """Close the visit with its outcome, once a diagnosis (and any referral the outcome needs) is recorded."""
    who = user()
    if who is None or clicked() != "visit-close":
        raise PreventUpdate
    try:
        with request_transaction() as db:
            visit = close_visit(
                db,
                encounter_id=_encounter(encounter),
                outcome=outcome if isinstance(outcome, str) else None,
                actor=who.acting(),
            )
            patient_id, result = visit.patient_id, visit.outcome
    except DomainError as error:
        return no_update, refusal(error, "visit-close-error", FIELDS)
    closed = dbc.Alert(
        [
            html.H2(gettext("The visit is closed"), className="h5 alert-heading"),
            html.P(gettext("Outcome: {outcome}.", outcome=_label(OUTCOMES, str(result)))),
            dcc.Link(gettext("Back to my queue"), href="/polyclinic", className="alert-link me-3", id="visit-back"),
            dcc.Link(gettext("Open the full record"), href=f"/patient/{patient_id}", className="alert-link"),
        ],
        color="success",
        id="visit-closed",
    )
    return closed, no_update

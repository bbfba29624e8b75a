"""The patient's medical record (R-11, R-13): who the patient is and what they are allergic to, the whole record from
every organization newest first, and the entry forms of the clinician's own open visit. Nothing is edited in place:
a correction or a withdrawal keeps every version. The page follows the record by itself, so that a diagnosis made
elsewhere shows at once (the real-time hand-over).

Opened only inside the organization's work with the patient (ehealth.emr.access), or by emergency access with a
reason; every id the browser posts is checked again against the user's organization and this patient.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.callbacks import requires
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.emr_forms import (
    ALLERGY,
    DAY,
    DIAGNOSIS,
    ENTERED_INDICATORS,
    FIX_FIELD,
    FIX_FIELDS,
    FIX_GROUPS,
    FORMS,
    HIDDEN,
    INDICATORS,
    INSTRUMENTAL,
    KIND_LABELS,
    LAB,
    LENGTHS,
    NO_REFERRAL,
    TREATMENT,
    Choices,
    EntryForm,
    ItemActions,
    absent_choices,
    allergy_badges,
    denied_view,
    encounter_option,
    entry_section,
    fix_control,
    fix_group,
    fix_modal,
    header_view,
    history_modal,
    history_table,
    label,
    local_now,
    merged_view,
    missing_view,
    optional_date,
    referral_options,
    shown_value,
    timeline_view,
    typed_block,
    typed_choice,
    typed_fix,
    typed_line,
    typed_moment,
    typed_number,
    typed_shown,
)
from components.posted import changed, clicked, record_id, text
from db import request_transaction, utcnow
from ehealth.access.models import Cabinet
from ehealth.audit.trail import Actor
from ehealth.clinical import ClinicalRecord, RecordStatus
from ehealth.emr.access import REASON_LENGTH, AccessDenied, check_read, grant_emergency
from ehealth.emr.corrections import correct, history, withdraw
from ehealth.emr.entries import (
    TEXT_LENGTH,
    open_encounters,
    record_allergy,
    record_diagnosis,
    record_indicators,
    record_instrumental_result,
    record_lab_result,
    record_treatment,
)
from ehealth.emr.icd10_search import describe, search, words
from ehealth.emr.indicators import bmi, check, number_text
from ehealth.emr.models import (
    Allergy,
    Condition,
    Indicator,
    InstrumentalResult,
    LabResult,
    Observation,
    ReferralKind,
    TreatmentRecord,
)
from ehealth.emr.referrals import open_referrals
from ehealth.emr.timeline import TimelineKind, active_allergies, entry_text, newest_change, timeline
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_, current_language, gettext, ngettext
from ehealth.identifiers import TASHKENT
from ehealth.patients.models import Patient

dash.register_page(
    __name__,
    path_template="/patient/<patient_id>",
    order=11,
    title=lambda **_: gettext("Medical record"),
    permission=Permission.READ_PATIENT,
)

TICK_MS = 2_000  # how often the page asks whether the record changed
LIMIT = 500  # timeline items shown at once
SEARCH_LENGTH = 100
ALL_KINDS = [kind.value for kind in TimelineKind]
# What a refusal may name besides a form's own fields.
GENERAL_FIELDS: dict[str, str] = {
    "encounter_id": N_("Visit"),
    "patient_id": N_("Patient"),
    "values": N_("Indicators"),
    "reason": N_("Reason"),
    "changes": N_("Correction"),
    "row_id": N_("Entry"),
}
# The entries this page corrects and shows the history of, by timeline kind.
ENTRY_MODELS: dict[str, type[ClinicalRecord]] = {
    TimelineKind.DIAGNOSIS: Condition,
    TimelineKind.INDICATOR: Observation,
    TimelineKind.LAB: LabResult,
    TimelineKind.INSTRUMENTAL: InstrumentalResult,
    TimelineKind.TREATMENT: TreatmentRecord,
    TimelineKind.ALLERGY: Allergy,
}


@contextmanager
def _keeping_refusals() -> Iterator[Session]:
    """A request transaction in which a refused read still commits its audit row (the refusal is raised after)."""
    refused: AccessDenied | None = None
    with request_transaction() as db:
        try:
            yield db
        except AccessDenied as error:
            refused = error
    if refused is not None:
        raise refused


# --- what the page reads ---------------------------------------------------------------------------------------


def _choices(db: Session, who: PortalUser, patient_id: int) -> Choices:
    actor = who.acting()
    encounters: list[dict[str, str]] = []
    if any(who.can(form.permission) for form in FORMS):
        encounters = [
            {"label": encounter_option(e.kind, e.started_at, e.reason), "value": str(e.id)}
            for e in open_encounters(db, patient_id, actor=actor)
        ]
    lab: list[tuple[int, str]] = []
    instrumental: list[tuple[int, str]] = []
    if who.can(Permission.RECORD_RESULTS):
        for referral in open_referrals(db, patient_id, actor=actor):
            entry = (referral.id, f"{referral.issued_at.astimezone(TASHKENT).strftime(DAY)} · {referral.reason}")
            if referral.kind == ReferralKind.LAB:
                lab.append(entry)
            elif referral.kind == ReferralKind.INSTRUMENTAL:
                instrumental.append(entry)
    return Choices(encounters, lab, instrumental)


def _allergies(db: Session, patient_id: int, actor: Actor) -> list[tuple[str, str, str | None]]:
    return [(row.substance, row.severity, row.reaction) for row in active_allergies(db, patient_id, actor=actor)]


def _kinds(value: object) -> list[str]:
    """The kinds ticked in the filter (all of them when the browser sent none)."""
    if not isinstance(value, list):
        return ALL_KINDS
    return [kind for kind in ALL_KINDS if kind in value]


def _view(db: Session, who: PortalUser, patient_id: int, kinds: list[str]) -> Any:
    if not kinds:
        return html.P(gettext("Choose what to show."), className="text-muted", id="record-timeline-empty")
    items = timeline(db, patient_id, actor=who.acting(), kinds=kinds, limit=LIMIT)
    return timeline_view(items, ItemActions(who), LIMIT)


# --- the layout --------------------------------------------------------------------------------------------------


@functools.cache
def _warm_search() -> None:
    """Build the ICD-10 search index (about a second) away from the first doctor's first keystrokes."""
    threading.Thread(target=search, args=("a", "en"), daemon=True).start()


def _record(who: PortalUser, patient_id: int) -> list[Any]:
    """The whole record page of a patient the user may read."""
    actor = who.acting()
    with _keeping_refusals() as db:
        patient = db.get_one(Patient, patient_id)
        # Read before the timeline: an entry made in between shows at the next refresh rather than never.
        newest = newest_change(db, patient_id)
        view = _view(db, who, patient_id, ALL_KINDS)
        allergies = _allergies(db, patient_id, actor)
        choices = _choices(db, who, patient_id)
    kinds = dbc.Checklist(
        id="record-kinds",
        options=[{"label": label(KIND_LABELS, kind), "value": kind} for kind in ALL_KINDS],
        value=ALL_KINDS,
        inline=True,
        className="small mb-2",
    )
    record = [
        html.H2(gettext("Record"), className="h5"),
        kinds,
        html.Div(id="record-notice"),
        html.Div(view, id="record-timeline"),
    ]
    if who.can(Permission.RECORD_DIAGNOSIS):
        _warm_search()
    entry = entry_section(who, choices)
    body = dbc.Row([dbc.Col(entry, lg=5), dbc.Col(record, lg=7)]) if entry else html.Div(record)
    return [
        header_view(patient, allergies),
        absent_choices(who),
        dcc.Store(id="record-shown", data=newest),
        dcc.Store(id="record-saved"),
        dcc.Interval(id="record-tick", interval=TICK_MS),
        body,
        dcc.Store(id="record-fix-target"),
        dcc.Store(id="record-fix-originals"),
        history_modal(),
        fix_modal(),
    ]


def _opening(who: PortalUser, patient_id: int | None) -> Any:
    """The record, or why it does not open (no such patient, merged away, outside the user's work)."""
    if patient_id is None:
        return missing_view()
    with request_transaction() as db:
        patient = db.get(Patient, patient_id)
        if patient is None:
            return missing_view()
        if patient.merged_into_id is not None:
            return merged_view(patient.merged_into_id)
        try:
            check_read(db, patient_id, actor=who.acting())
        except AccessDenied as refusal:
            return denied_view(str(refusal))  # returned, not raised: the refusal's audit row is committed
    try:
        return _record(who, patient_id)
    except DomainError as error:  # the access ended between the two reads
        return dbc.Alert(str(error), color="warning", id="record-denied")


@guarded(Permission.READ_PATIENT)
def layout(patient_id: str | None = None, **_query: str) -> html.Div:
    """The patient's record, or the refusal with the emergency access form."""
    who = user()
    assert who is not None  # guarded
    chosen = record_id(patient_id)
    return html.Div(
        [dcc.Store(id="record-patient", data=chosen), html.Div(_opening(who, chosen), id="record-body")],
        id="record-page",
    )


# --- following the record ----------------------------------------------------------------------------------------


@callback(
    Output("record-timeline", "children"),
    Output("record-shown", "data"),
    Output("record-allergies", "children"),
    Output("record-encounter", "options"),
    Output("record-visit-note", "className"),
    Output("record-lab-referral", "options"),
    Output("record-ins-referral", "options"),
    Input("record-tick", "n_intervals"),
    Input("record-kinds", "value"),
    Input("record-saved", "data"),
    State("record-shown", "data"),
    State("record-patient", "data"),
    prevent_initial_call=True,
)
@requires(Permission.READ_PATIENT)
def refresh(_tick: object, kinds: object, _saved: object, shown: object, patient: object) -> tuple[Any, ...]:
    """Every 2 s: re-render the record only if a clinical event of the patient is newer than the one shown.

    A changed filter or an entry saved on this page re-renders at once. The forms' choices (open visits, referrals)
    follow the record too; for forms the user does not have, hidden stand-ins take them.
    """
    who = user()
    patient_id = record_id(patient)
    if who is None or patient_id is None:
        raise PreventUpdate
    trigger = changed()
    with request_transaction() as db:
        newest = newest_change(db, patient_id)
    if trigger == "record-tick" and newest == shown:
        raise PreventUpdate  # nothing new: nothing re-read, nothing recorded in the audit trail
    unchanged = [no_update] * 4
    try:
        with _keeping_refusals() as db:
            view = _view(db, who, patient_id, _kinds(kinds))
            allergies = allergy_badges(_allergies(db, patient_id, who.acting()))
            choices = None if trigger == "record-kinds" else _choices(db, who, patient_id)
    except DomainError as error:
        refused = dbc.Alert(str(error), color="warning", id="record-timeline-refused")
        return refused, newest, no_update, *unchanged
    if choices is None:
        return view, newest, allergies, *unchanged
    return (
        view,
        newest,
        allergies,
        choices.encounters,
        HIDDEN if choices.encounters else "mt-2 mb-0 small",
        referral_options(choices.lab),
        referral_options(choices.instrumental),
    )


@callback(
    Output("record-encounter", "value"),
    Input("record-encounter", "options"),
    State("record-encounter", "value"),
    prevent_initial_call=True,
)
@requires(Permission.READ_PATIENT)
def keep_visit(options: object, value: object) -> Any:
    """The chosen visit stays chosen while it is open; else the newest open one is."""
    values = [o.get("value") for o in options if isinstance(o, dict)] if isinstance(options, list) else []
    if value in values:
        raise PreventUpdate
    return values[0] if values else None


@callback(
    Output("record-body", "children"),
    Output("record-emergency-result", "children"),
    Input("record-emergency-open", "n_clicks"),
    State("record-emergency-reason", "value"),
    State("record-patient", "data"),
    prevent_initial_call=True,
)
@requires(Permission.READ_PATIENT)
def open_in_emergency(_clicks: object, reason: object, patient: object) -> tuple[Any, Any]:
    """Grant emergency access with the reason (flagged in the audit trail), then show the record."""
    who = user()
    patient_id = record_id(patient)
    if who is None or clicked() != "record-emergency-open" or patient_id is None:
        raise PreventUpdate
    try:
        typed = typed_line(reason, REASON_LENGTH, "reason") or ""
        with _keeping_refusals() as db:
            grant_emergency(db, patient_id, reason=typed, actor=who.acting())
        body = _record(who, patient_id)
    except DomainError as error:
        return no_update, dbc.Alert(f"{gettext('Reason')}: {error}", color="danger", id="record-emergency-error")
    return body, no_update


# --- the entry forms ---------------------------------------------------------------------------------------------


def _entry_outputs(form: EntryForm) -> list[Output]:
    return [
        Output(form.result, "children"),
        Output("record-saved", "data", allow_duplicate=True),
        *[Output(f.component, "invalid") for f in form.fields if f.markable],
        *[Output(f"{f.component}-feedback", "children") for f in form.fields],
        *[Output(component, "value") for component in (*form.cleared, *form.times)],
        *[Output(f"{component}-default", "data") for component in form.times],
    ]


def _entry_done(form: EntryForm, message: str) -> tuple[Any, ...]:
    """Saved: the message, the record re-read, the form emptied for the next entry and its times set to now."""
    now = local_now()
    markable = [f for f in form.fields if f.markable]
    emptied = {"record-dx-code": None, "record-lab-referral": NO_REFERRAL, "record-ins-referral": NO_REFERRAL}
    cleared = [emptied.get(component, "") for component in form.cleared]
    return (
        dbc.Alert(message, color="success", id=f"{form.result}-saved"),
        utcnow().isoformat(),
        *[False] * len(markable),
        *[None] * len(form.fields),
        *cleared,
        *[now] * (2 * len(form.times)),
    )


def _entry_refused(form: EntryForm, error: DomainError) -> tuple[Any, ...]:
    """Not saved: the message with the field's name, and the field marked; what was typed stays."""
    found = form.field_of(error.field)
    name = gettext(found.label if found else GENERAL_FIELDS.get(error.field or "", form.title))
    markable = [f for f in form.fields if f.markable]
    return (
        dbc.Alert(f"{name}: {error}", color="danger", id=f"{form.result}-error"),
        no_update,
        *[f is found for f in markable],
        *[str(error) if f is found else None for f in form.fields],
        *[no_update] * (len(form.cleared) + 2 * len(form.times)),
    )


def _save_entry(form: EntryForm, patient: object, write: Callable[[Session, Actor, int], str]) -> tuple[Any, ...]:
    """Check the read and run `write` (it checks the visit and saves); a refusal saves nothing."""
    who = user()
    patient_id = record_id(patient)
    if who is None or clicked() != form.save or patient_id is None:
        raise PreventUpdate
    actor = who.acting()
    try:
        with _keeping_refusals() as db:
            check_read(db, patient_id, actor=actor)
            message = write(db, actor, patient_id)
    except DomainError as error:
        return _entry_refused(form, error)
    return _entry_done(form, message)


def _visit(db: Session, actor: Actor, patient_id: int, value: object, *, required: bool = True) -> int | None:
    """The chosen visit, if it is an open one of the user's organization with this patient."""
    chosen = record_id(value)
    if chosen is None and not required and (value is None or value == ""):
        return None
    own = {encounter.id for encounter in open_encounters(db, patient_id, actor=actor)}
    if chosen is not None and chosen in own:
        return chosen
    if not own and required:
        raise ValidationError(
            N_("Open a visit first: visits and hospital stays are opened on the polyclinic and hospital pages."),
            field="encounter_id",
        )
    raise ValidationError(N_("Choose the visit from the list."), field="encounter_id")


def _referral(value: object) -> int | None:
    """The chosen referral (checked by the service against the patient), or None for "without a referral"."""
    if value in (None, "", NO_REFERRAL):
        return None
    chosen = record_id(value)
    if chosen is None:
        raise ValidationError(N_("Choose the referral from the list."), field="referral_id")
    return chosen


@callback(
    *_entry_outputs(INDICATORS),
    Input(INDICATORS.save, "n_clicks"),
    State("record-patient", "data"),
    State("record-encounter", "value"),
    State("record-ind-time", "value"),
    State("record-ind-time-default", "data"),
    *[State(f"record-ind-{kind.value}", "value") for kind in ENTERED_INDICATORS],
    prevent_initial_call=True,
)
@requires(Permission.RECORD_INDICATORS)
def save_indicators(
    _clicks: object, patient: object, encounter: object, time: object, untouched: object, *typed: object
) -> tuple[Any, ...]:
    """Record the indicators typed (the empty ones skipped) at the time given; body mass index is computed."""

    def write(db: Session, actor: Actor, patient_id: int) -> str:
        visit = _visit(db, actor, patient_id, encounter)
        assert visit is not None
        values: dict[str, float] = {}
        for kind, value in zip(ENTERED_INDICATORS, typed, strict=False):
            number = typed_number(value, kind.value)
            if number is not None:
                values[kind.value] = number
        when = typed_moment(time, "effective_at", untouched)
        rows = record_indicators(db, encounter_id=visit, values=values, effective_at=when, actor=actor)
        return ngettext("{n} indicator recorded.", "{n} indicators recorded.", len(rows))

    return _save_entry(INDICATORS, patient, write)


@callback(
    Output("record-ind-bmi", "value"),
    Input("record-ind-weight", "value"),
    Input("record-ind-height", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_INDICATORS)
def show_bmi(weight: object, height: object) -> str:
    """Body mass index of the weight and height as typed (computed again when saved)."""
    try:
        kilograms, centimetres = typed_number(weight, "weight"), typed_number(height, "height")
        if kilograms is None or centimetres is None:
            return ""
        kilograms = check(Indicator.WEIGHT, kilograms)[0]
        centimetres = check(Indicator.HEIGHT, centimetres)[0]
        return number_text(check(Indicator.BMI, bmi(kilograms, centimetres))[0])
    except ValidationError:
        return ""


def _searched(code: str, needle: str) -> str:
    """What the drop-down's own filter matches an option on: every name of the code, as typed and as folded.

    The drop-down filters the options by the current text as well, and answers to earlier keystrokes can arrive
    last: with the words the search matched on, an earlier answer is narrowed down rather than hidden whole.
    """
    names = {describe(code, language) for language in ("uz", "ru", "en")}
    return " ".join([needle, code, *names, *words(" ".join(names))])


@callback(
    Output("record-dx-code", "options"),
    Input("record-dx-code", "search_value"),
    State("record-dx-code", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def find_diagnosis(typed: object, chosen: object) -> list[dict[str, str]]:
    """ICD-10 codes for what is typed (a code or words, in any language), the chosen one kept."""
    try:
        needle = text(typed, SEARCH_LENGTH)
    except ValidationError:
        raise PreventUpdate from None
    language = current_language()
    options: list[dict[str, str]] = []
    if isinstance(chosen, str) and chosen and len(chosen) <= LENGTHS["icd10_code"]:
        options.append({"label": f"{chosen} {describe(chosen, language)}".strip(), "value": chosen})
    for code, name in search(needle, language) if needle else []:
        if code != chosen:
            options.append({"label": f"{code} {name}", "value": code, "search": _searched(code, needle or "")})
    return options


@callback(
    *_entry_outputs(DIAGNOSIS),
    Input(DIAGNOSIS.save, "n_clicks"),
    State("record-patient", "data"),
    State("record-encounter", "value"),
    State("record-dx-code", "value"),
    State("record-dx-kind", "value"),
    State("record-dx-onset", "value"),
    State("record-dx-note", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)
def save_diagnosis(
    _clicks: object, patient: object, encounter: object, code: object, kind: object, onset: object, note: object
) -> tuple[Any, ...]:
    """Record a preliminary, final or accompanying diagnosis in the chosen visit."""

    def write(db: Session, actor: Actor, patient_id: int) -> str:
        visit = _visit(db, actor, patient_id, encounter)
        assert visit is not None
        row = record_diagnosis(
            db,
            encounter_id=visit,
            icd10_code=typed_choice(code)[:40],
            kind=typed_choice(kind),
            onset_date=optional_date(onset, "onset_date"),
            note=typed_block(note, TEXT_LENGTH, "note"),
            actor=actor,
        )
        return gettext("The diagnosis {code} was recorded.", code=row.icd10_code)

    return _save_entry(DIAGNOSIS, patient, write)


def _lab_value(value: object) -> tuple[float | None, str | None]:
    """A result typed as a number ("5,4") or as text ("positive", "1:40")."""
    try:
        return typed_number(value, "value_numeric"), None
    except ValidationError:
        return None, typed_line(value, LENGTHS["value"], "value_text")


@callback(
    *_entry_outputs(LAB),
    Input(LAB.save, "n_clicks"),
    State("record-patient", "data"),
    State("record-encounter", "value"),
    State("record-lab-code", "value"),
    State("record-lab-name", "value"),
    State("record-lab-value", "value"),
    State("record-lab-unit", "value"),
    State("record-lab-low", "value"),
    State("record-lab-high", "value"),
    State("record-lab-collected", "value"),
    State("record-lab-collected-default", "data"),
    State("record-lab-resulted", "value"),
    State("record-lab-resulted-default", "data"),
    State("record-lab-referral", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_RESULTS)
def save_lab_result(
    _clicks: object,
    patient: object,
    encounter: object,
    code: object,
    name: object,
    value: object,
    unit: object,
    low: object,
    high: object,
    collected: object,
    collected_untouched: object,
    resulted: object,
    resulted_untouched: object,
    referral: object,
) -> tuple[Any, ...]:
    """Record a laboratory result; the referral it answers, if chosen, is completed."""

    def write(db: Session, actor: Actor, patient_id: int) -> str:
        visit = _visit(db, actor, patient_id, encounter)
        assert visit is not None
        numeric, words = _lab_value(value)
        row = record_lab_result(
            db,
            encounter_id=visit,
            test_code=typed_line(code, LENGTHS["test_code"], "test_code") or "",
            test_name=typed_line(name, LENGTHS["test_name"], "test_name") or "",
            collected_at=typed_moment(collected, "collected_at", collected_untouched),
            resulted_at=typed_moment(resulted, "resulted_at", resulted_untouched),
            value_numeric=numeric,
            value_text=words,
            unit=typed_line(unit, LENGTHS["unit"], "unit"),
            reference_low=typed_number(low, "reference_low"),
            reference_high=typed_number(high, "reference_high"),
            referral_id=_referral(referral),
            actor=actor,
        )
        return gettext("The result of {test} was recorded.", test=row.test_name)

    return _save_entry(LAB, patient, write)


@callback(
    *_entry_outputs(INSTRUMENTAL),
    Input(INSTRUMENTAL.save, "n_clicks"),
    State("record-patient", "data"),
    State("record-encounter", "value"),
    State("record-ins-modality", "value"),
    State("record-ins-study", "value"),
    State("record-ins-conclusion", "value"),
    State("record-ins-time", "value"),
    State("record-ins-time-default", "data"),
    State("record-ins-referral", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_RESULTS)
def save_instrumental_result(
    _clicks: object,
    patient: object,
    encounter: object,
    modality: object,
    study: object,
    conclusion: object,
    time: object,
    untouched: object,
    referral: object,
) -> tuple[Any, ...]:
    """Record an instrumental study and its conclusion; the referral it answers, if chosen, is completed."""

    def write(db: Session, actor: Actor, patient_id: int) -> str:
        visit = _visit(db, actor, patient_id, encounter)
        assert visit is not None
        record_instrumental_result(
            db,
            encounter_id=visit,
            modality=typed_choice(modality),
            study=typed_line(study, LENGTHS["study"], "study") or "",
            conclusion=typed_block(conclusion, TEXT_LENGTH, "conclusion") or "",
            performed_at=typed_moment(time, "performed_at", untouched),
            referral_id=_referral(referral),
            actor=actor,
        )
        return gettext("The study was recorded.")

    return _save_entry(INSTRUMENTAL, patient, write)


@callback(
    *_entry_outputs(TREATMENT),
    Input(TREATMENT.save, "n_clicks"),
    State("record-patient", "data"),
    State("record-encounter", "value"),
    State("record-tx-kind", "value"),
    State("record-tx-title", "value"),
    State("record-tx-text", "value"),
    State("record-tx-time", "value"),
    State("record-tx-time-default", "data"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_TREATMENT)
def save_treatment(
    _clicks: object,
    patient: object,
    encounter: object,
    kind: object,
    title: object,
    note: object,
    time: object,
    untouched: object,
) -> tuple[Any, ...]:
    """Record a procedure, a medication given or a clinical note."""

    def write(db: Session, actor: Actor, patient_id: int) -> str:
        visit = _visit(db, actor, patient_id, encounter)
        assert visit is not None
        record_treatment(
            db,
            encounter_id=visit,
            kind=typed_choice(kind),
            title=typed_line(title, LENGTHS["title"], "title") or "",
            text=typed_block(note, TEXT_LENGTH, "text"),
            performed_at=typed_moment(time, "performed_at", untouched),
            actor=actor,
        )
        return gettext("The treatment entry was recorded.")

    return _save_entry(TREATMENT, patient, write)


@callback(
    *_entry_outputs(ALLERGY),
    Input(ALLERGY.save, "n_clicks"),
    State("record-patient", "data"),
    State("record-encounter", "value"),
    State("record-al-substance", "value"),
    State("record-al-severity", "value"),
    State("record-al-reaction", "value"),
    State("record-al-inn", "value"),
    State("record-al-atc", "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECORD_DIAGNOSIS)  # an allergy is the doctor's judgement, like a diagnosis: see KIND_PERMISSIONS
def save_allergy(
    _clicks: object,
    patient: object,
    encounter: object,
    substance: object,
    severity: object,
    reaction: object,
    inn: object,
    atc: object,
) -> tuple[Any, ...]:
    """Record an allergy, in the chosen open visit or, without one, outside any."""

    def write(db: Session, actor: Actor, patient_id: int) -> str:
        row = record_allergy(
            db,
            patient_id=patient_id,
            substance=typed_line(substance, LENGTHS["substance"], "substance") or "",
            severity=typed_choice(severity),
            reaction=typed_line(reaction, LENGTHS["reaction"], "reaction"),
            inn=typed_line(inn, LENGTHS["inn"], "inn"),
            atc_code=typed_line(atc, LENGTHS["atc_code"], "atc_code"),
            encounter_id=_visit(db, actor, patient_id, encounter, required=False),
            actor=actor,
        )
        return gettext("The allergy to {substance} was recorded.", substance=row.substance)

    return _save_entry(ALLERGY, patient, write)


# --- history and corrections -------------------------------------------------------------------------------------


def _clicked_item(kind_of_button: str) -> tuple[str, int] | None:
    """(timeline kind, entry id) of the item whose `kind_of_button` button was clicked; None for anything else."""
    prop = clicked()
    try:
        component = json.loads(prop) if prop and prop.startswith("{") else None
    except ValueError:
        return None
    if not isinstance(component, dict) or component.get("type") != kind_of_button:
        return None
    item = component.get("item")
    kind, _, number = item.rpartition("-") if isinstance(item, str) else ("", "", "")
    row_id = record_id(number)
    if kind not in ENTRY_MODELS or row_id is None:
        return None
    return kind, row_id


def _entry_of(db: Session, kind: str, row_id: int, patient_id: int) -> ClinicalRecord:
    """The entry, if it is this patient's (an id of another patient's entry is not shown to exist here)."""
    row = db.get(ENTRY_MODELS[kind], row_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound(N_("The entry does not exist."), field="row_id")
    return row


@callback(
    Output("record-history-modal", "is_open"),
    Output("record-history-body", "children"),
    Input({"type": "record-history", "item": ALL}, "n_clicks"),
    State("record-patient", "data"),
    prevent_initial_call=True,
)
@requires(Permission.READ_PATIENT)
def show_history(_clicks: object, patient: object) -> tuple[Any, Any]:
    """Every version of a corrected or withdrawn entry, oldest first, with who changed it and why."""
    who = user()
    patient_id = record_id(patient)
    target = _clicked_item("record-history")
    if who is None or patient_id is None or target is None:
        raise PreventUpdate
    kind, row_id = target
    try:
        with _keeping_refusals() as db:
            _entry_of(db, kind, row_id, patient_id)
            versions = history(db, ENTRY_MODELS[kind], row_id, actor=who.acting())
            authors = select(Cabinet).where(Cabinet.id.in_({version.created_by for version in versions}))
            body = history_table(versions, {c.id: c.full_name for c in db.execute(authors).scalars()})
    except DomainError as error:
        return True, dbc.Alert(str(error), color="danger", id="record-history-error")
    return True, body


FIX_OUTPUTS = (
    Output("record-fix-modal", "is_open"),
    Output("record-fix-title", "children"),
    Output("record-fix-target", "data"),
    Output("record-fix-originals", "data"),
    Output("record-fix-fields", "children"),
    Output("record-fix-actions", "children"),
    Output("record-fix-reason", "value"),
    Output("record-fix-result", "children"),
)


@callback(
    *FIX_OUTPUTS,
    Input({"type": "record-fix", "item": ALL}, "n_clicks"),
    State("record-patient", "data"),
    prevent_initial_call=True,
)
@requires(Permission.READ_PATIENT)
def open_fix(_clicks: object, patient: object) -> tuple[Any, ...]:
    """The correction form of an entry, filled with its values, and the buttons of the role's permission."""
    who = user()
    patient_id = record_id(patient)
    target = _clicked_item("record-fix")
    if who is None or patient_id is None or target is None:
        raise PreventUpdate
    kind, row_id = target
    group = fix_group(kind)
    try:
        if group is None or not who.can(FIX_GROUPS[group]):
            raise DomainError(N_("Your role does not allow this action."))
        with _keeping_refusals() as db:
            check_read(db, patient_id, actor=who.acting())
            row = _entry_of(db, kind, row_id, patient_id)
            if row.organization_id != who.organization_id:
                raise DomainError(N_("Only the organization that made an entry can correct or withdraw it."))
            if row.status != RecordStatus.ACTIVE:
                raise DomainError(
                    N_("This entry has already been corrected or withdrawn; only its latest version can be.")
                )
            title = entry_text(row)[0]
            originals = {spec.name: shown_value(spec, getattr(row, spec.name)) for spec in FIX_FIELDS[kind]}
    except DomainError as error:
        refused = dbc.Alert(str(error), color="danger", id="record-fix-error")
        return True, gettext("Correct the entry"), None, None, [], [], "", refused
    fields = dbc.Row(
        [fix_control(spec, originals[spec.name], index == 0) for index, spec in enumerate(FIX_FIELDS[kind])],
        className="g-2",
    )
    actions = [
        dbc.Button(gettext("Save the correction"), id=f"record-fix-save-{group}", color="primary", size="sm"),
        dbc.Button(
            gettext("Withdraw as entered in error"),
            id=f"record-fix-withdraw-{group}",
            color="danger",
            outline=True,
            size="sm",
        ),
    ]
    heading = f"{gettext('Correct the entry')}: {label(KIND_LABELS, kind)} · {title}"
    return True, heading, {"kind": kind, "id": row_id}, originals, fields, actions, "", None


def _posted_fix_fields() -> dict[str, object]:
    """The correction form's fields as posted: name → value (pattern-matching ids, read defensively)."""
    posted: dict[str, object] = {}
    for group in dash.ctx.states_list:
        for item in group if isinstance(group, list) else []:
            component = item.get("id") if isinstance(item, dict) else None
            if isinstance(component, dict) and component.get("type") == FIX_FIELD:
                name = component.get("name")
                if isinstance(name, str):
                    posted[name] = item.get("value")
    return posted


def _changes(kind: str, originals: object) -> dict[str, object]:
    """The fields changed in the form, as the correction service takes them (an untouched field is not sent)."""
    shown = originals if isinstance(originals, dict) else {}
    posted = _posted_fix_fields()
    changes: dict[str, object] = {}
    for spec in FIX_FIELDS[kind]:
        if spec.name in posted and typed_shown(spec, posted[spec.name]) != shown.get(spec.name, ""):
            changes[spec.name] = typed_fix(spec, posted[spec.name])
    return changes


def _fix(group: str, target: object, originals: object, reason: object, patient: object) -> tuple[Any, ...]:
    who = user()
    patient_id = record_id(patient)
    action = clicked()
    save, withdrawal = f"record-fix-save-{group}", f"record-fix-withdraw-{group}"
    if who is None or patient_id is None or action not in (save, withdrawal):
        raise PreventUpdate
    chosen = target if isinstance(target, dict) else {}
    kind, row_id = chosen.get("kind"), record_id(chosen.get("id"))
    actor = who.acting()
    try:
        if not isinstance(kind, str) or kind not in FIX_FIELDS or fix_group(kind) != group or row_id is None:
            raise NotFound(N_("The entry does not exist."), field="row_id")
        model = ENTRY_MODELS[kind]
        why = typed_line(reason, REASON_LENGTH, "reason") or ""
        with _keeping_refusals() as db:
            check_read(db, patient_id, actor=actor)
            _entry_of(db, kind, row_id, patient_id)
            if action == withdrawal:
                withdraw(db, model=model, row_id=row_id, reason=why, actor=actor)
                done = gettext("The entry was withdrawn as entered in error; it stays in the record, struck through.")
            else:
                correct(db, model=model, row_id=row_id, changes=_changes(kind, originals), reason=why, actor=actor)
                done = gettext("The correction was saved; the earlier version stays in the entry's history.")
    except DomainError as error:
        spec = next((s for s in FIX_FIELDS.get(str(kind), ()) if s.name == error.field), None)
        name = gettext(spec.label if spec else GENERAL_FIELDS.get(error.field or "", N_("Correction")))
        return dbc.Alert(f"{name}: {error}", color="danger", id="record-fix-error"), no_update, no_update, no_update
    notice = dbc.Alert(done, color="success", id="record-fix-done", dismissable=True)
    return None, False, notice, utcnow().isoformat()


def _fix_callback(group: str, permission: Permission) -> None:
    """The correction buttons of one permission: their own callback, declaring that permission."""

    @callback(
        Output("record-fix-result", "children", allow_duplicate=True),
        Output("record-fix-modal", "is_open", allow_duplicate=True),
        Output("record-notice", "children", allow_duplicate=True),
        Output("record-saved", "data", allow_duplicate=True),
        Input(f"record-fix-save-{group}", "n_clicks"),
        Input(f"record-fix-withdraw-{group}", "n_clicks"),
        State("record-fix-target", "data"),
        State("record-fix-originals", "data"),
        State({"type": FIX_FIELD, "name": ALL}, "value"),
        State("record-fix-reason", "value"),
        State("record-patient", "data"),
        prevent_initial_call=True,
    )
    @requires(permission)
    def save_fix(
        _save: object,
        _withdraw: object,
        target: object,
        originals: object,
        _fields: object,
        reason: object,
        patient: object,
    ) -> tuple[Any, ...]:
        """Correct the entry (the changed fields) or withdraw it, with the reason; nothing changes on a refusal."""
        return _fix(group, target, originals, reason, patient)


for _group, _permission in FIX_GROUPS.items():
    _fix_callback(_group, _permission)

"""The pieces of the medical record page (pages/patient_record.py): its frame (header, refusal, dialogs), the entry
forms, the correction form's fields, the timeline as clinicians read it, and reading what the forms post (numbers,
local times, free text).

No callbacks here: Dash runs a page module again for every app it builds, which registers the page's callbacks
each time; a module imported from a page runs only once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from auth.permissions import Permission
from auth.user import PortalUser
from components.posted import text, typed_date
from components.tables import table
from db import utcnow
from ehealth.calendar import today
from ehealth.clinical import ClinicalRecord, RecordStatus
from ehealth.emr.access import EMERGENCY_MINUTES, REASON_LENGTH
from ehealth.emr.entries import TEXT_LENGTH
from ehealth.emr.indicators import RULES, number_text
from ehealth.emr.models import ConditionKind, Flag, Indicator, Modality, Severity, TreatmentKind
from ehealth.emr.timeline import TimelineItem, TimelineKind, entry_text
from ehealth.errors import ValidationError
from ehealth.i18n import N_, gettext, ngettext
from ehealth.identifiers import TASHKENT
from ehealth.patients.models import Patient

HIDDEN = "d-none"
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> shows and posts
DAY = "%d.%m.%Y"

# --- labels of the codes the page shows (the lead consolidates them into components.labels) ---------------------

KIND_LABELS: dict[str, str] = {
    TimelineKind.ENCOUNTER: N_("Visit"),
    TimelineKind.DIAGNOSIS: N_("Diagnosis"),
    TimelineKind.INDICATOR: N_("Indicator"),
    TimelineKind.LAB: N_("Laboratory"),
    TimelineKind.INSTRUMENTAL: N_("Study"),
    TimelineKind.TREATMENT: N_("Treatment"),
    TimelineKind.ALLERGY: N_("Allergy"),
    TimelineKind.REFERRAL: N_("Referral"),
    TimelineKind.ADMISSION: N_("Admission"),
    TimelineKind.DISCHARGE: N_("Discharge"),
    TimelineKind.PRESCRIPTION: N_("Prescription"),
    TimelineKind.DISPENSE: N_("Dispensed"),
}
CONDITION_KINDS: dict[str, str] = {
    ConditionKind.PRELIMINARY: N_("Preliminary diagnosis"),
    ConditionKind.FINAL: N_("Final diagnosis"),
    ConditionKind.COMORBIDITY: N_("Accompanying diagnosis"),
}
MODALITIES: dict[str, str] = {
    Modality.XRAY: N_("X-ray"),
    Modality.ULTRASOUND: N_("Ultrasound"),
    Modality.ECG: N_("ECG"),
    Modality.CT: N_("CT"),
    Modality.MRI: N_("MRI"),
    Modality.ENDOSCOPY: N_("Endoscopy"),
}
TREATMENT_KINDS: dict[str, str] = {
    TreatmentKind.PROCEDURE: N_("Procedure"),
    TreatmentKind.MEDICATION: N_("Medication given"),
    TreatmentKind.NOTE: N_("Clinical note"),
}
SEVERITIES: dict[str, str] = {
    Severity.MILD: N_("Mild"),
    Severity.MODERATE: N_("Moderate"),
    Severity.SEVERE: N_("Severe"),
}
STATUSES: dict[str, str] = {
    RecordStatus.ACTIVE: N_("Current"),
    RecordStatus.SUPERSEDED: N_("Corrected"),
    RecordStatus.ENTERED_IN_ERROR: N_("Entered in error"),
}
FLAGS: dict[str, tuple[str, str]] = {  # flag → (msgid, badge colour)
    Flag.LOW: (N_("low"), "warning"),
    Flag.HIGH: (N_("high"), "warning"),
    Flag.CRITICAL: (N_("critical"), "danger"),
}
SEXES: dict[str, str] = {"male": N_("Male"), "female": N_("Female")}
ENCOUNTER_KINDS: dict[str, str] = {"outpatient": N_("Outpatient visit"), "inpatient": N_("Inpatient stay")}

# Who may record or correct each kind of entry. An allergy is the doctor's, with the diagnoses: it is a clinical
# judgement that prescribing then acts on (a medicine of the same group is refused), not an observation.
KIND_PERMISSIONS: dict[str, Permission] = {
    TimelineKind.DIAGNOSIS: Permission.RECORD_DIAGNOSIS,
    TimelineKind.ALLERGY: Permission.RECORD_DIAGNOSIS,
    TimelineKind.INDICATOR: Permission.RECORD_INDICATORS,
    TimelineKind.LAB: Permission.RECORD_RESULTS,
    TimelineKind.INSTRUMENTAL: Permission.RECORD_RESULTS,
    TimelineKind.TREATMENT: Permission.RECORD_TREATMENT,
}
# The correction buttons of each permission: one callback each, declaring its permission.
FIX_GROUPS: dict[str, Permission] = {
    "diagnosis": Permission.RECORD_DIAGNOSIS,
    "indicators": Permission.RECORD_INDICATORS,
    "results": Permission.RECORD_RESULTS,
    "treatment": Permission.RECORD_TREATMENT,
}
ENTERED_INDICATORS = tuple(kind for kind in Indicator if kind != Indicator.BMI)  # body mass index is computed


def label(labels: dict[str, str], code: object) -> str:
    """The translated label of a code, or the code itself."""
    message = labels.get(str(code))
    return gettext(message) if message else str(code or "")


def fix_group(kind: str) -> str | None:
    """The correction group (permission) of a kind of entry; None for kinds this page does not correct."""
    permission = KIND_PERMISSIONS.get(kind)
    return next((group for group, held in FIX_GROUPS.items() if held == permission), None)


# --- reading what the browser posts ------------------------------------------------------------------------------


def local_now() -> str:
    """Now in Tashkent, as a datetime-local input shows it."""
    return datetime.now(TASHKENT).strftime(LOCAL_MINUTE)


def local_text(moment: datetime) -> str:
    """A stored (UTC) moment as a datetime-local input shows it, in Tashkent."""
    return moment.astimezone(TASHKENT).strftime(LOCAL_MINUTE)


def typed_moment(value: object, field_name: str, untouched: object = None) -> datetime:
    """A datetime-local value, read as Tashkent time, as an aware datetime.

    The value the form was opened with (`untouched`) means "now": a form left open for an hour records the time of
    saving, not the time the page was loaded.
    """
    if isinstance(value, str) and value and value == untouched:
        return utcnow()
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(N_("Enter the date and time."), field=field_name)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(N_("Enter the date and time."), field=field_name) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=TASHKENT)


def optional_date(value: object, field_name: str) -> date | None:
    """A date input's value, or None when it was left empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return typed_date(value, N_("Enter the date."), field_name)


def typed_number(value: object, field_name: str) -> float | None:
    """A number typed with a point or a comma (None when empty); anything else is refused on the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError(N_("Enter a number"), field=field_name)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            number = float(value.strip().replace(",", ".").replace(" ", ""))
        except ValueError:
            raise ValidationError(N_("Enter a number"), field=field_name) from None
    else:
        raise ValidationError(N_("Enter a number"), field=field_name)
    if not math.isfinite(number):
        raise ValidationError(N_("Enter a number"), field=field_name)
    return number


def typed_line(value: object, limit: int, field_name: str) -> str | None:
    """One line of typed text, tidied; a refusal names the field."""
    try:
        return text(value, limit)
    except ValidationError as error:
        raise ValidationError(error.msgid, field=field_name, **error.params) from None


def typed_block(value: object, limit: int, field_name: str) -> str | None:
    """Free text whose line breaks matter (a note, a conclusion); a refusal names the field."""
    block = value.strip() if isinstance(value, str) else ""
    if len(block) > limit:
        raise ValidationError(N_("The text is too long: at most {limit} characters."), field=field_name, limit=limit)
    if not all(char.isprintable() or char in "\n\r\t" for char in block):
        raise ValidationError(N_("The text contains characters that cannot be saved."), field=field_name)
    return block or None


def typed_choice(value: object) -> str:
    """A radio button's or a select's value as the service checks it ("" when none)."""
    return value if isinstance(value, str) else ""


# --- the entry forms ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field of an entry form: the service's argument, the component and its label."""

    name: str  # what the service calls it (the `field` of its refusals)
    component: str
    label: str  # msgid
    markable: bool = True  # has an `invalid` property (drop-downs and radio buttons show the message only)


@dataclass(frozen=True)
class EntryForm:
    """An entry form of the record page: its fields, who may use it, what a save empties."""

    key: str
    title: str  # msgid of its tab
    permission: Permission
    fields: tuple[Field, ...]
    cleared: tuple[str, ...] = ()  # components emptied after a save
    times: tuple[str, ...] = ()  # datetime-local components set to now after a save
    aliases: dict[str, str] = field(default_factory=dict)  # a service field shown on another field's component

    @property
    def save(self) -> str:
        """The save button's id."""
        return f"record-{self.key}-save"

    @property
    def result(self) -> str:
        """The id of the form's message."""
        return f"record-{self.key}-result"

    def field_of(self, name: str | None) -> Field | None:
        """The form field a refusal names, if it is one of the form's."""
        name = self.aliases.get(name or "", name)
        return next((f for f in self.fields if f.name == name), None)


def _indicator_id(kind: Indicator) -> str:
    return f"record-ind-{kind.value}"


INDICATORS = EntryForm(
    "ind",
    N_("Indicators"),
    Permission.RECORD_INDICATORS,
    (
        *(Field(kind.value, _indicator_id(kind), RULES[kind].label) for kind in ENTERED_INDICATORS),
        Field("effective_at", "record-ind-time", N_("Measured at")),
    ),
    cleared=tuple(_indicator_id(kind) for kind in ENTERED_INDICATORS),
    times=("record-ind-time",),
)
DIAGNOSIS = EntryForm(
    "dx",
    N_("Diagnosis"),
    Permission.RECORD_DIAGNOSIS,
    (
        Field("icd10_code", "record-dx-code", N_("Diagnosis (ICD-10)"), markable=False),
        Field("kind", "record-dx-kind", N_("Kind of diagnosis"), markable=False),
        Field("onset_date", "record-dx-onset", N_("Onset date")),
        Field("note", "record-dx-note", N_("Note")),
    ),
    cleared=("record-dx-code", "record-dx-onset", "record-dx-note"),
)
LAB = EntryForm(
    "lab",
    N_("Laboratory"),
    Permission.RECORD_RESULTS,
    (
        Field("test_code", "record-lab-code", N_("Test code")),
        Field("test_name", "record-lab-name", N_("Test")),
        Field("value_numeric", "record-lab-value", N_("Result")),
        Field("unit", "record-lab-unit", N_("Unit")),
        Field("reference_low", "record-lab-low", N_("Reference from")),
        Field("reference_high", "record-lab-high", N_("Reference to")),
        Field("collected_at", "record-lab-collected", N_("Sample taken at")),
        Field("resulted_at", "record-lab-resulted", N_("Result ready at")),
        Field("referral_id", "record-lab-referral", N_("Referral")),
    ),
    cleared=(
        "record-lab-code",
        "record-lab-name",
        "record-lab-value",
        "record-lab-unit",
        "record-lab-low",
        "record-lab-high",
        "record-lab-referral",
    ),
    times=("record-lab-collected", "record-lab-resulted"),
    aliases={"value_text": "value_numeric"},
)
INSTRUMENTAL = EntryForm(
    "ins",
    N_("Study"),
    Permission.RECORD_RESULTS,
    (
        Field("modality", "record-ins-modality", N_("Kind of study")),
        Field("study", "record-ins-study", N_("What was studied")),
        Field("conclusion", "record-ins-conclusion", N_("Conclusion")),
        Field("performed_at", "record-ins-time", N_("Performed at")),
        Field("referral_id", "record-ins-referral", N_("Referral")),
    ),
    cleared=("record-ins-study", "record-ins-conclusion", "record-ins-referral"),
    times=("record-ins-time",),
)
TREATMENT = EntryForm(
    "tx",
    N_("Treatment"),
    Permission.RECORD_TREATMENT,
    (
        Field("kind", "record-tx-kind", N_("Kind of entry"), markable=False),
        Field("title", "record-tx-title", N_("Title")),
        Field("text", "record-tx-text", N_("Text")),
        Field("performed_at", "record-tx-time", N_("Time")),
    ),
    cleared=("record-tx-title", "record-tx-text"),
    times=("record-tx-time",),
)
ALLERGY = EntryForm(
    "al",
    N_("Allergy"),
    Permission.RECORD_DIAGNOSIS,  # see KIND_PERMISSIONS
    (
        Field("substance", "record-al-substance", N_("Substance")),
        Field("severity", "record-al-severity", N_("Severity"), markable=False),
        Field("reaction", "record-al-reaction", N_("Reaction")),
        Field("inn", "record-al-inn", N_("International name (INN)")),
        Field("atc_code", "record-al-atc", N_("ATC code")),
    ),
    cleared=("record-al-substance", "record-al-reaction", "record-al-inn", "record-al-atc"),
)
FORMS: tuple[EntryForm, ...] = (INDICATORS, DIAGNOSIS, LAB, INSTRUMENTAL, TREATMENT, ALLERGY)
# Lengths the services allow, given to the inputs so that the browser stops the typing there.
LENGTHS: dict[str, int] = {
    "test_code": 20,
    "test_name": 120,
    "value": 200,
    "unit": 20,
    "study": 160,
    "title": 200,
    "substance": 120,
    "reaction": 200,
    "inn": 120,
    "atc_code": 12,
    "icd10_code": 8,
}


def _group(form: EntryForm, name: str, control: Any, width: int | None = None) -> dbc.Col:
    found = form.field_of(name)
    assert found is not None
    return dbc.Col(
        [
            dbc.Label(gettext(found.label), html_for=found.component, className="small mb-0"),
            control,
            dbc.FormFeedback(id=f"{found.component}-feedback", className="d-block"),
        ],
        md=width,
        className="mb-2",
    )


def _moment_input(component: str, now: str) -> dbc.Input:
    return dbc.Input(id=component, type="datetime-local", value=now, size="sm")


def _text_input(component: str, limit: int, **extra: Any) -> dbc.Input:
    return dbc.Input(id=component, maxLength=limit, autoComplete="off", size="sm", **extra)


def _number_input(component: str, **extra: Any) -> dbc.Input:
    # Text, not type="number": the browser would post nothing for "12a" and the value would be silently skipped.
    return dbc.Input(id=component, inputMode="decimal", autoComplete="off", maxLength=20, size="sm", **extra)


def _form(form: EntryForm, rows: list[Any], button: str, now: str, *, enter: bool = True) -> dbc.Form | html.Div:
    """The form: Enter in a field saves it, unless `enter` is False (where Enter picks from a drop-down)."""
    children = [
        *rows,
        # The time each time field was filled with: left as it is, it means "now" when saved.
        *[dcc.Store(id=f"{component}-default", data=now) for component in form.times],
        dbc.Button(gettext(button), id=form.save, type="submit" if enter else "button", color="primary", size="sm"),
        html.Div(id=form.result, className="mt-2"),
    ]
    if not enter:
        return html.Div(children, id=f"record-{form.key}-form", className="pt-3")
    return dbc.Form(children, id=f"record-{form.key}-form", prevent_default_on_submit=True, className="pt-3")


def indicators_form(now: str, focus: bool) -> dbc.Form | html.Div:
    """One input per indicator with its unit; the empty ones are skipped; body mass index computed as typed."""
    fields = [
        _group(
            INDICATORS,
            kind.value,
            dbc.InputGroup(
                [
                    _number_input(_indicator_id(kind), autoFocus=focus and index == 0),
                    dbc.InputGroupText(RULES[kind].unit),
                ],
                size="sm",
            ),
            6,
        )
        for index, kind in enumerate(ENTERED_INDICATORS)
    ]
    bmi = dbc.Col(
        [
            dbc.Label(gettext("Body mass index (computed)"), html_for="record-ind-bmi", className="small mb-0"),
            dbc.InputGroup(
                [
                    dbc.Input(id="record-ind-bmi", readonly=True, tabIndex=-1, size="sm"),
                    dbc.InputGroupText(RULES[Indicator.BMI].unit),
                ],
                size="sm",
            ),
        ],
        md=6,
        className="mb-2",
    )
    time = _group(INDICATORS, "effective_at", _moment_input("record-ind-time", now), 6)
    return _form(INDICATORS, [dbc.Row([*fields, bmi, time], className="g-2")], N_("Save the indicators"), now)


def diagnosis_form(now: str, focus: bool) -> dbc.Form | html.Div:
    """ICD-10 search as the doctor types, the kind of diagnosis, its onset and a note."""
    code = dcc.Dropdown(
        id="record-dx-code",
        options=[],
        placeholder=gettext("Type a code (I10) or words of the diagnosis"),
        searchable=True,
        clearable=True,
        labels={"search": gettext("Search"), "no_options_found": gettext("Nothing found.")},
    )
    kind = dbc.RadioItems(
        id="record-dx-kind",
        options=[{"label": label(CONDITION_KINDS, k), "value": str(k)} for k in ConditionKind],
        value=str(ConditionKind.PRELIMINARY),
        inline=True,
    )
    onset = dbc.Input(id="record-dx-onset", type="date", size="sm", autoFocus=focus)
    note = dbc.Textarea(id="record-dx-note", maxLength=TEXT_LENGTH, rows=2, size="sm")
    rows = [
        dbc.Row([_group(DIAGNOSIS, "icd10_code", code)], className="g-2"),
        dbc.Row([_group(DIAGNOSIS, "kind", kind)], className="g-2"),
        dbc.Row([_group(DIAGNOSIS, "onset_date", onset, 6)], className="g-2"),
        dbc.Row([_group(DIAGNOSIS, "note", note)], className="g-2"),
    ]
    # Enter chooses the code in the ICD-10 drop-down: it must not save the form as well.
    return _form(DIAGNOSIS, rows, N_("Save the diagnosis"), now, enter=False)


NO_REFERRAL = "none"  # the referral select's "without a referral" (an empty value would be its blank placeholder)


def referral_options(referrals: Sequence[tuple[int, str]]) -> list[dict[str, str]]:
    """A referral select's options: none, then the patient's issued referrals (id, label)."""
    return [{"label": gettext("Without a referral"), "value": NO_REFERRAL}] + [
        {"label": text_, "value": str(referral_id)} for referral_id, text_ in referrals
    ]


def lab_form(now: str, focus: bool, referrals: Sequence[tuple[int, str]]) -> dbc.Form | html.Div:
    """A laboratory result: the test, a value (a number, or a text such as "positive"), its unit and range."""
    rows = [
        dbc.Row(
            [
                _group(LAB, "test_code", _text_input("record-lab-code", LENGTHS["test_code"], autoFocus=focus), 4),
                _group(LAB, "test_name", _text_input("record-lab-name", LENGTHS["test_name"]), 8),
            ],
            className="g-2",
        ),
        dbc.Row(
            [
                _group(LAB, "value_numeric", _text_input("record-lab-value", LENGTHS["value"]), 4),
                _group(LAB, "unit", _text_input("record-lab-unit", LENGTHS["unit"]), 2),
                _group(LAB, "reference_low", _number_input("record-lab-low"), 3),
                _group(LAB, "reference_high", _number_input("record-lab-high"), 3),
            ],
            className="g-2",
        ),
        dbc.Row(
            [
                _group(LAB, "collected_at", _moment_input("record-lab-collected", now), 6),
                _group(LAB, "resulted_at", _moment_input("record-lab-resulted", now), 6),
            ],
            className="g-2",
        ),
        dbc.Row(
            [
                _group(
                    LAB,
                    "referral_id",
                    dbc.Select(
                        id="record-lab-referral", options=referral_options(referrals), value=NO_REFERRAL, size="sm"
                    ),
                )
            ],
            className="g-2",
        ),
    ]
    return _form(LAB, rows, N_("Save the result"), now)


def instrumental_form(now: str, focus: bool, referrals: Sequence[tuple[int, str]]) -> dbc.Form | html.Div:
    """An instrumental study: its kind, what was studied, the conclusion and when."""
    modality = dbc.Select(
        id="record-ins-modality",
        options=[{"label": label(MODALITIES, m), "value": str(m)} for m in Modality],
        placeholder=gettext("Choose the kind of study"),
        size="sm",
    )
    rows = [
        dbc.Row(
            [
                _group(INSTRUMENTAL, "modality", modality, 4),
                _group(INSTRUMENTAL, "study", _text_input("record-ins-study", LENGTHS["study"], autoFocus=focus), 8),
            ],
            className="g-2",
        ),
        dbc.Row(
            [
                _group(
                    INSTRUMENTAL,
                    "conclusion",
                    dbc.Textarea(id="record-ins-conclusion", maxLength=TEXT_LENGTH, rows=3, size="sm"),
                )
            ],
            className="g-2",
        ),
        dbc.Row(
            [
                _group(INSTRUMENTAL, "performed_at", _moment_input("record-ins-time", now), 6),
                _group(
                    INSTRUMENTAL,
                    "referral_id",
                    dbc.Select(
                        id="record-ins-referral", options=referral_options(referrals), value=NO_REFERRAL, size="sm"
                    ),
                    6,
                ),
            ],
            className="g-2",
        ),
    ]
    return _form(INSTRUMENTAL, rows, N_("Save the study"), now)


def treatment_form(now: str, focus: bool) -> dbc.Form | html.Div:
    """A procedure, a medication given or a clinical note of the course of treatment."""
    kind = dbc.RadioItems(
        id="record-tx-kind",
        options=[{"label": label(TREATMENT_KINDS, k), "value": str(k)} for k in TreatmentKind],
        value=str(TreatmentKind.PROCEDURE),
        inline=True,
    )
    rows = [
        dbc.Row([_group(TREATMENT, "kind", kind)], className="g-2"),
        dbc.Row(
            [
                _group(TREATMENT, "title", _text_input("record-tx-title", LENGTHS["title"], autoFocus=focus), 8),
                _group(TREATMENT, "performed_at", _moment_input("record-tx-time", now), 4),
            ],
            className="g-2",
        ),
        dbc.Row(
            [
                _group(
                    TREATMENT,
                    "text",
                    dbc.Textarea(id="record-tx-text", maxLength=TEXT_LENGTH, rows=3, size="sm"),
                )
            ],
            className="g-2",
        ),
    ]
    return _form(TREATMENT, rows, N_("Save the entry"), now)


def allergy_form(now: str, focus: bool) -> dbc.Form | html.Div:
    """An allergy: the substance (with its INN or ATC code, which prescribing checks) and the reaction."""
    severity = dbc.RadioItems(
        id="record-al-severity",
        options=[{"label": label(SEVERITIES, s), "value": str(s)} for s in Severity],
        value=str(Severity.MODERATE),
        inline=True,
    )
    rows = [
        dbc.Row(
            [
                _group(
                    ALLERGY,
                    "substance",
                    _text_input("record-al-substance", LENGTHS["substance"], autoFocus=focus),
                    6,
                ),
                _group(ALLERGY, "severity", severity, 6),
            ],
            className="g-2",
        ),
        dbc.Row([_group(ALLERGY, "reaction", _text_input("record-al-reaction", LENGTHS["reaction"]))], className="g-2"),
        dbc.Row(
            [
                _group(ALLERGY, "inn", _text_input("record-al-inn", LENGTHS["inn"]), 8),
                _group(ALLERGY, "atc_code", _text_input("record-al-atc", LENGTHS["atc_code"]), 4),
            ],
            className="g-2",
        ),
    ]
    return _form(ALLERGY, rows, N_("Save the allergy"), now)


# --- the correction form -----------------------------------------------------------------------------------------

FIX_FIELD = "record-fix-field"  # the pattern-matching type of the correction form's fields


@dataclass(frozen=True)
class FixField:
    """A field of an entry that a correction may change, and how it is typed."""

    name: str
    label: str  # msgid
    kind: str  # "text", "block", "number", "date", "moment" or "choice"
    choices: dict[str, str] | None = None
    limit: int = 200


FIX_FIELDS: dict[str, tuple[FixField, ...]] = {
    TimelineKind.DIAGNOSIS: (
        FixField("icd10_code", N_("ICD-10 code"), "text", limit=LENGTHS["icd10_code"]),
        FixField("kind", N_("Kind of diagnosis"), "choice", CONDITION_KINDS),
        FixField("onset_date", N_("Onset date"), "date"),
        FixField("note", N_("Note"), "block", limit=TEXT_LENGTH),
    ),
    TimelineKind.INDICATOR: (
        FixField("value", N_("Value"), "number"),
        FixField("effective_at", N_("Measured at"), "moment"),
    ),
    TimelineKind.LAB: (
        FixField("test_code", N_("Test code"), "text", limit=LENGTHS["test_code"]),
        FixField("test_name", N_("Test"), "text", limit=LENGTHS["test_name"]),
        FixField("value_numeric", N_("Result (number)"), "number"),
        FixField("value_text", N_("Result (text)"), "text", limit=LENGTHS["value"]),
        FixField("unit", N_("Unit"), "text", limit=LENGTHS["unit"]),
        FixField("reference_low", N_("Reference from"), "number"),
        FixField("reference_high", N_("Reference to"), "number"),
        FixField("collected_at", N_("Sample taken at"), "moment"),
        FixField("resulted_at", N_("Result ready at"), "moment"),
    ),
    TimelineKind.INSTRUMENTAL: (
        FixField("modality", N_("Kind of study"), "choice", MODALITIES),
        FixField("study", N_("What was studied"), "text", limit=LENGTHS["study"]),
        FixField("conclusion", N_("Conclusion"), "block", limit=TEXT_LENGTH),
        FixField("performed_at", N_("Performed at"), "moment"),
    ),
    TimelineKind.TREATMENT: (
        FixField("kind", N_("Kind of entry"), "choice", TREATMENT_KINDS),
        FixField("title", N_("Title"), "text", limit=LENGTHS["title"]),
        FixField("text", N_("Text"), "block", limit=TEXT_LENGTH),
        FixField("performed_at", N_("Time"), "moment"),
    ),
    TimelineKind.ALLERGY: (
        FixField("substance", N_("Substance"), "text", limit=LENGTHS["substance"]),
        FixField("severity", N_("Severity"), "choice", SEVERITIES),
        FixField("reaction", N_("Reaction"), "text", limit=LENGTHS["reaction"]),
        FixField("inn", N_("International name (INN)"), "text", limit=LENGTHS["inn"]),
        FixField("atc_code", N_("ATC code"), "text", limit=LENGTHS["atc_code"]),
    ),
}


def shown_value(spec: FixField, value: object) -> str:
    """A stored value as the correction form shows it (and compares it, to send only what was changed)."""
    if value is None:
        return ""
    if spec.kind == "moment" and isinstance(value, datetime):
        return local_text(value)
    if spec.kind == "date" and isinstance(value, date):
        return value.isoformat()
    if spec.kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(float(value))
    return str(value)


def typed_shown(spec: FixField, value: object) -> str:
    """A posted value in the form `shown_value` gives, so that an untouched field compares equal."""
    if value is None:
        return ""
    if spec.kind == "number":
        try:
            number = typed_number(value, spec.name)
        except ValidationError:
            return str(value)
        return "" if number is None else number_text(number)
    if isinstance(value, str):
        return " ".join(value.split()) if spec.kind == "text" else value.strip()
    return str(value)


def typed_fix(spec: FixField, value: object) -> object:
    """A posted correction value as the correction service takes it; a refusal names the field."""
    if spec.kind == "number":
        return typed_number(value, spec.name)
    if spec.kind == "date":
        return optional_date(value, spec.name)
    if spec.kind == "moment":
        return typed_moment(value, spec.name)
    if spec.kind == "block":
        return typed_block(value, spec.limit, spec.name)
    if spec.kind == "choice":
        return typed_choice(value)
    return typed_line(value, spec.limit, spec.name)


def fix_control(spec: FixField, value: str, focus: bool = False) -> dbc.Col:
    """One field of the correction form, filled with the entry's value."""
    component: dict[str, str] = {"type": FIX_FIELD, "name": spec.name}
    control: Any
    if spec.kind == "choice":
        options = [{"label": label(spec.choices or {}, code), "value": code} for code in spec.choices or {}]
        control = dbc.Select(id=component, options=options, value=value, size="sm")
    elif spec.kind == "block":
        control = dbc.Textarea(id=component, value=value, maxLength=spec.limit, rows=3, size="sm", autoFocus=focus)
    else:
        kinds = {"moment": "datetime-local", "date": "date"}
        extra: dict[str, Any] = {"type": kinds[spec.kind]} if spec.kind in kinds else {"autoComplete": "off"}
        if spec.kind == "number":
            extra["inputMode"] = "decimal"
        control = dbc.Input(id=component, value=value, maxLength=spec.limit, size="sm", autoFocus=focus, **extra)
    return dbc.Col(
        [dbc.Label(gettext(spec.label), className="small mb-0"), control],
        md=12 if spec.kind == "block" else 6,
        className="mb-2",
    )


# --- the header and the timeline ---------------------------------------------------------------------------------


def age_text(born: date, on: date) -> str:
    """The patient's age: years, or months for a baby."""
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if years >= 1:
        return ngettext("{n} year", "{n} years", years)
    months = (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)
    return ngettext("{n} month", "{n} months", max(months, 0))


def allergy_badges(allergies: Sequence[tuple[str, str, str | None]]) -> list[Any]:
    """The patient's allergies in force (substance, severity, reaction) as red badges."""
    if not allergies:
        return [html.Span(gettext("No allergies recorded."), className="text-muted small")]
    badges: list[Any] = [html.Span(gettext("Allergies:"), className="fw-semibold me-1")]
    for substance, severity, reaction in allergies:
        words = f"{substance} ({label(SEVERITIES, severity).lower()})"
        badges.append(dbc.Badge(words, color="danger", className="me-1", title=reaction or ""))
    return badges


def _status_badge(item: TimelineItem) -> list[Any]:
    if item.status == RecordStatus.ACTIVE:
        return []
    color = "secondary" if item.status == RecordStatus.SUPERSEDED else "dark"
    return [dbc.Badge(label(STATUSES, item.status), color=color, className="me-1")]


def _flag_badge(item: TimelineItem) -> list[Any]:
    if item.flag is None or item.flag not in FLAGS:
        return []
    message, color = FLAGS[item.flag]
    return [dbc.Badge(gettext(message), color=color, className="me-1 text-uppercase")]


def item_key(item: TimelineItem) -> str:
    """The key of a timeline item in component ids: kind-id."""
    return f"{item.kind.value}-{item.id}"


@dataclass(frozen=True)
class ItemActions:
    """What the reader may do with the items: see the history of corrected ones, correct or withdraw their own."""

    who: PortalUser
    bmi_title: str = field(default_factory=lambda: gettext(RULES[Indicator.BMI].label))

    def history(self, item: TimelineItem) -> bool:
        """A corrected or withdrawn entry, or a correction, has a history worth showing."""
        return item.kind in FIX_FIELDS and (item.replaces_id is not None or item.status != RecordStatus.ACTIVE)

    def correct(self, item: TimelineItem) -> bool:
        """The user's organization made the entry, it is in force and the user's role records such entries."""
        permission = KIND_PERMISSIONS.get(item.kind)
        return (
            permission is not None
            and self.who.can(permission)
            and item.status == RecordStatus.ACTIVE
            and item.organization_id == self.who.organization_id
            # Body mass index follows its weight and height; those are corrected instead.
            and not (item.kind == TimelineKind.INDICATOR and item.title == self.bmi_title)
        )


def _item(item: TimelineItem, actions: ItemActions) -> dbc.ListGroupItem:
    retired = item.status != RecordStatus.ACTIVE
    struck = " text-decoration-line-through text-muted" if retired else ""
    buttons = []
    if actions.history(item):
        buttons.append(
            dbc.Button(
                gettext("History"),
                id={"type": "record-history", "item": item_key(item)},
                color="link",
                size="sm",
                className="p-0 ms-2",
            )
        )
    if actions.correct(item):
        buttons.append(
            dbc.Button(
                gettext("Correct"),
                id={"type": "record-fix", "item": item_key(item)},
                color="link",
                size="sm",
                className="p-0 ms-2",
            )
        )
    lines: list[Any] = [
        html.Div(
            [
                html.Span(item.when.astimezone(TASHKENT).strftime("%H:%M"), className="fw-semibold me-2"),
                dbc.Badge(label(KIND_LABELS, item.kind), color="light", text_color="dark", className="me-1"),
                *_status_badge(item),
                *_flag_badge(item),
                html.Span(buttons, className="ms-auto"),
            ],
            className="d-flex align-items-center",
        ),
        html.Div(item.title, className="fw-semibold" + struck),
    ]
    if item.detail:
        lines.append(html.Div(item.detail, className="small" + struck, style={"whiteSpace": "pre-line"}))
    if retired and item.status_reason:
        lines.append(html.Div(gettext("Reason: {reason}", reason=item.status_reason), className="small fst-italic"))
    lines.append(html.Div(" · ".join(p for p in (item.organization, item.author) if p), className="small text-muted"))
    return dbc.ListGroupItem(lines, id=f"record-item-{item_key(item)}")


def timeline_view(items: Sequence[TimelineItem], actions: ItemActions, limit: int) -> Any:
    """The record newest first, by day, and within a day by visit or stay."""
    if not items:
        return html.P(gettext("Nothing is recorded yet."), className="text-muted", id="record-timeline-empty")
    visits = {i.id: i for i in items if i.kind == TimelineKind.ENCOUNTER}
    days: dict[date, dict[int | None, list[TimelineItem]]] = {}
    for item in items:
        day = item.when.astimezone(TASHKENT).date()
        days.setdefault(day, {}).setdefault(item.encounter_id, []).append(item)
    cards = []
    for day, groups in days.items():
        sections = []
        for encounter_id, group in groups.items():
            visit = visits.get(encounter_id) if encounter_id is not None else None
            if encounter_id is None:
                heading = gettext("Not tied to a visit")
            elif visit is not None:
                heading = f"{visit.title} · {visit.organization}"
            else:
                heading = f"{gettext('Visit')} · {group[0].organization}"
            sections.append(html.Div(heading, className="small text-uppercase text-muted mt-2 mb-1"))
            sections.append(dbc.ListGroup([_item(item, actions) for item in group], flush=True))
        cards.append(
            dbc.Card(
                [
                    dbc.CardHeader(day.strftime(DAY), className="py-1 fw-semibold"),
                    dbc.CardBody(sections, className="py-1 px-2"),
                ],
                className="mb-2",
                id=f"record-day-{day.isoformat()}",
            )
        )
    if len(items) >= limit:
        note = gettext("Only the newest {count} entries are shown; choose fewer kinds to see older ones.", count=limit)
        cards.append(html.P(note, className="text-muted small"))
    return html.Div(cards)


@dataclass(frozen=True)
class Choices:
    """What the entry forms offer: the user's organization's open visits with the patient, the patient's referrals."""

    encounters: list[dict[str, str]]
    lab: list[tuple[int, str]]
    instrumental: list[tuple[int, str]]


def encounter_option(kind: str, started: datetime, reason: str | None) -> str:
    """How an open visit or stay is named in the visit select."""
    parts = [label(ENCOUNTER_KINDS, kind), started.astimezone(TASHKENT).strftime(f"{DAY} %H:%M"), reason or ""]
    return " · ".join(part for part in parts if part)


# --- the page's frame ---------------------------------------------------------------------------------------------


def missing_view() -> dbc.Alert:
    """No such patient (or an id that is not one)."""
    return dbc.Alert(gettext("The patient does not exist."), color="warning", id="record-missing")


def merged_view(survivor_id: int) -> dbc.Alert:
    """A record merged into another: the way to the surviving one."""
    link = dcc.Link(
        gettext("Open the record"), href=f"/patient/{survivor_id}", id="record-merged-open", className="alert-link"
    )
    message = gettext("This patient record was merged into another; use the surviving record.")
    return dbc.Alert([message, " ", link], color="warning", id="record-merged")


def denied_view(message: str) -> list[Any]:
    """The refusal and the emergency access form."""
    return [
        dbc.Alert(message, color="warning", id="record-denied"),
        dbc.Card(
            dbc.CardBody(
                [
                    html.H2(gettext("Emergency access"), className="h5"),
                    html.P(
                        gettext(
                            "The record opens for {minutes} minutes. Your name, the reason and every read are "
                            "recorded and reviewed.",
                            minutes=EMERGENCY_MINUTES,
                        ),
                        className="small text-muted",
                    ),
                    dbc.Label(gettext("Why is the record needed now?"), html_for="record-emergency-reason"),
                    dbc.Textarea(id="record-emergency-reason", maxLength=REASON_LENGTH, rows=3, autoFocus=True),
                    dbc.Button(
                        gettext("Open with emergency access"),
                        id="record-emergency-open",
                        color="danger",
                        className="mt-2",
                    ),
                    html.Div(id="record-emergency-result", className="mt-2"),
                ]
            ),
            className="mb-3",
        ),
    ]


def header_view(patient: Patient, allergies: list[tuple[str, str, str | None]]) -> html.Div:
    """Who the patient is, and the allergies in force."""
    born = gettext(
        "Born {date}, {age}", date=patient.birth_date.strftime(DAY), age=age_text(patient.birth_date, today())
    )
    facts = [born, label(SEXES, patient.sex), f"{gettext('PINFL')}: {patient.pinfl}"]
    return html.Div(
        [
            html.P(gettext("Medical record"), className="text-muted small mb-0"),
            html.H1(patient.full_name, className="h3 mb-1", id="record-name"),
            html.Div(" · ".join(facts), className="mb-1", id="record-facts"),
            html.Div(allergy_badges(allergies), id="record-allergies"),
        ],
        className="mb-3",
        id="record-header",
    )


def entry_section(who: PortalUser, choices: Choices) -> list[Any]:
    """The forms of the user's role, in tabs, under the choice of the open visit they are made in."""
    forms = [form for form in FORMS if who.can(form.permission)]
    if not forms:
        return []
    now = local_now()
    builders: dict[str, Callable[[bool], Any]] = {
        INDICATORS.key: lambda focus: indicators_form(now, focus),
        DIAGNOSIS.key: lambda focus: diagnosis_form(now, focus),
        LAB.key: lambda focus: lab_form(now, focus, choices.lab),
        INSTRUMENTAL.key: lambda focus: instrumental_form(now, focus, choices.instrumental),
        TREATMENT.key: lambda focus: treatment_form(now, focus),
        ALLERGY.key: lambda focus: allergy_form(now, focus),
    }
    tabs = [
        dbc.Tab(builders[form.key](index == 0), label=gettext(form.title), tab_id=f"record-tab-{form.key}")
        for index, form in enumerate(forms)
    ]
    first = choices.encounters[0]["value"] if choices.encounters else None
    return [
        dbc.Card(
            dbc.CardBody(
                [
                    html.H2(gettext("New entry"), className="h5"),
                    dbc.Label(gettext("Visit"), html_for="record-encounter", className="small mb-0"),
                    dbc.Select(
                        id="record-encounter",
                        options=choices.encounters,
                        value=first,
                        placeholder=gettext("No open visit"),
                        size="sm",
                    ),
                    dbc.Alert(
                        gettext(
                            "Open a visit first: visits and hospital stays are opened on the polyclinic and hospital "
                            "pages."
                        ),
                        color="info",
                        id="record-visit-note",
                        className=HIDDEN if choices.encounters else "mt-2 mb-0 small",
                    ),
                    dbc.Tabs(tabs, id="record-forms", active_tab=f"record-tab-{forms[0].key}", className="mt-3"),
                ]
            ),
            className="mb-3",
        )
    ]


def absent_choices(who: PortalUser) -> html.Div:
    """Hidden stand-ins for the choices of forms the user does not have: the refresh writes every choice, and the
    browser runs a callback only when all of its outputs are on the page."""
    absent: list[Any] = []
    if not any(who.can(form.permission) for form in FORMS):
        absent += [dbc.Select(id="record-encounter", options=[]), html.Div(id="record-visit-note")]
    if not who.can(Permission.RECORD_RESULTS):
        absent += [dbc.Select(id="record-lab-referral", options=[]), dbc.Select(id="record-ins-referral", options=[])]
    return html.Div(absent, className=HIDDEN, id="record-absent-choices")


def history_modal() -> dbc.Modal:
    """Where the versions of an entry are shown."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(gettext("History of the entry"))),
            dbc.ModalBody(id="record-history-body"),
        ],
        id="record-history-modal",
        size="xl",
        is_open=False,
    )


def fix_modal() -> dbc.Modal:
    """The correction form: its fields and buttons are filled when an entry's "Correct" is pressed."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id="record-fix-title")),
            dbc.ModalBody(
                [
                    html.P(
                        gettext(
                            "Change what was wrong and say why. Nothing is overwritten: the earlier version stays in "
                            "the entry's history. Withdraw an entry that was made in error."
                        ),
                        className="small text-muted",
                    ),
                    html.Div(id="record-fix-fields"),
                    dbc.Label(gettext("Reason"), html_for="record-fix-reason", className="small mb-0"),
                    dbc.Textarea(id="record-fix-reason", maxLength=REASON_LENGTH, rows=2, size="sm"),
                    html.Div(id="record-fix-result", className="mt-2"),
                ]
            ),
            dbc.ModalFooter(html.Div(id="record-fix-actions", className="d-flex gap-2")),
        ],
        id="record-fix-modal",
        size="lg",
        is_open=False,
    )


def history_table(versions: Sequence[ClinicalRecord], authors: dict[int, str]) -> Any:
    """Every version of an entry, oldest first: its status, its text, when and by whom, and why it was retired."""
    rows = []
    for number, version in enumerate(versions, start=1):
        title, detail = entry_text(version)
        retired = version.status != RecordStatus.ACTIVE
        rows.append(
            html.Tr(
                [
                    html.Td(str(number)),
                    html.Td(label(STATUSES, version.status)),
                    html.Td(
                        [html.Div(title, className="fw-semibold"), html.Div(detail, className="small")],
                        className="text-decoration-line-through text-muted" if retired else None,
                    ),
                    html.Td(local_text(version.created_at).replace("T", " ")),
                    html.Td(authors.get(version.created_by, "")),
                    html.Td(version.status_reason or ""),
                ],
                id=f"record-history-version-{version.id}",
            )
        )
    headers = [N_("Version"), N_("Status"), N_("Entry"), N_("Entered"), N_("By"), N_("Reason")]
    return table(headers, rows, "record-history-table")

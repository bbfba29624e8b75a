"""The pieces of the doctor's prescription form: the patient's header, the medicine rows, the category choice, the
result of the checks with its acknowledgements, and the reading of what the browser posts back for them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.labels import prescription_category_label, prescription_state_label
from components.posted import record_id
from components.tables import table
from ehealth.emr.icd10_search import describe
from ehealth.emr.models import Allergy, EncounterKind, Severity
from ehealth.errors import ValidationError
from ehealth.i18n import N_, current_language, gettext
from ehealth.identifiers import TASHKENT
from ehealth.polyclinic.queue import age_on
from ehealth.prescription.lifecycle import LIVE_STATES
from ehealth.prescription.models import PrescriptionCategory, PrescriptionState
from ehealth.prescription.prescribing import (
    Acknowledgement,
    ItemInput,
    Review,
    max_quantity,
    need_units,
)
from ehealth.prescription.registers import CorrectedItem, PrescribingContext, PrescriptionRow
from ehealth.prescription.rules import RULES, PrescriptionRules
from ehealth.reference.models import Drug, DrugCategory

# A prescription holds at most RULES.max_items medicines: the form has that many row slots, shown as they are
# added. Each slot's components have plain ids (rx-item-<field>-<slot>) so that every callback output is a plain id.
SLOTS: tuple[int, ...] = tuple(range(1, RULES.max_items + 1))
ROW, DRUG, BRAND, DOSE, DOSE_UNIT = "row", "drug", "brand", "dose", "dose-unit"
INTAKES, DAYS, ROUTE, QUANTITY, UNIT = "intakes", "days", "route", "quantity", "unit"
MAXIMUM, REMOVE = "max", "remove"
AUTO = "auto"  # the quantity last filled in by the page: a different one was typed by the doctor
# What a slot posts (the component's property holding it).
ITEM_FIELDS: tuple[tuple[str, str], ...] = (
    (DRUG, "value"),
    (BRAND, "value"),
    (DOSE, "value"),
    (INTAKES, "value"),
    (DAYS, "value"),
    (ROUTE, "value"),
    (QUANTITY, "value"),
)
# A warning's acknowledgement ({"type": ..., "index": "<rule>|<line>"}): read only, never a callback output.
ACK = "rx-ack"
ACK_REASON = "rx-ack-reason"
NUMBER_LENGTH = 20
ROUTE_LENGTH = 40
RULE_LENGTH = 40
ACK_REASON_LENGTH = 500
MAX_ACKS = 50
DEBOUNCE_MS = 400  # the quantity is computed again when the doctor stops typing, not at every key
DAY = "%d.%m.%Y"
CHRONIC = PrescriptionCategory.CHRONIC.value

SEXES: dict[str, str] = {"male": N_("Male"), "female": N_("Female")}
SEVERITIES: dict[str, str] = {
    Severity.MILD: N_("mild"),
    Severity.MODERATE: N_("moderate"),
    Severity.SEVERE: N_("severe"),
}
ENCOUNTER_KINDS: dict[str, str] = {
    EncounterKind.OUTPATIENT: N_("Outpatient visit"),
    EncounterKind.INPATIENT: N_("Inpatient stay"),
}
STATE_COLORS: dict[str, str] = {
    PrescriptionState.ACTIVE: "primary",
    PrescriptionState.PARTIALLY_DISPENSED: "info",
    PrescriptionState.DISPENSED: "success",
    PrescriptionState.CANCELLED: "secondary",
    PrescriptionState.EXPIRED: "dark",
}
# One line under each category: how long it is valid and what is special about it.
CATEGORY_HINTS: dict[str, str] = {
    PrescriptionCategory.REGULAR: N_("valid {days} days"),
    PrescriptionCategory.CHRONIC: N_("valid {days} days, may be repeated up to {repeats} times"),
    PrescriptionCategory.REIMBURSED: N_("valid {days} days, only for diagnoses of the reimbursement programme"),
    PrescriptionCategory.CONTROLLED: N_("valid {days} days, one controlled medicine, at most {course} days"),
}
NOT_A_NUMBER = N_("Line {line}: {name} must be a number.")
NOT_WHOLE = N_("Line {line}: {name} must be a whole number.")


def _label(labels: dict[str, str], code: str) -> str:
    return gettext(labels[code]) if code in labels else code


def local(moment: datetime, form: str = "%d.%m.%Y %H:%M") -> str:
    """A stored time as the clock in Tashkent shows it."""
    return moment.astimezone(TASHKENT).strftime(form)


def dropdown_labels(search_hint: str) -> dcc.Dropdown.Labels:
    """The drop-down's own words in the user's language (Dash shows English ones otherwise)."""
    return {"search": gettext(search_hint), "no_options_found": gettext("Nothing found.")}


def state_badge(state: str) -> dbc.Badge:
    """The prescription's state as a coloured badge."""
    return dbc.Badge(prescription_state_label(state), color=STATE_COLORS.get(state, "secondary"))


def diagnosis_text(code: str) -> str:
    """ "I10 Essential (primary) hypertension" in the reader's language."""
    return f"{code} {describe(code, current_language())}".strip()


# --- the header -----------------------------------------------------------------------------------------------------


def _allergy_badges(allergies: Sequence[Allergy]) -> list[Any]:
    if not allergies:
        return [html.Span(gettext("No allergies recorded."), className="text-muted small")]
    badges: list[Any] = [html.Span(gettext("Allergies:"), className="fw-semibold me-1")]
    for allergy in allergies:
        words = f"{allergy.substance} ({_label(SEVERITIES, allergy.severity)})"
        badges.append(dbc.Badge(words, color="danger", className="me-1", title=allergy.reaction or ""))
    return badges


def live_table(rows: Sequence[PrescriptionRow]) -> Any:
    """The patient's prescriptions that can still be dispensed (any organization's)."""
    cells = [
        (
            html.Strong(row.number),
            html.Div([html.Div(item) for item in row.items]),
            row.valid_until.strftime(DAY),
            state_badge(row.state),
        )
        for row in rows
        if row.state in LIVE_STATES
    ]
    headers = [N_("Number"), N_("Medicines"), N_("Valid until"), N_("State")]
    return table(headers, cells, "prescribe-live", empty=N_("The patient has no prescriptions in force."))


def header(context: PrescribingContext, live: Sequence[PrescriptionRow], day: date) -> html.Div:
    """Who the prescription is for: name, age, sex, PINFL, the visit or stay, allergies and medicines in force."""
    patient, encounter = context.patient, context.encounter
    facts = [
        gettext("Born {date}, {age} years", date=patient.birth_date.strftime(DAY), age=age_on(patient.birth_date, day)),
        _label(SEXES, patient.sex),
        f"{gettext('PINFL')}: {patient.pinfl}",
    ]
    where = gettext(
        "{kind}, started {time}", kind=_label(ENCOUNTER_KINDS, encounter.kind), time=local(encounter.started_at)
    )
    back = (
        dcc.Link(gettext("Back to the visit"), href=f"/visit/{encounter.id}", id="prescribe-back", className="me-3")
        if encounter.kind == EncounterKind.OUTPATIENT
        else None
    )
    return html.Div(
        [
            html.P(gettext("Write a prescription"), className="text-muted small mb-0"),
            html.H1(patient.full_name, className="h3 mb-1", id="prescribe-name"),
            html.Div(" · ".join(facts), className="mb-1", id="prescribe-facts"),
            html.Div(
                [
                    html.Span(where, className="me-3", id="prescribe-encounter"),
                    back,
                    dcc.Link(gettext("Open the full record"), href=f"/patient/{patient.id}", id="prescribe-record"),
                ],
                className="small mb-1",
            ),
            html.Div(_allergy_badges(context.allergies), className="mb-2", id="prescribe-allergies"),
            html.H2(gettext("Prescriptions in force"), className="h6"),
            live_table(live),
        ],
        className="mb-3",
        id="prescribe-header",
    )


# --- the form pieces --------------------------------------------------------------------------------------------------


def drug_label(drug: Drug) -> str:
    """ "INN — brand, form, strength", marked when e-prescription-only or controlled."""
    parts = ", ".join(part for part in (drug.brand, drug.form, drug.strength) if part)
    label = f"{drug.inn} — {parts}"
    if drug.category == DrugCategory.CONTROLLED:
        label += f" · {gettext('controlled')}"
    if drug.eprescription_only:
        label += f" · {gettext('e-prescription only')}"
    return label


def drug_option(drug: Drug, typed: str | None = None) -> dict[str, str]:
    """A medicine as a drop-down option; `typed` lets it through the drop-down's own filter (the search found it)."""
    option = {"label": drug_label(drug), "value": str(drug.id)}
    if typed:
        option["search"] = f"{typed} {option['label']}"
    return option


def category_options(rules: PrescriptionRules = RULES) -> list[dict[str, str]]:
    """The four categories, each with its one-line hint."""
    options = []
    for category in PrescriptionCategory:
        hint = gettext(
            CATEGORY_HINTS[category],
            days=rules.validity_days[category],
            repeats=rules.max_repeats,
            course=rules.max_course_days[category],
        )
        options.append({"label": f"{prescription_category_label(category)} — {hint}", "value": category.value})
    return options


def quantity_hint(drug: Drug, dose: float | None, intakes: int | None, days: int | None) -> tuple[int | None, str]:
    """(the units the course takes, "max N unit") for the regimen, or (None, "") while it is incomplete."""
    if (
        dose is None
        or not math.isfinite(dose)
        or not 0 < dose <= RULES.max_dose_units
        or intakes is None
        or not 1 <= intakes <= RULES.max_intakes_per_day
        or days is None
        or not 1 <= days <= max(RULES.max_course_days.values())
    ):
        return None, ""
    need = need_units(drug, dose, intakes, days)
    return need, gettext("max {max} {unit}", max=max_quantity(drug, need, None), unit=drug.unit)


def slot_id(field: str, slot: int) -> str:
    """The id of a slot's component: rx-item-dose-2."""
    return f"rx-item-{field}-{slot}"


def _field(label: str, control: Any, width: int) -> dbc.Col:
    return dbc.Col([dbc.Label(gettext(label), className="small mb-0"), control], md=width)


def item_row(slot: int, prefill: CorrectedItem | None = None, *, shown: bool = False) -> html.Div:
    """One medicine slot of the prescription: the medicine searched in the catalogue, its regimen and quantity."""
    drug = prefill.drug if prefill is not None else None
    need, hint = (
        quantity_hint(drug, prefill.dose, prefill.intakes_per_day, prefill.duration_days)
        if prefill is not None and drug is not None
        else (None, "")
    )
    routes = [{"label": route, "value": route} for route in RULES.routes]
    dose_unit = (drug.dose_unit or drug.unit) if drug is not None else ""
    medicine = dbc.Row(
        [
            _field(
                N_("Medicine"),
                dcc.Dropdown(
                    id=slot_id(DRUG, slot),
                    options=[drug_option(drug)] if drug is not None else [],
                    value=str(drug.id) if drug is not None else None,
                    placeholder=gettext("Type 2 letters of the INN or the brand"),
                    labels=dropdown_labels(N_("Type 2 letters of the INN or the brand")),
                ),
                8,
            ),
            dbc.Col(
                dbc.Checkbox(
                    id=slot_id(BRAND, slot),
                    label=gettext("Prescribe by brand"),
                    value=bool(prefill and prefill.by_brand),
                ),
                md=3,
                className="d-flex align-items-end",
            ),
            dbc.Col(
                dbc.Button(gettext("Remove"), id=slot_id(REMOVE, slot), color="danger", outline=True, size="sm"),
                md=1,
                className="d-flex align-items-end justify-content-end",
            ),
        ],
        className="g-2 mb-2",
    )

    def number(field: str, value: object, mode: str = "numeric") -> dbc.Input:
        return dbc.Input(
            id=slot_id(field, slot),
            value=value,
            inputMode=mode,
            maxLength=NUMBER_LENGTH,
            autoComplete="off",
            debounce=DEBOUNCE_MS,
            size="sm",
        )

    regimen = dbc.Row(
        [
            _field(
                N_("Dose"),
                dbc.InputGroup(
                    [
                        number(DOSE, f"{prefill.dose:g}" if prefill else None, "decimal"),
                        dbc.InputGroupText(dose_unit, id=slot_id(DOSE_UNIT, slot)),
                    ],
                    size="sm",
                ),
                2,
            ),
            _field(N_("Times a day"), number(INTAKES, prefill.intakes_per_day if prefill else None), 2),
            _field(N_("Days"), number(DAYS, prefill.duration_days if prefill else None), 2),
            _field(
                N_("Route"),
                dbc.Select(
                    id=slot_id(ROUTE, slot),
                    options=routes,
                    value=prefill.route if prefill else None,
                    placeholder=gettext("Choose"),
                    size="sm",
                ),
                3,
            ),
            _field(
                N_("Quantity"),
                html.Div(
                    [
                        dbc.InputGroup(
                            [
                                number(QUANTITY, prefill.quantity if prefill else None),
                                dbc.InputGroupText(drug.unit if drug else "", id=slot_id(UNIT, slot)),
                            ],
                            size="sm",
                        ),
                        dbc.FormText(hint, id=slot_id(MAXIMUM, slot)),
                    ]
                ),
                3,
            ),
        ],
        className="g-2",
    )
    # A prefilled quantity was the doctor's: the regimen changing does not overwrite it.
    auto = dcc.Store(id=slot_id(AUTO, slot), data=None if prefill is not None else need)
    return html.Div(
        [medicine, regimen, auto],
        id=slot_id(ROW, slot),
        className=row_class(shown),
    )


def row_class(shown: bool) -> str:
    """A slot's class: a bordered row, hidden until added."""
    return "border rounded p-2 mb-2 bg-white" + ("" if shown else " d-none")


def _planned_table(found: Review) -> Any:
    rows = [
        (
            str(planned.line),
            f"{planned.drug.inn} {planned.drug.strength}" + (f" ({planned.drug.brand})" if planned.by_brand else ""),
            gettext(
                "{dose} {unit} × {times} a day, {days} days",
                dose=f"{planned.dose:g}",
                unit=planned.drug.dose_unit or planned.drug.unit,
                times=planned.intakes_per_day,
                days=planned.duration_days,
            ),
            planned.route,
            f"{planned.quantity} {planned.drug.unit}",
        )
        for planned in found.lines
    ]
    headers = [N_("Line"), N_("Medicine"), N_("Regimen"), N_("Route"), N_("Quantity")]
    return table(headers, rows, "prescribe-planned")


def ack_key(rule: str, line: int) -> str:
    """The index of a warning's acknowledgement components."""
    return f"{rule}|{line}"


def review_panel(found: Review) -> html.Div:
    """What the checks found: blocking problems, warnings to acknowledge with a reason, the lines and validity."""
    parts: list[Any] = []
    if found.problems:
        parts.append(
            dbc.Alert(
                [
                    html.H2(gettext("The prescription cannot be issued yet:"), className="h6 alert-heading"),
                    html.Ul([html.Li(problem.text()) for problem in found.problems], className="mb-0"),
                ],
                color="danger",
                id="prescribe-problems",
            )
        )
    if found.warnings:
        warnings = [
            html.Div(
                [
                    html.P(warning.text(), className="mb-1"),
                    dbc.Checkbox(
                        id={"type": ACK, "index": ack_key(str(warning.rule), warning.line)},
                        label=gettext("I have considered this"),
                        value=False,
                    ),
                    dbc.Input(
                        id={"type": ACK_REASON, "index": ack_key(str(warning.rule), warning.line)},
                        placeholder=gettext("Why you prescribe it anyway (required)"),
                        maxLength=ACK_REASON_LENGTH,
                        size="sm",
                    ),
                ],
                className="border-start border-warning border-3 ps-2 mb-2",
            )
            for warning in found.warnings
        ]
        parts.append(
            dbc.Alert(
                [html.H2(gettext("Warnings to consider"), className="h6 alert-heading"), *warnings],
                color="warning",
                id="prescribe-warnings",
            )
        )
    if not found.problems and not found.warnings:
        parts.append(
            dbc.Alert(gettext("No problems found. Confirm the prescription below."), color="success", id="prescribe-ok")
        )
    if found.lines:
        parts.append(_planned_table(found))
    if found.valid_until is not None:
        until = gettext("Valid until {date}.", date=found.valid_until.strftime(DAY))
        parts.append(html.P(until, className="fw-semibold", id="prescribe-valid-until"))
    return html.Div(parts, id="prescribe-review-result")


# --- what the browser posted --------------------------------------------------------------------------------------


def _posted(kinds: Sequence[str]) -> dict[str, list[tuple[object, object]]]:
    """(index, value) of the pattern-matching components of `kinds` the browser posted, in page order."""
    found: dict[str, list[tuple[object, object]]] = {kind: [] for kind in kinds}
    for group in dash.ctx.states_list:
        for item in group if isinstance(group, list) else [group]:
            component = item.get("id") if isinstance(item, dict) else None
            if isinstance(component, dict) and component.get("type") in found:
                found[str(component["type"])].append((component.get("index"), item.get("value")))
    return found


def _posted_plain() -> dict[str, object]:
    """The value of each plain-id component the browser posted, by "id.property"."""
    values: dict[str, object] = {}
    for group in dash.ctx.states_list:
        for item in group if isinstance(group, list) else [group]:
            if isinstance(item, dict) and isinstance(item.get("id"), str) and isinstance(item.get("property"), str):
                values.setdefault(f"{item['id']}.{item['property']}", item.get("value"))
    return values


def shown_slots(value: object) -> list[int]:
    """The slots on show, in the order they were added (anything else the browser sends is dropped)."""
    slots: list[int] = []
    for slot in value if isinstance(value, list) else []:
        if isinstance(slot, int) and not isinstance(slot, bool) and slot in SLOTS and slot not in slots:
            slots.append(slot)
    return slots


def decimal(value: object, line: int, field: str) -> float | None:
    """A number as typed ("0,5" or "0.5"); None when empty."""
    if value is None or value == "":
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
    raise ValidationError(NOT_A_NUMBER, line=line, name=gettext(field))


def whole(value: object, line: int, field: str) -> int | None:
    """A whole number as typed; None when empty."""
    number = decimal(value, line, field)
    if number is None:
        return None
    if not math.isfinite(number) or not number.is_integer():
        raise ValidationError(NOT_WHOLE, line=line, name=gettext(field))
    return int(number)


def posted_items(slots: object) -> tuple[ItemInput, ...]:
    """The medicines of the slots on show, in order; a number typed wrong is refused naming its line."""
    posted = _posted_plain()

    def value(field: str, slot: int) -> object:
        prop = dict(ITEM_FIELDS)[field]
        return posted.get(f"{slot_id(field, slot)}.{prop}")

    items = []
    for line, slot in enumerate(shown_slots(slots), start=1):
        route = value(ROUTE, slot)
        items.append(
            ItemInput(
                drug_id=record_id(value(DRUG, slot)),
                dose=decimal(value(DOSE, slot), line, N_("Dose")),
                intakes_per_day=whole(value(INTAKES, slot), line, N_("Times a day")),
                duration_days=whole(value(DAYS, slot), line, N_("Days")),
                route=(route.strip()[:ROUTE_LENGTH] or None) if isinstance(route, str) else None,
                quantity=whole(value(QUANTITY, slot), line, N_("Quantity")),
                by_brand=value(BRAND, slot) is True,
            )
        )
    return tuple(items)


def posted_acknowledgements() -> tuple[Acknowledgement, ...]:
    """The warnings the doctor ticked as considered, each with the reason typed beside it."""
    posted = _posted((ACK, ACK_REASON))
    reasons = {index: value for index, value in posted[ACK_REASON] if isinstance(index, str)}
    acknowledged: list[Acknowledgement] = []
    for index, ticked in posted[ACK][:MAX_ACKS]:
        if ticked is not True or not isinstance(index, str):
            continue
        rule, _, line = index.partition("|")
        reason = reasons.get(index)
        if not rule or len(rule) > RULE_LENGTH or not line.isdigit() or len(line) > 3 or not isinstance(reason, str):
            continue
        tidy = " ".join(reason.split())[:ACK_REASON_LENGTH]
        if tidy and tidy.isprintable():
            acknowledged.append(Acknowledgement(rule, int(line), tidy))
    return tuple(acknowledged)


def is_chronic(category: object) -> bool:
    """True when the chosen category allows repeats."""
    return category == CHRONIC

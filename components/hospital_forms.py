"""What the hospital page shows: the occupancy, the ward board, and the admission, bed, transfer and discharge forms,
with the labels of the hospital's codes and the reading of the times the forms post."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.tables import table
from db import utcnow
from ehealth.errors import DomainError, ValidationError
from ehealth.hospital.board import BoardBed, DepartmentOccupancy
from ehealth.hospital.models import AdmissionType, DischargeOutcome
from ehealth.hospital.stays import SUMMARY_LENGTH
from ehealth.i18n import N_, gettext
from ehealth.identifiers import PINFL_LENGTH, TASHKENT

RECORD_PATH = "/patient/{id}"
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> shows and posts
PINFL_TYPED_LENGTH = 40  # 14 digits, with the spaces people type between groups
# Select values for "none" / "all" (an empty value would show the select's hidden placeholder instead of the label).
NO_REFERRAL = "none"
EVERY_DEPARTMENT = "all"
# Drawn inside the board for a user who may admit / move (so present exactly when those forms are): each redrawing
# of the board puts a new one on the page, which fires the forms' callbacks that list the patients and free beds.
# A callback may only listen to components that are on the page whenever its own are (Dash refuses a mix).
BOARD_FOR_DOCTOR = "hospital-board-for-doctor"
BOARD_FOR_NURSE = "hospital-board-for-nurse"

ADMISSION_TYPES: dict[str, str] = {
    AdmissionType.EMERGENCY: N_("Emergency"),
    AdmissionType.PLANNED: N_("Planned"),
    AdmissionType.TRANSFER: N_("Transfer from another hospital"),
}
OUTCOMES: dict[str, str] = {
    DischargeOutcome.RECOVERED: N_("Recovered"),
    DischargeOutcome.IMPROVED: N_("Improved"),
    DischargeOutcome.UNCHANGED: N_("Unchanged"),
    DischargeOutcome.WORSENED: N_("Worsened"),
    DischargeOutcome.DIED: N_("Died"),
    DischargeOutcome.TRANSFERRED: N_("Transferred to another hospital"),
}

# Each form's fields as the services name them → the label the user sees (an error names its field).
ADMIT_FIELDS: dict[str, str] = {
    "pinfl": N_("PINFL"),
    "patient_id": N_("Patient"),
    "referral_id": N_("Referral"),
    "admission_type": N_("Admission type"),
    "department_id": N_("Department"),
    "bed_id": N_("Bed"),
    "icd10_code": N_("Admission diagnosis (ICD-10)"),
    "admitted_at": N_("Admission time"),
}
MOVE_FIELDS: dict[str, str] = {
    "admission_id": N_("Patient"),
    "bed_id": N_("Bed"),
    "department_id": N_("Department"),
    "moved_at": N_("Time of the move"),
    "reason": N_("Reason"),
}
TRANSFER_FIELDS: dict[str, str] = MOVE_FIELDS
DISCHARGE_FIELDS: dict[str, str] = {
    "admission_id": N_("Patient"),
    "outcome": N_("Outcome"),
    "transferred_to_id": N_("Hospital transferred to"),
    "final_icd10": N_("Final diagnosis (ICD-10)"),
    "summary": N_("Discharge summary"),
    "discharged_at": N_("Discharge time"),
}


def label(labels: dict[str, str], code: object) -> str:
    """The translated label of a code, or the code itself."""
    message = labels.get(str(code))
    return gettext(message) if message else str(code or "")


# --- times ---------------------------------------------------------------------------------------------------------


def local_now() -> str:
    """Now in Tashkent, as a datetime-local input shows it."""
    return datetime.now(TASHKENT).strftime(LOCAL_MINUTE)


def local_time(moment: datetime) -> str:
    """A stored moment as people read it here (Tashkent)."""
    return moment.astimezone(TASHKENT).strftime("%Y-%m-%d %H:%M")


def typed_moment(value: object, opened: object, field: str) -> datetime:
    """A datetime-local value read as Tashkent time, in UTC; the value the form was opened with means "now".

    A form left open for an hour records the time of saving, not the time the page was loaded.
    """
    if isinstance(value, str) and value and value == opened:
        return utcnow()
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(N_("Enter the date and time."), field=field)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(N_("Enter the date and time."), field=field) from None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=TASHKENT)).astimezone(UTC)


# --- messages ------------------------------------------------------------------------------------------------------


def error_alert(error: DomainError, fields: dict[str, str], component_id: str) -> dbc.Alert:
    """The refusal with the field it concerns named first."""
    name = fields.get(error.field or "")
    lead = [html.Strong(f"{gettext(name)}: ")] if name else []
    return dbc.Alert([*lead, str(error)], color="danger", id=component_id, className="mt-2 mb-0")


def done_alert(message: str, component_id: str) -> dbc.Alert:
    """The confirmation of a saved action."""
    return dbc.Alert(message, color="success", id=component_id, className="mt-2 mb-0")


# --- occupancy and the board ---------------------------------------------------------------------------------------


def occupancy_table(rows: Sequence[DepartmentOccupancy]) -> Any:
    """Beds, occupied, free and the rate of each department, with the hospital's total."""
    headers = [N_("Department"), N_("Beds"), N_("Occupied"), N_("Free"), N_("Occupancy")]
    body: list[html.Tr] = [
        html.Tr(
            [
                html.Td(row.department),
                html.Td(row.beds),
                html.Td(row.occupied),
                html.Td(row.free),
                html.Td(f"{row.rate:.0%}"),
            ],
            id=f"hospital-occupancy-{row.department_id}",
        )
        for row in rows
    ]
    if rows:
        beds, occupied = sum(r.beds for r in rows), sum(r.occupied for r in rows)
        total: list[str | int] = [
            gettext("All departments"),
            beds,
            occupied,
            beds - occupied,
            f"{occupied / beds if beds else 0:.0%}",
        ]
        body.append(html.Tr([html.Th(cell) for cell in total], id="hospital-occupancy-total"))
    return table(headers, body, "hospital-occupancy", empty=N_("This organization has no hospital beds."))


def _bed_row(bed: BoardBed) -> html.Tr:
    if bed.free or bed.patient_id is None:
        cells = [html.Td(bed.bed), html.Td(gettext("Free"), className="text-success"), html.Td(""), html.Td("")]
        return html.Tr(cells, id=f"hospital-bed-{bed.bed_id}", className="text-muted")
    patient = dcc.Link(
        bed.patient_name or str(bed.patient_id),
        href=RECORD_PATH.format(id=bed.patient_id),
        id=f"hospital-bed-patient-{bed.bed_id}",
    )
    since = local_time(bed.admitted_at) if bed.admitted_at else ""
    cells = [html.Td(html.Strong(bed.bed)), html.Td(patient), html.Td(bed.days_in_hospital), html.Td(since)]
    return html.Tr(cells, id=f"hospital-bed-{bed.bed_id}")


def board(beds: Sequence[BoardBed]) -> Any:
    """One card per department, one table per ward, each bed with its patient or free."""
    if not beds:
        return html.P(gettext("No beds to show."), className="text-muted", id="hospital-board")
    headers = [N_("Bed"), N_("Patient"), N_("Days in hospital"), N_("Admitted")]
    cards = []
    for (department_id, department), in_department in groupby(beds, key=lambda b: (b.department_id, b.department)):
        listed = list(in_department)
        taken = sum(1 for b in listed if not b.free)
        wards = []
        for (ward_id, ward), in_ward in groupby(listed, key=lambda b: (b.ward_id, b.ward)):
            rows = [_bed_row(bed) for bed in in_ward]
            wards.append(
                html.Div(
                    [
                        html.H4(gettext("Ward {ward}", ward=ward), className="h6 mt-2"),
                        table(headers, rows, f"hospital-ward-{ward_id}"),
                    ]
                )
            )
        occupied = gettext("{taken} of {beds} beds occupied", taken=taken, beds=len(listed))
        cards.append(
            dbc.Card(
                [
                    dbc.CardHeader([html.Strong(department), html.Span(f" · {occupied}", className="text-muted")]),
                    dbc.CardBody(wards, className="py-2"),
                ],
                id=f"hospital-department-{department_id}",
                className="mb-3",
            )
        )
    return html.Div(cards, id="hospital-board")


# --- options -------------------------------------------------------------------------------------------------------


def department_options(rows: Sequence[DepartmentOccupancy]) -> list[dict[str, str]]:
    """The departments with beds, for a select."""
    return [{"label": row.department, "value": str(row.department_id)} for row in rows]


def bed_options(beds: Sequence[BoardBed]) -> list[dict[str, str]]:
    """The free beds among `beds` ("ward 101 · bed 3"), for a select."""
    return [
        {"label": gettext("Ward {ward} · bed {bed}", ward=bed.ward, bed=bed.bed), "value": str(bed.bed_id)}
        for bed in beds
        if bed.free
    ]


def stay_options(beds: Sequence[BoardBed]) -> list[dict[str, str]]:
    """The patients in beds now, by name with where they lie, for a searchable drop-down."""
    taken = sorted((b for b in beds if not b.free), key=lambda b: (b.patient_name or "", b.bed_id))
    return [
        {
            "label": f"{bed.patient_name} — {bed.department}, "
            + gettext("Ward {ward} · bed {bed}", ward=bed.ward, bed=bed.bed),
            "value": str(bed.admission_id),
        }
        for bed in taken
    ]


def kept(value: object, options: Sequence[dict[str, str]]) -> str | None:
    """`value` if it is still one of `options`, else nothing chosen."""
    return value if isinstance(value, str) and any(o["value"] == value for o in options) else None


def search_options(typed: str, found: Sequence[tuple[str | int, str]]) -> list[dict[str, str]]:
    """Drop-down options for what the server found; each carries the typed text so the browser's own filter keeps it."""
    return [{"label": name, "value": str(value), "search": f"{typed} {name}"} for value, name in found]


# --- the forms -----------------------------------------------------------------------------------------------------


def _group(component_id: str, text: str, control: Any, width: int = 12) -> dbc.Col:
    return dbc.Col([dbc.Label(gettext(text), html_for=component_id, className="small mb-0"), control], md=width)


def _time(prefix: str, text: str, now: str) -> list[Any]:
    return [
        _group(f"{prefix}-time", text, dbc.Input(id=f"{prefix}-time", type="datetime-local", value=now, size="sm")),
        dcc.Store(id=f"{prefix}-time-opened", data=now),
    ]


def _icd10(component_id: str) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=component_id,
        options=[],
        placeholder=gettext("Type a code (I10) or words of the diagnosis"),
        searchable=True,
        clearable=True,
        labels={"search": gettext("Search"), "no_options_found": gettext("Nothing found.")},
    )


def _stays(component_id: str, options: list[dict[str, str]]) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=component_id,
        options=options,
        placeholder=gettext("Type the patient's name"),
        searchable=True,
        clearable=True,
        labels={"search": gettext("Search"), "no_options_found": gettext("Nothing found.")},
    )


def _card(form: str, title: str, rows: list[Any], button: str) -> dbc.Card:
    prefix = f"hospital-{form}"
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext(title), className="h5"),
                *rows,
                dbc.Button(gettext(button), id=f"{prefix}-submit", color="primary", size="sm", className="mt-2"),
                html.Div(id=f"{prefix}-result"),
            ]
        ),
        id=f"{prefix}-card",
        className="mb-3",
    )


def admit_form(departments: list[dict[str, str]], now: str) -> dbc.Card:
    """Find the patient by PINFL, then the referral, how they came, the bed, the diagnosis and the time."""
    find = dbc.Form(
        dbc.InputGroup(
            [
                dbc.Input(
                    id="hospital-admit-pinfl",
                    maxLength=PINFL_TYPED_LENGTH,
                    autoFocus=True,
                    autoComplete="off",
                    inputMode="numeric",
                    placeholder=gettext("PINFL ({n} digits)", n=PINFL_LENGTH),
                ),
                dbc.Button(gettext("Find"), id="hospital-admit-find", type="submit", color="secondary"),
            ],
            size="sm",
        ),
        id="hospital-admit-find-form",
        prevent_default_on_submit=True,
    )
    kinds = [{"label": label(ADMISSION_TYPES, kind), "value": str(kind)} for kind in AdmissionType]
    rows = [
        dbc.Row(_group("hospital-admit-pinfl", N_("PINFL"), find), className="g-2"),
        html.Div(id="hospital-admit-patient", className="small my-2"),
        dbc.Row(
            _group("hospital-admit-referral", N_("Referral"), _referrals([])),
            className="g-2",
        ),
        dbc.Row(
            _group(
                "hospital-admit-type",
                N_("Admission type"),
                dbc.RadioItems(id="hospital-admit-type", options=kinds, value=None, inline=True),
            ),
            className="g-2",
        ),
        dbc.Row(
            [
                _group(
                    "hospital-admit-department",
                    N_("Department"),
                    dbc.Select(
                        id="hospital-admit-department",
                        options=departments,
                        placeholder=gettext("Choose the department"),
                        size="sm",
                    ),
                    6,
                ),
                _group(
                    "hospital-admit-bed",
                    N_("Bed"),
                    dbc.Select(
                        id="hospital-admit-bed", options=[], placeholder=gettext("Choose a free bed"), size="sm"
                    ),
                    6,
                ),
            ],
            className="g-2",
        ),
        dbc.Row(
            _group("hospital-admit-icd10", N_("Admission diagnosis (ICD-10)"), _icd10("hospital-admit-icd10")),
            className="g-2",
        ),
        dbc.Row(_time("hospital-admit", N_("Admission time"), now), className="g-2"),
    ]
    return _card("admit", N_("Admit a patient"), rows, N_("Admit"))


def _referrals(options: list[dict[str, str]]) -> dbc.Select:
    return dbc.Select(id="hospital-admit-referral", options=referral_options(options), value=NO_REFERRAL, size="sm")


def referral_options(found: list[dict[str, str]]) -> list[dict[str, str]]:
    """None, then the patient's issued referrals to this hospital."""
    return [{"label": gettext("Without a referral"), "value": NO_REFERRAL}, *found]


def move_form(stays: list[dict[str, str]], now: str) -> dbc.Card:
    """The nurse moves a patient to another free bed of the same department."""
    rows = [
        dbc.Row(_group("hospital-move-stay", N_("Patient"), _stays("hospital-move-stay", stays)), className="g-2"),
        dbc.Row(
            _group(
                "hospital-move-bed",
                N_("New bed (same department)"),
                dbc.Select(id="hospital-move-bed", options=[], placeholder=gettext("Choose a free bed"), size="sm"),
            ),
            className="g-2",
        ),
        dbc.Row(_time("hospital-move", N_("Time of the move"), now), className="g-2"),
    ]
    return _card("move", N_("Move to another bed"), rows, N_("Move"))


def transfer_form(stays: list[dict[str, str]], departments: list[dict[str, str]], now: str) -> dbc.Card:
    """The doctor transfers a patient to a bed of another department."""
    rows = [
        dbc.Row(
            _group("hospital-transfer-stay", N_("Patient"), _stays("hospital-transfer-stay", stays)), className="g-2"
        ),
        dbc.Row(
            [
                _group(
                    "hospital-transfer-department",
                    N_("Department"),
                    dbc.Select(
                        id="hospital-transfer-department",
                        options=departments,
                        placeholder=gettext("Choose the department"),
                        size="sm",
                    ),
                    6,
                ),
                _group(
                    "hospital-transfer-bed",
                    N_("Bed"),
                    dbc.Select(
                        id="hospital-transfer-bed", options=[], placeholder=gettext("Choose a free bed"), size="sm"
                    ),
                    6,
                ),
            ],
            className="g-2",
        ),
        dbc.Row(_time("hospital-transfer", N_("Time of the move"), now), className="g-2"),
    ]
    return _card("transfer", N_("Transfer to another department"), rows, N_("Transfer the patient"))


def discharge_form(stays: list[dict[str, str]], now: str) -> dbc.Card:
    """The doctor discharges: outcome, final diagnosis, the summary, the time (and the hospital for a transfer)."""
    outcomes = [{"label": label(OUTCOMES, outcome), "value": str(outcome)} for outcome in DischargeOutcome]
    target = dcc.Dropdown(
        id="hospital-discharge-target",
        options=[],
        placeholder=gettext("Type the name of the hospital"),
        searchable=True,
        clearable=True,
        disabled=True,
        labels={"search": gettext("Search"), "no_options_found": gettext("Nothing found.")},
    )
    rows = [
        dbc.Row(
            _group("hospital-discharge-stay", N_("Patient"), _stays("hospital-discharge-stay", stays)), className="g-2"
        ),
        dbc.Row(
            [
                _group(
                    "hospital-discharge-outcome",
                    N_("Outcome"),
                    dbc.Select(
                        id="hospital-discharge-outcome",
                        options=outcomes,
                        placeholder=gettext("Choose the outcome"),
                        size="sm",
                    ),
                    6,
                ),
                _group("hospital-discharge-target", N_("Hospital transferred to"), target, 6),
            ],
            className="g-2",
        ),
        dbc.Row(
            _group("hospital-discharge-icd10", N_("Final diagnosis (ICD-10)"), _icd10("hospital-discharge-icd10")),
            className="g-2",
        ),
        dbc.Row(
            _group(
                "hospital-discharge-summary",
                N_("Discharge summary"),
                dbc.Textarea(id="hospital-discharge-summary", maxLength=SUMMARY_LENGTH, rows=4, size="sm"),
            ),
            className="g-2",
        ),
        dbc.Row(_time("hospital-discharge", N_("Discharge time"), now), className="g-2"),
    ]
    return _card("discharge", N_("Discharge"), rows, N_("Discharge"))

"""The pharmacy (Elektron retsept): the pharmacist finds a prescription by its number and the patient's PINFL, hands
medicines over per item (never more than is left, a controlled medicine whole) and keeps the pharmacy's dispensing
log and its register of controlled medicines.

The browser only ever sends what was typed: the number and PINFL of the find form, item and product ids. The
services look the prescription up again by number and PINFL together and re-check every id against it, so a forged
request reaches nothing the two typed values do not open.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy.orm import Session

from auth.callbacks import requires
from auth.document_signing import confirmer
from auth.guard import guarded
from auth.permissions import Permission
from auth.user import PortalUser, user
from components.labels import method_label, prescription_category_label
from components.posted import clicked, pressed, record_id, text, typed_date
from components.prescription_form import state_badge
from components.refusals import refusal
from components.tables import table
from db import request_transaction
from ehealth.calendar import today
from ehealth.errors import DomainError, ValidationError
from ehealth.i18n import N_, gettext
from ehealth.identifiers import TASHKENT
from ehealth.prescription.dispensing import PACK_LENGTH, DispenseLine, Found, ItemView, dispense, find
from ehealth.prescription.models import (
    Dispense,
    PrescriptionCategory,
    PrescriptionState,
)
from ehealth.prescription.pharmacy_log import LIMIT, LogRow, controlled_log, dispensing_log
from ehealth.reference.models import Drug, Organization

dash.register_page(
    __name__,
    path="/pharmacy",
    order=40,
    title=lambda **_: gettext("Pharmacy"),
    nav=N_("Pharmacy"),
    permission=Permission.DISPENSE,
)

NUMBER_LENGTH = 30  # RX-2611-XXXX-XXXX (17), with room for the spaces people type
PINFL_LENGTH = 20  # 14 digits, with room for the spaces people type
BATCH_LENGTH = 40
QUANTITY_LENGTH = 9
DAY = "%d.%m.%Y"
MOMENT = "%d.%m.%Y %H:%M"
QTY, PRODUCT, PACK, BATCH = "pharmacy-qty", "pharmacy-product", "pharmacy-pack", "pharmacy-batch"

# The form's name of each field a refusal may name.
FIELDS: dict[str, str] = {
    "number": N_("Prescription number"),
    "pinfl": N_("PINFL"),
    "since": N_("Period"),
    "until": N_("Period"),
}


def _local(moment: datetime, form: str = MOMENT) -> str:
    return moment.astimezone(TASHKENT).strftime(form)


def _stamp() -> str:
    """A new value for the "dispensed" store: the log re-reads when it changes."""
    return datetime.now(TASHKENT).isoformat()


def _pack(drug: Drug) -> str:
    """The pack of a product as a dispense records it: "20 kapsula"."""
    return f"{drug.pack_size} {drug.unit}"[:PACK_LENGTH]


# --- the prescription found -----------------------------------------------------------------------------------------


def _fact(term: str, value: Any, component_id: str | None = None) -> dbc.Col:
    described = html.Div(value, id=component_id) if component_id else html.Div(value)
    return dbc.Col([html.Div(gettext(term), className="text-muted small"), described], md=3, className="mb-2")


def _facts(found: Found) -> dbc.Row:
    prescription, patient = found.prescription, found.patient
    state = state_badge(found.state)
    return dbc.Row(
        [
            _fact(
                N_("Patient"),
                [
                    html.Strong(patient.full_name),
                    html.Div(gettext("Born {date}", date=patient.birth_date.strftime(DAY)), className="small"),
                ],
                "pharmacy-patient",
            ),
            _fact(
                N_("Prescriber"),
                [found.prescriber, html.Div(found.organization, className="small text-muted")],
                "pharmacy-prescriber",
            ),
            _fact(N_("Diagnosis (ICD-10)"), prescription.icd10_code, "pharmacy-diagnosis"),
            _fact(N_("Category"), prescription_category_label(prescription.category), "pharmacy-category"),
            _fact(N_("Issued"), _local(prescription.issued_at, DAY), "pharmacy-issued"),
            _fact(N_("Valid until"), prescription.valid_until.strftime(DAY), "pharmacy-valid-until"),
            _fact(N_("State"), state, "pharmacy-state"),
            _fact(N_("Confirmed with"), method_label(prescription.confirmation), "pharmacy-confirmation"),
        ]
    )


def _closed(found: Found, contracted: bool) -> dbc.Alert | None:
    """Why nothing can be dispensed on the prescription now, or None when it can."""
    prescription = found.prescription
    number = prescription.number
    if found.state == PrescriptionState.CANCELLED:
        words: list[Any] = [
            gettext("Prescription {number} was cancelled; nothing can be dispensed on it.", number=number)
        ]
        if prescription.cancel_reason:
            words += [" ", gettext("Reason: {reason}", reason=prescription.cancel_reason)]
        return dbc.Alert(words, color="danger", id="pharmacy-cancelled")
    if found.state == PrescriptionState.EXPIRED:
        message = gettext(
            "Prescription {number} expired on {date}; nothing can be dispensed on it.",
            number=number,
            date=prescription.valid_until.strftime(DAY),
        )
        return dbc.Alert(message, color="warning", id="pharmacy-expired")
    if found.state == PrescriptionState.DISPENSED:
        message = gettext("Prescription {number} has been dispensed in full.", number=number)
        return dbc.Alert(message, color="secondary", id="pharmacy-dispensed-in-full")
    if prescription.category == PrescriptionCategory.REIMBURSED and not contracted:
        message = gettext(
            "Prescription {number} is reimbursed: only a pharmacy under contract with the State Health "
            "Insurance Fund may dispense it.",
            number=number,
        )
        return dbc.Alert(message, color="warning", id="pharmacy-not-contracted")
    return None


def _medicine(view: ItemView) -> list[Any]:
    item = view.item
    cell: list[Any] = [html.Strong(item.inn), f" {item.form} {item.strength}"]
    if view.controlled:
        cell += [" ", dbc.Badge(gettext("controlled"), color="danger", className="ms-1")]
    if item.brand:
        cell += [html.Br(), html.Small(item.brand, className="text-muted")]
    return cell


def _prescribed(view: ItemView) -> str:
    item = view.item
    written = f"{item.quantity} {view.unit}".strip()
    return f"{written} × {item.fills}" if item.fills > 1 else written


def _quantity_input(view: ItemView) -> list[Any]:
    index = view.item.id
    if view.controlled:
        return [
            dbc.Input(
                id={"type": QTY, "index": index},
                type="number",
                value=view.remaining,
                readonly=True,
                size="sm",
                style={"width": "6rem"},
            ),
            dbc.FormText(gettext("a controlled medicine is dispensed whole")),
        ]
    return [
        dbc.Input(
            id={"type": QTY, "index": index},
            type="number",
            min=0,  # no max: a browser drops a value above it silently; the service says what is left instead
            step=1,
            inputMode="numeric",
            autoComplete="off",
            size="sm",
            style={"width": "6rem"},
        )
    ]


def _product_input(view: ItemView) -> dbc.Select:
    options = [{"label": f"{drug.brand or drug.inn} — {_pack(drug)}", "value": str(drug.id)} for drug in view.products]
    return dbc.Select(
        id={"type": PRODUCT, "index": view.item.id},
        options=options,
        value=options[0]["value"] if options else None,
        placeholder=gettext("Choose the product"),
        size="sm",
    )


def _item_row(view: ItemView, open_: bool) -> html.Tr:
    item = view.item
    cells = [
        html.Td(_medicine(view)),
        html.Td(_prescribed(view)),
        html.Td(f"{item.dispensed_quantity} {view.unit}".strip()),
        html.Td(html.Strong(f"{view.remaining} {view.unit}".strip()), id=f"pharmacy-left-{item.id}"),
    ]
    if open_:
        if view.remaining > 0:
            first = view.products[0] if view.products else None
            cells += [
                html.Td(_quantity_input(view)),
                html.Td(_product_input(view)),
                html.Td(
                    dbc.Input(
                        id={"type": PACK, "index": item.id},
                        value=_pack(first) if first is not None else "",
                        maxLength=PACK_LENGTH,
                        size="sm",
                    )
                ),
                html.Td(
                    dbc.Input(
                        id={"type": BATCH, "index": item.id},
                        maxLength=BATCH_LENGTH,
                        autoComplete="off",
                        placeholder=gettext("from the pack"),
                        size="sm",
                    )
                ),
            ]
        else:
            cells += [html.Td(""), html.Td(""), html.Td(""), html.Td("")]
    return html.Tr(cells, id=f"pharmacy-item-{item.id}")


def _view(found: Found, contracted: bool, done: Any = None) -> list[Any]:
    """The prescription found: its facts, why it is closed (if it is), its items with the dispense inputs."""
    closed = _closed(found, contracted)
    open_ = closed is None
    headers = [N_("Medicine"), N_("Prescribed"), N_("Dispensed"), N_("Left")]
    if open_:
        headers += [N_("Quantity to give"), N_("Product given"), N_("Pack"), N_("Batch (series)")]
    rows = [_item_row(view, open_) for view in found.items]
    parts: list[Any] = [
        html.H2(gettext("Prescription {number}", number=found.prescription.number), className="h5"),
        _facts(found),
    ]
    if closed is not None:
        parts.append(closed)
    parts.append(table(headers, rows, "pharmacy-items", empty=N_("The prescription has no medicines.")))
    if open_:
        parts.append(dbc.Button(gettext("Dispense"), id="pharmacy-dispense", color="primary"))
    parts.append(html.Div(done, id="pharmacy-dispense-result", className="mt-3"))
    packs = {str(drug.id): _pack(drug) for view in found.items for drug in view.products}
    parts.append(dcc.Store(id="pharmacy-packs", data=packs))
    return [dbc.Card(dbc.CardBody(parts), className="mb-4", id="pharmacy-card")]


def _contracted(db: Session, who: PortalUser) -> bool:
    """True when the user's pharmacy is under contract with the State Health Insurance Fund."""
    pharmacy = db.get(Organization, who.organization_id)
    return bool(pharmacy is not None and pharmacy.reimbursement_contract)


def _given(number: str, given: list[Dispense], found: Found) -> dbc.Alert:
    """What was handed over, line by line."""
    views = {view.item.id: view for view in found.items}
    lines = []
    for row in given:
        view = views.get(row.item_id)
        medicine = " ".join(part for part in (view.item.inn if view else "", row.brand, row.strength) if part)
        lines.append(
            html.Li(
                gettext(
                    "{medicine}: {quantity} {unit}, pack {pack}, batch {batch}",
                    medicine=medicine,
                    quantity=row.quantity,
                    unit=view.unit if view else "",
                    pack=row.pack,
                    batch=row.batch_number,
                )
            )
        )
    return dbc.Alert(
        [html.Strong(gettext("Dispensed on prescription {number}:", number=number)), html.Ul(lines, className="mb-0")],
        color="success",
        id="pharmacy-given",
    )


# --- the log --------------------------------------------------------------------------------------------------------


def _log_table(rows: list[LogRow], component_id: str, empty: str) -> Any:
    cells = []
    for row in rows:
        medicine: list[Any] = [" ".join(part for part in (row.inn, row.brand, row.strength) if part)]
        if row.controlled:
            medicine += [" ", dbc.Badge(gettext("controlled"), color="danger", className="ms-1")]
        cells.append(
            (
                _local(row.dispensed_at),
                row.number,
                medicine,
                f"{row.quantity} {row.unit}",
                row.pack,
                row.batch_number,
                row.pharmacist,
            )
        )
    headers = [
        N_("Time"),
        N_("Prescription"),
        N_("Medicine"),
        N_("Quantity"),
        N_("Pack"),
        N_("Batch"),
        N_("Pharmacist"),
    ]
    shown = table(headers, cells, component_id, empty=empty, scroll=True)
    if len(rows) < LIMIT:
        return shown
    more = gettext("Only the newest {limit} are shown; choose a shorter period.", limit=LIMIT)
    return [html.P(more, className="text-muted small"), shown]


def _logs(who: PortalUser, since: date, until: date) -> tuple[Any, Any]:
    """(all dispenses, controlled ones) of the user's pharmacy over the days."""
    actor = who.acting()
    with request_transaction() as db:
        everything = dispensing_log(db, actor, since=since, until=until)
        controlled = controlled_log(db, actor, since=since, until=until)
    return (
        _log_table(everything, "pharmacy-log-all-table", N_("Nothing was dispensed in this period.")),
        _log_table(
            controlled, "pharmacy-log-controlled-table", N_("No controlled medicines were dispensed in this period.")
        ),
    )


def _log_section(who: PortalUser) -> list[Any]:
    day = today()
    try:
        everything, controlled = _logs(who, day, day)
        refused = None
    except DomainError as error:
        everything, controlled, refused = None, None, refusal(error, "pharmacy-log-error", FIELDS)
    return [
        html.H2(gettext("Dispensing log"), className="h5"),
        dbc.Row(
            [
                dbc.Col(
                    [
                        dbc.Label(gettext("From"), html_for="pharmacy-log-from", className="small mb-0"),
                        dbc.Input(
                            id="pharmacy-log-from", type="date", value=day.isoformat(), max=day.isoformat(), size="sm"
                        ),
                    ],
                    width="auto",
                ),
                dbc.Col(
                    [
                        dbc.Label(gettext("To"), html_for="pharmacy-log-to", className="small mb-0"),
                        dbc.Input(
                            id="pharmacy-log-to", type="date", value=day.isoformat(), max=day.isoformat(), size="sm"
                        ),
                    ],
                    width="auto",
                ),
            ],
            className="g-2 mb-2",
        ),
        html.Div(refused, id="pharmacy-log-result"),
        dbc.Tabs(
            [
                dbc.Tab(
                    html.Div(everything, id="pharmacy-log-all", className="pt-2"),
                    label=gettext("All dispenses"),
                    tab_id="pharmacy-tab-all",
                ),
                dbc.Tab(
                    html.Div(controlled, id="pharmacy-log-controlled", className="pt-2"),
                    label=gettext("Controlled medicines"),
                    tab_id="pharmacy-tab-controlled",
                ),
            ],
            id="pharmacy-log-tabs",
            active_tab="pharmacy-tab-all",
        ),
    ]


# --- the page -------------------------------------------------------------------------------------------------------


def _find_form() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(gettext("Find a prescription"), className="h5"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                dbc.Label(gettext("Prescription number"), html_for="pharmacy-number"),
                                dbc.Input(
                                    id="pharmacy-number",
                                    maxLength=NUMBER_LENGTH,
                                    autoFocus=True,
                                    autoComplete="off",
                                    placeholder="RX-2611-XXXX-XXXX",
                                ),
                            ],
                            md=5,
                        ),
                        dbc.Col(
                            [
                                dbc.Label(gettext("Patient's PINFL"), html_for="pharmacy-pinfl"),
                                dbc.Input(
                                    id="pharmacy-pinfl",
                                    maxLength=PINFL_LENGTH,
                                    inputMode="numeric",
                                    autoComplete="off",
                                    placeholder="12345678901234",
                                ),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            dbc.Button(gettext("Find"), id="pharmacy-find", color="secondary", className="w-100"),
                            md=3,
                            className="d-flex align-items-end",
                        ),
                    ],
                    className="g-2",
                ),
                dbc.FormText(gettext("Both are needed: the number alone opens nothing.")),
            ]
        ),
        className="mb-3",
    )


@guarded(Permission.DISPENSE)
def layout(**_query: str) -> html.Div:
    """Find a prescription and dispense it; the pharmacy's dispensing log below."""
    who = user()
    assert who is not None  # guarded
    return html.Div(
        [
            html.H1(gettext("Pharmacy"), className="h3"),
            _find_form(),
            html.Div(id="pharmacy-found"),
            dcc.Store(id="pharmacy-presented"),
            dcc.Store(id="pharmacy-dispensed"),
            *_log_section(who),
        ],
        id="pharmacy-page",
    )


# --- callbacks ------------------------------------------------------------------------------------------------------


def _typed(value: object, limit: int, missing: str, field: str) -> str:
    typed = text(value, limit)
    if typed is None:
        raise ValidationError(missing, field=field)
    return typed


@callback(
    Output("pharmacy-found", "children"),
    Output("pharmacy-presented", "data"),
    Input("pharmacy-find", "n_clicks"),
    Input("pharmacy-number", "n_submit"),
    Input("pharmacy-pinfl", "n_submit"),
    State("pharmacy-number", "value"),
    State("pharmacy-pinfl", "value"),
    prevent_initial_call=True,
)
@requires(Permission.DISPENSE)
def find_prescription(
    _clicks: object, _number_submit: object, _pinfl_submit: object, number: object, pinfl: object
) -> tuple[Any, Any]:
    """The prescription with this number issued to the patient with this PINFL (the look-up is audited)."""
    who = user()
    if who is None or not pressed("pharmacy-find", "pharmacy-number", "pharmacy-pinfl"):
        raise PreventUpdate
    try:
        typed_number = _typed(number, NUMBER_LENGTH, N_("Enter the prescription number."), "number")
        typed_pinfl = _typed(pinfl, PINFL_LENGTH, N_("Enter the patient's PINFL."), "pinfl")
    except DomainError as error:
        return refusal(error, "pharmacy-find-error", FIELDS), None
    with request_transaction() as db:
        try:
            found = find(db, typed_number, typed_pinfl, actor=who.acting())
        except DomainError as error:  # caught inside: the failed look-up's audit row is committed
            return refusal(error, "pharmacy-find-error", FIELDS), None
        view = _view(found, _contracted(db, who))
    # What the dispense uses: the two values typed, which the service looks up together again.
    return view, {"number": typed_number, "pinfl": typed_pinfl}


def _presented(value: object) -> tuple[str, str]:
    """The number and PINFL the prescription was found with (as kept in the page)."""
    number = value.get("number") if isinstance(value, dict) else None
    pinfl = value.get("pinfl") if isinstance(value, dict) else None
    if not isinstance(number, str) or not isinstance(pinfl, str):
        raise ValidationError(N_("Find the prescription first."))
    # The service checks both again (format, and that they belong together); only the lengths are bounded here.
    return _typed(number, NUMBER_LENGTH, N_("Find the prescription first."), "number"), _typed(
        pinfl, PINFL_LENGTH, N_("Find the prescription first."), "pinfl"
    )


def _posted(kind: str) -> dict[int, object]:
    """Item id → value the browser posted for the item inputs of `kind`; anything malformed is left out."""
    values: dict[int, object] = {}
    for group in dash.ctx.states_list:
        for item in group if isinstance(group, list) else [group]:
            component = item.get("id") if isinstance(item, dict) else None
            if isinstance(component, dict) and component.get("type") == kind:
                item_id = record_id(component.get("index"))
                if item_id is not None:
                    values[item_id] = item.get("value")
    return values


def _quantity(value: object) -> int:
    """A quantity as typed: 0 when empty; a whole number from 0, or refused."""
    if value is None or value == "":
        return 0
    number: object = value
    if isinstance(value, str) and len(value) <= QUANTITY_LENGTH and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValidationError(N_("Type each quantity as a whole number of units."))
    return number


def _lines() -> list[DispenseLine]:
    """The lines the pharmacist filled in (quantity above 0), from the item inputs posted."""
    quantities, products, packs, batches = (_posted(kind) for kind in (QTY, PRODUCT, PACK, BATCH))
    lines = []
    for item_id, typed in quantities.items():
        quantity = _quantity(typed)
        if quantity == 0:
            continue
        product = record_id(products.get(item_id))
        if product is None:
            raise ValidationError(N_("Choose the product given for each medicine you dispense."))
        pack = text(packs.get(item_id), PACK_LENGTH) or ""
        batch = text(batches.get(item_id), BATCH_LENGTH) or ""
        lines.append(DispenseLine(item_id, quantity, product, pack, batch))
    return lines


@callback(
    Output("pharmacy-found", "children", allow_duplicate=True),
    Output("pharmacy-dispense-result", "children"),
    Output("pharmacy-dispensed", "data"),
    Input("pharmacy-dispense", "n_clicks"),
    State("pharmacy-presented", "data"),
    State({"type": QTY, "index": ALL}, "value"),
    State({"type": PRODUCT, "index": ALL}, "value"),
    State({"type": PACK, "index": ALL}, "value"),
    State({"type": BATCH, "index": ALL}, "value"),
    prevent_initial_call=True,
)
@requires(Permission.DISPENSE)
def dispense_items(
    _clicks: object, presented: object, _quantities: object, _products: object, _packs: object, _batches: object
) -> tuple[Any, Any, Any]:
    """Hand over the lines with a quantity; all or nothing. The card then shows what is left."""
    who = user()
    if who is None or clicked() != "pharmacy-dispense":
        raise PreventUpdate
    actor = who.acting()
    try:
        number, pinfl = _presented(presented)
        lines = _lines()
        with request_transaction() as db:
            given = dispense(db, number, pinfl, lines, actor=actor, confirmer=confirmer())
            found = find(db, number, pinfl, actor=actor)
            view = _view(found, _contracted(db, who), _given(found.prescription.number, given, found))
    except DomainError as error:
        return no_update, refusal(error, "pharmacy-dispense-error", FIELDS), no_update
    return view, no_update, _stamp()


# The pack of the product chosen, ready to be corrected if another pack was given. Done in the browser from the
# packs the card was rendered with (catalogue data, no patient's): no request, nothing to check on the server.
dash.clientside_callback(
    """
    function (product, packs) {
        const pack = packs && typeof product === "string" ? packs[product] : undefined;
        return typeof pack === "string" ? pack : window.dash_clientside.no_update;
    }
    """,
    Output({"type": PACK, "index": MATCH}, "value"),
    Input({"type": PRODUCT, "index": MATCH}, "value"),
    State("pharmacy-packs", "data"),
    prevent_initial_call=True,
)


@callback(
    Output("pharmacy-log-result", "children"),
    Output("pharmacy-log-all", "children"),
    Output("pharmacy-log-controlled", "children"),
    Input("pharmacy-log-from", "value"),
    Input("pharmacy-log-to", "value"),
    Input("pharmacy-dispensed", "data"),
    prevent_initial_call=True,
)
@requires(Permission.DISPENSE)
def show_log(since: object, until: object, _dispensed: object) -> tuple[Any, Any, Any]:
    """The pharmacy's dispenses over the days chosen, and its controlled ones; again after each dispense."""
    who = user()
    if who is None:
        raise PreventUpdate
    try:
        first = typed_date(since, N_("Enter the first day of the period."), "since")
        last = typed_date(until, N_("Enter the last day of the period."), "until")
        everything, controlled = _logs(who, first, last)
    except DomainError as error:
        return refusal(error, "pharmacy-log-error", FIELDS), no_update, no_update
    return None, everything, controlled

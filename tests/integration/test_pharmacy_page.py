"""The pharmacy page over HTTP (Elektron retsept): a pharmacist finds a prescription by number and PINFL together,
dispenses part or all of it (never more than is left, a controlled medicine whole), and reads the pharmacy's
dispensing log and controlled-medicine register. Cancelled prescriptions, reimbursed ones at a pharmacy without the
Fund's contract, forged calls and mismatched number/PINFL pairs change nothing; a doctor is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import dash
import pytest
from dash import Dash
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app
from auth.callbacks import UPDATE_PATH
from auth.user import PortalUser
from db import utcnow
from ehealth.access.models import Cabinet
from ehealth.audit.models import AuditEvent, Outcome
from ehealth.calendar import today
from ehealth.i18n import gettext, language
from ehealth.prescription.dispensing import NOT_FOUND
from ehealth.prescription.lifecycle import cancel
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem
from settings import Settings
from tests import own_database
from tests.dash_calls import call, callback_key, response_of, text_of
from tests.prescription_factories import SEAL_KEY, generic, setting
from tests.signin_checks import sign_in_as

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

AMOXICILLIN = "J01CA04"  # 21 capsules at the usual regimen
AMLODIPINE = "C08CA01"
TRAMADOL = "N02AX02"  # controlled

FIND = ("pharmacy-found.children", "pharmacy-presented.data")
DISPENSE = ("pharmacy-found.children", "pharmacy-dispense-result.children", "pharmacy-dispensed.data")
LOG = ("pharmacy-log-result.children", "pharmacy-log-all.children", "pharmacy-log-controlled.children")
PACK = '{"index":["MATCH"],"type":"pharmacy-pack"}.value'


@dataclass(frozen=True)
class Issued:
    """A committed prescription with what the pharmacy page needs of it."""

    prescription: int
    number: str
    pinfl: str
    items: tuple[int, ...]
    drugs: tuple[int, ...]
    pharmacist: int
    doctor: int


@pytest.fixture(scope="module")
def portal(database_url: str) -> Dash:
    # The app checks confirmations with the same key the test prescriptions are sealed with.
    settings = Settings(
        environment="test", database_url=database_url, secret_key="p" * 40, confirmation_key=SEAL_KEY.decode()
    )
    app = create_app(settings)
    app.server.test_client().get("/healthz")  # the first request moves the pages' callbacks into the app
    return app


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    with portal.server.test_client() as client:
        yield client


def issue(
    engine: Engine,
    atc: str = AMOXICILLIN,
    *,
    category: str = "regular",
    icd10: str = "J18.9",
    contracted: bool = True,
    cancelled: bool = False,
    days_ago: int = 0,
    **changes: object,
) -> Issued:
    """A fresh patient, doctor and pharmacy, and a prescription of `atc` confirmed by the doctor's OneID session."""
    with Session(engine) as session:
        place = setting(session, contracted=contracted)
        issued_at = utcnow() - timedelta(days=days_ago)
        place.clinic.visit.started_at = issued_at - timedelta(minutes=20)
        order = place.order(place.item(atc, **changes), category=category, icd10=icd10)
        prescription = place.issue(session, order, now=issued_at)
        if cancelled:
            cancel(session, prescription.id, reason="Bemor davolanishdan voz kechdi", actor=place.doctor)
        items = session.execute(
            select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id)
        ).scalars()
        rows = sorted(items, key=lambda item: item.line)
        issued = Issued(
            prescription.id,
            prescription.number,
            place.patient.pinfl,
            tuple(item.id for item in rows),
            tuple(item.drug_id for item in rows),
            place.pharmacist.id,
            place.clinic.doctor.id,
        )
        session.commit()
    return issued


def state_of(engine: Engine, issued: Issued) -> tuple[str, list[int], int]:
    """(prescription state, dispensed quantity per item, dispense rows)."""
    with Session(engine) as session:
        state = session.get_one(Prescription, issued.prescription).state
        given = [session.get_one(PrescriptionItem, item).dispensed_quantity for item in issued.items]
        rows = session.scalar(
            select(func.count()).select_from(Dispense).where(Dispense.prescription_id == issued.prescription)
        )
    return str(state), given, rows or 0


def find(client: FlaskClient, portal: Dash, number: object, pinfl: object) -> dict[str, Any]:
    values = {"pharmacy-find.n_clicks": 1, "pharmacy-number.value": number, "pharmacy-pinfl.value": pinfl}
    return response_of(call(client, portal, FIND, values, "pharmacy-find.n_clicks"))


def component(tree: Any, component_id: str) -> dict[str, Any]:
    """The component with `component_id` inside a rendered tree (as Dash serializes it)."""
    if isinstance(tree, list):
        for item in tree:
            found = component(item, component_id) if isinstance(item, dict | list) else None
            if found:
                return found
    elif isinstance(tree, dict):
        props = tree.get("props", {})
        if props.get("id") == component_id:
            return tree
        for value in (tree.get("children"), props.get("children")):
            found = component(value, component_id) if isinstance(value, dict | list) else None
            if found:
                return found
    return {}


def give(
    client: FlaskClient,
    portal: Dash,
    presented: object,
    lines: Mapping[int, tuple[object, object, object, object]],
) -> TestResponse:
    """Press Dispense with the item inputs `lines` (item id → quantity, product, pack, batch) as the browser posts."""
    key = callback_key(portal, *DISPENSE)
    entry = portal.callback_map[key]
    kinds = {"pharmacy-qty": 0, "pharmacy-product": 1, "pharmacy-pack": 2, "pharmacy-batch": 3}
    state: list[Any] = []
    for spec in entry["state"]:
        if not spec["id"].startswith("{"):
            state.append({"id": spec["id"], "property": spec["property"], "value": presented})
            continue
        kind = json.loads(spec["id"])["type"]
        state.append(
            [
                {"id": {"type": kind, "index": item}, "property": "value", "value": typed[kinds[kind]]}
                for item, typed in lines.items()
            ]
        )
    parts = [part for part in key.strip(".").split("...") if part]
    declared = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1].split("@")[0]} for part in parts]
    body = {
        "output": key,
        "outputs": declared,
        "inputs": [{"id": "pharmacy-dispense", "property": "n_clicks", "value": 1}],
        "state": state,
        "changedPropIds": ["pharmacy-dispense.n_clicks"],
    }
    return client.post(UPDATE_PATH, json=body)


def presented(issued: Issued) -> dict[str, str]:
    return {"number": issued.number, "pinfl": issued.pinfl}


def log(client: FlaskClient, portal: Dash, since: object = None, until: object = None) -> dict[str, Any]:
    day = today().isoformat()
    values = {
        "pharmacy-log-from.value": day if since is None else since,
        "pharmacy-log-to.value": day if until is None else until,
        "pharmacy-dispensed.data": "now",
    }
    return response_of(call(client, portal, LOG, values, "pharmacy-dispensed.data"))


def alert(answer: dict[str, Any], output: str) -> tuple[str, str, str]:
    """(id, colour, text) of the alert a callback returned in `output`."""
    component = answer[output]["children"]
    return component["props"]["id"], component["props"]["color"], text_of(component)


def uz(message: str, **params: object) -> str:
    with language("uz"):
        return gettext(message, **params)


# --- finding --------------------------------------------------------------------------------------------------------


def test_the_number_with_a_wrong_pinfl_finds_nothing(client: FlaskClient, portal: Dash, engine: Engine) -> None:
    issued = issue(engine)
    other = issue(engine, AMLODIPINE, duration_days=30)
    sign_in_as(client, issued.pharmacist)
    answer = find(client, portal, issued.number, other.pinfl)
    assert alert(answer, "pharmacy-found") == ("pharmacy-find-error", "danger", uz(NOT_FOUND))
    assert answer["pharmacy-presented"]["data"] is None
    with Session(engine) as session:  # the miss is audited (and says nothing of whose the number is)
        event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
        assert (event.action, event.outcome, event.patient_id) == ("prescription.looked_up", Outcome.FAILED, None)
    for number, pinfl in ((None, issued.pinfl), (issued.number, ""), ("12345", issued.pinfl), ("x" * 500, "1")):
        refused = find(client, portal, number, pinfl)
        assert alert(refused, "pharmacy-found")[:2] == ("pharmacy-find-error", "danger")
        assert refused["pharmacy-presented"]["data"] is None


def test_found_shows_the_items_and_what_is_left(client: FlaskClient, portal: Dash, engine: Engine) -> None:
    issued = issue(engine)
    sign_in_as(client, issued.pharmacist)
    answer = find(client, portal, issued.number.lower(), f" {issued.pinfl} ")
    shown = str(answer["pharmacy-found"])
    words = text_of(answer["pharmacy-found"]["children"])
    assert "Toshmatov Ali Valiyevich" in words and "Amoksitsillin" in words and "J18.9" in words
    assert uz("Active") in words and "OneID" in words and "01.03.1980" in words
    assert f"pharmacy-item-{issued.items[0]}" in shown and "21 kapsula" in words
    assert "pharmacy-dispense" in shown and "pharmacy-qty" in shown
    assert answer["pharmacy-presented"]["data"] == {"number": issued.number.lower(), "pinfl": issued.pinfl}


# --- dispensing -----------------------------------------------------------------------------------------------------


def test_a_partial_dispense_moves_the_state_and_is_logged(client: FlaskClient, portal: Dash, engine: Engine) -> None:
    issued = issue(engine)
    (item,), (drug,) = issued.items, issued.drugs
    sign_in_as(client, issued.pharmacist)
    answer = response_of(give(client, portal, presented(issued), {item: ("10", str(drug), "20 kapsula", "at2511001")}))
    assert "pharmacy-dispense-result" not in answer and answer["pharmacy-dispensed"]["data"]
    card = answer["pharmacy-found"]["children"]
    words = text_of(card)
    assert uz("Partly dispensed") in words and "pharmacy-given" in str(card)
    assert "AT2511001" in words and "11 kapsula" in words  # the batch as stored, and what is left
    assert state_of(engine, issued) == ("partially_dispensed", [10], 1)

    listed = log(client, portal)
    assert listed["pharmacy-log-result"]["children"] is None
    everything = text_of(listed["pharmacy-log-all"]["children"])
    assert issued.number in everything and "AT2511001" in everything and "Karimov Aziz Botirovich" in everything
    assert issued.number not in text_of(listed["pharmacy-log-controlled"]["children"])
    # Another pharmacy's log does not list it.
    stranger = issue(engine)
    sign_in_as(client, stranger.pharmacist)
    assert issued.number not in text_of(log(client, portal)["pharmacy-log-all"]["children"])


def test_another_brand_and_its_pack(client: FlaskClient, portal: Dash, engine: Engine) -> None:
    issued = issue(engine)
    with Session(engine) as session:
        brand = generic(session, AMOXICILLIN, f"Flemoksin {issued.prescription}")
        session.commit()
        brand_id = brand.id
    sign_in_as(client, issued.pharmacist)
    card = find(client, portal, issued.number, issued.pinfl)["pharmacy-found"]
    assert f"Flemoksin {issued.prescription} — 20 kapsula" in str(card)
    # The browser fills the pack of the product chosen from the packs the card came with.
    packs = component(card, "pharmacy-packs")["props"]["data"]
    assert packs[str(brand_id)] == "20 kapsula" and packs[str(issued.drugs[0])] == "20 kapsula"
    # That fill runs in the browser only: the server answers no call to it, whoever asks.
    assert call(client, portal, PACK, {}).status_code == 403
    lines = {issued.items[0]: (21, str(brand_id), "20 kapsula", "FL-2025/1")}
    assert "pharmacy-given" in str(response_of(give(client, portal, presented(issued), lines)))
    assert state_of(engine, issued) == ("dispensed", [21], 1)


@pytest.mark.parametrize("quantity", ["22", 22.0, "abc", -1, "1.5", True, [3]])
def test_more_than_left_or_garbage_is_refused_and_writes_nothing(
    client: FlaskClient, portal: Dash, engine: Engine, quantity: object
) -> None:
    issued = issue(engine)
    (item,), (drug,) = issued.items, issued.drugs
    sign_in_as(client, issued.pharmacist)
    answer = response_of(give(client, portal, presented(issued), {item: (quantity, str(drug), "20 kapsula", "AT1")}))
    identity, colour, _ = alert(answer, "pharmacy-dispense-result")
    assert (identity, colour) == ("pharmacy-dispense-error", "danger")
    assert "pharmacy-found" not in answer and "pharmacy-dispensed" not in answer
    assert state_of(engine, issued) == ("active", [0], 0)


def test_bad_lines_are_refused_with_their_reason(client: FlaskClient, portal: Dash, engine: Engine) -> None:
    issued = issue(engine)
    (item,), (drug,) = issued.items, issued.drugs
    sign_in_as(client, issued.pharmacist)
    cases: list[tuple[Mapping[int, tuple[object, object, object, object]], str]] = [
        ({}, "Enter a quantity for at least one medicine."),
        ({item: ("", str(drug), "20 kapsula", "AT2511001")}, "Enter a quantity for at least one medicine."),
        ({item: ("5", None, "20 kapsula", "AT2511001")}, "Choose the product given for each medicine you dispense."),
        ({item: ("5", str(drug), "20 kapsula", "?")}, ""),  # the batch number
        ({item: ("5", str(drug), "", "AT2511001")}, ""),  # the pack
        ({item + 10**6: ("5", str(drug), "20 kapsula", "AT2511001")}, "This medicine is not on the prescription."),
    ]
    for lines, message in cases:
        answer = response_of(give(client, portal, presented(issued), lines))
        identity, colour, words = alert(answer, "pharmacy-dispense-result")
        assert (identity, colour) == ("pharmacy-dispense-error", "danger")
        assert not message or words == uz(message), words
    for store in (None, "RX", {"number": issued.number}, {"number": [1], "pinfl": issued.pinfl}):
        answer = response_of(give(client, portal, store, {item: ("5", str(drug), "20 kapsula", "AT2511001")}))
        assert alert(answer, "pharmacy-dispense-result")[2] == uz("Find the prescription first.")
    assert state_of(engine, issued) == ("active", [0], 0)


def test_a_controlled_item_cannot_be_split(client: FlaskClient, portal: Dash, engine: Engine) -> None:
    issued = issue(engine, TRAMADOL, category="controlled", icd10="M54.5", duration_days=5)
    (item,), (drug,) = issued.items, issued.drugs
    sign_in_as(client, issued.pharmacist)
    card = find(client, portal, issued.number, issued.pinfl)["pharmacy-found"]
    shown = str(card)
    assert "'readonly': True" in shown and uz("a controlled medicine is dispensed whole") in text_of(card["children"])
    split = response_of(give(client, portal, presented(issued), {item: ("5", str(drug), "10 tabletka", "TR2511")}))
    assert alert(split, "pharmacy-dispense-result")[1] == "danger"
    assert state_of(engine, issued) == ("active", [0], 0)
    whole = response_of(give(client, portal, presented(issued), {item: ("10", str(drug), "10 tabletka", "TR2511")}))
    assert "pharmacy-given" in str(whole) and "pharmacy-dispensed-in-full" in str(whole)
    assert state_of(engine, issued) == ("dispensed", [10], 1)
    listed = log(client, portal)
    assert issued.number in text_of(listed["pharmacy-log-controlled"]["children"])
    assert uz("controlled") in text_of(listed["pharmacy-log-all"]["children"])
    # A dispensed prescription shows why nothing more can be given, and no inputs.
    again = str(find(client, portal, issued.number, issued.pinfl))
    assert "pharmacy-dispensed-in-full" in again and "pharmacy-qty" not in again


def test_a_cancelled_prescription_shows_why_and_refuses_a_forged_dispense(
    client: FlaskClient, portal: Dash, engine: Engine
) -> None:
    issued = issue(engine, cancelled=True)
    (item,), (drug,) = issued.items, issued.drugs
    sign_in_as(client, issued.pharmacist)
    answer = find(client, portal, issued.number, issued.pinfl)
    shown = str(answer["pharmacy-found"])
    assert "pharmacy-cancelled" in shown and "Bemor davolanishdan voz kechdi" in shown
    assert "pharmacy-dispense'" not in shown and "pharmacy-qty" not in shown
    forged = response_of(give(client, portal, presented(issued), {item: ("1", str(drug), "20 kapsula", "AT2511001")}))
    assert alert(forged, "pharmacy-dispense-result")[2] == uz(
        "Prescription {number} was cancelled; nothing can be dispensed on it.", number=issued.number
    )
    assert state_of(engine, issued) == ("cancelled", [0], 0)


def test_a_prescription_past_valid_until_reads_expired(client: FlaskClient, portal: Dash, engine: Engine) -> None:
    issued = issue(engine, days_ago=91)  # still "active" in the table: the sweep has not run
    (item,), (drug,) = issued.items, issued.drugs
    sign_in_as(client, issued.pharmacist)
    answer = find(client, portal, issued.number, issued.pinfl)
    shown = str(answer["pharmacy-found"])
    assert "pharmacy-expired" in shown and "pharmacy-qty" not in shown
    assert uz("Expired") in text_of(answer["pharmacy-found"]["children"])
    forged = response_of(give(client, portal, presented(issued), {item: ("1", str(drug), "20 kapsula", "AT2511001")}))
    assert alert(forged, "pharmacy-dispense-result")[1] == "danger"
    assert state_of(engine, issued) == ("active", [0], 0)


def test_a_reimbursed_prescription_is_refused_at_a_pharmacy_without_the_contract(
    client: FlaskClient, portal: Dash, engine: Engine
) -> None:
    issued = issue(engine, AMLODIPINE, category="reimbursed", icd10="I10", contracted=False, duration_days=30)
    (item,), (drug,) = issued.items, issued.drugs
    sign_in_as(client, issued.pharmacist)
    shown = str(find(client, portal, issued.number, issued.pinfl))
    assert "pharmacy-not-contracted" in shown and "pharmacy-qty" not in shown
    forged = response_of(give(client, portal, presented(issued), {item: ("30", str(drug), "30 tabletka", "NV2511")}))
    identity, colour, words = alert(forged, "pharmacy-dispense-result")
    assert (identity, colour) == ("pharmacy-dispense-error", "danger") and issued.number in words
    assert state_of(engine, issued) == ("active", [0], 0)


def test_a_number_and_pinfl_that_do_not_belong_together_reach_nothing(
    client: FlaskClient, portal: Dash, engine: Engine
) -> None:
    mine = issue(engine)
    theirs = issue(engine)
    sign_in_as(client, mine.pharmacist)
    # Their number with my patient's PINFL, and the reverse: found nothing, dispensed nothing.
    for number, pinfl in ((theirs.number, mine.pinfl), (mine.number, theirs.pinfl)):
        assert alert(find(client, portal, number, pinfl), "pharmacy-found")[2] == uz(NOT_FOUND)
        lines = {
            item: ("1", str(drug), "20 kapsula", "AT2511001")
            for item, drug in zip(theirs.items, theirs.drugs, strict=True)
        }
        forged = response_of(give(client, portal, {"number": number, "pinfl": pinfl}, lines))
        assert alert(forged, "pharmacy-dispense-result")[2] == uz(NOT_FOUND)
    # My own prescription with their item ids: not on the prescription.
    lines = {theirs.items[0]: ("1", str(theirs.drugs[0]), "20 kapsula", "AT2511001")}
    forged = response_of(give(client, portal, presented(mine), lines))
    assert alert(forged, "pharmacy-dispense-result")[2] == uz("This medicine is not on the prescription.")
    assert state_of(engine, mine) == ("active", [0], 0) and state_of(engine, theirs) == ("active", [0], 0)


# --- the log and who may use the page -------------------------------------------------------------------------------


def test_the_log_refuses_bad_periods(client: FlaskClient, portal: Dash, engine: Engine) -> None:
    issued = issue(engine)
    sign_in_as(client, issued.pharmacist)
    day = today()
    for since, until in (("yesterday", day.isoformat()), (day.isoformat(), "2020-01-01"), ("2020-01-01", "2023-01-01")):
        answer = log(client, portal, since, until)
        assert alert(answer, "pharmacy-log-result")[:2] == ("pharmacy-log-error", "danger")
        assert "pharmacy-log-all" not in answer
    month = log(client, portal, (day - timedelta(days=30)).isoformat())
    assert month["pharmacy-log-result"]["children"] is None


def test_the_page_renders_for_the_pharmacist(portal: Dash, engine: Engine) -> None:
    issued = issue(engine)
    page = dash.page_registry["pages.pharmacy"]
    with Session(engine) as session:
        who = PortalUser.of(session.get_one(Cabinet, issued.pharmacist))
    assert who is not None
    with portal.server.test_request_context("/pharmacy"):
        login_user(who)
        shown = str(page["layout"]())
    assert "pharmacy-number" in shown and "RX-2611-XXXX-XXXX" in shown and "pharmacy-log-all" in shown
    assert "pharmacy-log-error" not in shown


def test_a_doctor_is_refused(client: FlaskClient, portal: Dash, engine: Engine) -> None:
    issued = issue(engine)
    (item,), (drug,) = issued.items, issued.drugs
    sign_in_as(client, issued.doctor)
    values = {"pharmacy-find.n_clicks": 1, "pharmacy-number.value": issued.number, "pharmacy-pinfl.value": issued.pinfl}
    assert call(client, portal, FIND, values, "pharmacy-find.n_clicks").status_code == 403
    lines = {item: ("1", str(drug), "20 kapsula", "AT2511001")}
    assert give(client, portal, presented(issued), lines).status_code == 403
    log_values = {"pharmacy-log-from.value": today().isoformat(), "pharmacy-log-to.value": today().isoformat()}
    assert call(client, portal, LOG, log_values).status_code == 403
    assert state_of(engine, issued) == ("active", [0], 0)

"""The doctor's e-prescription pages over HTTP: the checks show blocking problems and warnings and write nothing;
issuing needs every warning acknowledged with a reason, the OneID confirmation needs a OneID sign-in, E-IMZO signing
starts from a draft; the register shows the doctor's or the organization's prescriptions and cancels with a reason;
another organization's visit is not found; pharmacists and nurses get 403 on every callback."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dash
import pytest
from dash import Dash
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app
from auth.callbacks import UPDATE_PATH
from auth.document_signing import SIGNING
from auth.session import SIGNED_IN_WITH
from auth.user import PortalUser
from components import prescription_form as form
from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.emr.models import Allergy, ConditionKind, Encounter, Severity
from ehealth.hospital.stays import admit
from ehealth.i18n import gettext, language
from ehealth.prescription.models import (
    Prescription,
    PrescriptionDraft,
    PrescriptionState,
    PrescriptionWarning,
)
from ehealth.prescription.prescribing import UNACKNOWLEDGED
from ehealth.reference.models import Organization, OrganizationKind
from settings import Settings
from tests import emr_factories, factories, own_database
from tests import hospital_factories as hf
from tests.dash_calls import call, callback_key, response_of, text_of
from tests.prescription_factories import catalogue
from tests.signin_checks import sign_in_as

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

CONFIRMATION_KEY = "pages-test-confirmation-key-0123456789"
AMOXICILLIN = "J01CA04"
AMLODIPINE = "C08CA01"

CHECK = ("prescribe-review.children",)
CONFIRM = ("prescribe-result.children", "prescribe-go.href", "prescribe-form.className")
FILL = tuple(
    f"{form.slot_id(field, 1)}.{prop}"
    for field, prop in (
        (form.DOSE, "value"),
        (form.INTAKES, "value"),
        (form.DAYS, "value"),
        (form.ROUTE, "value"),
        (form.DOSE_UNIT, "children"),
        (form.UNIT, "children"),
        (form.QUANTITY, "value"),
        (form.AUTO, "data"),
        (form.MAXIMUM, "children"),
    )
)
SEARCH = (f"{form.slot_id(form.DRUG, 1)}.options",)
ROWS = ("prescribe-slots.data", "prescribe-items-note.children")
DIAGNOSIS_SEARCH = ("prescribe-dx.options",)
REPEATS = ("prescribe-repeats.disabled", "prescribe-repeats.value")
REGISTER = ("rx-register-box.children",)
ASK = ("rx-cancel-dialog.is_open", "rx-cancel-target.data", "rx-cancel-title.children")
CANCEL = ("rx-cancel-dialog.is_open", "rx-register-result.children", "rx-register-changed.data")
HOSPITAL = ("hospital-prescribe-stay.options", "hospital-prescribe-go.href", "hospital-prescribe-go.disabled")
EVERY_CALLBACK = (CHECK, CONFIRM, FILL, SEARCH, ROWS, DIAGNOSIS_SEARCH, REPEATS, REGISTER, ASK, CANCEL, HOSPITAL)


@dataclass(frozen=True)
class People:
    """A polyclinic's two doctors and nurse, a pharmacist, another polyclinic's visit, the catalogue's medicines,
    and a hospital doctor with a patient in a bed."""

    organization: int
    doctor: int
    colleague: int
    nurse: int
    pharmacist: int
    other_visit: int
    drugs: dict[str, int]
    hospital_doctor: int
    admission: int
    stay: int


@pytest.fixture(scope="module")
def people(engine: Engine) -> People:
    with Session(engine) as session:
        clinic = emr_factories.clinic(session)
        other = emr_factories.clinic(session)
        pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
        drugs = catalogue(session)
        hospital = hf.hospital(session)
        lying = factories.patient(session)
        admission = admit(
            session,
            patient_id=lying.id,
            department_id=hospital.therapy.id,
            bed_id=hospital.therapy_beds[0].id,
            admission_type="emergency",
            admitted_at=utcnow(),
            icd10_code="J18.9",
            actor=hospital.as_doctor,
        )
        found = People(
            organization=clinic.org.id,
            doctor=clinic.doctor.id,
            colleague=factories.cabinet(session, clinic.org, Role.DOCTOR).id,
            nurse=clinic.nurse.id,
            pharmacist=factories.cabinet(session, pharmacy, Role.PHARMACIST).id,
            other_visit=other.visit.id,
            drugs={atc: drug.id for atc, drug in drugs.items()},
            hospital_doctor=hospital.doctor.id,
            admission=admission.id,
            stay=admission.encounter_id,
        )
        session.commit()
    return found


@pytest.fixture(scope="module")
def portal(database_url: str, people: People) -> Dash:
    settings = Settings(
        environment="test",
        database_url=database_url,
        secret_key="r" * 40,
        confirmation_key=CONFIRMATION_KEY,
        eimzo_server_url="http://127.0.0.1:9",  # configured, never reached: signing itself is tested elsewhere
    )
    app = create_app(settings)
    app.server.test_client().get("/healthz")  # the first request moves the pages' callbacks into the app
    return app


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    with portal.server.test_client() as client:
        yield client


def signed_in(client: FlaskClient, cabinet_id: int, kind: str = "oneid") -> None:
    """A session of `cabinet_id` opened with OneID (or E-IMZO)."""
    sign_in_as(client, cabinet_id)
    with client.session_transaction() as session:
        session[SIGNED_IN_WITH] = {"kind": kind, "at": utcnow().isoformat()}


@dataclass(frozen=True)
class Visit:
    """A fresh patient in an open visit of the doctor."""

    patient: int
    encounter: int
    pinfl: str


def new_visit(engine: Engine, people: People, *, allergy: bool = False) -> Visit:
    with Session(engine) as session:
        org = session.get_one(Organization, people.organization)
        doctor = session.get_one(Cabinet, people.doctor)
        patient = factories.patient(session)
        visit = factories.encounter(session, org, doctor, patient)
        factories.diagnosis(session, visit, "J18.9", ConditionKind.FINAL)
        if allergy:
            session.add(
                Allergy(
                    patient_id=patient.id,
                    organization_id=org.id,
                    substance="Sefalosporinlar",
                    severity=Severity.MODERATE,
                    recorded_at=utcnow(),
                    created_by=doctor.id,
                )
            )
        session.commit()
        return Visit(patient.id, visit.id, patient.pinfl)


def prescriptions_of(engine: Engine, patient_id: int) -> list[Prescription]:
    with Session(engine) as session:
        rows = session.execute(
            select(Prescription).where(Prescription.patient_id == patient_id).order_by(Prescription.id)
        )
        return list(rows.scalars())


def drafts_of(engine: Engine, patient_id: int) -> list[PrescriptionDraft]:
    with Session(engine) as session:
        rows = session.execute(select(PrescriptionDraft).where(PrescriptionDraft.patient_id == patient_id))
        return list(rows.scalars())


def values(
    visit: Visit,
    drug: int,
    *,
    category: str = "regular",
    dx: str = "J18.9",
    replaces: int | None = None,
    reason: str | None = None,
    **item: object,
) -> dict[str, Any]:
    """The form as the doctor filled it: one medicine in slot 1 at 1 × 3 a day for 7 days unless changed."""
    regimen = {"dose": "1", "intakes": "3", "days": "7", "route": None, "quantity": None, "brand": False} | item
    posted: dict[str, Any] = {
        "prescribe-context.data": {"encounter": visit.encounter, "replaces": replaces},
        "prescribe-dx.value": dx,
        "prescribe-category.value": category,
        "prescribe-repeats.value": 0,
        "prescribe-replace-reason.value": reason,
        "prescribe-slots.data": [1],
        f"{form.slot_id(form.DRUG, 1)}.value": str(drug),
    }
    for field, value in regimen.items():
        posted[f"{form.slot_id(field, 1)}.value"] = value
    return posted


def post(
    client: FlaskClient,
    portal: Dash,
    outputs: tuple[str, ...],
    trigger: str,
    posted: Mapping[str, object],
    acks: Mapping[str, tuple[object, object]] | None = None,
    rows: Mapping[str, object] | None = None,
) -> TestResponse:
    """POST a callback as the browser does, with the warnings' acknowledgements ({"rule|line": (ticked, reason)})
    and pattern-matching row buttons ({"type": index}) filled in."""
    key = callback_key(portal, *outputs)
    entry = portal.callback_map[key]

    def spec(item: dict[str, str], prop_value: object = None) -> Any:
        if not item["id"].startswith("{"):
            return {
                "id": item["id"],
                "property": item["property"],
                "value": posted.get(f"{item['id']}.{item['property']}"),
            }
        kind = json.loads(item["id"])["type"]
        if kind in (form.ACK, form.ACK_REASON):
            position = 0 if kind == form.ACK else 1
            return [
                {"id": {"type": kind, "index": index}, "property": item["property"], "value": pair[position]}
                for index, pair in (acks or {}).items()
            ]
        if rows and kind in rows:
            return [{"id": {"type": kind, "index": rows[kind]}, "property": item["property"], "value": 1}]
        return []

    parts = [part for part in key.strip(".").split("...") if part]
    declared = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1].split("@")[0]} for part in parts]
    body = {
        "output": key,
        "outputs": declared if len(declared) > 1 else declared[0],
        "inputs": [spec(item) for item in entry["inputs"]],
        "state": [spec(item) for item in entry["state"]],
        "changedPropIds": [trigger],
    }
    return client.post(UPDATE_PATH, json=body)


def check(client: FlaskClient, portal: Dash, posted: dict[str, Any]) -> str:
    answer = response_of(
        post(client, portal, CHECK, "prescribe-check.n_clicks", posted | {"prescribe-check.n_clicks": 1})
    )
    return json.dumps(answer, ensure_ascii=False)


def confirm(
    client: FlaskClient,
    portal: Dash,
    posted: dict[str, Any],
    button: str = "prescribe-issue-oneid",
    acks: Mapping[str, tuple[object, object]] | None = None,
) -> dict[str, Any]:
    trigger = f"{button}.n_clicks"
    return response_of(post(client, portal, CONFIRM, trigger, posted | {trigger: 1}, acks))


def rendered(portal: Dash, engine: Engine, page: str, cabinet_id: int, **path: str) -> str:
    """The page's layout as `cabinet_id` sees it (its repr names every component id and its text)."""
    module = dash.page_registry[page]
    with Session(engine) as session:
        who = PortalUser.of(session.get_one(Cabinet, cabinet_id))
    assert who is not None
    with portal.server.test_request_context(module["path"]):
        login_user(who)
        return str(module["layout"](**path))


def uz(message: str, **params: object) -> str:
    with language("uz"):
        return gettext(message, **params)


# --- writing a prescription -------------------------------------------------------------------------------------


def test_the_checks_show_a_blocking_problem_and_write_nothing(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    visit = new_visit(engine, people)
    signed_in(client, people.doctor)
    shown = check(client, portal, values(visit, people.drugs[AMOXICILLIN], category="reimbursed"))
    assert "prescribe-problems" in shown and "prescribe-ok" not in shown
    assert "J18.9" in shown  # the diagnosis is not in the reimbursement programme
    fine = check(client, portal, values(visit, people.drugs[AMOXICILLIN]))
    assert "prescribe-ok" in fine and "prescribe-problems" not in fine and "prescribe-valid-until" in fine
    garbage = check(client, portal, values(visit, people.drugs[AMOXICILLIN], dose="bir"))
    assert "prescribe-check-error" in garbage
    assert prescriptions_of(engine, visit.patient) == [] and drafts_of(engine, visit.patient) == []


def test_a_warning_needs_its_acknowledgement_and_reason(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    visit = new_visit(engine, people)
    signed_in(client, people.doctor)
    order = values(visit, people.drugs[AMOXICILLIN])
    first = confirm(client, portal, order)
    [issued] = prescriptions_of(engine, visit.patient)
    assert issued.number in text_of(first["prescribe-result"]["children"])
    assert (issued.confirmation, issued.prescriber_id, issued.encounter_id) == ("oneid", people.doctor, visit.encounter)
    assert first["prescribe-form"]["className"] == "d-none"

    shown = check(client, portal, order)  # the same medicine again: duplicate therapy
    assert "duplicate_therapy|1" in shown and "prescribe-warnings" in shown and issued.number in shown
    for acks in ({}, {"duplicate_therapy|1": (False, "Kurs yo'qoldi")}, {"duplicate_therapy|1": (True, "   ")}):
        refused = confirm(client, portal, order, acks=acks)
        assert text_of(refused["prescribe-result"]["children"]) == uz(UNACKNOWLEDGED)
        assert "prescribe-go" not in refused and "prescribe-form" not in refused
        assert len(prescriptions_of(engine, visit.patient)) == 1

    done = confirm(client, portal, order, acks={"duplicate_therapy|1": (True, "Kurs yo'qoldi")})
    _first, second = prescriptions_of(engine, visit.patient)
    assert second.number in text_of(done["prescribe-result"]["children"])
    with Session(engine) as session:
        [warning] = session.execute(
            select(PrescriptionWarning).where(PrescriptionWarning.prescription_id == second.id)
        ).scalars()
    assert (warning.rule, warning.line, warning.reason) == ("duplicate_therapy", 1, "Kurs yo'qoldi")


def test_the_oneid_confirmation_is_refused_after_an_eimzo_sign_in(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    visit = new_visit(engine, people)
    signed_in(client, people.doctor, kind="eimzo")
    refused = confirm(client, portal, values(visit, people.drugs[AMOXICILLIN]))
    assert "prescribe-confirm-error" in json.dumps(refused) and "prescribe-go" not in refused
    sign_in_as(client, people.doctor)  # how the session was opened is not known: refused too
    refused = confirm(client, portal, values(visit, people.drugs[AMOXICILLIN]))
    assert "prescribe-confirm-error" in json.dumps(refused)
    assert prescriptions_of(engine, visit.patient) == []


def test_signing_with_eimzo_drafts_the_prescription_and_starts_signing(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    visit = new_visit(engine, people)
    signed_in(client, people.doctor, kind="eimzo")
    answer = confirm(client, portal, values(visit, people.drugs[AMOXICILLIN]), button="prescribe-sign-eimzo")
    assert answer["prescribe-go"]["href"] == "/prescriptions/sign"
    [draft] = drafts_of(engine, visit.patient)
    assert draft.cabinet_id == people.doctor and draft.prescription_id is None
    with client.session_transaction() as session:
        assert session[SIGNING] == {"token": draft.token, "back": f"/prescribe/{visit.encounter}"}
    assert prescriptions_of(engine, visit.patient) == []  # issued only once signed
    page = client.get("/prescriptions/sign")
    assert page.status_code == 200 and visit.pinfl in page.get_data(as_text=True)  # the content to be signed


def test_the_medicine_row_fills_its_regimen_and_quantity(client: FlaskClient, portal: Dash, people: People) -> None:
    signed_in(client, people.doctor)
    drug = people.drugs[AMOXICILLIN]
    found = response_of(
        post(client, portal, SEARCH, "rx-item-drug-1.search_value", {"rx-item-drug-1.search_value": "amoks"})
    )
    assert str(drug) in [option["value"] for option in found["rx-item-drug-1"]["options"]]
    assert (
        post(client, portal, SEARCH, "rx-item-drug-1.search_value", {"rx-item-drug-1.search_value": "a"}).status_code
        == 204
    )

    picked = response_of(post(client, portal, FILL, "rx-item-drug-1.value", {"rx-item-drug-1.value": str(drug)}))
    assert picked["rx-item-dose-1"]["value"] == "1" and picked["rx-item-intakes-1"]["value"] == 3
    assert picked["rx-item-days-1"]["value"] == 7 and picked["rx-item-route-1"]["value"] == "og'iz orqali"
    assert (picked["rx-item-quantity-1"]["value"], picked["rx-item-auto-1"]["data"]) == (21, 21)
    assert picked["rx-item-max-1"]["children"] == uz("max {max} {unit}", max=40, unit="kapsula")
    regimen = {"rx-item-drug-1.value": str(drug), "rx-item-dose-1.value": "1", "rx-item-intakes-1.value": "3"}
    longer = regimen | {"rx-item-days-1.value": "10", "rx-item-quantity-1.value": "21", "rx-item-auto-1.data": 21}
    followed = response_of(post(client, portal, FILL, "rx-item-days-1.value", longer))
    assert followed["rx-item-quantity-1"]["value"] == 30 and "rx-item-dose-1" not in followed
    typed = longer | {"rx-item-quantity-1.value": "25"}
    kept = response_of(post(client, portal, FILL, "rx-item-days-1.value", typed))
    assert "rx-item-quantity-1" not in kept  # the doctor typed the quantity: it is theirs
    cleared = {"rx-item-drug-1.value": None, "rx-item-quantity-1.value": "30", "rx-item-auto-1.data": 30}
    emptied = response_of(post(client, portal, FILL, "rx-item-drug-1.value", cleared))
    assert emptied["rx-item-quantity-1"]["value"] == "" and emptied["rx-item-max-1"]["children"] == ""

    added = response_of(
        post(client, portal, ROWS, "prescribe-add.n_clicks", {"prescribe-add.n_clicks": 1, "prescribe-slots.data": [1]})
    )
    assert added["prescribe-slots"]["data"] == [1, 2]
    assert "d-none" not in added["rx-item-row-2"]["className"] and "d-none" in added["rx-item-row-3"]["className"]
    full = {"prescribe-add.n_clicks": 2, "prescribe-slots.data": list(form.SLOTS)}
    assert "prescribe-slots" not in response_of(post(client, portal, ROWS, "prescribe-add.n_clicks", full))
    removed = response_of(
        post(
            client,
            portal,
            ROWS,
            "rx-item-remove-1.n_clicks",
            {"rx-item-remove-1.n_clicks": 1, "prescribe-slots.data": [1, 2]},
        )
    )
    assert removed["prescribe-slots"]["data"] == [2] and removed["rx-item-drug-1"]["value"] is None
    last = {"rx-item-remove-2.n_clicks": 1, "prescribe-slots.data": [2]}
    assert post(client, portal, ROWS, "rx-item-remove-2.n_clicks", last).status_code == 204  # one row always stays

    repeats = response_of(
        post(client, portal, REPEATS, "prescribe-category.value", {"prescribe-category.value": "chronic"})
    )
    assert repeats["prescribe-repeats"]["disabled"] is False
    other = response_of(
        post(client, portal, REPEATS, "prescribe-category.value", {"prescribe-category.value": "regular"})
    )
    assert other["prescribe-repeats"] == {"disabled": True, "value": 0}


def test_the_page_shows_the_patient_and_corrects_a_prescription(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    visit = new_visit(engine, people, allergy=True)
    page = rendered(portal, engine, "pages.prescribe", people.doctor, encounter_id=str(visit.encounter))
    assert visit.pinfl in page and "Sefalosporinlar" in page and "prescribe-form" in page
    assert "J18.9" in page  # the visit's diagnosis is offered and chosen

    signed_in(client, people.doctor)
    confirm(client, portal, values(visit, people.drugs[AMOXICILLIN], days="5"))
    [first] = prescriptions_of(engine, visit.patient)
    page = rendered(portal, engine, "pages.prescribe", people.doctor, encounter_id=str(visit.encounter))
    assert first.number in page  # in force: shown in the header
    page = rendered(
        portal, engine, "pages.prescribe", people.doctor, encounter_id=str(visit.encounter), replaces=str(first.id)
    )
    assert "prescribe-correcting" in page and f"'{people.drugs[AMOXICILLIN]}'" in page

    correction = values(visit, people.drugs[AMOXICILLIN], days="7", replaces=first.id)
    refused = confirm(client, portal, correction)
    assert "prescribe-confirm-error" in json.dumps(refused) and len(prescriptions_of(engine, visit.patient)) == 1
    confirm(client, portal, correction | {"prescribe-replace-reason.value": "Kurs 7 kun bo'lishi kerak"})
    old, new = prescriptions_of(engine, visit.patient)
    assert (old.state, old.cancel_reason) == (PrescriptionState.CANCELLED, "Kurs 7 kun bo'lishi kerak")
    assert new.replaces_id == old.id and new.state == PrescriptionState.ACTIVE

    # A prescription of another patient, or garbage, is no correction.
    elsewhere = new_visit(engine, people)
    for replaces in (str(new.id), "x'--"):
        page = rendered(
            portal, engine, "pages.prescribe", people.doctor, encounter_id=str(elsewhere.encounter), replaces=replaces
        )
        assert "prescribe-no-correction" in page and "prescribe-form" not in page


def test_another_organization_s_visit_is_not_found(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    for encounter_id in (str(people.other_visit), "0", "abc", None):
        page = rendered(portal, engine, "pages.prescribe", people.doctor, encounter_id=encounter_id)  # type: ignore[arg-type]
        assert "prescribe-missing" in page and "prescribe-form" not in page
    with Session(engine) as session:
        other_patient = session.get_one(Encounter, people.other_visit).patient_id
    signed_in(client, people.doctor)
    forged = values(Visit(other_patient, people.other_visit, ""), people.drugs[AMOXICILLIN])
    assert "prescribe-check-error" in check(client, portal, forged)
    refused = confirm(client, portal, forged)
    assert "prescribe-confirm-error" in json.dumps(refused)
    assert prescriptions_of(engine, other_patient) == []


# --- the register ---------------------------------------------------------------------------------------------------


def row_click(prescription_id: int) -> str:
    """The prop id of a row's Cancel button click, as Dash writes a pattern-matching id."""
    return json.dumps({"index": prescription_id, "type": "rx-cancel"}, separators=(",", ":")) + ".n_clicks"


def register(client: FlaskClient, portal: Dash, scope: str, state: str = "all") -> str:
    posted = {"rx-register-scope.value": scope, "rx-register-state.value": state}
    return json.dumps(
        response_of(post(client, portal, REGISTER, "rx-register-scope.value", posted)), ensure_ascii=False
    )


def test_the_register_lists_and_cancels_with_a_reason(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    visit = new_visit(engine, people)
    signed_in(client, people.doctor)
    confirm(client, portal, values(visit, people.drugs[AMLODIPINE], dx="I10", days="30", intakes="1"))
    [issued] = prescriptions_of(engine, visit.patient)
    assert issued.number in register(client, portal, "mine")
    assert issued.number in register(client, portal, "mine", "active")
    assert issued.number not in register(client, portal, "mine", "cancelled")
    assert "rx-register-error" in register(client, portal, "everyone")
    page = rendered(portal, engine, "pages.prescriptions", people.doctor, issued=issued.number)
    assert "rx-issued" in page and issued.number in page
    signed_in(client, people.colleague)
    assert issued.number not in register(client, portal, "mine")
    assert issued.number in register(client, portal, "organization")
    assert "rx-issued" not in rendered(portal, engine, "pages.prescriptions", people.colleague, issued=issued.number)

    asked = response_of(post(client, portal, ASK, row_click(issued.id), {}, rows={"rx-cancel": issued.id}))
    assert asked["rx-cancel-dialog"]["is_open"] is True and asked["rx-cancel-target"]["data"] == issued.id
    assert issued.number in text_of(asked["rx-cancel-title"]["children"])
    trigger = "rx-cancel-confirm.n_clicks"
    without = {trigger: 1, "rx-cancel-target.data": issued.id, "rx-cancel-reason.value": "  "}
    refused = response_of(post(client, portal, CANCEL, trigger, without))
    assert "rx-cancel-refused" in json.dumps(refused) and "rx-register-changed" not in refused
    assert prescriptions_of(engine, visit.patient)[0].state == PrescriptionState.ACTIVE
    done = response_of(
        post(client, portal, CANCEL, trigger, without | {"rx-cancel-reason.value": "Dori almashtirildi"})
    )
    assert done["rx-cancel-dialog"]["is_open"] is False and issued.number in text_of(
        done["rx-register-result"]["children"]
    )
    [cancelled] = prescriptions_of(engine, visit.patient)
    assert (cancelled.state, cancelled.cancel_reason, cancelled.cancelled_by) == (
        PrescriptionState.CANCELLED,
        "Dori almashtirildi",
        people.colleague,
    )
    again = response_of(post(client, portal, CANCEL, trigger, without | {"rx-cancel-reason.value": "Yana"}))
    assert "rx-cancel-refused" in json.dumps(again)  # nothing left to dispense on it


def test_another_organization_s_prescription_is_not_offered_for_cancelling(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    visit = new_visit(engine, people)
    signed_in(client, people.doctor)
    confirm(client, portal, values(visit, people.drugs[AMOXICILLIN]))
    [issued] = prescriptions_of(engine, visit.patient)
    with Session(engine) as session:
        other = session.get_one(Encounter, people.other_visit)
        stranger = factories.cabinet(session, session.get_one(Organization, other.organization_id))
        session.commit()
        stranger_id = stranger.id
    signed_in(client, stranger_id)
    assert post(client, portal, ASK, row_click(issued.id), {}, rows={"rx-cancel": issued.id}).status_code == 204
    trigger = "rx-cancel-confirm.n_clicks"
    forged = {trigger: 1, "rx-cancel-target.data": issued.id, "rx-cancel-reason.value": "Begona"}
    assert "rx-cancel-refused" in json.dumps(response_of(post(client, portal, CANCEL, trigger, forged)))
    assert prescriptions_of(engine, visit.patient)[0].state == PrescriptionState.ACTIVE
    assert issued.number not in register(client, portal, "organization")


# --- who may ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["pharmacist", "nurse"])
def test_pharmacists_and_nurses_get_403(client: FlaskClient, portal: Dash, people: People, role: str) -> None:
    sign_in_as(client, people.pharmacist if role == "pharmacist" else people.nurse)
    for outputs in EVERY_CALLBACK:
        assert call(client, portal, outputs, {}).status_code == 403, outputs


def test_the_visit_and_the_hospital_link_to_the_form(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    visit = new_visit(engine, people)
    page = rendered(portal, engine, "pages.visit", people.doctor, encounter_id=str(visit.encounter))
    assert "visit-prescribe" in page and f"/prescribe/{visit.encounter}" in page
    signed_in(client, people.hospital_doctor)
    posted = {"hospital-prescribe-stay.value": str(people.admission)}
    answer = response_of(post(client, portal, HOSPITAL, "hospital-prescribe-stay.value", posted))
    assert answer["hospital-prescribe-go"] == {"href": f"/prescribe/{people.stay}", "disabled": False}
    stay = rendered(portal, engine, "pages.prescribe", people.hospital_doctor, encounter_id=str(people.stay))
    assert "prescribe-form" in stay and "J18.9" in stay  # the admission diagnosis
    signed_in(client, people.doctor)  # another organization's stay: no link
    answer = response_of(post(client, portal, HOSPITAL, "hospital-prescribe-stay.value", posted))
    assert answer["hospital-prescribe-go"]["disabled"] is True
    assert (
        response_of(call(client, portal, HOSPITAL, {}))["hospital-prescribe-stay"]["options"] == []
    )  # no patients in the polyclinic's beds

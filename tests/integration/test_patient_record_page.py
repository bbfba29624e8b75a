"""The patient's record page over HTTP (R-11, R-13): a clinician of an organization working with the patient reads
the record and makes entries in the organization's open visit (right author, organization and visit; impossible
values and forged ids refused, nothing saved); a nurse records indicators but no diagnosis; another organization is
refused (audited) until it opens the record by emergency access; corrections keep every version; the page follows
the record by itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dash
import pytest
from dash import Dash
from dash._utils import stringify_id
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app
from auth.callbacks import UPDATE_PATH
from auth.user import PortalUser
from ehealth.access.models import Cabinet, Role
from ehealth.audit.models import AuditEvent, Outcome
from ehealth.clinical import ClinicalRecord, RecordStatus
from ehealth.emr.entries import record_diagnosis
from ehealth.emr.models import (
    Allergy,
    Condition,
    ConditionKind,
    EmergencyAccess,
    Encounter,
    Indicator,
    InstrumentalResult,
    LabResult,
    Observation,
    Referral,
    ReferralKind,
    ReferralState,
    TreatmentRecord,
)
from ehealth.identifiers import TASHKENT
from ehealth.outbox import ClinicalEvent
from ehealth.patients.models import Patient
from settings import Settings
from tests import emr_factories, factories, own_database
from tests.dash_calls import call, response_of, text_of
from tests.signin_checks import sign_in_as

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

REFRESH = "record-timeline.children"
EMERGENCY = ("record-body.children", "record-emergency-result.children")
INDICATORS = "record-ind-result.children"
DIAGNOSIS = "record-dx-result.children"
LAB = "record-lab-result.children"
INSTRUMENTAL = "record-ins-result.children"
TREATMENT = "record-tx-result.children"
ALLERGY = "record-al-result.children"
ENTRY_TABLES: tuple[type[ClinicalRecord], ...] = (
    Observation,
    Condition,
    LabResult,
    InstrumentalResult,
    TreatmentRecord,
    Allergy,
)


@dataclass(frozen=True)
class People:
    """A polyclinic's doctor, nurse, registrar and manager with a patient in an open visit and a lab referral;
    another polyclinic's doctor with a patient of their own in an open visit."""

    organization: int
    doctor: int
    nurse: int
    registrar: int
    manager: int
    patient: int
    visit: int
    referral: int
    other_organization: int
    other_doctor: int
    other_patient: int
    other_visit: int
    second_patient: int  # another patient of the first polyclinic, with an open visit of their own
    second_visit: int


# This module's own database on each backend: the page commits entries and audit events that other modules'
@pytest.fixture(scope="module")
def people(engine: Engine) -> People:
    with Session(engine) as session:
        clinic = emr_factories.clinic(session)
        other = emr_factories.clinic(session)
        second = factories.patient(session)
        second_visit = factories.encounter(session, clinic.org, clinic.doctor, second)
        referral = emr_factories.referral(session, clinic.visit, ReferralKind.LAB)
        found = People(
            clinic.org.id,
            clinic.doctor.id,
            clinic.nurse.id,
            clinic.registrar.id,
            factories.cabinet(session, clinic.org, Role.MANAGER).id,
            clinic.patient.id,
            clinic.visit.id,
            referral.id,
            other.org.id,
            other.doctor.id,
            other.patient.id,
            other.visit.id,
            second.id,
            second_visit.id,
        )
        session.commit()
    return found


@pytest.fixture(scope="module")
def portal(database_url: str, people: People) -> Dash:
    app = create_app(Settings(environment="test", database_url=database_url, secret_key="e" * 40))
    app.server.test_client().get("/healthz")  # the first request moves the pages' callbacks into the app
    return app


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    with portal.server.test_client() as client:
        yield client


# --- helpers -----------------------------------------------------------------------------------------------------


def rendered(portal: Dash, engine: Engine, cabinet_id: int, patient_id: object) -> str:
    """The page as `cabinet_id` sees it (its repr names every component id and holds every text)."""
    page = dash.page_registry["pages.patient_record"]
    with Session(engine) as session:
        who = PortalUser.of(session.get_one(Cabinet, cabinet_id))
    assert who is not None
    with portal.server.test_request_context(f"/patient/{patient_id}"):
        login_user(who)
        return str(page["layout"](patient_id=str(patient_id)))


def local(minutes_ago: int = 5) -> str:
    """A moment in Tashkent as a datetime-local input posts it."""
    return (datetime.now(TASHKENT) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M")


def entries(engine: Engine, patient_id: int | None = None) -> dict[str, int]:
    """How many entries of each kind there are (of the patient, or in all)."""
    counts: dict[str, int] = {}
    with Session(engine) as session:
        for model in ENTRY_TABLES:
            query = select(func.count()).select_from(model)
            if patient_id is not None:
                query = query.where(model.patient_id == patient_id)
            counts[model.__name__] = session.scalar(query) or 0
    return counts


def audits(engine: Engine, action: str, actor: int) -> list[AuditEvent]:
    with Session(engine) as session:
        rows = list(
            session.execute(
                select(AuditEvent).where(AuditEvent.action == action, AuditEvent.actor_id == actor)
            ).scalars()
        )
        session.expunge_all()
    return rows


def newest_event(engine: Engine, patient_id: int) -> int | None:
    with Session(engine) as session:
        return session.scalar(select(func.max(ClinicalEvent.id)).where(ClinicalEvent.patient_id == patient_id))


def save(client: FlaskClient, portal: Dash, form: str, values: dict[str, Any]) -> TestResponse:
    """Press a form's save button with `values` (the rest empty)."""
    key = {"ind": INDICATORS, "dx": DIAGNOSIS, "lab": LAB, "ins": INSTRUMENTAL, "tx": TREATMENT, "al": ALLERGY}[form]
    return call(client, portal, key, {f"record-{form}-save.n_clicks": 1} | values, f"record-{form}-save.n_clicks")


def indicators(people: People, **typed: object) -> dict[str, object]:
    values: dict[str, object] = {
        "record-patient.data": people.patient,
        "record-encounter.value": str(people.visit),
        "record-ind-time.value": local(),
        "record-ind-time-default.data": local(60),
    }
    return values | {f"record-ind-{code}.value": value for code, value in typed.items()}


def diagnosis(people: People, code: object = "I10", **extra: object) -> dict[str, object]:
    return {
        "record-patient.data": people.patient,
        "record-encounter.value": str(people.visit),
        "record-dx-code.value": code,
        "record-dx-kind.value": "preliminary",
    } | extra


def result_of(answer: dict[str, Any], component: str) -> tuple[str, str]:
    """(colour, text) of the alert a form shows."""
    alert = answer[component]["children"]
    return alert["props"]["color"], text_of(alert)


def pattern_call(
    client: FlaskClient,
    portal: Dash,
    key: str,
    inputs: list[Any],
    state: list[Any],
    trigger: str,
) -> TestResponse:
    """POST a callback with pattern-matching inputs or state, as the browser does."""
    parts = [part for part in key.strip(".").split("...") if part]
    outputs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]} for p in parts]
    body = {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [trigger],
    }
    return client.post(UPDATE_PATH, json=body)


def key_with_input(portal: Dash, component: str) -> str:
    """The callback map key of the callback that `component` is the first input of."""
    keys = [str(key) for key, entry in portal.callback_map.items() if entry["inputs"][0]["id"] == component]
    assert len(keys) == 1, (component, keys)
    return keys[0]


def item_button(kind_of_button: str, kind: str, row_id: int) -> dict[str, Any]:
    return {"id": {"type": kind_of_button, "item": f"{kind}-{row_id}"}, "property": "n_clicks", "value": 1}


def open_fix(client: FlaskClient, portal: Dash, kind: str, row_id: int, patient_id: int) -> dict[str, Any]:
    button = item_button("record-fix", kind, row_id)
    key = key_with_input(portal, stringify_id({"item": ["ALL"], "type": "record-fix"}))
    state = [{"id": "record-patient", "property": "data", "value": patient_id}]
    trigger = f"{stringify_id(button['id'])}.n_clicks"
    return response_of(pattern_call(client, portal, key, [[button]], state, trigger))


def fix(
    client: FlaskClient,
    portal: Dash,
    group: str,
    action: str,
    target: object,
    originals: object,
    fields: dict[str, object],
    reason: object,
    patient_id: object,
) -> TestResponse:
    """Press the correction form's save or withdraw button of `group`."""
    key = key_with_input(portal, f"record-fix-save-{group}")
    inputs = [
        {"id": f"record-fix-save-{group}", "property": "n_clicks", "value": 1 if action == "save" else None},
        {"id": f"record-fix-withdraw-{group}", "property": "n_clicks", "value": 1 if action == "withdraw" else None},
    ]
    state = [
        {"id": "record-fix-target", "property": "data", "value": target},
        {"id": "record-fix-originals", "property": "data", "value": originals},
        [
            {"id": {"type": "record-fix-field", "name": name}, "property": "value", "value": value}
            for name, value in fields.items()
        ],
        {"id": "record-fix-reason", "property": "value", "value": reason},
        {"id": "record-patient", "property": "data", "value": patient_id},
    ]
    trigger = f"record-fix-{action}-{group}.n_clicks"
    return pattern_call(client, portal, key, inputs, state, trigger)


def refresh(
    client: FlaskClient, portal: Dash, patient_id: object, shown: object, trigger: str = "record-tick.n_intervals"
) -> TestResponse:
    values = {
        "record-tick.n_intervals": 3,
        "record-kinds.value": None,
        "record-shown.data": shown,
        "record-patient.data": patient_id,
    }
    return call(client, portal, REFRESH, values, trigger)


# --- reading -----------------------------------------------------------------------------------------------------


def test_the_doctor_reads_the_record_with_the_forms_of_the_role(portal: Dash, engine: Engine, people: People) -> None:
    page = rendered(portal, engine, people.doctor, people.patient)
    with Session(engine) as session:
        patient = session.get_one(Patient, people.patient)
        name, pinfl = patient.full_name, patient.pinfl
    assert name in page and pinfl in page
    assert "record-timeline" in page and "record-item-encounter-" in page
    for form in ("ind", "dx", "lab", "ins", "tx", "al"):
        assert f"record-{form}-save" in page
    assert f"value='{people.visit}'" in page  # the open visit chosen
    read = audits(engine, "emr.record.read", people.doctor)
    assert read and read[-1].patient_id == people.patient


def test_a_nurse_has_the_indicator_and_treatment_forms_only(portal: Dash, engine: Engine, people: People) -> None:
    page = rendered(portal, engine, people.nurse, people.patient)
    assert "record-ind-save" in page and "record-tx-save" in page
    assert "record-dx-save" not in page and "record-lab-save" not in page and "record-al-save" not in page
    registrar = rendered(portal, engine, people.registrar, people.patient)
    assert "record-timeline" in registrar
    assert not any(f"record-{form}-save" in registrar for form in ("ind", "dx", "lab", "ins", "tx", "al"))


def test_a_manager_is_refused_the_page_and_its_callbacks(
    client: FlaskClient, portal: Dash, engine: Engine, people: People
) -> None:
    assert "guard-denied" in rendered(portal, engine, people.manager, people.patient)
    sign_in_as(client, people.manager)
    before = entries(engine)
    assert refresh(client, portal, people.patient, None).status_code == 403
    assert save(client, portal, "ind", indicators(people, pulse="72")).status_code == 403
    assert save(client, portal, "dx", diagnosis(people)).status_code == 403
    assert entries(engine) == before


def test_a_missing_or_garbage_patient_shows_a_message(portal: Dash, engine: Engine, people: People) -> None:
    for garbage in ("999999999", "abc", "-1", "1" * 30):
        page = rendered(portal, engine, people.doctor, garbage)
        assert "record-missing" in page and "record-timeline" not in page


# --- entries -----------------------------------------------------------------------------------------------------


def test_the_doctor_records_through_the_forms(
    client: FlaskClient, portal: Dash, engine: Engine, people: People
) -> None:
    sign_in_as(client, people.doctor)
    answer = response_of(
        save(client, portal, "ind", indicators(people, bp_systolic="120", bp_diastolic="80", weight="70,5", height=175))
    )
    assert result_of(answer, "record-ind-result")[0] == "success"
    assert answer["record-ind-bp_systolic"]["value"] == ""  # emptied for the next measurement
    with Session(engine) as session:
        rows = session.execute(
            select(Observation).where(Observation.patient_id == people.patient).order_by(Observation.id)
        ).scalars()
        stored = {row.code: row for row in rows}
    assert {str(code) for code in stored} == {"bp_systolic", "bp_diastolic", "weight", "height", "bmi"}
    assert stored[Indicator.WEIGHT].value == 70.5
    for row in stored.values():
        assert (row.created_by, row.organization_id, row.encounter_id) == (
            people.doctor,
            people.organization,
            people.visit,
        )
    # The time typed left as the form filled it means "now".
    untouched = indicators(people, pulse="72")
    untouched["record-ind-time-default.data"] = untouched["record-ind-time.value"]
    response_of(save(client, portal, "ind", untouched))
    with Session(engine) as session:
        pulse = session.execute(select(Observation).where(Observation.code == Indicator.PULSE)).scalar_one()
        assert datetime.now(TASHKENT) - pulse.effective_at < timedelta(minutes=1)

    answer = response_of(
        save(client, portal, "dx", diagnosis(people, "I10", **{"record-dx-note.value": "Bosh og'riq"}))
    )
    colour, message = result_of(answer, "record-dx-result")
    assert colour == "success" and "I10" in message
    assert answer["record-dx-code"]["value"] is None
    with Session(engine) as session:
        condition = session.execute(select(Condition).where(Condition.icd10_code == "I10")).scalar_one()
        assert (condition.icd10_code, condition.created_by, condition.organization_id, condition.encounter_id) == (
            "I10",
            people.doctor,
            people.organization,
            people.visit,
        )

    lab = {
        "record-patient.data": people.patient,
        "record-encounter.value": str(people.visit),
        "record-lab-code.value": "glu",
        "record-lab-name.value": "Glyukoza",
        "record-lab-value.value": "7,2",
        "record-lab-unit.value": "mmol/L",
        "record-lab-low.value": "3.9",
        "record-lab-high.value": "6.0",
        "record-lab-collected.value": local(30),
        "record-lab-resulted.value": local(5),
        "record-lab-referral.value": str(people.referral),
    }
    answer = response_of(save(client, portal, "lab", lab))
    assert result_of(answer, "record-lab-result")[0] == "success"
    with Session(engine) as session:
        result = session.execute(select(LabResult).where(LabResult.patient_id == people.patient)).scalar_one()
        assert (result.test_code, result.value_numeric, result.flag, result.referral_id) == (
            "GLU",
            7.2,
            "high",
            people.referral,
        )
        assert (result.created_by, result.organization_id, result.encounter_id) == (
            people.doctor,
            people.organization,
            people.visit,
        )
        assert session.get_one(Referral, people.referral).state == ReferralState.COMPLETED
    words = lab | {"record-lab-code.value": "HBS", "record-lab-name.value": "HBsAg", "record-lab-value.value": "manfiy"}
    words |= {"record-lab-referral.value": "none", "record-lab-low.value": None, "record-lab-high.value": None}
    response_of(save(client, portal, "lab", words))
    with Session(engine) as session:
        text = session.execute(select(LabResult.value_text).where(LabResult.test_code == "HBS")).scalar_one()
        assert text == "manfiy"

    study = {
        "record-patient.data": people.patient,
        "record-encounter.value": str(people.visit),
        "record-ins-modality.value": "ecg",
        "record-ins-study.value": "EKG",
        "record-ins-conclusion.value": "Sinus ritm.\nYurak urishi 72.",
        "record-ins-time.value": local(),
        "record-ins-referral.value": "none",
    }
    response_of(save(client, portal, "ins", study))
    treatment = {
        "record-patient.data": people.patient,
        "record-encounter.value": str(people.visit),
        "record-tx-kind.value": "medication",
        "record-tx-title.value": "Amlodipin 5 mg",
        "record-tx-text.value": "Ichish uchun",
        "record-tx-time.value": local(),
    }
    answer = response_of(save(client, portal, "tx", treatment))
    assert result_of(answer, "record-tx-result")[0] == "success"
    allergy = {
        "record-patient.data": people.patient,
        "record-encounter.value": None,  # an allergy needs no visit
        "record-al-substance.value": "Penitsillin",
        "record-al-severity.value": "severe",
        "record-al-atc.value": "j01c",
    }
    answer = response_of(save(client, portal, "al", allergy))
    assert result_of(answer, "record-al-result")[0] == "success"
    with Session(engine) as session:
        conclusion = session.execute(select(InstrumentalResult.conclusion)).scalar_one()
        assert conclusion == "Sinus ritm.\nYurak urishi 72."  # line breaks kept
        given = session.execute(select(TreatmentRecord)).scalar_one()
        assert (given.kind, given.created_by, given.organization_id, given.encounter_id) == (
            "medication",
            people.doctor,
            people.organization,
            people.visit,
        )
        penicillin = session.execute(select(Allergy)).scalar_one()
        assert (penicillin.atc_code, penicillin.encounter_id, penicillin.organization_id) == (
            "J01C",
            None,
            people.organization,
        )
    # The page re-reads at once: the allergy in the header, the entries in the timeline.
    answer = response_of(refresh(client, portal, people.patient, None, "record-saved.data"))
    assert "Penitsillin" in text_of(answer["record-allergies"]["children"])
    timeline = text_of(answer["record-timeline"]["children"])
    assert "Glyukoza" in timeline and "Amlodipin 5 mg" in timeline and "I10" in timeline
    assert answer["record-shown"]["data"] == newest_event(engine, people.patient)
    offered = [o["value"] for o in answer["record-lab-referral"]["options"]]
    assert str(people.referral) not in offered  # answered: no longer offered


@pytest.mark.parametrize(
    ("form", "values", "field"),
    [
        ("ind", {"record-ind-pulse.value": "900"}, "record-ind-pulse"),
        ("ind", {"record-ind-pulse.value": "72", "record-ind-spo2.value": "9x"}, "record-ind-spo2"),
        (
            "ind",
            {"record-ind-bp_systolic.value": "80", "record-ind-bp_diastolic.value": "95"},
            "record-ind-bp_diastolic",
        ),
        ("ind", {"record-ind-pulse.value": "72", "record-ind-time.value": "kecha"}, "record-ind-time"),
        ("ind", {"record-ind-pulse.value": "72", "record-ind-time.value": "2999-01-01T10:00"}, "record-ind-time"),
        ("ind", {}, None),  # nothing typed
        ("dx", {"record-dx-code.value": "XYZ"}, "record-dx-code"),
        ("dx", {"record-dx-code.value": None}, "record-dx-code"),
        ("dx", {"record-dx-code.value": "I10", "record-dx-kind.value": "maybe"}, "record-dx-kind"),
        ("dx", {"record-dx-code.value": "I10", "record-dx-onset.value": "2999-01-01"}, "record-dx-onset"),
        ("lab", {"record-lab-name.value": "Glyukoza", "record-lab-value.value": "5"}, "record-lab-code"),
        (
            "lab",
            {
                "record-lab-code.value": "GLU",
                "record-lab-name.value": "Glyukoza",
                "record-lab-value.value": "5",
                "record-lab-collected.value": local(5),
                "record-lab-resulted.value": local(50),
            },
            "record-lab-resulted",
        ),
        ("tx", {"record-tx-kind.value": "procedure", "record-tx-title.value": ""}, "record-tx-title"),
    ],
)
def test_impossible_values_are_named_and_nothing_is_saved(
    client: FlaskClient,
    portal: Dash,
    engine: Engine,
    people: People,
    form: str,
    values: dict[str, object],
    field: str | None,
) -> None:
    sign_in_as(client, people.doctor)
    common: dict[str, object] = {
        "record-patient.data": people.second_patient,
        "record-encounter.value": str(people.second_visit),
        "record-ind-time.value": local(),
        "record-dx-kind.value": "final",
        "record-lab-collected.value": local(20),
        "record-lab-resulted.value": local(10),
        "record-tx-time.value": local(),
    }
    before = entries(engine)
    answer = response_of(save(client, portal, form, common | values))
    assert entries(engine) == before
    colour, message = result_of(answer, f"record-{form}-result")
    assert colour == "danger" and ":" in message
    assert "record-saved" not in answer  # the record is not re-read
    if field is not None:
        assert answer[f"{field}-feedback"]["children"]
        if "invalid" in answer.get(field, {}):
            assert answer[field]["invalid"] is True


def test_a_nurse_records_indicators_but_not_a_diagnosis(
    client: FlaskClient, portal: Dash, engine: Engine, people: People
) -> None:
    sign_in_as(client, people.nurse)
    before = entries(engine)
    assert save(client, portal, "dx", diagnosis(people, "J06.9")).status_code == 403
    assert save(client, portal, "lab", {"record-patient.data": people.patient}).status_code == 403
    assert save(client, portal, "al", {"record-patient.data": people.patient}).status_code == 403
    assert entries(engine) == before
    answer = response_of(save(client, portal, "ind", indicators(people, temperature="37,8")))
    assert result_of(answer, "record-ind-result")[0] == "success"
    with Session(engine) as session:
        row = session.execute(select(Observation).where(Observation.code == Indicator.TEMPERATURE)).scalar_one()
        assert (row.value, row.created_by, row.flag) == (37.8, people.nurse, "high")
    denied = audits(engine, "callback.denied", people.nurse)
    assert len(denied) >= 3 and all(event.outcome == Outcome.DENIED for event in denied)


# --- access --------------------------------------------------------------------------------------------------------


def test_another_organization_is_refused_until_emergency_access(
    client: FlaskClient, portal: Dash, engine: Engine, people: People
) -> None:
    page = rendered(portal, engine, people.other_doctor, people.patient)
    assert "record-denied" in page and "record-emergency-reason" in page
    with Session(engine) as session:
        pinfl = session.get_one(Patient, people.patient).pinfl
    assert pinfl not in page and "record-timeline" not in page
    denied = audits(engine, "emr.record.denied", people.other_doctor)
    assert denied and denied[-1].patient_id == people.patient and denied[-1].outcome == Outcome.DENIED

    sign_in_as(client, people.other_doctor)
    before = entries(engine)
    # Forged calls name the patient: refused inside, nothing shown, nothing saved.
    answer = response_of(refresh(client, portal, people.patient, None, "record-kinds.value"))
    assert "record-timeline-refused" in str(answer) and "I10" not in str(answer)
    forged = indicators(people, pulse="70") | {"record-encounter.value": str(people.other_visit)}
    assert result_of(response_of(save(client, portal, "ind", forged)), "record-ind-result")[0] == "danger"
    assert entries(engine) == before

    short = {
        "record-emergency-open.n_clicks": 1,
        "record-emergency-reason.value": "tez",
        "record-patient.data": people.patient,
    }
    answer = response_of(call(client, portal, EMERGENCY, short, "record-emergency-open.n_clicks"))
    assert "record-body" not in answer and "record-emergency-error" in str(answer)
    reason = short | {"record-emergency-reason.value": "Tez yordam: hushsiz holda keltirildi"}
    answer = response_of(call(client, portal, EMERGENCY, reason, "record-emergency-open.n_clicks"))
    assert "record-timeline" in str(answer["record-body"]["children"])
    granted = audits(engine, "emr.emergency_access", people.other_doctor)
    assert granted and granted[-1].outcome == Outcome.SUCCESS and granted[-1].patient_id == people.patient
    with Session(engine) as session:
        grant = session.execute(select(EmergencyAccess).where(EmergencyAccess.cabinet_id == people.other_doctor))
        assert grant.scalar_one().reason == "Tez yordam: hushsiz holda keltirildi"
    page = rendered(portal, engine, people.other_doctor, people.patient)
    assert "record-timeline" in page and "record-denied" not in page
    reads = audits(engine, "emr.record.read", people.other_doctor)
    assert reads and "emergency" in (reads[-1].detail or "")
    # Read, but not theirs to write in: no visit of their organization with the patient.
    answer = response_of(save(client, portal, "ind", forged))
    assert result_of(answer, "record-ind-result")[0] == "danger"
    assert entries(engine) == before


def test_forged_ids_are_refused_and_change_nothing(
    client: FlaskClient, portal: Dash, engine: Engine, people: People
) -> None:
    sign_in_as(client, people.doctor)
    before = entries(engine)
    for visit in (
        str(people.other_visit),  # another organization's visit
        str(people.second_visit),  # this organization's visit with another patient
        "x",
        "-1",
        "9" * 30,
        None,
        {"id": 1},
    ):
        answer = response_of(
            save(client, portal, "ind", indicators(people, pulse="70") | {"record-encounter.value": visit})
        )
        colour, message = result_of(answer, "record-ind-result")
        assert colour == "danger" and message, visit
    for patient in (None, "x", -5, 10**30, [1]):
        response = save(client, portal, "ind", indicators(people, pulse="70") | {"record-patient.data": patient})
        assert response.status_code == 204, patient
    other_patient = indicators(people, pulse="70") | {"record-patient.data": people.other_patient}
    assert result_of(response_of(save(client, portal, "ind", other_patient)), "record-ind-result")[0] == "danger"
    with Session(engine) as session:
        foreign = emr_factories.referral(session, session.get_one(Encounter, people.other_visit), ReferralKind.LAB)
        session.commit()
        foreign_id = foreign.id
    lab = {
        "record-patient.data": people.patient,
        "record-encounter.value": str(people.visit),
        "record-lab-code.value": "ALT",
        "record-lab-name.value": "ALT",
        "record-lab-value.value": "30",
        "record-lab-collected.value": local(20),
        "record-lab-resulted.value": local(10),
    }
    for referral in (str(foreign_id), "abc", "-3"):
        answer = response_of(save(client, portal, "lab", lab | {"record-lab-referral.value": referral}))
        assert result_of(answer, "record-lab-result")[0] == "danger", referral
    assert entries(engine) == before
    with Session(engine) as session:
        assert session.get_one(Referral, foreign_id).state == ReferralState.ISSUED


# --- corrections and history ---------------------------------------------------------------------------------------


def test_a_correction_through_the_page_keeps_both_versions(
    client: FlaskClient, portal: Dash, engine: Engine, people: People
) -> None:
    sign_in_as(client, people.doctor)
    response_of(save(client, portal, "ind", indicators(people, glucose="5.4")))
    with Session(engine) as session:
        old = session.execute(select(Observation).where(Observation.code == Indicator.GLUCOSE)).scalar_one()
        old_id, old_time = old.id, old.effective_at
    opened = open_fix(client, portal, "indicator", old_id, people.patient)
    assert opened["record-fix-modal"]["is_open"] is True
    originals = opened["record-fix-originals"]["data"]
    assert originals["value"] == "5.4"
    target = opened["record-fix-target"]["data"]
    assert "record-fix-save-indicators" in str(opened["record-fix-actions"]["children"])

    fields = dict(originals)
    before = entries(engine)
    no_reason = response_of(
        fix(client, portal, "indicators", "save", target, originals, fields | {"value": "4,5"}, "", people.patient)
    )
    assert "record-fix-error" in str(no_reason) and entries(engine) == before
    nothing = response_of(fix(client, portal, "indicators", "save", target, originals, fields, "Xato", people.patient))
    assert "record-fix-error" in str(nothing) and entries(engine) == before
    answer = response_of(
        fix(
            client,
            portal,
            "indicators",
            "save",
            target,
            originals,
            fields | {"value": "4,5"},
            "Xato yozildi",
            people.patient,
        )
    )
    assert answer["record-fix-modal"]["is_open"] is False and "record-fix-done" in str(answer)
    with Session(engine) as session:
        kept = session.get_one(Observation, old_id)
        new = session.execute(select(Observation).where(Observation.replaces_id == old_id)).scalar_one()
        assert (kept.status, kept.status_reason, kept.value) == (RecordStatus.SUPERSEDED, "Xato yozildi", 5.4)
        assert (new.status, new.value, new.effective_at, new.created_by) == (
            RecordStatus.ACTIVE,
            4.5,
            old_time,  # the time left as it was is not moved to the minute shown
            people.doctor,
        )
        new_id = new.id
    # Both versions on the timeline, the old one struck through with the reason; the history shows the chain.
    timeline = str(response_of(refresh(client, portal, people.patient, None, "record-saved.data"))["record-timeline"])
    assert f"record-item-indicator-{old_id}" in timeline and f"record-item-indicator-{new_id}" in timeline
    assert "text-decoration-line-through" in timeline and "Xato yozildi" in timeline
    button = item_button("record-history", "indicator", new_id)
    key = key_with_input(portal, stringify_id({"item": ["ALL"], "type": "record-history"}))
    state = [{"id": "record-patient", "property": "data", "value": people.patient}]
    shown = response_of(pattern_call(client, portal, key, [[button]], state, f"{stringify_id(button['id'])}.n_clicks"))
    history = str(shown["record-history-body"]["children"])
    assert f"record-history-version-{old_id}" in history and f"record-history-version-{new_id}" in history
    assert audits(engine, "emr.history.read", people.doctor)
    # The superseded version cannot be corrected again; a nurse cannot correct a diagnosis.
    again = open_fix(client, portal, "indicator", old_id, people.patient)
    assert "record-fix-error" in str(again)
    with Session(engine) as session:
        condition_id = session.execute(select(Condition.id).where(Condition.patient_id == people.patient)).scalar()
    if condition_id is not None:
        sign_in_as(client, people.nurse)
        target = {"kind": "diagnosis", "id": condition_id}
        response = fix(client, portal, "diagnosis", "withdraw", target, {}, {}, "Xato", people.patient)
        assert response.status_code == 403


def test_a_withdrawal_and_forged_corrections(client: FlaskClient, portal: Dash, engine: Engine, people: People) -> None:
    with Session(engine) as session:
        visit = session.get_one(Encounter, people.visit)
        other_visit = session.get_one(Encounter, people.other_visit)
        own = factories.diagnosis(session, visit, "J20.9", kind=ConditionKind.COMORBIDITY)
        foreign = factories.diagnosis(session, other_visit, "K29.7")
        session.commit()
        own_id, foreign_id = own.id, foreign.id
    sign_in_as(client, people.doctor)
    # Another organization's entry, named as this patient's or as its own patient's: not shown to exist / refused.
    for patient, row in ((people.patient, foreign_id), (people.other_patient, foreign_id)):
        opened = open_fix(client, portal, "diagnosis", row, patient)
        assert "record-fix-error" in str(opened)
        target = {"kind": "diagnosis", "id": row}
        answer = response_of(fix(client, portal, "diagnosis", "withdraw", target, {}, {}, "Xato", patient))
        assert "record-fix-error" in str(answer)
    for forged in (
        None,
        "x",
        {"kind": "encounter", "id": own_id},
        {"kind": "diagnosis", "id": "abc"},
        {"kind": "indicator", "id": own_id},
    ):
        answer = response_of(fix(client, portal, "diagnosis", "withdraw", forged, {}, {}, "Xato", people.patient))
        assert "record-fix-error" in str(answer), forged
    with Session(engine) as session:
        assert session.get_one(Condition, foreign_id).status == RecordStatus.ACTIVE
        assert session.get_one(Condition, own_id).status == RecordStatus.ACTIVE
    target = {"kind": "diagnosis", "id": own_id}
    answer = response_of(fix(client, portal, "diagnosis", "withdraw", target, {}, {}, "Boshqa bemorga", people.patient))
    assert "record-fix-done" in str(answer)
    with Session(engine) as session:
        withdrawn = session.get_one(Condition, own_id)
        assert (withdrawn.status, withdrawn.status_reason) == (RecordStatus.ENTERED_IN_ERROR, "Boshqa bemorga")


# --- following the record ------------------------------------------------------------------------------------------


def test_the_refresh_answers_nothing_until_the_record_changes(
    client: FlaskClient, portal: Dash, engine: Engine, people: People
) -> None:
    sign_in_as(client, people.nurse)
    shown = newest_event(engine, people.patient)
    reads = len(audits(engine, "emr.record.read", people.nurse))
    assert refresh(client, portal, people.patient, shown).status_code == 204
    assert len(audits(engine, "emr.record.read", people.nurse)) == reads  # nothing re-read
    # A diagnosis made elsewhere (by the doctor, on another page) shows at the next tick.
    with Session(engine) as session:
        doctor = session.get_one(Cabinet, people.doctor)
        row = record_diagnosis(
            session,
            encounter_id=people.visit,
            icd10_code="E11.9",
            kind="comorbidity",
            actor=emr_factories.actor(doctor),
        )
        session.commit()
        row_id = row.id
    answer = response_of(refresh(client, portal, people.patient, shown))
    assert f"record-item-diagnosis-{row_id}" in str(answer["record-timeline"]["children"])
    assert "E11.9" in text_of(answer["record-timeline"]["children"])
    assert answer["record-shown"]["data"] == newest_event(engine, people.patient) != shown
    assert len(audits(engine, "emr.record.read", people.nurse)) == reads + 1
    assert refresh(client, portal, people.patient, answer["record-shown"]["data"]).status_code == 204


def test_the_helpers_of_the_forms(client: FlaskClient, portal: Dash, people: People) -> None:
    sign_in_as(client, people.doctor)
    found = response_of(
        call(
            client,
            portal,
            "record-dx-code.options",
            {"record-dx-code.search_value": "i10"},
            "record-dx-code.search_value",
        )
    )
    assert "I10" in [o["value"] for o in found["record-dx-code"]["options"]]
    kept = response_of(
        call(
            client,
            portal,
            "record-dx-code.options",
            {"record-dx-code.search_value": None, "record-dx-code.value": "J06.9"},
            "record-dx-code.search_value",
        )
    )
    assert [o["value"] for o in kept["record-dx-code"]["options"]] == ["J06.9"]  # the chosen code keeps its name
    bmi = response_of(
        call(
            client,
            portal,
            "record-ind-bmi.value",
            {"record-ind-weight.value": "80", "record-ind-height.value": "180"},
            "record-ind-weight.value",
        )
    )
    assert bmi["record-ind-bmi"]["value"] == "24.7"
    garbage = response_of(
        call(
            client,
            portal,
            "record-ind-bmi.value",
            {"record-ind-weight.value": "80", "record-ind-height.value": "18"},
            "record-ind-weight.value",
        )
    )
    assert garbage["record-ind-bmi"]["value"] == ""
    sign_in_as(client, people.nurse)
    search = {"record-dx-code.search_value": "i10"}
    assert call(client, portal, "record-dx-code.options", search, "record-dx-code.search_value").status_code == 403

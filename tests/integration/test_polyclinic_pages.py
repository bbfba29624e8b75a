"""The polyclinic pages over HTTP (Elektron poliklinika): the registrar books and walks patients in and marks arrivals,
cancellations and no-shows; the doctor's own queue refreshes only when it changed; the doctor opens a visit from the
queue, writes findings, indicators, a diagnosis and referrals, and closes it. Wrong roles get 403, garbage and
forged ids change nothing, and another organization's rows are never shown or changed."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
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
from ehealth.access.models import Cabinet, Role
from ehealth.emr import entries
from ehealth.emr.models import (
    Condition,
    Encounter,
    EncounterKind,
    EncounterState,
    Indicator,
    Observation,
    Referral,
    ReferralKind,
)
from ehealth.i18n import gettext, language
from ehealth.identifiers import make_pinfl
from ehealth.patients.models import Patient, Sex
from ehealth.polyclinic.models import Appointment, AppointmentKind, AppointmentState
from ehealth.reference.models import Organization, OrganizationKind
from settings import Settings
from tests import factories, own_database
from tests import polyclinic_factories as pf
from tests.dash_calls import call, callback_key, response_of, text_of
from tests.polyclinic_factories import DAY, at
from tests.signin_checks import sign_in_as

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

FIND = "polyclinic-patient.children"
BOOK = ("polyclinic-booking-result.children", "polyclinic-desk-changed.data")
DESK = ("polyclinic-desk-box.children", "polyclinic-desk-shown.data")
DESK_ACTION = ("polyclinic-desk-result.children", "polyclinic-desk-changed.data")
MINE = ("polyclinic-mine-box.children", "polyclinic-mine-shown.data")
OPEN = ("polyclinic-go.href", "polyclinic-mine-result.children")
LISTS = "visit-lists.children"
FINDINGS = "visit-findings-result.children"
BMI = "visit-ind-bmi.value"
ENTERED = [kind for kind in Indicator if kind != Indicator.BMI]
INDICATORS = ("visit-ind-result.children", "visit-ind-saved.data", *(f"visit-ind-{k.value}.value" for k in ENTERED))
DX_SEARCH = "visit-dx-code.options"
DIAGNOSIS = ("visit-dx-result.children", "visit-dx-saved.data", "visit-dx-code.value", "visit-dx-note.value")
TARGETS = ("visit-ref-target.options", "visit-ref-target-box.className")
REFER = (
    "visit-ref-result.children",
    "visit-ref-saved.data",
    "visit-ref-reason.value",
    "visit-ref-code.value",
    "visit-ref-target.value",
)
CLOSE = ("visit-body.children", "visit-close-result.children")
# The callbacks only a doctor may call (they declare RECORD_DIAGNOSIS).
Outputs = tuple[str, ...] | str
DOCTOR_ONLY: list[Outputs] = [
    MINE,
    OPEN,
    LISTS,
    FINDINGS,
    DX_SEARCH,
    DIAGNOSIS,
    TARGETS,
    REFER,
    CLOSE,
    "visit-ref-code.options",
]
REGISTRAR_ONLY: list[Outputs] = [FIND, BOOK, DESK, DESK_ACTION]

DISTRICT = 556  # a district code no other test module uses for its patients
_serial = itertools.count(1)


@dataclass(frozen=True)
class People:
    """A polyclinic's staff, another polyclinic's doctor and registrar, and a hospital and polyclinic to refer to."""

    organization: int
    registrar: int
    doctor: int
    second_doctor: int
    nurse: int
    manager: int
    other_doctor: int
    other_registrar: int
    hospital: int
    polyclinic: int


@pytest.fixture(scope="module")
def people(engine: Engine) -> People:
    with Session(engine) as session:
        org = factories.organization(session)
        other = factories.organization(session)
        hospital = factories.organization(session, OrganizationKind.HOSPITAL)
        doctor = factories.cabinet(session, org, Role.DOCTOR)
        doctor.department_id = pf.department(session, org).id
        found = People(
            organization=org.id,
            registrar=factories.cabinet(session, org, Role.REGISTRAR).id,
            doctor=doctor.id,
            second_doctor=factories.cabinet(session, org, Role.DOCTOR).id,
            nurse=factories.cabinet(session, org, Role.NURSE).id,
            manager=factories.cabinet(session, org, Role.MANAGER).id,
            other_doctor=factories.cabinet(session, other, Role.DOCTOR).id,
            other_registrar=factories.cabinet(session, other, Role.REGISTRAR).id,
            hospital=hospital.id,
            polyclinic=other.id,
        )
        session.commit()
    return found


@pytest.fixture(scope="module")
def portal(database_url: str, people: People) -> Dash:
    app = create_app(Settings(environment="test", database_url=database_url, secret_key="y" * 40))
    app.server.test_client().get("/healthz")  # the first request moves the pages' callbacks into the app
    return app


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    with portal.server.test_client() as client:
        yield client


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> pf.Clock:
    """The services' clock at 09:00 on a working Tuesday (the entries' too, so that nothing is 'in the future')."""
    frozen = pf.freeze(monkeypatch, at(DAY, 9))
    monkeypatch.setattr(entries, "utcnow", frozen)
    return frozen


def new_patient(engine: Engine, surname: str = "Toshmatov", born: date = date(1980, 6, 15)) -> tuple[int, str]:
    """A committed patient: (id, PINFL)."""
    with Session(engine) as session:
        row = Patient(
            pinfl=make_pinfl(born, "male", DISTRICT, next(_serial)),
            surname=surname,
            given_name="Ali",
            patronymic=None,
            birth_date=born,
            sex=Sex.MALE,
            region_id=factories.TASHKENT_CITY,
        )
        session.add(row)
        session.commit()
        return row.id, row.pinfl


def count(engine: Engine, model: type[Any], **where: Any) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return session.scalar(query) or 0


def appointments_of(engine: Engine, patient_id: int) -> list[Appointment]:
    with Session(engine) as session:
        rows = session.execute(select(Appointment).where(Appointment.patient_id == patient_id).order_by(Appointment.id))
        return list(rows.scalars())


def encounter(engine: Engine, encounter_id: int) -> Encounter:
    with Session(engine) as session:
        return session.get_one(Encounter, encounter_id)


def rendered(portal: Dash, engine: Engine, page: str, cabinet_id: int, **path: str) -> str:
    """The page's layout as `cabinet_id` sees it (its repr names every component id and its text)."""
    module = dash.page_registry[page]
    with Session(engine) as session:
        who = PortalUser.of(session.get_one(Cabinet, cabinet_id))
    assert who is not None
    with portal.server.test_request_context(module["path"]):
        login_user(who)
        return str(module["layout"](**path))


def alert(answer: dict[str, Any], output: str) -> tuple[str, str]:
    """(colour, text) of the alert a callback returned in `output`."""
    component = answer[output]["children"]
    return component["props"]["color"], text_of(component)


def _id(component: dict[str, Any]) -> str:
    """A pattern-matching id as Dash writes it in a triggered prop id."""
    return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(component[k])}" for k in sorted(component)) + "}"


def row_call(
    client: FlaskClient,
    portal: Dash,
    outputs: tuple[str, ...],
    button: str,
    index: object,
    states: Mapping[str, object] | None = None,
) -> TestResponse:
    """POST a queue row's button click the way the browser does (pattern-matching ids, ALL)."""
    key = callback_key(portal, *outputs)
    entry = portal.callback_map[key]

    def group(spec: dict[str, str], value: object, wanted: str, prop: str) -> list[dict[str, Any]]:
        kind = json.loads(spec["id"])["type"]
        if kind != wanted:
            return []
        return [{"id": {"type": kind, "index": index}, "property": prop, "value": value}]

    inputs = [group(spec, 1, button, "n_clicks") for spec in entry["inputs"]]
    state = []
    for spec in entry["state"]:
        kind = json.loads(spec["id"])["type"]
        value = (states or {}).get(kind)
        state.append(group(spec, value, kind, spec["property"]) if kind in (states or {}) else [])
    parts = [part for part in key.strip(".").split("...") if part]
    declared = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1].split("@")[0]} for part in parts]
    body = {
        "output": key,
        "outputs": declared,
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{_id({'type': button, 'index': index})}.n_clicks"],
    }
    return client.post(UPDATE_PATH, json=body)


# --- the registrar ------------------------------------------------------------------------------------------------


def book(client: FlaskClient, portal: Dash, pinfl: object, doctor: object, when: object, walk_in: bool = False) -> Any:
    button = "polyclinic-walk-in" if walk_in else "polyclinic-book"
    values = {
        f"{button}.n_clicks": 1,
        "polyclinic-pinfl.value": pinfl,
        "polyclinic-doctor.value": doctor,
        "polyclinic-when.value": when,
        "polyclinic-reason.value": "Bosh og'rig'i",
    }
    return response_of(call(client, portal, BOOK, values, f"{button}.n_clicks"))


def test_the_registrar_finds_books_and_walks_in(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, clock: pf.Clock
) -> None:
    booked_id, booked_pinfl = new_patient(engine, "Qodirov")
    walking_id, walking_pinfl = new_patient(engine, "Yusupov")
    sign_in_as(client, people.registrar)
    found = response_of(
        call(
            client,
            portal,
            FIND,
            {"polyclinic-pinfl.n_submit": 1, "polyclinic-pinfl.value": booked_pinfl},
            "polyclinic-pinfl.n_submit",
        )
    )
    assert "Qodirov" in text_of(found["polyclinic-patient"]["children"])
    unknown = make_pinfl(date(1970, 1, 1), "female", DISTRICT, 999)
    missing = response_of(
        call(client, portal, FIND, {"polyclinic-find.n_clicks": 1, "polyclinic-pinfl.value": unknown})
    )
    assert "polyclinic-patient-missing" in str(missing)
    wrong = response_of(call(client, portal, FIND, {"polyclinic-find.n_clicks": 1, "polyclinic-pinfl.value": "123"}))
    assert "polyclinic-patient-error" in str(wrong)

    answer = book(client, portal, booked_pinfl, str(people.doctor), "2030-03-05T10:30")
    assert alert(answer, "polyclinic-booking-result")[0] == "success"
    [made] = appointments_of(engine, booked_id)
    assert (made.practitioner_id, made.organization_id, made.kind, made.state) == (
        people.doctor,
        people.organization,
        AppointmentKind.BOOKED,
        AppointmentState.BOOKED,
    )
    assert made.scheduled_at == at(DAY, 10, 30) and made.reason == "Bosh og'rig'i"

    answer = book(client, portal, walking_pinfl, str(people.doctor), None, walk_in=True)
    assert alert(answer, "polyclinic-booking-result")[0] == "success"
    [walked] = appointments_of(engine, walking_id)
    assert (walked.kind, walked.state, walked.scheduled_at) == (
        AppointmentKind.WALK_IN,
        AppointmentState.ARRIVED,
        at(DAY, 9),
    )

    shown = response_of(call(client, portal, DESK, {"polyclinic-doctor.value": str(people.doctor)}))
    listed = str(shown["polyclinic-desk-box"])
    assert "Qodirov" in listed and "Yusupov" in listed
    assert f"polyclinic-desk-row-{made.id}" in listed and f"polyclinic-desk-row-{walked.id}" in listed
    signature = shown["polyclinic-desk-shown"]["data"]
    values = {"polyclinic-doctor.value": str(people.doctor), "polyclinic-desk-shown.data": signature}
    same = call(
        client, portal, DESK, values | {"polyclinic-desk-tick.n_intervals": 3}, "polyclinic-desk-tick.n_intervals"
    )
    assert same.status_code == 204  # nothing changed: no re-render
    idle = {"polyclinic-desk-tick.n_intervals": 4}
    assert call(client, portal, DESK, idle, "polyclinic-desk-tick.n_intervals").status_code == 204  # no doctor chosen


@pytest.mark.parametrize(
    ("pinfl", "doctor", "when", "field"),
    [
        (None, "DOCTOR", "2030-03-05T10:00", "PINFL"),
        ("12345678901234", "DOCTOR", "2030-03-05T10:00", "PINFL"),  # wrong check digit
        ("PINFL", None, "2030-03-05T10:00", "Doctor"),
        ("PINFL", "x'; DROP TABLE appointment", "2030-03-05T10:00", "Doctor"),
        ("PINFL", "OTHER", "2030-03-05T10:00", "Doctor"),  # a doctor of another polyclinic
        ("PINFL", "NURSE", "2030-03-05T10:00", "Doctor"),
        ("PINFL", "DOCTOR", "2030-03-05T08:30", "Date and time"),  # already past
        ("PINFL", "DOCTOR", "2030-03-09T10:00", "Date and time"),  # a Saturday
        ("PINFL", "DOCTOR", "2030-03-05T21:00", "Date and time"),  # after hours
        ("PINFL", "DOCTOR", "tomorrow", "Date and time"),
        ("PINFL", "DOCTOR", ["2030-03-05T10:00"], "Date and time"),
    ],
)
def test_bad_bookings_are_named_and_save_nothing(
    client: FlaskClient,
    portal: Dash,
    people: People,
    engine: Engine,
    clock: pf.Clock,
    pinfl: object,
    doctor: object,
    when: object,
    field: str,
) -> None:
    patient_id, real_pinfl = new_patient(engine)
    doctors = {"DOCTOR": str(people.doctor), "OTHER": str(people.other_doctor), "NURSE": str(people.nurse)}
    sign_in_as(client, people.registrar)
    before = count(engine, Appointment)
    answer = book(client, portal, real_pinfl if pinfl == "PINFL" else pinfl, doctors.get(str(doctor), doctor), when)
    colour, message = alert(answer, "polyclinic-booking-result")
    with language("uz"):
        assert colour == "danger" and message.startswith(gettext(field) + ":"), message
    assert "polyclinic-desk-changed" not in answer
    assert count(engine, Appointment) == before and appointments_of(engine, patient_id) == []


def test_arrive_cancel_and_no_show_through_the_page(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, clock: pf.Clock
) -> None:
    (first, first_pinfl), (second, second_pinfl), (third, third_pinfl) = (new_patient(engine) for _ in range(3))
    sign_in_as(client, people.registrar)
    for pinfl, minute in ((first_pinfl, "09:30"), (second_pinfl, "09:45"), (third_pinfl, "11:00")):
        answer = book(client, portal, pinfl, str(people.second_doctor), f"2030-03-05T{minute}")
        assert alert(answer, "polyclinic-booking-result")[0] == "success"
    [a], [b], [c] = (appointments_of(engine, p) for p in (first, second, third))

    answer = response_of(row_call(client, portal, DESK_ACTION, "polyclinic-arrive", a.id))
    assert alert(answer, "polyclinic-desk-result")[0] == "success" and answer["polyclinic-desk-changed"]["data"]
    assert appointments_of(engine, first)[0].state == AppointmentState.ARRIVED

    # A cancellation needs its reason; the reason of another row does not count.
    refused = response_of(
        row_call(client, portal, DESK_ACTION, "polyclinic-cancel", b.id, {"polyclinic-cancel-reason": None})
    )
    assert alert(refused, "polyclinic-desk-result")[0] == "danger"
    assert appointments_of(engine, second)[0].state == AppointmentState.BOOKED
    cancel_values = {"polyclinic-cancel-reason": "patient_request"}
    answer = response_of(row_call(client, portal, DESK_ACTION, "polyclinic-cancel", b.id, cancel_values))
    assert alert(answer, "polyclinic-desk-result")[0] == "success"
    assert appointments_of(engine, second)[0].state == AppointmentState.CANCELLED

    early = response_of(row_call(client, portal, DESK_ACTION, "polyclinic-no-show", c.id))
    assert alert(early, "polyclinic-desk-result")[0] == "danger"  # the appointment time has not passed yet
    clock.now = at(DAY, 11, 20)
    answer = response_of(row_call(client, portal, DESK_ACTION, "polyclinic-no-show", c.id))
    assert alert(answer, "polyclinic-desk-result")[0] == "success"
    assert appointments_of(engine, third)[0].state == AppointmentState.NO_SHOW

    # Arriving twice, or a row of another organization, or garbage: refused and nothing changes.
    again = response_of(row_call(client, portal, DESK_ACTION, "polyclinic-arrive", a.id))
    assert alert(again, "polyclinic-desk-result")[0] == "danger"
    other_patient, _ = new_patient(engine)
    with Session(engine) as session:
        other = pf.appointment(session, session.get_one(Cabinet, people.other_doctor), other_patient, at(DAY, 11))
        session.commit()
        other_id = other.id
    forged = response_of(row_call(client, portal, DESK_ACTION, "polyclinic-arrive", other_id))
    assert alert(forged, "polyclinic-desk-result")[0] == "danger"
    assert appointments_of(engine, other_patient)[0].state == AppointmentState.BOOKED
    for garbage in ("x", -1, 2**70, None, [1]):
        assert row_call(client, portal, DESK_ACTION, "polyclinic-arrive", garbage).status_code == 204

    # Another organization's doctor's queue is not shown, whatever the browser sends.
    foreign = response_of(call(client, portal, DESK, {"polyclinic-doctor.value": str(people.other_doctor)}))
    assert "polyclinic-desk-row" not in str(foreign) and foreign["polyclinic-desk-shown"]["data"] is None


# --- the doctor ---------------------------------------------------------------------------------------------------


def test_the_doctors_queue_shows_the_day_and_refreshes_only_on_change(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, clock: pf.Clock
) -> None:
    patient_id, pinfl = new_patient(engine, "Rahimov")
    sign_in_as(client, people.registrar)
    book(client, portal, pinfl, str(people.doctor), "2030-03-05T12:00")
    sign_in_as(client, people.doctor)
    page = rendered(portal, engine, "pages.polyclinic", people.doctor)
    assert "polyclinic-mine-box" in page and "polyclinic-pinfl" not in page  # no booking form for a doctor
    shown = response_of(call(client, portal, MINE, {"polyclinic-mine-tick.n_intervals": 1}))
    assert "Rahimov" in str(shown["polyclinic-mine-box"])
    signature = shown["polyclinic-mine-shown"]["data"]
    values = {"polyclinic-mine-tick.n_intervals": 2, "polyclinic-mine-shown.data": signature}
    assert call(client, portal, MINE, values).status_code == 204  # unchanged: nothing re-rendered
    # The registrar walks another patient in: the next tick re-renders.
    _, walker = new_patient(engine, "Nazarov")
    sign_in_as(client, people.registrar)
    book(client, portal, walker, str(people.doctor), None, walk_in=True)
    sign_in_as(client, people.doctor)
    changed = response_of(call(client, portal, MINE, values))
    assert "Nazarov" in str(changed["polyclinic-mine-box"]) and changed["polyclinic-mine-shown"]["data"] != signature
    # The registrar's own page has no doctor's queue; the second doctor does not see this doctor's patients.
    assert "polyclinic-mine-box" not in rendered(portal, engine, "pages.polyclinic", people.registrar)
    sign_in_as(client, people.second_doctor)
    theirs = response_of(call(client, portal, MINE, {"polyclinic-mine-tick.n_intervals": 1}))
    assert "Rahimov" not in str(theirs)
    assert appointments_of(engine, patient_id)[0].practitioner_id == people.doctor


def _visit_values(encounter_id: object, **more: object) -> dict[str, object]:
    return {"visit-encounter.data": encounter_id} | {key.replace("__", "."): value for key, value in more.items()}


def indicator_values(encounter_id: object, **typed: object) -> dict[str, object]:
    values: dict[str, object] = {"visit-ind-save.n_clicks": 1, "visit-encounter.data": encounter_id}
    return values | {f"visit-ind-{code}.value": value for code, value in typed.items()}


def test_the_doctor_works_a_visit_from_the_queue_to_its_close(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, clock: pf.Clock
) -> None:
    patient_id, pinfl = new_patient(engine, "Karimova", date(1975, 2, 1))
    sign_in_as(client, people.registrar)
    book(client, portal, pinfl, str(people.doctor), "2030-03-05T09:15")
    [appointment] = appointments_of(engine, patient_id)

    sign_in_as(client, people.doctor)
    opened = response_of(row_call(client, portal, OPEN, "polyclinic-open", appointment.id))
    href = opened["polyclinic-go"]["href"]
    encounter_id = int(href.rsplit("/", 1)[1])
    assert href == f"/visit/{encounter_id}"
    visit = encounter(engine, encounter_id)
    assert (visit.patient_id, visit.organization_id, visit.practitioner_id, visit.kind, visit.state) == (
        patient_id,
        people.organization,
        people.doctor,
        EncounterKind.OUTPATIENT,
        EncounterState.OPEN,
    )
    moved = appointments_of(engine, patient_id)[0]
    assert (moved.state, moved.encounter_id) == (AppointmentState.IN_VISIT, encounter_id)
    twice = response_of(row_call(client, portal, OPEN, "polyclinic-open", appointment.id))
    assert "polyclinic-mine-error" in str(twice) and "polyclinic-go" not in twice

    page = rendered(portal, engine, "pages.visit", people.doctor, encounter_id=str(encounter_id))
    assert "Karimova" in page and "visit-complaints" in page and f"/patient/{patient_id}" in page

    # Findings: nothing typed is refused, then saved.
    refused = response_of(
        call(client, portal, FINDINGS, _visit_values(encounter_id, **{"visit-findings-save__n_clicks": 1}))
    )
    assert "visit-findings-error" in str(refused)
    values = _visit_values(
        encounter_id,
        **{
            "visit-findings-save__n_clicks": 1,
            "visit-complaints__value": "Bosh og'rig'i, 3 kun",
            "visit-examination__value": "Umumiy ahvoli qoniqarli.\nQon bosimi yuqori.",
        },
    )
    assert "visit-findings-saved" in str(response_of(call(client, portal, FINDINGS, values)))
    visit = encounter(engine, encounter_id)
    assert visit.complaints == "Bosh og'rig'i, 3 kun"
    assert visit.examination == "Umumiy ahvoli qoniqarli.\nQon bosimi yuqori."  # line breaks kept

    # Indicators: an impossible value is named and nothing is saved; then a whole set, BMI added.
    bad = response_of(
        call(client, portal, INDICATORS, indicator_values(encounter_id, bp_systolic="150", temperature="55"))
    )
    colour, message = alert(bad, "visit-ind-result")
    with language("uz"):
        assert colour == "danger" and message.startswith(gettext("Body temperature") + ":"), message
    assert count(engine, Observation, encounter_id=encounter_id) == 0
    letters = response_of(call(client, portal, INDICATORS, indicator_values(encounter_id, pulse="tez")))
    assert alert(letters, "visit-ind-result")[0] == "danger"
    bmi = response_of(call(client, portal, BMI, {"visit-ind-weight.value": "80", "visit-ind-height.value": "180"}))
    assert bmi["visit-ind-bmi"]["value"] == "24.7"
    typed = {
        "bp_systolic": "150",
        "bp_diastolic": "95",
        "pulse": "78",
        "temperature": "36,8",
        "weight": "80",
        "height": "180",
    }
    saved = response_of(call(client, portal, INDICATORS, indicator_values(encounter_id, **typed)))
    assert alert(saved, "visit-ind-result")[0] == "success"
    assert saved["visit-ind-temperature"]["value"] == ""  # the form is cleared for the next set
    with Session(engine) as session:
        written = dict(
            session.execute(
                select(Observation.code, Observation.value).where(Observation.encounter_id == encounter_id)
            ).all()
        )
    assert written == {
        "bp_systolic": 150,
        "bp_diastolic": 95,
        "pulse": 78,
        "temperature": 36.8,
        "weight": 80,
        "height": 180,
        "bmi": 24.7,
    }

    # Closing before a diagnosis says what is missing.
    early = response_of(
        call(
            client,
            portal,
            CLOSE,
            _visit_values(encounter_id, **{"visit-close__n_clicks": 1, "visit-outcome__value": "improved"}),
        )
    )
    assert "visit-close-error" in str(early) and "visit-body" not in early

    # Diagnosis: search as you type, a bad code refused, then recorded.
    options = response_of(call(client, portal, DX_SEARCH, {"visit-dx-code.search_value": "I10"}))
    assert "I10" in [option["value"] for option in options["visit-dx-code"]["options"]]
    dx = {"visit-dx-save.n_clicks": 1, "visit-encounter.data": encounter_id, "visit-dx-kind.value": "final"}
    wrong = response_of(call(client, portal, DIAGNOSIS, dx | {"visit-dx-code.value": "ZZ9"}))
    assert alert(wrong, "visit-dx-result")[0] == "danger" and count(engine, Condition, encounter_id=encounter_id) == 0
    done = response_of(call(client, portal, DIAGNOSIS, dx | {"visit-dx-code.value": "I10"}))
    assert alert(done, "visit-dx-result")[0] == "success"
    with Session(engine) as session:
        condition = session.execute(select(Condition).where(Condition.encounter_id == encounter_id)).scalar_one()
        assert (condition.icd10_code, condition.kind, condition.created_by) == ("I10", "final", people.doctor)

    # Referrals: the laboratory, then a hospital (the target must be a hospital).
    lab = {"visit-ref-save.n_clicks": 1, "visit-encounter.data": encounter_id, "visit-ref-kind.value": "lab"}
    issued = response_of(call(client, portal, REFER, lab | {"visit-ref-reason.value": "Umumiy qon tahlili"}))
    assert alert(issued, "visit-ref-result")[0] == "success"
    targets = response_of(call(client, portal, TARGETS, {"visit-ref-kind.value": "hospital"}))
    offered = {option["value"] for option in targets["visit-ref-target"]["options"]}
    assert str(people.hospital) in offered and str(people.polyclinic) not in offered
    assert targets["visit-ref-target-box"]["className"] == ""
    hidden = response_of(call(client, portal, TARGETS, {"visit-ref-kind.value": "lab"}))
    assert hidden["visit-ref-target-box"]["className"] == "d-none"
    hospital = lab | {
        "visit-ref-kind.value": "hospital",
        "visit-ref-reason.value": "Gipertonik kriz",
        "visit-ref-code.value": "I10",
    }
    for target in (None, str(people.polyclinic), "garbage"):
        refused = response_of(call(client, portal, REFER, hospital | {"visit-ref-target.value": target}))
        assert alert(refused, "visit-ref-result")[0] == "danger"
    issued = response_of(call(client, portal, REFER, hospital | {"visit-ref-target.value": str(people.hospital)}))
    assert alert(issued, "visit-ref-result")[0] == "success"
    with Session(engine) as session:
        referrals = session.execute(
            select(Referral.kind, Referral.target_organization_id, Referral.icd10_code)
            .where(Referral.encounter_id == encounter_id)
            .order_by(Referral.id)
        ).all()
    assert [tuple(r) for r in referrals] == [
        (ReferralKind.LAB, None, None),
        (ReferralKind.HOSPITAL, people.hospital, "I10"),
    ]
    lists = response_of(
        call(client, portal, LISTS, {"visit-encounter.data": encounter_id, "visit-ref-saved.data": "x"})
    )
    assert "Gipertonik kriz" in str(lists) and "I10" in str(lists)

    # Close: the outcome is asked for, then the visit ends and the appointment is done.
    closing = _visit_values(encounter_id, **{"visit-close__n_clicks": 1})
    assert "visit-close-error" in str(response_of(call(client, portal, CLOSE, closing)))
    closed = response_of(call(client, portal, CLOSE, closing | {"visit-outcome.value": "hospitalized"}))
    assert "visit-closed" in str(closed["visit-body"])
    visit = encounter(engine, encounter_id)
    assert (visit.state, visit.outcome) == (EncounterState.CLOSED, "hospitalized") and visit.ended_at is not None
    assert appointments_of(engine, patient_id)[0].state == AppointmentState.DONE
    # A closed visit no longer opens, and nothing more is written to it.
    assert "visit-missing" in rendered(portal, engine, "pages.visit", people.doctor, encounter_id=str(encounter_id))
    late = response_of(
        call(client, portal, DIAGNOSIS, dx | {"visit-dx-code.value": "J06.9", "visit-dx-kind.value": "comorbidity"})
    )
    assert alert(late, "visit-dx-result")[0] == "danger"
    assert count(engine, Condition, encounter_id=encounter_id) == 1


def test_a_forged_visit_of_another_organization_is_refused(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, clock: pf.Clock
) -> None:
    patient_id, _ = new_patient(engine)
    with Session(engine) as session:
        theirs = factories.encounter(
            session,
            session.get_one(Organization, people.polyclinic),
            session.get_one(Cabinet, people.other_doctor),
            session.get_one(Patient, patient_id),
        )
        session.commit()
        foreign = theirs.id
    sign_in_as(client, people.doctor)
    page = rendered(portal, engine, "pages.visit", people.doctor, encounter_id=str(foreign))
    assert "visit-missing" in page and "visit-complaints" not in page
    for garbage in ("abc", "-3", "0", "99999999999999999999999"):
        assert "visit-missing" in rendered(portal, engine, "pages.visit", people.doctor, encounter_id=garbage)
    posted: list[tuple[Outputs, dict[str, object]]] = [
        (FINDINGS, {"visit-findings-save.n_clicks": 1, "visit-complaints.value": "Yo'tal"}),
        (INDICATORS, {"visit-ind-save.n_clicks": 1, "visit-ind-pulse.value": "70"}),
        (DIAGNOSIS, {"visit-dx-save.n_clicks": 1, "visit-dx-code.value": "J06.9", "visit-dx-kind.value": "final"}),
        (REFER, {"visit-ref-save.n_clicks": 1, "visit-ref-kind.value": "lab", "visit-ref-reason.value": "Qon tahlili"}),
        (CLOSE, {"visit-close.n_clicks": 1, "visit-outcome.value": "recovered"}),
    ]
    for encounter_id in (foreign, str(foreign), "x", None, [foreign]):
        for outputs, values in posted:
            response = call(client, portal, outputs, values | {"visit-encounter.data": encounter_id})
            assert response.status_code in (200, 204), (outputs, response.status_code)
            assert "-error" in response.get_data(as_text=True), outputs
        lists = call(client, portal, LISTS, {"visit-encounter.data": encounter_id, "visit-dx-saved.data": "x"})
        assert lists.status_code in (200, 204) and "Yo'tal" not in lists.get_data(as_text=True)
    visit = encounter(engine, foreign)
    assert visit.state == EncounterState.OPEN and visit.complaints is None
    for model in (Observation, Condition, Referral):
        assert count(engine, model, encounter_id=foreign) == 0
    # The other polyclinic's appointment cannot be opened from this doctor's page either.
    with Session(engine) as session:
        other = pf.appointment(session, session.get_one(Cabinet, people.other_doctor), patient_id, at(DAY, 9, 30))
        session.commit()
        other_id = other.id
    refused = response_of(row_call(client, portal, OPEN, "polyclinic-open", other_id))
    assert "polyclinic-mine-error" in str(refused) and "polyclinic-go" not in refused
    assert appointments_of(engine, patient_id)[0].state == AppointmentState.BOOKED


# --- who may do what -------------------------------------------------------------------------------------------


def _empty(client: FlaskClient, portal: Dash, outputs: tuple[str, ...] | str) -> int:
    return call(client, portal, outputs, {}).status_code


def test_a_nurse_gets_403_on_the_doctors_callbacks(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    sign_in_as(client, people.nurse)
    for outputs in DOCTOR_ONLY + REGISTRAR_ONLY:
        assert _empty(client, portal, outputs) == 403, outputs
    assert "guard-denied" in rendered(portal, engine, "pages.polyclinic", people.nurse)
    assert "guard-denied" in rendered(portal, engine, "pages.visit", people.nurse, encounter_id="1")


def test_a_registrar_cannot_open_or_work_visits(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    sign_in_as(client, people.registrar)
    for outputs in DOCTOR_ONLY:
        assert _empty(client, portal, outputs) == 403, outputs
    assert row_call(client, portal, OPEN, "polyclinic-open", 1).status_code == 403
    assert "guard-denied" in rendered(portal, engine, "pages.visit", people.registrar, encounter_id="1")


def test_a_doctor_cannot_book(client: FlaskClient, portal: Dash, people: People) -> None:
    sign_in_as(client, people.doctor)
    for outputs in REGISTRAR_ONLY:
        assert _empty(client, portal, outputs) == 403, outputs


def test_a_manager_gets_403(client: FlaskClient, portal: Dash, people: People, engine: Engine) -> None:
    sign_in_as(client, people.manager)
    for outputs in DOCTOR_ONLY + REGISTRAR_ONLY + [INDICATORS, BMI]:
        assert _empty(client, portal, outputs) == 403, outputs
    assert "guard-denied" in rendered(portal, engine, "pages.polyclinic", people.manager)
    assert "guard-denied" in rendered(portal, engine, "pages.visit", people.manager, encounter_id="1")

"""The E-IMZO signing round trip of a prescription through the portal's routes and the simulator's signing page,
and the periodic sweep that expires prescriptions and sends the patients' SMS."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from dash import Dash
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app import create_app
from auth.document_signing import SIGNING
from auth.eimzo_views import SIMULATOR_KEY
from auth.simulators.eimzo import RunningSimulator
from db import make_session_factory, utcnow
from ehealth.calendar import today
from ehealth.prescription.confirmation import Confirmer
from ehealth.prescription.models import NotificationState, PatientNotification, Prescription
from ehealth.prescription.notifications import LoggingGateway
from ehealth.prescription.prescribing import issue_with_session, prepare_signature
from ehealth.prescription.sweep import sweep
from settings import Settings
from tests import own_database
from tests.prescription_factories import Setting, setting
from tests.signin_checks import sign_in_as

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

KEY = "k" * 40


@pytest.fixture(scope="module")
def portal(database_url: str) -> Iterator[Dash]:
    """The portal with its E-IMZO simulator."""
    app = create_app(
        Settings(
            environment="development",
            database_url=database_url,
            secret_key=KEY,
            confirmation_key=KEY,
            eimzo_simulator=True,
        )
    )
    yield app
    app.server.extensions[SIMULATOR_KEY].stop()


@pytest.fixture
def place(engine: Engine) -> Setting:
    """A committed doctor, visit, patient and pharmacy."""
    with Session(engine, expire_on_commit=False) as session:
        made = setting(session)
        session.commit()
    return made


def _draft_token(engine: Engine, place: Setting) -> str:
    with Session(engine) as session:
        draft = prepare_signature(session, place.order(place.item("J01CA04")), (), actor=place.doctor)
        token = draft.token
        session.commit()
    return token


def _sign_at_simulator(sim: RunningSimulator, sign_url: str, place: Setting) -> dict[str, str]:
    """The simulator's page shows the document; the doctor's key signs it; the form it posts back."""
    page = requests.get(sign_url, timeout=5)
    assert page.status_code == 200 and 'id="document"' in page.text
    fields = {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', page.text)}
    doctor = place.clinic.doctor
    key = sim.state.key(doctor.pinfl or "", doctor.full_name)
    answer = requests.post(
        sign_url.split("?", maxsplit=1)[0],
        data={"challenge": fields["challenge"], "return": fields["return"], "key": key.id},
        timeout=5,
    )
    posted = {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', answer.text)}
    return {"challenge": posted["challenge"], "pkcs7": posted["pkcs7"]}


def test_the_doctor_signs_with_e_imzo_and_the_prescription_is_issued(
    portal: Dash, engine: Engine, place: Setting
) -> None:
    sim: RunningSimulator = portal.server.extensions[SIMULATOR_KEY]
    token = _draft_token(engine, place)
    with portal.server.test_client() as client:
        sign_in_as(client, place.clinic.doctor.id)
        with client.session_transaction() as kept:
            kept[SIGNING] = {"token": token, "back": f"/prescribe/{place.clinic.visit.id}"}
        started = client.get("/prescriptions/sign")
        assert started.status_code == 302 and started.location.startswith(sim.url + "/sign?")
        content = parse_qs(urlsplit(started.location).query)["challenge"][0]
        form = _sign_at_simulator(sim, started.location, place)
        assert form["challenge"] == content
        issued = client.post("/prescriptions/sign", data=form)
        assert issued.status_code == 302 and issued.location.startswith("/prescriptions?issued=RX-")
        number = parse_qs(urlsplit(issued.location).query)["issued"][0]
        again = client.post("/prescriptions/sign", data=form)  # replayed: the pending draft is gone
        assert again.status_code == 400 and 'id="error-back"' in again.get_data(as_text=True)
    with Session(engine) as session:
        prescription = session.execute(select(Prescription).where(Prescription.number == number)).scalar_one()
        assert (prescription.confirmation, prescription.patient_id) == ("eimzo", place.patient.id)


def test_a_draft_of_another_doctor_or_a_nurse_cannot_be_signed(portal: Dash, engine: Engine, place: Setting) -> None:
    token = _draft_token(engine, place)
    with portal.server.test_client() as client:
        sign_in_as(client, place.colleague.id)
        with client.session_transaction() as kept:
            kept[SIGNING] = {"token": token, "back": "/prescriptions"}
        assert client.get("/prescriptions/sign").status_code == 400  # not this doctor's draft
        sign_in_as(client, place.clinic.nurse.id)
        assert client.get("/prescriptions/sign").status_code == 403
        assert client.post("/prescriptions/sign", data={"pkcs7": "x"}).status_code == 403


def test_the_sweep_expires_and_sends(engine: Engine, place: Setting) -> None:
    confirmer = Confirmer(seal_key=KEY.encode())
    with Session(engine, expire_on_commit=False) as session:
        issued = utcnow() - timedelta(days=100)
        session.merge(place.clinic.visit).started_at = issued - timedelta(minutes=5)
        old = issue_with_session(
            session,
            place.order(place.item("J01CA04")),
            (),
            actor=place.doctor,
            oneid=place.oneid(),
            confirmer=confirmer,
            now=issued,
        )
        session.commit()
    gateway = LoggingGateway()
    report = sweep(make_session_factory(engine), today=today(), gateway=gateway)
    assert report.expired >= 1 and report.sent >= 1
    assert any(old.number in text for _phone, text in gateway.sent)
    with Session(engine) as session:
        assert session.get_one(Prescription, old.id).state == "expired"
        pending = session.execute(
            select(func.count()).where(PatientNotification.state == NotificationState.PENDING)
        ).scalar_one()
    assert pending == 0
    assert sweep(make_session_factory(engine), today=today(), gateway=gateway) == type(report)(0, 0)


def test_a_failing_gateway_keeps_the_message_for_later(engine: Engine, place: Setting) -> None:
    class Down:
        def send(self, phone: str, text: str) -> None:
            raise ConnectionError("gateway down")

    with Session(engine) as session:
        issue_with_session(
            session, place.order(place.item("C08CA01", duration_days=30)), (), actor=place.doctor,
            oneid=place.oneid(), confirmer=Confirmer(seal_key=KEY.encode()),
        )  # fmt: skip
        session.commit()
    assert sweep(make_session_factory(engine), today=today(), gateway=Down()).sent == 0
    with Session(engine) as session:
        kept = session.execute(
            select(PatientNotification).where(PatientNotification.patient_id == place.patient.id)
        ).scalar_one()
        assert (kept.state, kept.attempts, kept.last_error) == ("pending", 1, "ConnectionError: gateway down")
    assert sweep(make_session_factory(engine), today=today(), gateway=LoggingGateway()).sent >= 1
    with Session(engine) as session:
        delivered = session.execute(
            select(PatientNotification).where(PatientNotification.patient_id == place.patient.id)
        ).scalar_one()
        assert (delivered.state, delivered.attempts) == ("sent", 2)

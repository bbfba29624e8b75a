"""An e-prescription in Chromium, through the real pages: the doctor prescribes an antibiotic and a chronic medicine
and signs with E-IMZO; a pharmacist finds it by number and PINFL and dispenses one item partly and the other whole;
a second pharmacist cannot over-dispense; the doctor's register and the patient's record show the state; once the
doctor cancels it, nothing more can be dispensed."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from dash import Dash
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app import create_app
from auth.eimzo_views import SIMULATOR_KEY
from components.labels import prescription_state_label
from db import make_engine
from ehealth.access.models import Role
from ehealth.manage import migrate
from ehealth.patients.models import Sex
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem
from ehealth.reference.models import OrganizationKind
from settings import Settings
from tests import factories
from tests.e2e.test_clinical_day import TIMEOUT_MS, _pick, uz
from tests.prescription_factories import catalogue

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Desk:
    """The served portal and the people of the story."""

    url: str
    database_url: str
    app: Dash
    doctor: int
    doctor_pinfl: str
    pharmacist: int
    other_pharmacist: int
    patient: int
    patient_pinfl: str
    visit: int


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A polyclinic with an open visit (pneumonia diagnosed) and two contracted pharmacies, served on loopback."""
    url = f"sqlite:///{tmp_path_factory.mktemp('prescription-flow') / 'portal.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        catalogue(session)
        polyclinic = factories.organization(session, OrganizationKind.POLYCLINIC)
        doctor = factories.cabinet(session, polyclinic, Role.DOCTOR)
        doctor.surname, doctor.given_name = "Rasulova", "Nigora"
        patient = factories.patient(session, born=date(1968, 6, 1), sex=Sex.FEMALE)
        patient.phone = "+998907654321"
        visit = factories.encounter(session, polyclinic, doctor, patient)
        factories.diagnosis(session, visit, "J18.9")
        pharmacists = []
        for _ in range(2):
            pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
            pharmacy.reimbursement_contract = True
            pharmacists.append(factories.cabinet(session, pharmacy, Role.PHARMACIST))
        session.commit()
        made = {
            "doctor": doctor.id, "doctor_pinfl": doctor.pinfl or "", "pharmacist": pharmacists[0].id,
            "other_pharmacist": pharmacists[1].id, "patient": patient.id, "patient_pinfl": patient.pinfl,
            "visit": visit.id,
        }  # fmt: skip
    engine.dispose()
    app = create_app(Settings(environment="development", database_url=url, oneid_simulator=True, eimzo_simulator=True))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Desk(url=f"http://127.0.0.1:{server.server_port}", database_url=url, app=app, **made)  # type: ignore[arg-type]
    server.shutdown()
    for key in ("ehealth.oneid_simulator", "ehealth.eimzo_simulator"):
        app.server.extensions[key].stop()


def _signed_in(browser: Browser, desk: Desk, cabinet_id: int, next_path: str) -> tuple[BrowserContext, Page]:
    """A fresh browser (own cookies) signed in through the OneID simulator."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{desk.url}/login?next={next_path}")
    page.click("#login-oneid")
    page.click(f"button[name=person][value='{cabinet_id}']")
    expect(page).to_have_url(f"{desk.url}{next_path}")
    return context, page


def _by_index(kind: str, index: int) -> str:
    """The CSS selector of a pattern-matching component (Dash renders its id as sorted JSON)."""
    return "[id='" + json.dumps({"index": index, "type": kind}, separators=(",", ":")) + "']"


def _items(desk: Desk, number: str) -> list[tuple[int, str, int]]:
    """(item id, INN, dispensed) of the prescription's items, in line order."""
    engine = make_engine(desk.database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(PrescriptionItem.id, PrescriptionItem.inn, PrescriptionItem.dispensed_quantity)
            .join(Prescription, Prescription.id == PrescriptionItem.prescription_id)
            .where(Prescription.number == number)
            .order_by(PrescriptionItem.line)
        ).all()
    engine.dispose()
    return [(row[0], row[1], row[2]) for row in rows]


def _dispenses(desk: Desk) -> int:
    engine = make_engine(desk.database_url)
    with Session(engine) as session:
        count = session.execute(select(func.count()).select_from(Dispense)).scalar_one()
    engine.dispose()
    return count


def _prescribe(page: Page, desk: Desk) -> str:
    """Two medicines on the visit's diagnosis, checked, then signed with the doctor's E-IMZO key; the number."""
    page.click("#prescribe-dx")
    page.locator(".dash-dropdown-content .dash-dropdown-option", has_text="J18.9").first.click()
    _pick(page, "rx-item-drug-1", "Amoks", re.compile("Amoksil"))
    expect(page.locator("#rx-item-quantity-1")).to_have_value("21")  # 1 capsule x 3 a day x 7 days
    page.click("#prescribe-add")
    _pick(page, "rx-item-drug-2", "Amlod", re.compile("Norvask"))
    expect(page.locator("#rx-item-quantity-2")).to_have_value("30")
    page.click("#prescribe-check")
    expect(page.locator("#prescribe-valid-until")).to_be_visible()
    expect(page.locator("#prescribe-problems")).to_have_count(0)
    page.click("#prescribe-sign-eimzo")
    page.wait_for_url(re.compile(r"/sign\?"))  # the simulator's page stands in for the E-IMZO application
    expect(page.locator("#document")).to_contain_text(desk.patient_pinfl)
    key = desk.app.server.extensions[SIMULATOR_KEY].state.keys[desk.doctor_pinfl]
    page.click(f"button[name=key][value='{key.id}']")
    page.wait_for_url(re.compile(r"/prescriptions\?issued=RX-"))
    issued = page.locator("#rx-issued")
    expect(issued).to_be_visible()
    found = re.search(r"RX-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", issued.inner_text())
    assert found is not None
    return found.group(0)


def _find(page: Page, desk: Desk, number: str) -> None:
    page.fill("#pharmacy-number", number)
    page.fill("#pharmacy-pinfl", desk.patient_pinfl)
    page.click("#pharmacy-find")
    expect(page.locator("#pharmacy-card")).to_contain_text(number)


def _give(page: Page, item_id: int, quantity: int, batch: str) -> None:
    page.fill(_by_index("pharmacy-qty", item_id), str(quantity))
    page.fill(_by_index("pharmacy-batch", item_id), batch)


def test_an_e_prescription_from_the_doctor_to_the_pharmacy(desk: Desk, browser: Browser) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    clinic, doctor = _signed_in(browser, desk, desk.doctor, f"/prescribe/{desk.visit}")
    number = _prescribe(doctor, desk)
    (amoxicillin, _, _), (amlodipine, _, _) = _items(desk, number)

    # The first pharmacist gives 10 of the 21 capsules and the whole 30 tablets.
    counter, pharmacist = _signed_in(browser, desk, desk.pharmacist, "/pharmacy")
    _find(pharmacist, desk, number)
    _give(pharmacist, amoxicillin, 10, "AT2511001")
    _give(pharmacist, amlodipine, 30, "BK2510077")
    pharmacist.click("#pharmacy-dispense")
    expect(pharmacist.locator("#pharmacy-given")).to_be_visible()
    assert [dispensed for _, _, dispensed in _items(desk, number)] == [10, 30]
    expect(pharmacist.locator("#pharmacy-log-all")).to_contain_text(number)

    # Another pharmacy cannot give more than the 11 capsules left.
    other_counter, other = _signed_in(browser, desk, desk.other_pharmacist, "/pharmacy")
    _find(other, desk, number)
    expect(other.locator(f"#pharmacy-left-{amoxicillin}")).to_contain_text("11")
    before = _dispenses(desk)
    _give(other, amoxicillin, 20, "AT2511002")
    other.click("#pharmacy-dispense")
    expect(other.locator("#pharmacy-dispense-result")).to_contain_text("11")
    assert _dispenses(desk) == before and [d for _, _, d in _items(desk, number)] == [10, 30]

    # The doctor's register and the patient's record show the state.
    doctor.goto(f"{desk.url}/prescriptions")
    expect(doctor.locator("#rx-register-box")).to_contain_text(number)
    with_state = uz_state("partially_dispensed")
    expect(doctor.locator("#rx-register-box")).to_contain_text(with_state)
    doctor.goto(f"{desk.url}/patient/{desk.patient}")
    expect(doctor.locator("body")).to_contain_text(uz("Dispensed at the pharmacy"))
    expect(doctor.locator("body")).to_contain_text(uz("partly dispensed"))  # the record's own wording

    # The doctor cancels what is left; then nothing can be dispensed on it.
    doctor.goto(f"{desk.url}/prescriptions")
    prescription_id = _prescription_id(desk, number)
    doctor.click(_by_index("rx-cancel", prescription_id))
    doctor.fill("#rx-cancel-reason", "Bemor boshqa dori oladi")
    doctor.click("#rx-cancel-confirm")
    expect(doctor.locator("#rx-cancel-done")).to_be_visible()
    other.click("#pharmacy-find")
    expect(other.locator("#pharmacy-cancelled")).to_be_visible()
    expect(other.locator("#pharmacy-dispense")).to_have_count(0)
    assert _dispenses(desk) == before
    for context in (clinic, counter, other_counter):
        context.close()


def uz_state(state: str) -> str:
    """A prescription state's label in Uzbek."""
    from ehealth.i18n import language

    with language("uz"):
        return prescription_state_label(state)


def _prescription_id(desk: Desk, number: str) -> int:
    engine = make_engine(desk.database_url)
    with Session(engine) as session:
        found = session.execute(select(Prescription.id).where(Prescription.number == number)).scalar_one()
    engine.dispose()
    return found

"""A clinical day in Chromium, through the real pages: the registrar registers a patient and puts them in a doctor's
queue, the doctor sees them and refers them to a hospital, where they are admitted, looked after, transferred and
discharged; the patient's record shows every step, in Uzbek and in Russian."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app import create_app
from db import make_engine
from ehealth.access.models import Role
from ehealth.i18n import gettext, language
from ehealth.identifiers import make_pinfl
from ehealth.manage import migrate
from ehealth.patients.models import Patient
from ehealth.reference.models import OrganizationKind
from settings import Settings
from tests import factories, hospital_factories

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 15_000
PINFL = make_pinfl(date(1978, 4, 12), "female", 731, 2)


@dataclass(frozen=True)
class Day:
    """The served portal, the people of the day and where the patient will lie."""

    url: str
    database_url: str
    registrar: int
    doctor: int
    hospital_name: str
    ward_doctor: int
    nurse: int
    therapy: int
    therapy_bed: int
    icu: int
    icu_bed: int


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    """A polyclinic and a hospital on one portal with the OneID simulator, served on a free loopback port."""
    url = f"sqlite:///{tmp_path_factory.mktemp('clinical-day') / 'portal.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        polyclinic = factories.organization(session, OrganizationKind.POLYCLINIC)
        registrar = factories.cabinet(session, polyclinic, Role.REGISTRAR)
        doctor = factories.cabinet(session, polyclinic, Role.DOCTOR)
        hospital = hospital_factories.hospital(session)
        session.commit()
        people = Day(
            url="",
            database_url=url,
            registrar=registrar.id,
            doctor=doctor.id,
            hospital_name=hospital.org.name,
            ward_doctor=hospital.doctor.id,
            nurse=hospital.nurse.id,
            therapy=hospital.therapy.id,
            therapy_bed=hospital.therapy_beds[0].id,
            icu=hospital.icu.id,
            icu_bed=hospital.icu_beds[0].id,
        )
    engine.dispose()
    settings = Settings(environment="development", database_url=url, oneid_simulator=True, eimzo_simulator=True)
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Day(**{**people.__dict__, "url": f"http://127.0.0.1:{server.server_port}"})
    server.shutdown()
    for key in ("ehealth.oneid_simulator", "ehealth.eimzo_simulator"):
        app.server.extensions[key].stop()


def uz(message: str, **values: object) -> str:
    with language("uz"):
        return gettext(message, **values)


def ru(message: str, **values: object) -> str:
    with language("ru"):
        return gettext(message, **values)


def _signed_in(browser: Browser, day: Day, cabinet_id: int, next_path: str) -> tuple[BrowserContext, Page]:
    """A fresh browser (own cookies) signed in through the OneID simulator as one person."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{day.url}/login?next={next_path}")
    page.click("#login-oneid")
    page.click(f"button[name=person][value='{cabinet_id}']")
    expect(page).to_have_url(f"{day.url}{next_path}")
    return context, page


def _pick(page: Page, dropdown: str, typed: str, option: str | re.Pattern[str]) -> None:
    """Open a dcc.Dropdown, type into its search once it is shown and choose the option that comes up."""
    page.click(f"#{dropdown}")
    search = page.locator(".dash-dropdown-content .dash-dropdown-search")
    expect(search).to_be_visible()
    search.fill(typed)
    choice = page.locator(".dash-dropdown-content .dash-dropdown-option", has_text=option).first
    expect(choice).to_be_visible()
    choice.click()
    expect(search).to_be_hidden()


def _patient_id(day: Day) -> int:
    engine = make_engine(day.database_url)
    with Session(engine) as session:
        found = session.execute(select(Patient.id).where(Patient.pinfl == PINFL)).scalar_one()
    engine.dispose()
    return found


def test_a_clinical_day(day: Day, browser: Browser) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    # The registrar registers the patient, then puts them in the doctor's queue as a walk-in.
    desk, page = _signed_in(browser, day, day.registrar, "/patients")
    page.fill("#patients-new-pinfl", PINFL)
    page.fill("#patients-new-surname", "Yusupova")
    page.fill("#patients-new-given-name", "Dilnoza")
    page.fill("#patients-new-patronymic", "Rustamovna")
    page.fill("#patients-new-birth-date", "1978-04-12")
    page.check("#patients-new-sex input[value=female]", force=True)
    page.select_option("#patients-new-region", str(factories.TASHKENT_CITY))
    page.click("#patients-new-submit")
    expect(page.locator("#patients-new-created")).to_contain_text("Yusupova")
    patient = _patient_id(day)

    page.goto(f"{day.url}/polyclinic")
    page.fill("#polyclinic-pinfl", PINFL)
    page.click("#polyclinic-find")
    expect(page.locator("#polyclinic-patient-found")).to_contain_text("Yusupova")
    page.select_option("#polyclinic-doctor", str(day.doctor))
    page.click("#polyclinic-walk-in")
    expect(page.locator("#polyclinic-booked")).to_contain_text("Yusupova")
    desk.close()

    # The doctor opens the visit from their queue and records what they find, then refers and closes.
    clinic, page = _signed_in(browser, day, day.doctor, "/polyclinic")
    row = page.locator("#polyclinic-mine-box tr", has_text="Yusupova")
    row.get_by_role("button", name=uz("Open visit")).click()
    expect(page).to_have_url(re.compile(r"/visit/\d+"))
    expect(page.locator("#visit-name")).to_contain_text("Yusupova")
    for code, value in (("bp_systolic", "150"), ("bp_diastolic", "95"), ("pulse", "82"), ("temperature", "36.7")):
        page.fill(f"#visit-ind-{code}", value)
    page.click("#visit-ind-save")
    expect(page.locator("#visit-ind-done")).to_be_visible()

    _pick(page, "visit-dx-code", "I10", re.compile(r"^I10"))
    page.click("#visit-dx-save")
    expect(page.locator("#visit-dx-done")).to_be_visible()

    page.select_option("#visit-ref-kind", "lab")
    page.fill("#visit-ref-reason", "Lipid profile")
    page.click("#visit-ref-save")
    expect(page.locator("#visit-ref-done")).to_be_visible()
    page.select_option("#visit-ref-kind", "hospital")
    expect(page.locator("#visit-ref-target-box")).to_be_visible()
    page.fill("#visit-ref-reason", "Hypertensive crisis")
    _pick(page, "visit-ref-target", day.hospital_name, re.compile(re.escape(day.hospital_name)))
    page.click("#visit-ref-save")
    expect(page.locator("#visit-ref-result #visit-ref-done")).to_be_visible()
    expect(page.locator("#visit-lists")).to_contain_text("Hypertensive crisis")

    page.select_option("#visit-outcome", "hospitalized")
    page.click("#visit-close")
    expect(page.locator("#visit-closed")).to_be_visible()
    clinic.close()

    # The hospital doctor admits the patient on the referral.
    ward, page = _signed_in(browser, day, day.ward_doctor, "/hospital")
    page.fill("#hospital-admit-pinfl", PINFL)
    page.click("#hospital-admit-find")
    expect(page.locator("#hospital-admit-found")).to_contain_text("Yusupova")
    referral = page.locator("#hospital-admit-referral option", has_text="Hypertensive crisis")
    expect(referral).to_have_count(1)
    page.select_option("#hospital-admit-referral", referral.get_attribute("value"))
    page.select_option("#hospital-admit-department", str(day.therapy))
    expect(page.locator(f"#hospital-admit-bed option[value='{day.therapy_bed}']")).to_have_count(1)
    page.select_option("#hospital-admit-bed", str(day.therapy_bed))
    _pick(page, "hospital-admit-icd10", "I10", re.compile(r"^I10"))
    page.click("#hospital-admit-submit")
    expect(page.locator("#hospital-admit-done")).to_contain_text("Yusupova")

    # The lab result comes back on the lab referral, entered in the stay.
    page.goto(f"{day.url}/patient/{patient}")
    page.get_by_role("tab", name=uz("Laboratory")).click()
    lab = page.locator("#record-lab-referral option", has_text="Lipid profile")
    expect(lab).to_have_count(1)
    page.select_option("#record-lab-referral", lab.get_attribute("value"))
    page.fill("#record-lab-code", "CHOL")
    page.fill("#record-lab-name", "Cholesterol")
    page.fill("#record-lab-value", "6.4")
    page.fill("#record-lab-unit", "mmol/L")
    page.fill("#record-lab-low", "3.0")
    page.fill("#record-lab-high", "5.2")
    page.click("#record-lab-save")
    expect(page.locator("#record-lab-result-saved")).to_be_visible()

    # The nurse records the indicators in the ward.
    nursing, nurse = _signed_in(browser, day, day.nurse, f"/patient/{patient}")
    nurse.fill("#record-ind-bp_systolic", "135")
    nurse.fill("#record-ind-bp_diastolic", "85")
    nurse.fill("#record-ind-pulse", "76")
    nurse.click("#record-ind-save")
    expect(nurse.locator("#record-ind-result-saved")).to_be_visible()
    nursing.close()

    # The doctor transfers the patient to intensive care, then discharges them.
    page.goto(f"{day.url}/hospital")
    _pick(page, "hospital-transfer-stay", "Yusupova", re.compile("Yusupova"))
    page.select_option("#hospital-transfer-department", str(day.icu))
    expect(page.locator(f"#hospital-transfer-bed option[value='{day.icu_bed}']")).to_have_count(1)
    page.select_option("#hospital-transfer-bed", str(day.icu_bed))
    page.click("#hospital-transfer-submit")
    expect(page.locator("#hospital-transfer-done")).to_contain_text("Yusupova")

    _pick(page, "hospital-discharge-stay", "Yusupova", re.compile("Yusupova"))
    page.select_option("#hospital-discharge-outcome", "improved")
    _pick(page, "hospital-discharge-icd10", "I10", re.compile(r"^I10"))
    page.fill("#hospital-discharge-summary", "Blood pressure controlled.")
    page.click("#hospital-discharge-submit")
    expect(page.locator("#hospital-discharge-done")).to_contain_text("Yusupova")

    # The record shows the whole day, in Uzbek and then in Russian.
    page.goto(f"{day.url}/patient/{patient}")
    timeline = page.locator("#record-timeline")
    kinds = ("Visit", "Diagnosis", "Indicator", "Laboratory", "Referral", "Admission", "Discharge")
    for kind in kinds:
        expect(timeline).to_contain_text(uz(kind))
    for text in ("I10", "Cholesterol", "Hypertensive crisis", "Lipid profile"):
        expect(timeline).to_contain_text(text)
    page.click("#shell-lang-ru")
    timeline = page.locator("#record-timeline")
    for kind in kinds:
        assert ru(kind) != kind
        expect(timeline).to_contain_text(ru(kind))
    for text in ("I10", "Cholesterol", "Hypertensive crisis"):
        expect(timeline).to_contain_text(text)
    ward.close()

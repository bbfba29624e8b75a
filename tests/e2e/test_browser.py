"""People in Chromium: sign in through the OneID and E-IMZO simulators (or are refused), switch language, and file
an installation request."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app import create_app
from auth.simulators import eimzo as eimzo_simulator
from auth.simulators.eimzo import Key, RunningSimulator
from auth.views import CABINET_INACTIVE
from db import make_engine, utcnow
from ehealth.access.models import Cabinet, CabinetStatus, Role
from ehealth.access.request_sheet import template
from ehealth.i18n import gettext, language
from ehealth.manage import migrate
from settings import Settings
from tests import factories

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Demo:
    """The served portal and the people who try to sign in to it."""

    url: str
    database_url: str
    doctor: int
    manager: int
    blocked_nurse: int


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The portal with both sign-in simulators, served on a free loopback port, as `make run` serves it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'portal.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        org = factories.organization(session)
        doctor = factories.cabinet(session, org, Role.DOCTOR)
        manager = factories.cabinet(session, org, Role.MANAGER)
        nurse = factories.cabinet(session, org, Role.NURSE)
        nurse.status, nurse.blocked_at = CabinetStatus.BLOCKED, utcnow()
        session.commit()
        people = (doctor.id, manager.id, nurse.id)
    engine.dispose()
    settings = Settings(environment="development", database_url=url, oneid_simulator=True, eimzo_simulator=True)
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Demo(f"http://127.0.0.1:{server.server_port}", url, *people)
    server.shutdown()
    for key in ("ehealth.oneid_simulator", "ehealth.eimzo_simulator"):
        app.server.extensions[key].stop()


def translated(code: str, message: str) -> str:
    with language(code):
        return gettext(message)


def _oneid(page: Page, demo: Demo, cabinet_id: int | str, next_path: str = "/") -> None:
    """From the sign-in page, through the OneID simulator, choosing one person."""
    page.goto(f"{demo.url}/login?next={next_path}")
    page.click("#login-oneid")
    page.click(f"button[name=person][value='{cabinet_id}']")


def _loopback_only(page: Page) -> list[str]:
    """Collect every request that would leave the machine (hospital networks are closed)."""
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1:", "data:")) else outside.append(r.url))
    return outside


def test_sign_in_with_oneid_and_switch_language(demo: Demo, browser: Browser) -> None:
    page = browser.new_page()
    outside = _loopback_only(page)
    page.goto(demo.url + "/")
    expect(page).to_have_url(f"{demo.url}/login?next=%2F")
    expect(page.locator("#login-dev")).to_have_count(0)  # no picker: OneID and E-IMZO only
    page.click("#login-oneid")
    page.click(f"button[name=person][value='{demo.doctor}']")

    expect(page.locator("#home-greeting")).to_contain_text(translated("uz", "Welcome, {name}").split(",")[0])
    expect(page.locator("#shell-nav")).to_contain_text(translated("uz", "My cabinet"))

    page.click("#shell-lang-ru")
    russian = translated("ru", "My cabinet")
    assert russian != "My cabinet"
    expect(page.locator("#shell-nav")).to_contain_text(russian)
    expect(page.locator("#home-greeting")).to_contain_text(translated("ru", "Welcome, {name}").split(",")[0])

    page.click(f"#shell-nav >> text={russian}")
    expect(page.locator("#cabinet-table")).to_contain_text(translated("ru", "ID number"))

    page.click("#shell-lang-en")
    expect(page.locator("#cabinet-table")).to_contain_text("ID number")
    engine = make_engine(demo.database_url)
    with Session(engine) as session:
        doctor = session.get_one(Cabinet, demo.doctor)
        own = (doctor.id_number, doctor.full_name)
    engine.dispose()
    for text in own:  # their own cabinet, nobody else's
        expect(page.locator("#cabinet-table")).to_contain_text(text)
    # The sign-in a moment ago is in the cabinet's history (read from the audit trail).
    expect(page.locator("#cabinet-sign-ins")).to_contain_text("OneID")
    expect(page.locator("#cabinet-sign-ins")).to_contain_text("Signed in")
    page.click("#shell-sign-out")
    expect(page.locator("#login-oneid")).to_be_visible()
    assert outside == []


def test_sign_in_with_eimzo_lands_on_the_cabinet(demo: Demo, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(f"{demo.url}/cabinet")
    page.click("#login-eimzo")
    page.click("#keys button >> nth=0")  # the simulator lists keys by cabinet: the doctor's comes first
    expect(page).to_have_url(f"{demo.url}/cabinet")
    expect(page.locator("#cabinet-methods")).to_contain_text("E-IMZO")


def test_someone_else_and_a_blocked_user_are_refused(demo: Demo, browser: Browser) -> None:
    page = browser.new_page()
    _oneid(page, demo, demo.blocked_nurse)
    expect(page.locator("#login-error")).to_contain_text(translated("uz", CABINET_INACTIVE))
    page.goto(f"{demo.url}/login")
    page.click("#login-oneid")
    page.click("button[name=person] >> text=Another person (no cabinet)")
    expect(page.locator("#login-error")).to_be_visible()
    page.goto(f"{demo.url}/")
    expect(page).to_have_url(f"{demo.url}/login?next=%2F")


def _sheet(tmp_path: Path, pinfl: str) -> Path:
    """The portal's own template, filled in with one person as a manager would in Excel."""
    workbook = load_workbook(BytesIO(template("uz")))
    sheet = workbook.worksheets[0]
    header_row = next(row for row in range(1, 10) if sheet.cell(row, 1).value)
    values = ["Qodirov", "Sherzod", "Anvarovich", "Terapevt", "Terapiya", "passport", "AB1234567", pinfl]
    values += ["sherzod@example.uz", "doctor"]
    for column, value in enumerate(values, start=1):
        sheet.cell(header_row + 1, column, value)
    path = tmp_path / "request.xlsx"
    workbook.save(path)
    return path


def test_manager_files_an_installation_request(demo: Demo, browser: Browser, tmp_path: Path) -> None:
    page = browser.new_page()
    page.on("dialog", lambda dialog: dialog.dismiss())
    _oneid(page, demo, demo.manager, "/access/requests")
    expect(page.locator("#requests-people")).to_be_visible()
    wrong = "30101901234568"  # the example PINFL with a wrong check digit
    page.set_input_files("#requests-upload input[type=file]", _sheet(tmp_path, wrong))
    expect(page.locator("#requests-upload-ok")).to_be_visible()
    page.fill("#requests-letter", "01-12/345")
    page.fill("#requests-contact-name", "Karimov Aziz")
    page.fill("#requests-contact-phone", "+998 71 200 00 00")
    page.click("#requests-submit")
    expect(page.locator("#requests-error-list")).to_contain_text(translated("uz", "PINFL"))
    expect(page.locator("#requests-list")).to_have_count(1)
    expect(page.locator("#requests-list")).not_to_contain_text("IR-")  # nothing was saved
    # Correct the PINFL in the table, from the keyboard, and send again.
    cell = page.locator("#requests-people .ag-row[row-index='0'] .ag-cell[col-id=pinfl]")
    expect(cell).to_have_class(re.compile("table-danger"))
    cell.click()  # one click edits
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("30101901234569")
    page.keyboard.press("Enter")
    expect(cell).to_have_text("30101901234569")
    page.click("#requests-submit")
    expect(page.locator("#requests-sent")).to_be_visible()
    expect(page.locator("#requests-list")).to_contain_text("IR-")


@pytest.fixture(scope="module")
def real_eimzo(demo: Demo) -> Iterator[tuple[str, RunningSimulator]]:
    """A second portal on the same data, configured for an E-IMZO-SERVER (the simulator, as a real server would be):
    the browser signs through the E-IMZO application's WebSocket, which the test plays."""
    settings = Settings(environment="development", database_url=demo.database_url)
    server_side = eimzo_simulator.start(demo.database_url, settings=settings)
    app = create_app(settings.with_(eimzo_server_url=server_side.url))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", server_side
    server.shutdown()
    server_side.stop()


def _play_the_e_imzo_application(key: Key, seen: list[str]) -> Callable[[WebSocketRoute], None]:
    """Answer the signing page as the E-IMZO application does: list the key, load it, sign what it is given."""

    def answer(ws: WebSocketRoute, message: str | bytes) -> None:
        request = json.loads(message)
        seen.append(request["name"])
        reply: dict[str, Any]
        if request["name"] == "list_all_certificates":
            alias = f"cn={key.name.lower()},validto=2030.01.01 00:00:00,1.2.860.3.16.1.2={key.pinfl}"
            reply = {"certificates": [{"disk": "DSKEYS", "path": "", "name": "DS1", "alias": alias}]}
        elif request["name"] == "load_key":
            reply = {"keyId": "key-1"}
        elif request["name"] == "create_pkcs7" and request["arguments"][1] == "key-1":
            reply = {"pkcs7_64": eimzo_simulator.sign(key, base64.b64decode(request["arguments"][0]))}
        else:
            reply = {"success": False, "reason": "unexpected call"}
        ws.send(json.dumps({"success": True, **reply}))

    return lambda ws: ws.on_message(lambda message: answer(ws, message))


def test_sign_in_with_the_e_imzo_application_and_a_real_server(
    demo: Demo, real_eimzo: tuple[str, RunningSimulator], browser: Browser
) -> None:
    portal, server_side = real_eimzo
    engine = make_engine(demo.database_url)
    with Session(engine) as session:
        doctor = session.get_one(Cabinet, demo.doctor)
        assert doctor.pinfl is not None
        key = server_side.state.key(doctor.pinfl, doctor.full_name)
    engine.dispose()
    seen: list[str] = []
    page = browser.new_page()
    page.route_web_socket("wss://127.0.0.1:64443/service/cryptapi", _play_the_e_imzo_application(key, seen))
    page.goto(f"{portal}/login?next=/cabinet")
    page.click("#login-eimzo")
    expect(page.locator("#eimzo-keys")).to_contain_text(doctor.full_name.upper())
    page.click("#eimzo-sign")
    expect(page).to_have_url(f"{portal}/cabinet")
    expect(page.locator("#cabinet-methods")).to_contain_text("E-IMZO")
    assert seen == ["list_all_certificates", "load_key", "create_pkcs7"]

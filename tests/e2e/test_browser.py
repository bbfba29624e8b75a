"""A person in Chromium: signs in, sees their home page, switches language and reads translated text."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from app import create_app
from db import make_engine
from ehealth.access.models import Role
from ehealth.i18n import gettext, language
from ehealth.manage import migrate
from settings import Settings
from tests import factories

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def portal_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The portal served on a free loopback port, with one doctor to sign in as."""
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'portal.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        factories.cabinet(session, factories.organization(session), Role.DOCTOR)
        session.commit()
    engine.dispose()
    app = create_app(Settings(environment="development", database_url=url))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (Playwright cannot download its own browsers here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


def translated(code: str, message: str) -> str:
    with language(code):
        return gettext(message)


def test_sign_in_and_switch_language(portal_url: str, browser: Browser) -> None:
    page = browser.new_page()
    # Nothing may come from outside the machine: hospital networks are closed.
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(portal_url) else outside.append(request.url))

    page.goto(portal_url + "/")
    expect(page).to_have_url(f"{portal_url}/login?next=%2F")
    page.click("#login-dev")
    page.click("button[data-role=doctor]")

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
    # The sign-in a moment ago is in the cabinet's history (read from the audit trail).
    expect(page.locator("#cabinet-sign-ins")).to_contain_text("Demo user (development)")
    expect(page.locator("#cabinet-sign-ins")).to_contain_text("Signed in")
    assert outside == []

"""The portal over HTTP: deny by default, no sign-in but OneID and E-IMZO, sessions, language, errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from dash import Dash
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import create_app
from auth.session import LAST_SEEN
from db import utcnow
from ehealth.access.models import Cabinet, CabinetStatus, Role
from ehealth.i18n import gettext, language
from settings import Settings
from tests import factories
from tests.signin_checks import sign_in_as

SECRET = "x" * 40


@dataclass(frozen=True)
class Staff:
    """One cabinet id per role, committed to the module's database."""

    by_role: dict[Role, int]


@pytest.fixture(scope="module")
def staff(engine: Engine) -> Staff:
    """An organization with one active cabinet of every role."""
    with Session(engine) as session:
        org = factories.organization(session)
        by_role = {role: factories.cabinet(session, org, role).id for role in Role}
        session.commit()
    return Staff(by_role)


def _settings(database_url: str, environment: str) -> Settings:
    return Settings(
        environment=environment,  # type: ignore[arg-type]
        database_url=database_url,
        secret_key=SECRET,
        confirmation_key=SECRET,
        warehouse_key=SECRET,
        sign_in_failures_allowed=1_000_000,  # many failed sign-ins from one test address on purpose; throttling is tested in test_throttle.py
    )


@pytest.fixture(scope="module")
def portal(database_url: str, staff: Staff) -> Dash:
    """The portal in development mode on the test database."""
    return create_app(_settings(database_url, "development"))


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    """A browser-like client with its own cookie jar."""
    with portal.server.test_client() as client:
        yield client


def test_anonymous_users_are_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/cabinet?x=1")
    assert response.status_code == 302
    assert response.location == "/login?next=%2Fcabinet%3Fx%3D1"
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/_dash-layout").status_code == 401


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_no_open_redirects(client: FlaskClient, staff: Staff, target: str) -> None:
    assert client.get(f"/lang/ru?next={target}").location == "/"
    sign_in_as(client, staff.by_role[Role.NURSE])
    assert client.get(f"/lang/uz?next={target}").location == "/"


def test_idle_session_expires(client: FlaskClient, staff: Staff) -> None:
    sign_in_as(client, staff.by_role[Role.REGISTRAR])
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session[LAST_SEEN] = (datetime.now(UTC) - timedelta(hours=9)).timestamp()
    assert client.get("/").status_code == 302


def test_blocked_cabinet_loses_its_session(portal: Dash, engine: Engine, staff: Staff) -> None:
    with Session(engine) as session:
        org_id = session.get_one(Cabinet, staff.by_role[Role.MANAGER]).organization_id
        from ehealth.reference.models import Organization

        victim = factories.cabinet(session, session.get_one(Organization, org_id), Role.PHARMACIST)
        session.commit()
        victim_id = victim.id
    with portal.server.test_client() as client:
        sign_in_as(client, victim_id)
        assert client.get("/").status_code == 200
        with Session(engine) as session:
            row = session.get_one(Cabinet, victim_id)
            row.status, row.blocked_at = CabinetStatus.BLOCKED, utcnow()
            session.commit()
        assert client.get("/").status_code == 302


def test_language_switch_translates_the_pages(client: FlaskClient) -> None:
    response = client.get("/lang/ru?next=/login")
    assert response.status_code == 302 and response.location == "/login"
    page = client.get("/login").get_data(as_text=True)
    with language("ru"):
        expected = gettext("Sign in")
    assert expected != "Sign in"
    assert expected in page and 'lang="ru"' in page
    assert client.get("/lang/xx").status_code == 404


def test_error_page_is_plain_and_translated(client: FlaskClient) -> None:
    client.get("/lang/ru?next=/")
    response = client.get("/lang/xx")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    with language("ru"):
        assert gettext("Page not found") in text and gettext("Page not found") != "Page not found"
    assert "Traceback" not in text


def test_there_is_no_development_sign_in_in_any_environment(database_url: str, staff: Staff) -> None:
    for environment in ("development", "test", "production"):
        app = create_app(_settings(database_url, environment))
        assert not [rule.rule for rule in app.server.url_map.iter_rules() if rule.rule.startswith("/dev")]
        with app.server.test_client() as client:
            assert "/dev/login" not in client.get("/login").get_data(as_text=True)
            # Posting a cabinet id signs nobody in: the only ways in are OneID and E-IMZO.
            client.post("/dev/login", data={"cabinet_id": str(staff.by_role[Role.ADMIN])})
            assert client.get("/cabinet").status_code == 302


def test_sign_out_ends_the_session(client: FlaskClient, staff: Staff) -> None:
    sign_in_as(client, staff.by_role[Role.INTEGRATOR])
    assert client.get("/").status_code == 200
    client.get("/logout")  # a link or an image tag must not sign anyone out: only POST does
    assert client.get("/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and response.location == "/login"
    assert client.get("/").status_code == 302


def test_static_files_neither_need_sign_in_nor_rewrite_the_session(client: FlaskClient, staff: Staff) -> None:
    assert client.get("/assets/portal.css").status_code == 200
    sign_in_as(client, staff.by_role[Role.DOCTOR])
    response = client.get("/assets/portal.css")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert "Set-Cookie" in client.get("/").headers  # a page is activity: the idle clock restarts

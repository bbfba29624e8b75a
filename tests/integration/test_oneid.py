"""Sign-in with OneID through the local simulator over real HTTP (R-7, R-9): owners in, everyone else out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from dash import Dash
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import create_app
from auth.session import SIGNED_IN_WITH
from auth.simulators import SimulatorRefused
from auth.simulators import oneid as simulator
from auth.simulators.oneid import RunningSimulator
from ehealth.access.models import Cabinet, IdentityKind, LoginIdentity, Role
from ehealth.audit.models import Outcome
from ehealth.i18n import gettext, language
from settings import Settings, SettingsError
from tests import factories
from tests.signin_checks import People, active_and_blocked, assert_refusal_shown, identities, last_event

SECRET = "x" * 40
CLIENT_ID = "ehealth-test"
CLIENT_SECRET = "simulator-secret-for-tests"


@pytest.fixture(scope="module")
def people(engine: Engine) -> People:
    """An organization with an active and a blocked cabinet."""
    return active_and_blocked(engine)


def _settings(database_url: str, **changes: object) -> Settings:
    return Settings(
        environment="development",
        database_url=database_url,
        secret_key=SECRET,
        sign_in_failures_allowed=1_000_000,  # many failed sign-ins from one test address on purpose; throttling is tested in test_throttle.py
    ).with_(**changes)


@pytest.fixture(scope="module")
def oneid(database_url: str, people: People) -> Iterator[RunningSimulator]:
    """The simulator on a free loopback port."""
    running = simulator.start(
        database_url, settings=_settings(database_url), client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def portal(database_url: str, oneid: RunningSimulator) -> Dash:
    """The portal configured for OneID at the simulator (as a real endpoint would be)."""
    return create_app(
        _settings(database_url, oneid_endpoint=oneid.url, oneid_client_id=CLIENT_ID, oneid_client_secret=CLIENT_SECRET)
    )


@pytest.fixture
def client(portal: Dash, oneid: RunningSimulator) -> Iterator[FlaskClient]:
    """A browser-like client; the simulator's fault switch is reset after each test."""
    with portal.server.test_client() as client:
        yield client
    oneid.state.fault = None


def _to_oneid(client: FlaskClient, next_path: str = "/") -> str:
    """Press "Sign in with OneID": the portal redirects to the simulator's authorize URL."""
    response = client.get(f"/login/oneid?next={next_path}")
    assert response.status_code == 302
    return response.location


def _pick(authorize_url: str, person: str) -> str:
    """At the simulator: open the page over HTTP and choose `person`; returns the callback path with code and state."""
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    fields["person"] = person
    answer = requests.post(authorize_url.split("?", maxsplit=1)[0], data=fields, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    parts = urlsplit(answer.headers["Location"])
    assert parts.path == "/login/oneid/callback"
    return f"{parts.path}?{parts.query}"


def test_owner_signs_in_through_oneid(client: FlaskClient, people: People, engine: Engine) -> None:
    login = client.get("/login").get_data(as_text=True)
    assert 'id="login-oneid"' in login and 'id="login-dev"' not in login
    authorize = _to_oneid(client, "/cabinet")
    assert authorize.startswith("http://127.0.0.1:") and "response_type=one_code" in authorize
    assert CLIENT_SECRET not in authorize
    page = requests.get(authorize, timeout=5).text
    with Session(engine) as session:
        pinfl = session.get_one(Cabinet, people.active).pinfl
    assert pinfl is not None
    assert pinfl not in page and f"**********{pinfl[-4:]}" in page and "Another person (no cabinet)" in page
    response = client.get(_pick(authorize, str(people.active)))
    assert response.status_code == 302 and response.location == "/cabinet"
    assert client.get("/cabinet").status_code == 200
    event = last_event(engine)
    assert (event.action, event.actor_id, event.outcome) == ("sign_in.oneid", people.active, Outcome.SUCCESS)
    with client.session_transaction() as kept:  # a live OneID session may confirm a prescription
        assert kept[SIGNED_IN_WITH]["kind"] == "oneid"
    with Session(engine) as session:
        identity = session.execute(select(LoginIdentity).where(LoginIdentity.cabinet_id == people.active)).scalar_one()
    assert identity.kind == IdentityKind.ONEID and identity.pinfl == pinfl and identity.last_used_at is not None


def test_person_without_cabinet_is_refused_and_audited(client: FlaskClient, engine: Engine) -> None:
    response = client.get(_pick(_to_oneid(client), simulator.NOBODY))
    assert response.status_code == 403
    assert_refusal_shown(
        "No personal cabinet is registered for this person. Ask your organization to request access to the portal for you.",
        response.get_data(as_text=True),
    )
    event = last_event(engine)
    assert (event.action, event.actor_id, event.outcome) == ("sign_in.oneid", None, Outcome.DENIED)
    assert client.get("/cabinet").status_code == 302


def test_blocked_cabinet_is_refused(client: FlaskClient, people: People, engine: Engine) -> None:
    response = client.get(_pick(_to_oneid(client), str(people.blocked)))
    assert response.status_code == 403
    assert_refusal_shown(
        "Your personal cabinet is blocked or archived. Contact your organization.", response.get_data(as_text=True)
    )
    event = last_event(engine)
    assert (event.outcome, event.object_id) == (Outcome.DENIED, str(people.blocked))
    assert identities(engine, people.blocked) == 0
    assert client.get("/cabinet").status_code == 302


def test_forged_state_is_refused(client: FlaskClient, people: People, engine: Engine) -> None:
    callback = _pick(_to_oneid(client), str(people.active))
    query = parse_qs(urlsplit(callback).query)
    before = identities(engine, people.active)
    response = client.get(f"/login/oneid/callback?code={query['code'][0]}&state=forged")
    assert response.status_code == 400
    assert_refusal_shown(
        "This sign-in attempt is not valid or was already used. Please sign in again.", response.get_data(as_text=True)
    )
    assert last_event(engine).outcome == Outcome.DENIED
    assert client.get("/cabinet").status_code == 302
    # The state was consumed by the forged attempt: the genuine callback is refused too.
    assert client.get(callback).status_code == 400
    assert identities(engine, people.active) == before


def test_replayed_callback_and_code_are_refused(client: FlaskClient, people: People, engine: Engine) -> None:
    callback = _pick(_to_oneid(client), str(people.active))
    assert client.get(callback).status_code == 302
    client.post("/logout")
    # The same callback again: its state is gone.
    assert client.get(callback).status_code == 400
    # The same code with a fresh state: OneID (the simulator) has already used it up.
    code = parse_qs(urlsplit(callback).query)["code"][0]
    fresh_state = parse_qs(urlsplit(_to_oneid(client)).query)["state"][0]
    response = client.get(f"/login/oneid/callback?code={code}&state={fresh_state}")
    assert response.status_code == 403
    assert_refusal_shown("OneID did not confirm the sign-in; please try again.", response.get_data(as_text=True))
    assert client.get("/cabinet").status_code == 302


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("ret_cd", "OneID did not confirm the sign-in; please try again."),
        ("no_pin", "OneID did not tell us the person's PINFL; sign-in is not possible."),
    ],
)
def test_oneid_refusals_give_a_clear_message(
    client: FlaskClient, oneid: RunningSimulator, people: People, engine: Engine, fault: simulator.Fault, message: str
) -> None:
    client.get("/lang/ru?next=/login")
    callback = _pick(_to_oneid(client), str(people.active))
    oneid.state.fault = fault
    response = client.get(callback)
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "Traceback" not in page
    with language("ru"):
        assert gettext(message) != message and str(escape(gettext(message))) in page
    assert last_event(engine).outcome == Outcome.DENIED
    assert client.get("/cabinet").status_code == 302


def test_unreachable_oneid_gives_a_clear_message(database_url: str, people: People, engine: Engine) -> None:
    # A closed port on loopback: the connection is refused at once.
    app = create_app(_settings(database_url, oneid_endpoint="http://127.0.0.1:9/sso", oneid_client_id="x"))
    with app.server.test_client() as client:
        state = parse_qs(urlsplit(_to_oneid(client)).query)["state"][0]
        response = client.get(f"/login/oneid/callback?code=abc&state={state}")
    assert response.status_code == 502
    assert_refusal_shown("OneID is not reachable; please try again later.", response.get_data(as_text=True))
    assert last_event(engine).outcome == Outcome.FAILED


def test_simulator_and_loopback_are_refused_in_production(database_url: str) -> None:
    production = Settings(
        environment="production",
        database_url=database_url,
        secret_key=SECRET,
        confirmation_key=SECRET,
        warehouse_key=SECRET,
    )
    with pytest.raises(SettingsError, match="EHEALTH_ONEID_SIMULATOR"):
        production.with_(oneid_simulator=True).validate()
    with pytest.raises(SettingsError, match="this machine"):
        production.with_(
            oneid_endpoint="https://127.0.0.1:8443/sso", oneid_client_id="a", oneid_client_secret="b"
        ).validate()
    with pytest.raises(SettingsError, match="CLIENT_ID"):
        production.with_(
            oneid_endpoint="https://sso.egov.uz/sso/oauth/Authorization.do", oneid_client_id="a"
        ).validate()
    production.with_(
        oneid_endpoint="https://sso.egov.uz/sso/oauth/Authorization.do",
        oneid_client_id="a",
        oneid_client_secret="b",
        oneid_redirect_uri="https://portal.ssv.uz/login/oneid/callback",
    ).validate()
    with pytest.raises(SimulatorRefused):
        simulator.start(database_url, settings=production, client_id="a", client_secret="b")


def test_development_app_starts_its_own_simulator(database_url: str, people: People) -> None:
    app = create_app(_settings(database_url, oneid_simulator=True))
    running: RunningSimulator = app.server.extensions["ehealth.oneid_simulator"]
    try:
        with app.server.test_client() as client:
            assert client.get(_pick(_to_oneid(client), str(people.active))).status_code == 302
            assert client.get("/cabinet").status_code == 200
    finally:
        running.stop()


def test_a_registered_redirect_address_ignores_the_host_header(database_url: str, oneid: RunningSimulator) -> None:
    registered = "https://portal.ssv.uz/login/oneid/callback"
    app = create_app(
        _settings(
            database_url,
            oneid_endpoint=oneid.url,
            oneid_client_id=CLIENT_ID,
            oneid_client_secret=CLIENT_SECRET,
            oneid_redirect_uri=registered,
        )
    )
    with app.server.test_client() as client:
        authorize = client.get("/login/oneid", headers={"Host": "evil.example"}).location
    assert parse_qs(urlsplit(authorize).query)["redirect_uri"] == [registered]


def test_a_person_with_two_cabinets_chooses_one(client: FlaskClient, engine: Engine) -> None:
    with Session(engine) as session:
        first = factories.cabinet(session, factories.organization(session), Role.DOCTOR)
        second = factories.cabinet(session, factories.organization(session), Role.MANAGER)
        second.pinfl = first.pinfl  # the same person works in two organizations
        session.commit()
        ids = (first.id, second.id)
    offer = client.get(_pick(_to_oneid(client, "/cabinet"), str(ids[0])))
    assert offer.status_code == 302 and offer.location == "/login/choose"
    assert client.get("/cabinet").status_code == 302  # not signed in until a cabinet is chosen
    page = client.get("/login/choose").get_data(as_text=True)
    assert all(f'id="choose-{cabinet_id}"' in page for cabinet_id in ids)
    assert client.post("/login/choose", data={"cabinet_id": "1"}).status_code == 400  # not offered
    chosen = client.post("/login/choose", data={"cabinet_id": str(ids[1])})
    assert chosen.status_code == 302 and chosen.location == "/cabinet"
    event = last_event(engine)
    assert (event.action, event.actor_id, event.outcome) == ("sign_in.oneid", ids[1], Outcome.SUCCESS)
    with client.session_transaction() as kept:
        assert kept[SIGNED_IN_WITH]["kind"] == "oneid"
    assert client.get("/login/choose").status_code == 302  # the offer is used up
    with Session(engine) as session:
        assert {row.cabinet_id for row in session.execute(select(LoginIdentity)).scalars()} >= set(ids)


def test_an_expired_choice_sends_back_to_sign_in(client: FlaskClient, engine: Engine) -> None:
    with Session(engine) as session:
        first = factories.cabinet(session, factories.organization(session), Role.NURSE)
        second = factories.cabinet(session, factories.organization(session), Role.NURSE)
        second.pinfl = first.pinfl
        session.commit()
        ids = (first.id, second.id)
    client.get(_pick(_to_oneid(client), str(ids[0])))
    with client.session_transaction() as session_data:
        session_data["cabinet_choice"] = session_data["cabinet_choice"] | {"until": 0.0}
    assert client.post("/login/choose", data={"cabinet_id": str(ids[0])}).location == "/login"
    assert client.get("/cabinet").status_code == 302

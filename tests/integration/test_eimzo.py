"""Sign-in with E-IMZO through the local E-IMZO-SERVER simulator over real HTTP (R-9): owners in, others out."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from dash import Dash
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import create_app
from auth import eimzo
from auth.eimzo_views import SIMULATOR_KEY
from auth.session import SIGNED_IN_WITH
from auth.simulators import SimulatorRefused
from auth.simulators import eimzo as simulator
from auth.simulators.eimzo import RunningSimulator
from ehealth.access.models import Cabinet, IdentityKind, LoginIdentity
from ehealth.audit.models import Outcome
from settings import Settings, SettingsError
from tests.signin_checks import People, active_and_blocked, assert_refusal_shown, identities, last_event

SECRET = "x" * 40
BAD_STATE = "This sign-in attempt is not valid or was already used. Please sign in again."


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
def portal(database_url: str, people: People) -> Iterator[Dash]:
    """The portal with its own E-IMZO simulator (the adapter talks to it over HTTP)."""
    app = create_app(_settings(database_url, eimzo_simulator=True))
    yield app
    app.server.extensions[SIMULATOR_KEY].stop()


@pytest.fixture
def sim(portal: Dash) -> RunningSimulator:
    """The portal's running simulator."""
    running: RunningSimulator = portal.server.extensions[SIMULATOR_KEY]
    return running


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    """A browser-like client."""
    with portal.server.test_client() as client:
        yield client


def _to_sign_page(client: FlaskClient, next_path: str = "/") -> str:
    """Press "Sign in with E-IMZO": the portal redirects to the simulator's signing page."""
    response = client.get(f"/login/eimzo?next={next_path}")
    assert response.status_code == 302
    return response.location


def _sign(sim: RunningSimulator, sign_url: str, pinfl: str) -> dict[str, str]:
    """At the simulator: open the signing page over HTTP, pick the key of `pinfl`; the form posted back."""
    page = requests.get(sign_url, timeout=5)
    assert page.status_code == 200
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    answer = requests.post(
        sign_url.split("?", maxsplit=1)[0],
        data={"challenge": fields["challenge"], "return": fields["return"], "key": sim.state.keys[pinfl].id},
        timeout=5,
    )
    assert answer.status_code == 200
    action = re.search(r'action="([^"]*)"', answer.text)
    assert action is not None and urlsplit(action.group(1)).path == "/login/eimzo/callback"
    posted = dict(re.findall(r'name="(\w+)" value="([^"]*)"', answer.text))
    return {"challenge": posted["challenge"], "pkcs7": posted["pkcs7"]}


def test_owner_signs_in_with_their_certificate(
    client: FlaskClient, sim: RunningSimulator, people: People, engine: Engine
) -> None:
    assert 'id="login-eimzo"' in client.get("/login").get_data(as_text=True)
    sign_url = _to_sign_page(client, "/cabinet")
    assert sign_url.startswith(sim.url + "/sign?")
    page = requests.get(sign_url, timeout=5).text
    assert people.active_pinfl not in page and f"**********{people.active_pinfl[-4:]}" in page
    assert "another person, no cabinet" in page
    response = client.post("/login/eimzo/callback", data=_sign(sim, sign_url, people.active_pinfl))
    assert response.status_code == 302 and response.location == "/cabinet"
    assert client.get("/cabinet").status_code == 200
    event = last_event(engine)
    assert (event.action, event.actor_id, event.outcome) == ("sign_in.eimzo", people.active, Outcome.SUCCESS)
    with client.session_transaction() as kept:  # a prescription may later be confirmed by how the session began
        assert kept[SIGNED_IN_WITH]["kind"] == "eimzo"
    serial = format(sim.state.keys[people.active_pinfl].certificate.serial_number, "x")
    with Session(engine) as session:
        identity = session.execute(
            select(LoginIdentity).where(
                LoginIdentity.cabinet_id == people.active, LoginIdentity.kind == IdentityKind.EIMZO
            )
        ).scalar_one()
    assert (identity.subject, identity.pinfl) == (serial, people.active_pinfl)


def test_someone_elses_certificate_is_refused_and_audited(
    client: FlaskClient, sim: RunningSimulator, engine: Engine
) -> None:
    sign_url = _to_sign_page(client)
    requests.get(sign_url, timeout=5)  # issues the keys
    with Session(engine) as session:
        taken = set(session.execute(select(Cabinet.pinfl)).scalars())
    stranger = next(pinfl for pinfl in sim.state.keys if pinfl not in taken)
    response = client.post("/login/eimzo/callback", data=_sign(sim, sign_url, stranger))
    assert response.status_code == 403
    assert_refusal_shown(
        "No personal cabinet is registered for this person. Ask your organization to request access to the portal for you.",
        response.get_data(as_text=True),
    )
    event = last_event(engine)
    assert (event.action, event.actor_id, event.outcome) == ("sign_in.eimzo", None, Outcome.DENIED)
    assert client.get("/cabinet").status_code == 302


def test_blocked_cabinet_is_refused(client: FlaskClient, sim: RunningSimulator, people: People, engine: Engine) -> None:
    response = client.post("/login/eimzo/callback", data=_sign(sim, _to_sign_page(client), people.blocked_pinfl))
    assert response.status_code == 403
    assert_refusal_shown(
        "Your personal cabinet is blocked or archived. Contact your organization.", response.get_data(as_text=True)
    )
    event = last_event(engine)
    assert (event.action, event.outcome) == ("sign_in.eimzo", Outcome.DENIED)
    assert client.get("/cabinet").status_code == 302


def test_replayed_and_foreign_challenges_are_refused(
    client: FlaskClient, sim: RunningSimulator, people: People, engine: Engine
) -> None:
    signed = _sign(sim, _to_sign_page(client), people.active_pinfl)
    assert client.post("/login/eimzo/callback", data=signed).status_code == 302
    client.post("/logout")
    before = identities(engine, people.active)
    # The same post again: its challenge is no longer pending in the session.
    response = client.post("/login/eimzo/callback", data=signed)
    assert response.status_code == 400
    assert_refusal_shown(BAD_STATE, response.get_data(as_text=True))
    assert last_event(engine).outcome == Outcome.DENIED
    # A challenge fetched elsewhere (another browser), signed by the owner, against this session's pending one.
    pending = parse_qs(urlsplit(_to_sign_page(client)).query)["challenge"][0]
    foreign = eimzo.challenge(eimzo.EimzoConfig(sim.url))
    key = sim.state.keys[people.active_pinfl]
    assert (
        client.post(
            "/login/eimzo/callback", data={"challenge": pending, "pkcs7": simulator.sign(key, foreign.encode())}
        ).status_code
        == 400
    )
    # The server too refuses a challenge already used.
    with pytest.raises(eimzo.EimzoError) as refused:
        eimzo.authenticate(eimzo.EimzoConfig(sim.url), signed["pkcs7"], "127.0.0.1", "localhost")
    assert refused.value.msgid == eimzo.NOT_CONFIRMED
    assert client.get("/cabinet").status_code == 302
    assert identities(engine, people.active) == before


def test_tampered_signature_is_refused(
    client: FlaskClient, sim: RunningSimulator, people: People, engine: Engine
) -> None:
    signed = _sign(sim, _to_sign_page(client), people.active_pinfl)
    der = bytearray(base64.b64decode(signed["pkcs7"]))
    der[-5] ^= 0x01  # inside the signature value, the last field of the structure
    response = client.post(
        "/login/eimzo/callback", data={**signed, "pkcs7": base64.b64encode(bytes(der)).decode("ascii")}
    )
    assert response.status_code == 403
    assert_refusal_shown("E-IMZO did not confirm the signature; please try again.", response.get_data(as_text=True))
    event = last_event(engine)
    assert (event.action, event.outcome) == ("sign_in.eimzo", Outcome.DENIED)
    assert client.get("/cabinet").status_code == 302


def test_with_a_real_server_the_signing_page_asks_the_local_e_imzo_application(
    database_url: str, sim: RunningSimulator
) -> None:
    app = create_app(_settings(database_url, eimzo_server_url=sim.url, eimzo_api_key="portal.ssv.uz:0123abcd"))
    with app.server.test_client() as client:
        response = client.get("/login/eimzo?next=/cabinet")
        with client.session_transaction() as session:
            pending = session["eimzo_pending"]
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # The challenge came from E-IMZO-SERVER and is bound to this session; the page signs it through the agent.
    assert f'data-challenge="{pending["challenge"]}"' in page and pending["next"] == "/cabinet"
    assert 'data-agent="wss://127.0.0.1:64443/service/cryptapi"' in page
    assert 'data-api-key="portal.ssv.uz:0123abcd"' in page
    assert 'src="/assets/signin/eimzo-sign.js"' in page


def test_an_unreachable_e_imzo_server_is_reported(database_url: str) -> None:
    app = create_app(_settings(database_url, eimzo_server_url="http://127.0.0.1:9"))
    with app.server.test_client() as client:
        response = client.get("/login/eimzo")
    assert response.status_code == 502
    assert 'id="login-error"' in response.get_data(as_text=True)


def test_simulator_is_refused_in_production(database_url: str) -> None:
    production = Settings(
        environment="production",
        database_url=database_url,
        secret_key=SECRET,
        confirmation_key=SECRET,
        warehouse_key=SECRET,
    )
    with pytest.raises(SettingsError, match="EHEALTH_EIMZO_SIMULATOR"):
        production.with_(eimzo_simulator=True).validate()
    # E-IMZO-SERVER normally runs inside the organization, often on this very host.
    production.with_(eimzo_server_url="http://127.0.0.1:8080").validate()
    with pytest.raises(SettingsError, match="http"):
        production.with_(eimzo_server_url="ftp://eimzo.local").validate()
    with pytest.raises(SimulatorRefused):
        simulator.start(database_url, settings=production)

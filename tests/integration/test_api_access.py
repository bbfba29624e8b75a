"""API access (issue 8): client credentials and patient tokens, bearer checks, scopes, expiry, revocation, the rate
limit per token, the audit of every call, and no secret or bearer string stored in clear."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from dash import Dash
from flask import Blueprint, Flask, jsonify
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine, String, Text, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import ehealth.models  # noqa: F401  (every table, for the scan of stored values)
from api.access import tokens
from api.access.http import api_access_bp, bearer, current_context, note_patient, unguarded_routes
from api.access.limits import RateLimited, hit, window_of
from api.access.models import ApiClient, ApiClientStatus, ApiRateWindow, ApiToken, TokenKind
from api.access.scopes import PATIENT_OWN_READ
from app import create_app
from db import Base, utcnow
from ehealth.audit.models import AuditEvent, Outcome
from ehealth.audit.trail import SYSTEM, Actor
from ehealth.errors import NotFound, ValidationError
from ehealth.manage import main
from settings import Settings, SettingsError, from_env
from tests import factories, own_database

database_url = own_database.database_url
engine = own_database.engine

LIMIT = 5
ADDRESS = "203.0.113.7"
CLIENT_LIFETIME = timedelta(minutes=15)

probe = Blueprint("api_probe", __name__, url_prefix="/api/v1/probe")


@probe.get("/prescriptions")
@bearer("MedicationRequest.read")
def prescriptions() -> ResponseReturnValue:
    """A stand-in for a later FHIR route: answers with the token's context."""
    context = current_context()
    return jsonify(kind=str(context.kind), organization_id=context.organization_id, patient_id=context.patient_id)


@probe.post("/dispenses")
@bearer("MedicationDispense.write")
def dispense() -> ResponseReturnValue:
    return jsonify(done=True), 201


@probe.get("/patient/<int:patient_id>")
@bearer("Patient.read")
def read_patient(patient_id: int) -> ResponseReturnValue:
    """Reads one patient's record: a patient token only its own."""
    context = current_context()
    if context.patient_id is not None and context.patient_id != patient_id:
        return jsonify(resourceType="OperationOutcome", issue=[]), 404
    note_patient(patient_id)
    return jsonify(id=patient_id)


@dataclass
class World:
    organization_id: int
    other_organization_id: int
    patient_id: int
    pinfl: str
    other_patient_id: int


@pytest.fixture(scope="module")
def world(engine: Engine) -> World:
    with Session(engine) as session:
        org = factories.organization(session)
        other = factories.organization(session)
        patient = factories.patient(session)
        other_patient = factories.patient(session)
        session.commit()
        return World(org.id, other.id, patient.id, patient.pinfl, other_patient.id)


@pytest.fixture
def app(database_url: str) -> Dash:
    settings = Settings(
        environment="test", database_url=database_url, secret_key="z" * 40, api_requests_per_minute=LIMIT
    )
    app = create_app(settings)
    app.server.register_blueprint(probe)
    return app


@pytest.fixture
def client(app: Dash) -> Iterator[FlaskClient]:
    with app.server.test_client() as client:
        client.environ_base["REMOTE_ADDR"] = ADDRESS
        yield client


def register(
    engine: Engine, organization_id: int, scopes: str = "MedicationRequest.read MedicationDispense.write"
) -> tuple[ApiClient, str]:
    with Session(engine, expire_on_commit=False) as session:
        row, secret = tokens.register_client(
            session, organization_id=organization_id, name="Dorixona tizimi", scopes=scopes, actor=SYSTEM
        )
        session.commit()
        return row, secret


def get_token(client: FlaskClient, client_id: str, secret: str, scope: str | None = None) -> TestResponse:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope is not None:
        form["scope"] = scope
    return client.post("/api/v1/token", data=form)


def auth(bearer_string: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer_string}"}


def api_events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action.like("api.%")).order_by(AuditEvent.id)
        return list(session.execute(query).scalars())


def test_a_client_gets_a_token_and_calls_a_protected_route(engine: Engine, world: World, client: FlaskClient) -> None:
    row, secret = register(engine, world.organization_id)
    answer = get_token(client, row.client_id, secret, "MedicationRequest.read")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 15 * 60
    assert body["scope"] == "MedicationRequest.read"
    called = client.get("/api/v1/probe/prescriptions", headers=auth(body["access_token"]))
    assert called.status_code == 200
    assert called.get_json() == {"kind": "client", "organization_id": world.organization_id, "patient_id": None}
    # No scope asked for: every scope the client was granted.
    full = get_token(client, row.client_id, secret).get_json()
    assert full["scope"] == "MedicationDispense.write MedicationRequest.read"
    assert client.post("/api/v1/probe/dispenses", headers=auth(full["access_token"])).status_code == 201


def test_http_basic_client_authentication_is_accepted(engine: Engine, world: World, client: FlaskClient) -> None:
    row, secret = register(engine, world.organization_id)
    basic = base64.b64encode(f"{row.client_id}:{secret}".encode()).decode()
    answer = client.post(
        "/api/v1/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert answer.status_code == 200 and answer.get_json()["access_token"]
    wrong = base64.b64encode(f"{row.client_id}:nope".encode()).decode()
    refused = client.post(
        "/api/v1/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {wrong}"}
    )
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")


def test_token_requests_are_checked_as_rfc_6749_says(engine: Engine, world: World, client: FlaskClient) -> None:
    row, secret = register(engine, world.organization_id, "MedicationRequest.read")
    missing = client.post("/api/v1/token", data={"client_id": row.client_id, "client_secret": secret})
    assert (missing.status_code, missing.get_json()["error"]) == (400, "invalid_request")
    other_grant = client.post(
        "/api/v1/token", data={"grant_type": "password", "client_id": row.client_id, "client_secret": secret}
    )
    assert (other_grant.status_code, other_grant.get_json()["error"]) == (400, "unsupported_grant_type")
    not_granted = get_token(client, row.client_id, secret, "MedicationRequest.read MedicationDispense.write")
    assert (not_granted.status_code, not_granted.get_json()["error"]) == (400, "invalid_scope")
    assert "MedicationDispense.write" in not_granted.get_json()["error_description"]
    unknown = get_token(client, row.client_id, secret, "Everything.write")
    assert (unknown.status_code, unknown.get_json()["error"]) == (400, "invalid_scope")
    patient_scope = get_token(client, row.client_id, secret, PATIENT_OWN_READ)
    assert (patient_scope.status_code, patient_scope.get_json()["error"]) == (400, "invalid_scope")
    with Session(engine) as session:
        assert session.execute(select(func.count()).where(ApiToken.api_client_id == row.id)).scalar_one() == 0


def test_scopes_are_enforced(engine: Engine, world: World, client: FlaskClient) -> None:
    row, secret = register(engine, world.organization_id)
    reader = get_token(client, row.client_id, secret, "MedicationRequest.read").get_json()["access_token"]
    refused = client.post("/api/v1/probe/dispenses", headers=auth(reader))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert 'scope="MedicationDispense.write"' in refused.headers["WWW-Authenticate"]
    assert refused.get_json()["resourceType"] == "OperationOutcome"
    assert refused.get_json()["issue"][0]["code"] == "forbidden"
    assert api_events(engine)[-1].outcome == Outcome.DENIED


def test_a_wrong_secret_is_refused_and_audited_without_saying_which_part_was_wrong(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    row, secret = register(engine, world.organization_id)
    wrong = get_token(client, row.client_id, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    unknown = get_token(client, "c-nobody", secret)
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.get_json()
        == unknown.get_json()
        == {
            "error": "invalid_client",
            "error_description": "Client authentication failed.",
        }
    )
    assert "WWW-Authenticate" in wrong.headers
    wrong_event, unknown_event = api_events(engine)[-2:]
    assert (wrong_event.action, wrong_event.outcome, wrong_event.detail) == (
        "api.token",
        Outcome.DENIED,
        "wrong secret",
    )
    assert wrong_event.organization_id == world.organization_id and wrong_event.source_ip == ADDRESS
    assert wrong_event.object_id == str(row.id)
    assert (unknown_event.outcome, unknown_event.detail, unknown_event.organization_id) == (
        Outcome.DENIED,
        "unknown client_id",
        None,
    )
    with Session(engine) as session:
        assert session.execute(select(func.count()).where(ApiToken.api_client_id == row.id)).scalar_one() == 0


def test_a_forged_or_missing_token_is_unknown(engine: Engine, world: World, client: FlaskClient) -> None:
    forged = client.get("/api/v1/probe/prescriptions", headers=auth("x" * 43))
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["WWW-Authenticate"]
    assert forged.get_json()["issue"][0]["diagnostics"] == tokens.BEARER_UNKNOWN
    missing = client.get("/api/v1/probe/prescriptions")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="ehealth-api"'
    # Not the portal's sign-in redirect: the API answers for itself.
    not_bearer = client.get("/api/v1/probe/prescriptions", headers={"Authorization": "Basic eDp5"})
    assert not_bearer.status_code == 401 and not_bearer.is_json
    forged_event, missing_event, _ = api_events(engine)[-3:]
    assert (forged_event.action, forged_event.outcome, forged_event.detail) == (
        "api.api_probe.prescriptions",
        Outcome.DENIED,
        "unknown token",
    )
    assert forged_event.source_ip == ADDRESS and missing_event.detail == "no token"


def test_an_expired_token_is_refused(engine: Engine, world: World, client: FlaskClient) -> None:
    row, secret = register(engine, world.organization_id)
    issued_at = utcnow() - timedelta(hours=1)
    with Session(engine) as session:
        old = tokens.issue_client_token(session, row.client_id, secret, None, lifetime=CLIENT_LIFETIME, now=issued_at)
        session.commit()
        # Valid until the end of its lifetime, not a moment longer.
        assert tokens.authenticate(session, old.access_token, now=issued_at + CLIENT_LIFETIME - timedelta(seconds=1))
        with pytest.raises(tokens.InvalidToken) as refused:
            tokens.authenticate(session, old.access_token, now=issued_at + CLIENT_LIFETIME)
        assert refused.value.reason == "expired"
    answer = client.get("/api/v1/probe/prescriptions", headers=auth(old.access_token))
    assert answer.status_code == 401
    assert answer.get_json()["issue"][0]["code"] == "expired"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert api_events(engine)[-1].detail == "expired token"


def test_a_revoked_token_and_the_tokens_of_a_revoked_client_are_refused(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    row, secret = register(engine, world.organization_id)
    first = get_token(client, row.client_id, secret).get_json()["access_token"]
    second = get_token(client, row.client_id, secret).get_json()["access_token"]
    with Session(engine) as session:
        tokens.revoke_token(session, first, actor=SYSTEM)
        session.commit()
        with pytest.raises(tokens.InvalidToken):
            tokens.revoke_token(session, first, actor=SYSTEM)  # already revoked: refused, nothing changes
    revoked = client.get("/api/v1/probe/prescriptions", headers=auth(first))
    assert revoked.status_code == 401 and revoked.get_json()["issue"][0]["diagnostics"] == tokens.BEARER_REVOKED
    assert client.get("/api/v1/probe/prescriptions", headers=auth(second)).status_code == 200
    with Session(engine) as session:
        tokens.revoke_client(session, row.client_id, actor=SYSTEM)
        session.commit()
        stored = session.get(ApiClient, row.id)
        assert stored is not None and stored.status == ApiClientStatus.REVOKED and stored.revoked_at is not None
        held = session.execute(select(ApiToken).where(ApiToken.api_client_id == row.id)).scalars().all()
        assert len(held) == 2 and all(token.revoked_at is not None for token in held)
        with pytest.raises(ValidationError):
            tokens.revoke_client(session, row.client_id, actor=SYSTEM)
    assert client.get("/api/v1/probe/prescriptions", headers=auth(second)).status_code == 401
    again = get_token(client, row.client_id, secret)
    assert (again.status_code, again.get_json()["error"]) == (401, "invalid_client")
    assert api_events(engine)[-1].detail == "client revoked"


def test_a_rotated_secret_replaces_the_old_one(engine: Engine, world: World, client: FlaskClient) -> None:
    row, secret = register(engine, world.organization_id)
    with Session(engine) as session:
        new_secret = tokens.rotate_secret(session, row.client_id, actor=SYSTEM)
        session.commit()
    assert new_secret != secret
    assert get_token(client, row.client_id, secret).status_code == 401
    assert get_token(client, row.client_id, new_secret).status_code == 200


def test_registering_a_client_refuses_bad_input_and_changes_nothing(engine: Engine, world: World) -> None:
    with Session(engine) as session:
        before = session.execute(select(func.count()).select_from(ApiClient)).scalar_one()
        cases: list[tuple[dict[str, object], type[Exception]]] = [
            ({"scopes": "Patient.read Everything.write"}, ValidationError),
            ({"scopes": PATIENT_OWN_READ}, ValidationError),
            ({"scopes": ""}, ValidationError),
            ({"name": "  "}, ValidationError),
            ({"organization_id": 987654321}, NotFound),
        ]
        for change, error in cases:
            arguments: dict[str, Any] = {
                "organization_id": world.organization_id,
                "name": "HIS",
                "scopes": "Patient.read",
            }
            arguments |= change
            with pytest.raises(error):
                tokens.register_client(session, actor=SYSTEM, **arguments)
        assert session.execute(select(func.count()).select_from(ApiClient)).scalar_one() == before
        with pytest.raises(NotFound):
            tokens.rotate_secret(session, "c-nobody", actor=SYSTEM)


def test_a_patient_token_is_bound_to_its_patient(engine: Engine, world: World, client: FlaskClient) -> None:
    with Session(engine) as session:
        issued = tokens.issue_patient_token(session, world.pinfl, lifetime=timedelta(minutes=30), source_ip=ADDRESS)
        session.commit()
        context = tokens.authenticate(session, issued.access_token)
    assert context.kind == TokenKind.PATIENT
    assert context.patient_id == world.patient_id
    assert (context.organization_id, context.api_client_id, context.client_id) == (None, None, None)
    assert context.scopes == {PATIENT_OWN_READ}
    own = client.get(f"/api/v1/probe/patient/{world.patient_id}", headers=auth(issued.access_token))
    assert own.status_code == 200
    other = client.get(f"/api/v1/probe/patient/{world.other_patient_id}", headers=auth(issued.access_token))
    assert other.status_code == 404
    # Reads of their own record only: no writes.
    assert client.post("/api/v1/probe/dispenses", headers=auth(issued.access_token)).status_code == 403
    own_event, other_event, write_event = api_events(engine)[-3:]
    assert own_event.patient_id == other_event.patient_id == write_event.patient_id == world.patient_id
    assert own_event.actor_role == "api_patient" and own_event.organization_id is None
    assert (own_event.outcome, other_event.outcome, write_event.outcome) == (
        Outcome.SUCCESS,
        Outcome.DENIED,
        Outcome.DENIED,
    )


def test_a_patient_token_needs_a_registered_unmerged_patient(engine: Engine, world: World) -> None:
    with Session(engine) as session:
        with pytest.raises(ValidationError):
            tokens.issue_patient_token(session, "123", lifetime=timedelta(minutes=30))
        with pytest.raises(NotFound):
            tokens.issue_patient_token(session, "0" * 14, lifetime=timedelta(minutes=30))
        duplicate = factories.patient(session)
        session.commit()
        issued = tokens.issue_patient_token(session, duplicate.pinfl, lifetime=timedelta(minutes=30))
        session.commit()
        duplicate.merged_into_id = world.patient_id
        session.commit()
        with pytest.raises(ValidationError):
            tokens.issue_patient_token(session, duplicate.pinfl, lifetime=timedelta(minutes=30))
        # A token issued before the merge stops working with it.
        with pytest.raises(tokens.InvalidToken) as refused:
            tokens.authenticate(session, issued.access_token)
        assert refused.value.reason == "revoked"


def test_an_organization_client_reading_a_patient_is_audited_against_that_patient(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    row, secret = register(engine, world.other_organization_id, "Patient.read")
    bearer_string = get_token(client, row.client_id, secret).get_json()["access_token"]
    assert client.get(f"/api/v1/probe/patient/{world.patient_id}", headers=auth(bearer_string)).status_code == 200
    event = api_events(engine)[-1]
    assert (event.action, event.organization_id, event.patient_id, event.actor_role) == (
        "api.api_probe.read_patient",
        world.other_organization_id,
        world.patient_id,
        "api_client",
    )


def test_the_rate_limit_refuses_calls_past_the_limit_until_the_next_minute(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    row, secret = register(engine, world.organization_id)
    bearer_string = get_token(client, row.client_id, secret).get_json()["access_token"]
    answers = [client.get("/api/v1/probe/prescriptions", headers=auth(bearer_string)) for _ in range(LIMIT + 2)]
    statuses = [answer.status_code for answer in answers]
    # A minute may turn during the calls: then the count starts again, and fewer (or no) calls are refused.
    assert statuses[:LIMIT] == [200] * LIMIT or 429 not in statuses
    refused = [answer for answer in answers if answer.status_code == 429]
    for answer in refused:
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
        assert answer.get_json()["issue"][0]["code"] == "throttled"
    calls = api_events(engine)[-len(answers) :]
    assert [event.detail for event in calls].count("rate limited") == len(refused)
    # Another token of the same client has its own count.
    fresh = get_token(client, row.client_id, secret).get_json()["access_token"]
    assert client.get("/api/v1/probe/prescriptions", headers=auth(fresh)).status_code == 200


def test_the_rate_limit_counts_per_minute_and_forgets_old_minutes(engine: Engine, world: World) -> None:
    row, secret = register(engine, world.organization_id)
    start = utcnow().replace(second=5, microsecond=0) - timedelta(minutes=10)
    with Session(engine) as session:
        issued = tokens.issue_client_token(session, row.client_id, secret, None, lifetime=CLIENT_LIFETIME)
        session.commit()
        assert [hit(session, issued.token_id, 3, now=start) for _ in range(3)] == [1, 2, 3]
        with pytest.raises(RateLimited) as refused:
            hit(session, issued.token_id, 3, now=start + timedelta(seconds=50))
        assert refused.value.retry_after == 5
        session.commit()
        # The next minute counts afresh.
        assert hit(session, issued.token_id, 3, now=start + timedelta(minutes=1)) == 1
        assert hit(session, issued.token_id, 3, now=start + timedelta(minutes=3)) == 1
        session.commit()
        windows = session.execute(
            select(ApiRateWindow.window_minute).where(ApiRateWindow.token_id == issued.token_id)
        ).scalars()
        # The first call of a minute deleted the windows before the previous minute.
        assert set(windows) == {window_of(start + timedelta(minutes=3))}


def test_every_call_is_audited_once(engine: Engine, world: World, client: FlaskClient) -> None:
    row, secret = register(engine, world.organization_id)
    before = len(api_events(engine))
    bearer_string = get_token(client, row.client_id, secret, "MedicationRequest.read").get_json()["access_token"]
    client.get("/api/v1/probe/prescriptions", headers=auth(bearer_string))
    client.post("/api/v1/probe/dispenses", headers=auth(bearer_string))
    client.get("/api/v1/probe/prescriptions", headers=auth("forged"))
    client.get("/api/v1/probe/prescriptions")
    get_token(client, row.client_id, "wrong")
    events = api_events(engine)[before:]
    assert [(event.action, event.outcome) for event in events] == [
        ("api.token", Outcome.SUCCESS),
        ("api.api_probe.prescriptions", Outcome.SUCCESS),
        ("api.api_probe.dispense", Outcome.DENIED),
        ("api.api_probe.prescriptions", Outcome.DENIED),
        ("api.api_probe.prescriptions", Outcome.DENIED),
        ("api.token", Outcome.DENIED),
    ]
    assert {event.source_ip for event in events} == {ADDRESS}


def test_no_secret_or_bearer_string_is_stored_in_clear(engine: Engine, world: World, client: FlaskClient) -> None:
    row, secret = register(engine, world.organization_id)
    client_token = get_token(client, row.client_id, secret).get_json()["access_token"]
    client.get("/api/v1/probe/prescriptions", headers=auth(client_token))
    get_token(client, row.client_id, secret + "x")
    with Session(engine) as session:
        patient_token = tokens.issue_patient_token(session, world.pinfl, lifetime=timedelta(minutes=30)).access_token
        session.commit()
        stored = session.get(ApiClient, row.id)
        assert stored is not None and stored.secret_hash.startswith("scrypt$16384$8$1$")
        assert tokens.verify_secret(secret, stored.secret_hash) and not tokens.verify_secret("x", stored.secret_hash)
        found: list[str] = []
        for table in Base.metadata.sorted_tables:
            columns = [column for column in table.columns if isinstance(column.type, String | Text)]
            if not columns:
                continue
            for values in session.execute(select(*columns)):
                for column, value in zip(columns, values, strict=True):
                    if isinstance(value, str) and any(
                        needle in value for needle in (secret, client_token, patient_token)
                    ):
                        found.append(f"{table.name}.{column.name}")
        assert found == []
        hashes = set(session.execute(select(ApiToken.token_hash)).scalars())
        assert {tokens.bearer_hash(client_token), tokens.bearer_hash(patient_token)} <= hashes


def test_a_client_token_acts_in_the_audit_as_its_organization() -> None:
    context = tokens.TokenContext(token_id=1, kind=TokenKind.CLIENT, scopes=frozenset(), organization_id=7)
    assert context.actor("198.51.100.1") == Actor(None, "api_client", 7, "198.51.100.1")


def test_a_client_can_be_registered_from_the_shell(
    database_url: str,
    world: World,
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EHEALTH_DATABASE_URL", database_url)
    arguments = ["register-api-client", "--organization", str(world.organization_id), "--name", "Dorixona"]
    assert main([*arguments, "--scope", "MedicationRequest.read"]) == 0
    printed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines() if ": " in line)
    answer = get_token(client, printed["client_id"], printed["client_secret"])
    assert answer.status_code == 200 and answer.get_json()["scope"] == "MedicationRequest.read"
    assert main([*arguments, "--scope", "Everything.write"]) == 1
    assert "Unknown scope: Everything.write." in capsys.readouterr().err


def test_lifetimes_and_the_rate_limit_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert (defaults.api_client_token_minutes, defaults.api_patient_token_minutes) == (15, 30)
    monkeypatch.setenv("EHEALTH_API_CLIENT_TOKEN_MINUTES", "5")
    monkeypatch.setenv("EHEALTH_API_PATIENT_TOKEN_MINUTES", "20")
    monkeypatch.setenv("EHEALTH_API_REQUESTS_PER_MINUTE", "600")
    chosen = from_env()
    assert (chosen.api_client_token_minutes, chosen.api_patient_token_minutes, chosen.api_requests_per_minute) == (
        5,
        20,
        600,
    )
    for field in ("api_client_token_minutes", "api_patient_token_minutes", "api_requests_per_minute"):
        with pytest.raises(SettingsError):
            defaults.with_(**{field: 0}).validate()


def test_no_api_route_is_reachable_without_a_bearer_token(client: FlaskClient) -> None:
    """/api/v1 is outside the portal's sign-in redirect: every route under it but the token endpoint must guard
    itself with bearer(...), including the test's own."""
    server = client.application
    assert unguarded_routes(server) == []
    assert any(
        rule.rule.startswith("/api/v1/") and rule.endpoint != "api_access.token" for rule in server.url_map.iter_rules()
    )
    # The check itself finds a route that forgot its guard.
    other = Flask(__name__)
    other.register_blueprint(api_access_bp)
    other.add_url_rule("/api/v1/forgotten", "forgotten", lambda: "open")

    def closed() -> str:
        return "closed"

    other.add_url_rule("/api/v1/guarded", "guarded", bearer("Patient.read")(closed))
    assert unguarded_routes(other) == ["/api/v1/forgotten"]

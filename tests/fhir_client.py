"""What the FHIR API tests share: the portal with a generous rate limit, a test client from a fixed address, tokens
of a patient and of an organization's system, and the JSON of an answer. Test modules bind the fixtures with
`app = fhir_client.app` and `client = fhir_client.client`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from dash import Dash
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from api.access import tokens
from api.fhir_routes import FHIR_JSON
from app import create_app
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import SYSTEM
from settings import Settings

ADDRESS = "198.51.100.9"


@pytest.fixture
def app(database_url: str) -> Dash:
    """The portal on the module's database; the rate limit out of the way (its own tests are in test_api_access)."""
    settings = Settings(
        environment="test", database_url=database_url, secret_key="f" * 40, api_requests_per_minute=10_000
    )
    return create_app(settings)


@pytest.fixture
def client(app: Dash) -> Iterator[FlaskClient]:
    """A test client calling from ADDRESS."""
    with app.server.test_client() as client:
        client.environ_base["REMOTE_ADDR"] = ADDRESS
        yield client


def patient_token(
    engine: Engine, pinfl: str, *, lifetime: timedelta = timedelta(minutes=30), now: datetime | None = None
) -> str:
    """A patient token for this PINFL (as after a OneID sign-in)."""
    with Session(engine) as session:
        issued = tokens.issue_patient_token(session, pinfl, lifetime=lifetime, source_ip=ADDRESS, now=now)
        session.commit()
        return issued.access_token


def client_token(engine: Engine, client: FlaskClient, organization_id: int, scopes: str) -> str:
    """Register a system of the organization with these scopes and get its token through /api/v1/token."""
    with Session(engine, expire_on_commit=False) as session:
        row, secret = tokens.register_client(
            session, organization_id=organization_id, name="Axborot tizimi", scopes=scopes, actor=SYSTEM
        )
        session.commit()
    form = {"grant_type": "client_credentials", "client_id": row.client_id, "client_secret": secret}
    answer = client.post("/api/v1/token", data=form)
    assert answer.status_code == 200
    access_token: str = answer.get_json()["access_token"]
    return access_token


def auth(bearer_string: str) -> dict[str, str]:
    """The Authorization header of a bearer token."""
    return {"Authorization": f"Bearer {bearer_string}"}


def body(answer: TestResponse) -> dict[str, Any]:
    """The FHIR JSON of an answer (its media type checked)."""
    assert answer.mimetype == FHIR_JSON
    data: dict[str, Any] = answer.get_json(force=True)
    return data


def last_event_id(engine: Engine) -> int:
    """The newest audit row's id (0 when there is none): what a test's calls add comes after it."""
    with Session(engine) as session:
        return session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).scalar() or 0

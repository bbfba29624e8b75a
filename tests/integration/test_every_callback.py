"""Deny by default for callbacks: every Dash callback declares a permission, and a forged call to
`/_dash-update-component` from a role without it is refused on the server and audited, whatever the navbar shows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from dash import Dash, Input, Output
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app import create_app
from auth.callbacks import FRAMEWORK_OUTPUTS, UPDATE_PATH, declared_permission
from auth.permissions import permissions_of
from ehealth.access.models import Role
from ehealth.audit.models import AuditEvent, Outcome
from settings import Settings
from tests import factories
from tests.signin_checks import sign_in_as


@pytest.fixture(scope="module")
def staff(engine: Engine) -> dict[Role, int]:
    with Session(engine) as session:
        org = factories.organization(session)
        by_role = {role: factories.cabinet(session, org, role).id for role in Role}
        session.commit()
    return by_role


@pytest.fixture(scope="module")
def portal(database_url: str, staff: dict[Role, int]) -> Dash:
    app = create_app(
        Settings(environment="test", database_url=database_url, secret_key="c" * 40, sign_in_failures_allowed=10**6)
    )
    app.server.test_client().get("/healthz")  # the first request moves the pages' callbacks into the app
    return app


def _callbacks(portal: Dash) -> list[str]:
    return [
        output
        for output, entry in portal.callback_map.items()
        if "callback" in entry and output not in FRAMEWORK_OUTPUTS
    ]


def _value(spec: dict[str, Any]) -> Any:
    # A pattern-matching id (a JSON object) with ALL arrives as a list of matches: send none.
    return [] if str(spec["id"]).startswith("{") else None


def forged_body(portal: Dash, output: str) -> dict[str, Any]:
    """What a hand-made request would send: the callback's real ids, empty values."""
    entry = portal.callback_map[output]
    inputs = [{"id": spec["id"], "property": spec["property"], "value": _value(spec)} for spec in entry["inputs"]]
    state = [{"id": spec["id"], "property": spec["property"], "value": _value(spec)} for spec in entry["state"]]
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in output.strip(".").split("...")
        if "." in part
    ]
    return {
        "output": output,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs else [],
    }


def test_every_callback_declares_a_permission(portal: Dash) -> None:
    outputs = _callbacks(portal)
    assert len(outputs) >= 5, outputs  # the shell's and the access pages' callbacks at least
    undeclared = [output for output in outputs if declared_permission(portal, output) is None]
    assert undeclared == []


@pytest.mark.parametrize("role", list(Role))
def test_forged_calls_are_refused_exactly_for_roles_without_the_permission(
    portal: Dash, staff: dict[Role, int], engine: Engine, role: Role
) -> None:
    with portal.server.test_client() as client:
        sign_in_as(client, staff[role])
        for output in _callbacks(portal):
            permission = declared_permission(portal, output)
            response = client.post(UPDATE_PATH, json=forged_body(portal, output))
            if permission in permissions_of(role):
                # Empty values are not an error worth a 5xx: the callback does nothing or says what is missing.
                assert response.status_code in (200, 204), (output, role, response.get_data(as_text=True)[:300])
            else:
                assert response.status_code == 403, (output, role)
                assert json.loads(response.get_data(as_text=True))["error"]
                denied = _last(engine)
                assert (denied.action, denied.outcome, denied.actor_id) == (
                    "callback.denied",
                    Outcome.DENIED,
                    staff[role],
                )


def _last(engine: Engine) -> AuditEvent:
    with Session(engine) as session:
        event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
        session.expunge(event)
    return event


STATE_TABLES = ("installation_request", "requested_user", "employment_notice", "inventory_campaign", "inventory_review")


def _state(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        counts: dict[str, object] = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in STATE_TABLES}
        counts["cabinets"] = conn.execute(text("SELECT status, role, position FROM cabinet ORDER BY id")).all()
    return counts


def test_empty_forged_calls_change_nothing(portal: Dash, staff: dict[Role, int], engine: Engine) -> None:
    before = _state(engine)
    for role in Role:
        with portal.server.test_client() as client:
            sign_in_as(client, staff[role])
            for output in _callbacks(portal):
                client.post(UPDATE_PATH, json=forged_body(portal, output))
    assert _state(engine) == before


@pytest.mark.parametrize(
    "mangle",
    [
        lambda body: body | {"changedPropIds": [{"not": "a string"}]},
        lambda body: body | {"changedPropIds": "{bad.n_clicks"},
        lambda body: body | {"inputs": "nothing"},
        lambda body: body | {"inputs": [{"id": 1}]},
        lambda body: body | {"state": [None]},
        lambda body: {k: v for k, v in body.items() if k != "output"},
    ],
)
def test_malformed_bodies_are_refused_before_dash_sees_them(
    portal: Dash, staff: dict[Role, int], mangle: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    with portal.server.test_client() as client:
        sign_in_as(client, staff[Role.INTEGRATOR])
        for output in _callbacks(portal):
            assert client.post(UPDATE_PATH, json=mangle(forged_body(portal, output))).status_code == 400, output


def test_signed_out_and_unknown_callbacks_are_refused(portal: Dash, staff: dict[Role, int]) -> None:
    output = _callbacks(portal)[0]
    with portal.server.test_client() as client:
        assert client.post(UPDATE_PATH, json=forged_body(portal, output)).status_code == 401
        sign_in_as(client, staff[Role.ADMIN])
        assert client.post(UPDATE_PATH, json={"output": "nothing.children", "inputs": []}).status_code == 400
        assert client.post(UPDATE_PATH, data="not json", content_type="application/json").status_code == 400
        assert client.post(UPDATE_PATH, json=["a", "list"]).status_code == 400


def test_a_callback_without_a_declared_permission_is_refused_for_everyone(
    database_url: str, staff: dict[Role, int]
) -> None:
    app = create_app(Settings(environment="test", database_url=database_url, secret_key="d" * 40))
    ran: list[str] = []

    @app.callback(Output("undeclared-out", "children"), Input("undeclared-in", "value"))
    def undeclared(value: Any) -> str:
        ran.append(str(value))
        return "ran"

    body = {
        "output": "undeclared-out.children",
        "outputs": {"id": "undeclared-out", "property": "children"},
        "inputs": [{"id": "undeclared-in", "property": "value", "value": "x"}],
        "changedPropIds": ["undeclared-in.value"],
    }
    with app.server.test_client() as client:
        for role in Role:
            sign_in_as(client, staff[role])
            assert client.post(UPDATE_PATH, json=body).status_code == 403, role
    assert ran == []

"""The admin's cabinets page over HTTP: find, block with a reason, unblock; refusals change nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dash import Dash
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import create_app
from ehealth.access.models import Cabinet, CabinetStatus, Role
from settings import Settings
from tests import factories
from tests.dash_calls import call, response_of, text_of
from tests.signin_checks import sign_in_as

ACT = ("cabinets-result.children", "cabinets-results.children")
FIND = ("cabinets-results.children", "cabinets-pick.options")


@pytest.fixture(scope="module")
def people(engine: Engine) -> tuple[int, int, int]:
    """The ministry admin, a nurse to block and a manager (who may not use the page)."""
    with Session(engine) as session:
        org = factories.organization(session)
        ids = (
            factories.cabinet(session, org, Role.ADMIN).id,
            factories.cabinet(session, org, Role.NURSE).id,
            factories.cabinet(session, org, Role.MANAGER).id,
        )
        session.commit()
    return ids


@pytest.fixture(scope="module")
def portal(database_url: str, people: tuple[int, int, int]) -> Dash:
    app = create_app(Settings(environment="test", database_url=database_url, secret_key="b" * 40))
    app.server.test_client().get("/healthz")
    return app


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    with portal.server.test_client() as client:
        yield client


def status(engine: Engine, cabinet_id: int) -> str:
    with Session(engine) as session:
        return str(session.get_one(Cabinet, cabinet_id).status)


def test_admin_finds_blocks_and_unblocks(
    client: FlaskClient, portal: Dash, engine: Engine, people: tuple[int, int, int]
) -> None:
    admin, nurse, _manager = people
    with Session(engine) as session:
        id_number = session.get_one(Cabinet, nurse).id_number
    sign_in_as(client, admin)
    found = response_of(call(client, portal, FIND, {"cabinets-search.value": id_number}, "cabinets-search.value"))
    assert [o["value"] for o in found["cabinets-pick"]["options"]] == [str(nurse)]
    values = {"cabinets-block.n_clicks": 1, "cabinets-pick.value": str(nurse), "cabinets-reason.value": ""}
    refused = response_of(call(client, portal, ACT, values, "cabinets-block.n_clicks"))
    assert refused["cabinets-result"]["children"]["props"]["color"] == "danger"  # no reason given
    assert status(engine, nurse) == CabinetStatus.ACTIVE
    values["cabinets-reason.value"] = "Ta'tilda"
    done = response_of(call(client, portal, ACT, values, "cabinets-block.n_clicks"))
    assert done["cabinets-result"]["children"]["props"]["color"] == "success"
    assert status(engine, nurse) == CabinetStatus.BLOCKED
    again = {"cabinets-unblock.n_clicks": 1, "cabinets-pick.value": str(nurse), "cabinets-reason.value": "Qaytdi"}
    response_of(call(client, portal, ACT, again, "cabinets-unblock.n_clicks"))
    assert status(engine, nurse) == CabinetStatus.ACTIVE
    for garbage in (None, "x", "99999999999999999999999", -1):
        values = {"cabinets-block.n_clicks": 1, "cabinets-pick.value": garbage, "cabinets-reason.value": "r"}
        answer = response_of(call(client, portal, ACT, values, "cabinets-block.n_clicks"))
        assert "cabinets-error" in str(answer) and text_of(answer["cabinets-result"]["children"])


def test_a_manager_cannot_block(client: FlaskClient, portal: Dash, people: tuple[int, int, int]) -> None:
    _admin, nurse, manager = people
    sign_in_as(client, manager)
    values = {"cabinets-block.n_clicks": 1, "cabinets-pick.value": str(nurse), "cabinets-reason.value": "r"}
    assert call(client, portal, ACT, values, "cabinets-block.n_clicks").status_code == 403

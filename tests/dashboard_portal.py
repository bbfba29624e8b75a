"""For the dashboard page tests: a demo database of the module's own, its warehouse, the portal on it (and one whose
warehouse was never built), the people who may or may not see the dashboards, and helpers to render and download.

A module binds the fixtures it uses, as with tests/own_database.py:

    people = dashboard_portal.people
    warehouse = dashboard_portal.warehouse
    portal = dashboard_portal.portal
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dash import Dash
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import create_app
from auth.user import PortalUser
from components.dashboard import Board
from ehealth.access.models import Cabinet, Role
from ehealth.demo import generate
from ehealth.reference.models import OrganizationKind
from etl.pipeline import run
from settings import Settings
from tests import factories
from tests.dash_calls import call, response_of

KEY = b"test-warehouse-key-0123456789abcdef"
TODAY = date(2026, 3, 16)


@dataclass(frozen=True)
class People:
    """The ministry's analyst; a polyclinic's doctor and manager (neither may see the dashboards)."""

    analyst: int
    doctor: int
    manager: int


@pytest.fixture(scope="module")
def people(engine: Engine) -> People:
    """A demo of 80 patients on the module's own database, plus the three people."""
    generate(engine, patients=80, seed=7, today=TODAY, progress=False)
    with Session(engine) as session:
        ministry = factories.organization(session, OrganizationKind.MINISTRY)
        polyclinic = factories.organization(session, OrganizationKind.POLYCLINIC)
        found = People(
            factories.cabinet(session, ministry, Role.ANALYST).id,
            factories.cabinet(session, polyclinic, Role.DOCTOR).id,
            factories.cabinet(session, polyclinic, Role.MANAGER).id,
        )
        session.commit()
    return found


@pytest.fixture(scope="module")
def warehouse(engine: Engine, people: People, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse rebuilt from the demo."""
    path = tmp_path_factory.mktemp("dashboards") / "warehouse.duckdb"
    run(engine, path, KEY, rebuild=True, progress=False)
    return path


def _portal(database_url: str, warehouse_path: Path) -> Dash:
    app = create_app(
        Settings(environment="test", database_url=database_url, secret_key="g" * 40, warehouse_path=warehouse_path)
    )
    with app.server.test_client() as warm:  # Dash registers the pages' callbacks on the first request
        warm.get("/login")
    return app


@pytest.fixture(scope="module")
def portal(database_url: str, warehouse: Path) -> Dash:
    """The portal on the demo and its warehouse."""
    return _portal(database_url, warehouse)


@pytest.fixture(scope="module")
def bare_portal(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Dash:
    """A portal whose warehouse has never been built."""
    return _portal(database_url, tmp_path_factory.mktemp("nothing") / "warehouse.duckdb")


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    """A browser-like client of the portal."""
    with portal.server.test_client() as client:
        yield client


def layout_of(portal: Dash, engine: Engine, cabinet_id: int, module: str, path: str, query: dict[str, Any]) -> Any:
    """The page's layout as the router builds it for `query`, rendered for the cabinet's user."""
    with Session(engine) as session:
        who = PortalUser.of(session.get_one(Cabinet, cabinet_id))
    assert who is not None
    with portal.server.test_request_context(path):
        login_user(who)
        return sys.modules[module].layout(**query)


def find(tree: Any, component_id: str) -> Any:
    """The component `component_id` inside a rendered layout."""
    for component in tree._traverse():
        if getattr(component, "id", None) == component_id:
            return component
    raise AssertionError(f"{component_id} not in the layout")


def downloaded(client: FlaskClient, portal: Dash, board: Board, button: str, search: str) -> bytes:
    """The file a download button sends for the view `search` (CSV or Excel)."""
    values = {f"{board.id(button)}.n_clicks": 1, f"{board.id('url')}.search": search}
    answer = response_of(call(client, portal, f"{board.id('download')}.data", values, f"{board.id(button)}.n_clicks"))
    data = answer[board.id("download")]["data"]
    assert data["base64"] is True
    assert data["filename"].endswith(".csv" if button == "csv" else ".xlsx")
    return base64.b64decode(data["content"])

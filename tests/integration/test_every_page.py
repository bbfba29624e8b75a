"""Deny by default: every registered page declares a permission and opens for exactly the roles that hold it."""

from __future__ import annotations

from typing import Any

import dash
import pytest
from dash import Dash
from flask_login import login_user
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import create_app
from auth.permissions import Permission, permissions_of
from auth.user import PortalUser
from ehealth.access.models import Cabinet, Role
from settings import Settings
from tests import factories

# Pages anyone may see, signed in or not.
OPEN_PAGES = {"pages.not_found_404"}


@pytest.fixture(scope="module")
def portal(database_url: str) -> Dash:
    return create_app(Settings(environment="test", database_url=database_url, secret_key="w" * 40))


@pytest.fixture(scope="module")
def staff(engine: Engine) -> dict[Role, PortalUser]:
    with Session(engine) as session:
        org = factories.organization(session)
        cabinets: dict[Role, Cabinet] = {role: factories.cabinet(session, org, role) for role in Role}
        session.commit()
        users = {role: PortalUser.of(cabinet) for role, cabinet in cabinets.items()}
    return {role: who for role, who in users.items() if who is not None}


def _pages(portal: Dash) -> list[dict[str, Any]]:
    return [page for module, page in dash.page_registry.items() if module not in OPEN_PAGES]


def test_every_page_declares_a_known_permission(portal: Dash) -> None:
    pages = _pages(portal)
    assert pages, "no pages registered"
    for page in pages:
        assert isinstance(page.get("permission"), Permission), f"{page['module']} declares no permission"


@pytest.mark.parametrize("role", list(Role))
def test_each_page_opens_exactly_for_the_roles_holding_its_permission(
    portal: Dash, staff: dict[Role, PortalUser], role: Role
) -> None:
    who = staff[role]
    for page in _pages(portal):
        with portal.server.test_request_context(page["path"]):
            login_user(who)
            rendered = page["layout"]()
        refused = getattr(rendered, "id", None) == "guard-denied"
        assert refused == (page["permission"] not in permissions_of(role)), (page["module"], role)


def test_signed_out_visitors_get_no_page_content(portal: Dash) -> None:
    for page in _pages(portal):
        with portal.server.test_request_context(page["path"]):
            rendered = page["layout"]()
        assert getattr(rendered, "id", None) == "guard-sign-in", page["module"]

"""The navbar comes from the page registry filtered by permission; guarded pages refuse and audit."""

from __future__ import annotations

from collections.abc import Iterator

import dash
import pytest
from dash import Dash
from flask_login import login_user
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import create_app
from auth.guard import guarded
from auth.permissions import ROLE_PERMISSIONS, Permission, permissions_of
from auth.user import PortalUser
from components.shell import nav_pages
from ehealth.access.models import CLINICAL_ROLES, Role
from ehealth.audit.models import AuditEvent, Outcome
from settings import Settings
from tests import factories

CLINICAL_ENTRY = {
    Permission.REGISTER_PATIENT,
    Permission.OPEN_ENCOUNTER,
    Permission.RECORD_DIAGNOSIS,
    Permission.RECORD_INDICATORS,
    Permission.RECORD_RESULTS,
    Permission.RECORD_TREATMENT,
    Permission.ADMIT_DISCHARGE,
    Permission.MOVE_BED,
    Permission.PRESCRIBE,
    Permission.DISPENSE,
}


def portal_user(role: Role, cabinet_id: int = 1, organization_id: int = 1) -> PortalUser:
    return PortalUser(cabinet_id, "U1", "Test User", role, "Position", organization_id)


def test_only_the_four_user_roles_enter_clinical_data() -> None:
    for role in Role:
        enters = bool(permissions_of(role) & CLINICAL_ENTRY)
        assert enters == (role in CLINICAL_ROLES), role
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert permissions_of("nobody") == frozenset()


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = {
        "home": {"nav": "Home", "permission": Permission.VIEW_HOME, "relative_path": "/"},
        "dash": {"nav": "Dashboards", "permission": Permission.VIEW_DASHBOARDS, "relative_path": "/d"},
        "rx": {"nav": "Prescriptions", "permission": Permission.PRESCRIBE, "relative_path": "/rx"},
        "hidden": {"permission": Permission.VIEW_HOME, "relative_path": "/x"},
    }
    monkeypatch.setattr(dash, "page_registry", registry)


@pytest.mark.usefixtures("fake_registry")
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.ANALYST, ["Home", "Dashboards"]),
        (Role.DOCTOR, ["Home", "Prescriptions"]),
        (Role.INTEGRATOR, ["Home"]),
    ],
)
def test_navbar_shows_only_permitted_pages(role: Role, expected: list[str]) -> None:
    assert [page["nav"] for page in nav_pages(portal_user(role))] == expected
    assert nav_pages(None) == []


@pytest.fixture
def portal(database_url: str) -> Iterator[Dash]:
    yield create_app(Settings(environment="test", database_url=database_url, secret_key="y" * 40))


def test_guarded_layout_refuses_and_audits(portal: Dash, engine: Engine) -> None:
    with Session(engine) as session:
        org = factories.organization(session)
        analyst = factories.cabinet(session, org, Role.ANALYST)
        session.commit()
        who = PortalUser.of(analyst)
    assert who is not None

    @guarded(Permission.PRESCRIBE)
    def layout() -> str:
        return "the prescription form"

    with portal.server.test_request_context("/rx"):
        login_user(who)
        refused = layout()
    assert getattr(refused, "id", None) == "guard-denied"
    with Session(engine) as session:
        last = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert last is not None and (last.action, last.outcome, last.actor_id) == (
        "page.denied",
        Outcome.DENIED,
        who.cabinet_id,
    )

    with portal.server.test_request_context("/rx"):
        login_user(portal_user(Role.DOCTOR, who.cabinet_id, who.organization_id))
        assert layout() == "the prescription form"

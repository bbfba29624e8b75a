"""The reports page: a manager sees their organization's report, the ministry admin any organization's, nobody else
any; exports are prepared in the background, polled, and handed only to their requester."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import openpyxl
import pytest
from dash import Dash
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import create_app
from db import make_session_factory, utcnow
from ehealth.access.models import Role
from ehealth.audit.models import AuditEvent
from ehealth.calendar import today
from ehealth.reference.models import OrganizationKind
from ehealth.reports.exports import EXPORTER_KEY, run_export
from settings import Settings
from tests import factories, own_database
from tests.dash_calls import call, response_of, text_of
from tests.signin_checks import sign_in_as

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

SHOW = "reports-result.children"
EXPORT = ("reports-export.children", "reports-export-token.data", "reports-poll.disabled")
POLL = ("reports-export.children@", "reports-poll.disabled@")  # the poll writes both with allow_duplicate
CHOSEN = ("reports-kind.options", "reports-kind.value", "reports-dept.options", "reports-dept.value")


@dataclass(frozen=True)
class People:
    """A polyclinic with a manager, a doctor and three visits today; another polyclinic's manager; the admin."""

    polyclinic: int
    manager: int
    doctor: int
    other: int
    other_manager: int
    admin: int


@pytest.fixture(scope="module")
def people(engine: Engine) -> People:
    with Session(engine) as session:
        polyclinic = factories.organization(session, OrganizationKind.POLYCLINIC)
        manager = factories.cabinet(session, polyclinic, Role.MANAGER)
        doctor = factories.cabinet(session, polyclinic, Role.DOCTOR)
        for hours in (1, 2, 3):
            factories.encounter(
                session, polyclinic, doctor, factories.patient(session), utcnow() - timedelta(hours=hours)
            )
        other = factories.organization(session, OrganizationKind.POLYCLINIC)
        other_manager = factories.cabinet(session, other, Role.MANAGER)
        ministry = factories.organization(session, OrganizationKind.MINISTRY)
        admin = factories.cabinet(session, ministry, Role.ADMIN)
        session.commit()
        return People(polyclinic.id, manager.id, doctor.id, other.id, other_manager.id, admin.id)


@pytest.fixture(scope="module")
def portal(database_url: str, people: People) -> Dash:
    app = create_app(Settings(environment="test", database_url=database_url, secret_key="r" * 40))
    with app.server.test_client() as warm:  # Dash registers the pages' callbacks on the first request
        warm.get("/login")
    return app


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    with portal.server.test_client() as client:
        yield client


def _scope(org: int, kind: str = "polyclinic", **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "reports-org.value": str(org),
        "reports-kind.value": kind,
        "reports-dept.value": "all",
        "reports-from.value": (today() - timedelta(days=6)).isoformat(),
        "reports-to.value": today().isoformat(),
    }
    values.update({f"reports-{key}.value": value for key, value in changes.items()})
    return values


def _show(client: FlaskClient, portal: Dash, values: dict[str, object]) -> str:
    answer = response_of(call(client, portal, SHOW, {**values, "reports-show.n_clicks": 1}, "reports-show.n_clicks"))
    return text_of(answer["reports-result"]["children"])


def test_a_manager_sees_their_polyclinic_s_visits(client: FlaskClient, portal: Dash, people: People) -> None:
    sign_in_as(client, people.manager)
    assert client.get("/reports").status_code == 200
    shown = _show(client, portal, _scope(people.polyclinic))
    assert "Karimov Aziz Botirovich" in shown  # the doctor's row in visits per doctor
    answer = response_of(
        call(client, portal, SHOW, {**_scope(people.polyclinic), "reports-show.n_clicks": 1}, "reports-show.n_clicks")
    )
    assert '"report-polyclinic-by_doctor"' in str(answer).replace("'", '"')


def test_a_manager_cannot_read_another_organization(client: FlaskClient, portal: Dash, people: People) -> None:
    sign_in_as(client, people.manager)
    shown = _show(client, portal, _scope(people.other))
    assert "Karimov" not in shown and shown  # a refusal, not the other polyclinic's figures
    forged = call(client, portal, CHOSEN, {"reports-org.value": str(people.other)})
    assert forged.status_code == 204  # nothing about the other organization, not even its departments


def test_bad_periods_are_refused_plainly(client: FlaskClient, portal: Dash, people: People) -> None:
    sign_in_as(client, people.manager)
    backwards = _show(client, portal, _scope(people.polyclinic, **{"from": today().isoformat(), "to": "2020-01-01"}))
    too_long = _show(client, portal, _scope(people.polyclinic, **{"from": "2020-01-01"}))
    garbage = _show(client, portal, _scope(people.polyclinic, **{"from": "tomorrow"}))
    assert backwards and too_long and garbage and "Karimov" not in backwards + too_long + garbage


def test_the_admin_picks_any_organization(client: FlaskClient, portal: Dash, people: People) -> None:
    sign_in_as(client, people.admin)
    chosen = response_of(call(client, portal, CHOSEN, {"reports-org.value": str(people.polyclinic)}))
    keys = [option["value"] for option in chosen["reports-kind"]["options"]]
    assert keys[0] == "polyclinic" and "pharmacy" not in keys and "hospital" not in keys
    assert "Karimov Aziz Botirovich" in _show(client, portal, _scope(people.polyclinic))


def test_clinicians_may_not_read_reports(client: FlaskClient, portal: Dash, people: People) -> None:
    sign_in_as(client, people.doctor)
    values = {**_scope(people.polyclinic), "reports-show.n_clicks": 1}
    assert call(client, portal, SHOW, values, "reports-show.n_clicks").status_code == 403
    assert client.get("/reports/download/abc").status_code == 403


def test_an_export_is_prepared_in_the_background_and_handed_to_its_requester(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted: list[int] = []
    monkeypatch.setattr(portal.server.extensions[EXPORTER_KEY], "submit", submitted.append)
    sign_in_as(client, people.manager)
    assert "Karimov" in _show(client, portal, _scope(people.polyclinic))  # read first (audited), then export
    values = {**_scope(people.polyclinic), "reports-xlsx.n_clicks": 1}
    answer = response_of(call(client, portal, EXPORT, values, "reports-xlsx.n_clicks"))
    token = answer["reports-export-token"]["data"]
    assert answer["reports-poll"]["disabled"] is False and len(submitted) == 1
    polled = response_of(
        call(client, portal, POLL, {"reports-export-token.data": token, "reports-poll.n_intervals": 1})
    )
    assert "reports-progress" in str(polled)  # queued: the progress bar
    run_export(make_session_factory(engine), submitted[0])  # what the background worker does
    polled = response_of(
        call(client, portal, POLL, {"reports-export-token.data": token, "reports-poll.n_intervals": 1})
    )
    assert polled["reports-poll"]["disabled"] is True and f"/reports/download/{token}" in str(polled)
    download = client.get(f"/reports/download/{token}")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    assert len(book.sheetnames) >= 3
    sign_in_as(client, people.other_manager)
    assert client.get(f"/reports/download/{token}").status_code == 404
    with Session(engine) as session:
        actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.actor_id == people.manager)).scalars())
    assert {"report.viewed", "report.export_requested", "report.exported"} <= actions


def test_the_department_filter_is_offered_only_where_it_applies(
    client: FlaskClient, portal: Dash, people: People
) -> None:
    sign_in_as(client, people.manager)
    for kind, disabled in (("polyclinic", False), ("staff", True), ("nonsense", True)):
        answer = response_of(call(client, portal, "reports-dept.disabled", {"reports-kind.value": kind}))
        assert answer["reports-dept"]["disabled"] is disabled

"""The installation request pages over HTTP (R-2, R-3): a manager files for their own organization only, every bad
row is named and nothing is saved; the ministry admin approves into cabinets or rejects with a reason."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import pytest
from dash import Dash
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app import create_app
from ehealth.access.models import Cabinet, InstallationRequest, RequestedUser, RequestStatus, Role
from ehealth.access.request_sheet import template
from ehealth.access.requests import PersonEntry
from ehealth.i18n import gettext, language
from ehealth.identifiers import make_pinfl
from settings import Settings
from tests import factories
from tests.dash_calls import call, response_of, text_of
from tests.signin_checks import sign_in_as

SUBMIT = (
    "requests-result.children",
    "requests-errors.children",
    "requests-people.rowData",
    "requests-list-box.children",
)
DECIDE = (
    "queue-result.children",
    "queue-table-box.children",
    "queue-request.options",
    "queue-request.value",
)


@dataclass(frozen=True)
class Staff:
    """A polyclinic's manager, another polyclinic's manager and the ministry admin."""

    organization: int
    manager: int
    other_manager: int
    admin: int


@pytest.fixture(scope="module")
def staff(engine: Engine) -> Staff:
    with Session(engine) as session:
        org = factories.organization(session)
        other = factories.organization(session)
        ministry = factories.organization(session)
        people = Staff(
            org.id,
            factories.cabinet(session, org, Role.MANAGER).id,
            factories.cabinet(session, other, Role.MANAGER).id,
            factories.cabinet(session, ministry, Role.ADMIN).id,
        )
        session.commit()
    return people


@pytest.fixture(scope="module")
def portal(database_url: str, staff: Staff) -> Dash:
    app = create_app(Settings(environment="test", database_url=database_url, secret_key="r" * 40))
    app.server.test_client().get("/healthz")  # the first request moves the pages' callbacks into the app
    return app


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    with portal.server.test_client() as client:
        yield client


def person(n: int, **changes: str) -> dict[str, Any]:
    """A correct table row."""
    row = PersonEntry(
        surname="Qodirov",
        given_name="Sherzod",
        patronymic="Anvarovich",
        position="Terapevt",
        department_name="Terapiya",
        document_type="passport",
        document=f"AC{2000000 + n}",
        pinfl=make_pinfl(date(1987, 6, 1), "male", 600, n),
        email=f"s{n}@example.uz",
        role="doctor",
    )
    return asdict(row) | changes


def submit(client: FlaskClient, portal: Dash, rows: list[dict[str, Any]], **form: Any) -> dict[str, Any]:
    values = {
        "requests-submit.n_clicks": 1,
        "requests-modules.value": ["emr", "polyclinic"],
        "requests-letter.value": "01-12/345",
        "requests-contact-name.value": "Karimov Aziz",
        "requests-contact-phone.value": "+998 71 200 00 00",
        "requests-people.rowData": rows,
    } | form
    return response_of(call(client, portal, SUBMIT, values, "requests-submit.n_clicks"))


def counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        requests = session.scalar(select(func.count()).select_from(InstallationRequest)) or 0
        people = session.scalar(select(func.count()).select_from(RequestedUser)) or 0
    return requests, people


def test_a_manager_files_for_their_own_organization(
    client: FlaskClient, portal: Dash, staff: Staff, engine: Engine
) -> None:
    sign_in_as(client, staff.manager)
    blank = {name: "" for name in person(1)} | {"document_type": "passport"}
    answer = submit(client, portal, [person(1), blank, person(2, role="nurse")])
    assert "IR-" in text_of(answer["requests-result"]["children"])
    assert "IR-" in text_of(answer["requests-list-box"]["children"])
    with Session(engine) as session:
        filed = session.execute(select(InstallationRequest).order_by(InstallationRequest.id.desc())).scalars().first()
        assert filed is not None and filed.organization_id == staff.organization  # from the session, not the form
        named = session.execute(select(RequestedUser.role).where(RequestedUser.request_id == filed.id)).scalars()
        assert sorted(named) == ["doctor", "nurse"]  # the blank spare row is not a person


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([person(10, pinfl="30101901234568")], "pinfl"),  # wrong check digit
        ([person(11), person(12, pinfl=person(11)["pinfl"])], "pinfl"),  # the same PINFL twice in one request
        ([person(13, position="")], "position"),  # a missing field
        ([person(14, document="A1234567")], "document"),
        ([person(15, role="analyst")], "role"),  # not a role an organization may ask for
    ],
)
def test_bad_rows_are_named_and_nothing_is_saved(
    client: FlaskClient, portal: Dash, staff: Staff, engine: Engine, rows: list[dict[str, Any]], field: str
) -> None:
    sign_in_as(client, staff.manager)
    before = counts(engine)
    answer = submit(client, portal, rows)
    assert counts(engine) == before
    marked = answer["requests-people"]["rowData"]
    assert any(field in row["_errors"] for row in marked)
    errors = text_of(answer["requests-errors"]["children"])
    with language("uz"):  # the default language
        row_word = gettext("Row {row}, {field}: {error}", row="", field="", error="").split(",")[0].strip()
    assert row_word and row_word in errors
    assert "requests-list-box" not in answer  # the list is unchanged


def test_missing_request_fields_are_reported(client: FlaskClient, portal: Dash, staff: Staff, engine: Engine) -> None:
    sign_in_as(client, staff.manager)
    before = counts(engine)
    answer = submit(client, portal, [], **{"requests-letter.value": None, "requests-modules.value": ["hospital"]})
    assert counts(engine) == before
    assert text_of(answer["requests-errors"]["children"]).count(":") >= 3  # modules, people, letter number


def test_an_uploaded_sheet_fills_the_table_and_a_broken_one_changes_nothing(
    client: FlaskClient, portal: Dash, staff: Staff
) -> None:
    sign_in_as(client, staff.manager)
    outputs = ("requests-people.rowData", "requests-upload-result.children")
    garbage = "data:application/octet-stream;base64," + base64.b64encode(b"not a workbook").decode()
    answer = response_of(
        call(client, portal, outputs, {"requests-upload.contents": garbage}, "requests-upload.contents")
    )
    assert "requests-people" not in answer  # the typed rows stay as they were
    assert answer["requests-upload-result"]["children"]["props"]["color"] == "danger"
    empty_template = "data:;base64," + base64.b64encode(template("ru")).decode()
    answer = response_of(
        call(client, portal, outputs, {"requests-upload.contents": empty_template}, "requests-upload.contents")
    )
    assert "requests-people" not in answer
    not_base64 = "data:;base64,@@@"
    answer = response_of(
        call(client, portal, outputs, {"requests-upload.contents": not_base64}, "requests-upload.contents")
    )
    assert "requests-people" not in answer


def test_the_template_downloads_in_the_users_language(client: FlaskClient, portal: Dash, staff: Staff) -> None:
    sign_in_as(client, staff.manager)
    answer = response_of(call(client, portal, "requests-template-file.data", {"requests-template.n_clicks": 1}))
    download = answer["requests-template-file"]["data"]
    assert download["filename"].endswith(".xlsx") and base64.b64decode(download["content"]).startswith(b"PK")


def test_the_admin_approves_into_cabinets_and_rejects_with_a_reason(
    client: FlaskClient, portal: Dash, staff: Staff, engine: Engine
) -> None:
    sign_in_as(client, staff.manager)
    submit(client, portal, [person(20), person(21, role="registrar")])
    submit(client, portal, [person(22)])
    with Session(engine) as session:
        second, first = session.execute(
            select(InstallationRequest.id).order_by(InstallationRequest.id.desc()).limit(2)
        ).scalars()
    sign_in_as(client, staff.admin)
    people = response_of(call(client, portal, "queue-people.children", {"queue-request.value": str(first)}))
    assert "Qodirov" in text_of(people["queue-people"]["children"])
    decide = {"queue-approve.n_clicks": 1, "queue-request.value": str(first)}
    answer = response_of(call(client, portal, DECIDE, decide, "queue-approve.n_clicks"))
    assert answer["queue-result"]["children"]["props"]["color"] == "success"
    with Session(engine) as session:
        opened = session.execute(
            select(Cabinet.role).where(
                Cabinet.organization_id == staff.organization,
                Cabinet.pinfl.in_([person(20)["pinfl"], person(21)["pinfl"]]),
            )
        ).scalars()
        assert sorted(opened) == ["doctor", "registrar"]
        assert session.get_one(InstallationRequest, first).status == RequestStatus.INSTALLED
    # Deciding twice, or rejecting without a reason, says why and changes nothing.
    again = response_of(call(client, portal, DECIDE, decide, "queue-approve.n_clicks"))
    assert again["queue-result"]["children"]["props"]["color"] == "danger"
    no_reason = {"queue-reject.n_clicks": 1, "queue-request.value": str(second), "queue-reason.value": "  "}
    refused = response_of(call(client, portal, DECIDE, no_reason, "queue-reject.n_clicks"))
    assert refused["queue-result"]["children"]["props"]["color"] == "danger"
    with Session(engine) as session:
        assert session.get_one(InstallationRequest, second).status == RequestStatus.RECEIVED
    reason = no_reason | {"queue-reason.value": "Litsenziya muddati tugagan"}
    response_of(call(client, portal, DECIDE, reason, "queue-reject.n_clicks"))
    with Session(engine) as session:
        rejected = session.get_one(InstallationRequest, second)
        assert (rejected.status, rejected.rejection_reason) == (RequestStatus.REJECTED, "Litsenziya muddati tugagan")


def test_a_manager_cannot_use_the_queue(client: FlaskClient, portal: Dash, staff: Staff) -> None:
    sign_in_as(client, staff.other_manager)
    decide = {"queue-approve.n_clicks": 1, "queue-request.value": "1"}
    assert call(client, portal, DECIDE, decide, "queue-approve.n_clicks").status_code == 403

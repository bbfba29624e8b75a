"""The patient registry pages over HTTP (R-13.1): clinicians find a patient by PINFL or by name in any script with
the birth date; only the registrar registers (existing, possible duplicates, confirmed new, created; every bad field
named, nothing saved) and merges two records of one person, and undoes their own merges."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import dash
import pytest
from dash import Dash
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app import create_app
from auth.user import PortalUser
from ehealth.access.models import Cabinet, Role
from ehealth.audit.models import AuditEvent
from ehealth.emr.models import Encounter
from ehealth.i18n import gettext, language
from ehealth.identifiers import make_pinfl
from ehealth.patients.models import Patient, PatientMerge, Sex
from ehealth.reference.models import Organization
from settings import Settings
from tests import factories, own_database
from tests.dash_calls import call, response_of, text_of
from tests.signin_checks import sign_in_as

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

FIND = "patients-results.children"
# The exact key: the registration also writes both (allow_duplicate), so a match on the outputs is ambiguous.
FILL = "..patients-new-birth-date.value...patients-new-sex.value.."
REGISTER = ("patients-new-result.children", "patients-new-checked.data")
SHOW = "patients-merge-compare.children"
MERGE = ("patients-merge-result.children", "patients-merge-reason.value")
UNDO = ("patients-merge-undo-result.children", "patients-merge-undo-reason.value")

# Birth dates and a district code no other test module uses, so the searches here see only these patients.
BORN = date(1961, 4, 23)
TWIN_BORN = date(1962, 8, 9)
DISTRICT = 555
TASHKENT_CITY = factories.TASHKENT_CITY
SAMARQAND = 1718
_pairs = itertools.count(100)


def pinfl(born: date, serial: int, sex: str = "male") -> str:
    return make_pinfl(born, sex, DISTRICT, serial)


@dataclass(frozen=True)
class People:
    """A polyclinic's registrar, doctor, nurse and manager, another polyclinic's registrar, and patients."""

    organization: int
    registrar: int
    doctor: int
    nurse: int
    manager: int
    other_registrar: int
    alisher: int  # Toshmatov Alisher, born BORN
    jasur: int  # Qodirov Jasur, born TWIN_BORN: the duplicate candidate


def _patient(session: Session, surname: str, given_name: str, born: date, serial: int, **extra: Any) -> Patient:
    row = Patient(
        pinfl=pinfl(born, serial),
        surname=surname,
        given_name=given_name,
        patronymic=None,
        birth_date=born,
        sex=Sex.MALE,
        region_id=TASHKENT_CITY,
        **extra,
    )
    session.add(row)
    session.flush()
    return row


# This module's own database on each backend: the pages commit patients and their audit events (looked up,
@pytest.fixture(scope="module")
def people(engine: Engine) -> People:
    with Session(engine) as session:
        org = factories.organization(session)
        other = factories.organization(session)
        cabinets = {role: factories.cabinet(session, org, role).id for role in Role}
        found = People(
            org.id,
            cabinets[Role.REGISTRAR],
            cabinets[Role.DOCTOR],
            cabinets[Role.NURSE],
            cabinets[Role.MANAGER],
            factories.cabinet(session, other, Role.REGISTRAR).id,
            _patient(session, "Toshmatov", "Alisher", BORN, 701).id,
            _patient(session, "Qodirov", "Jasur", TWIN_BORN, 702, phone="+998901234567").id,
        )
        session.commit()
    return found


@pytest.fixture(scope="module")
def portal(database_url: str, people: People) -> Dash:
    app = create_app(Settings(environment="test", database_url=database_url, secret_key="p" * 40))
    app.server.test_client().get("/healthz")  # the first request moves the pages' callbacks into the app
    return app


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    with portal.server.test_client() as client:
        yield client


def patients(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Patient)) or 0


def merges(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(PatientMerge)) or 0


def rendered(portal: Dash, engine: Engine, page: str, cabinet_id: int) -> str:
    """The page's layout as `cabinet_id` sees it (its repr names every component id)."""
    module = dash.page_registry[page]
    with Session(engine) as session:
        who = PortalUser.of(session.get_one(Cabinet, cabinet_id))
    assert who is not None
    with portal.server.test_request_context(module["path"]):
        login_user(who)
        return str(module["layout"]())


# --- search ------------------------------------------------------------------------------------------------------


def find(client: FlaskClient, portal: Dash, typed: object, born: object = None) -> dict[str, Any]:
    values = {"patients-find.n_clicks": 1, "patients-search.value": typed, "patients-search-born.value": born}
    return response_of(call(client, portal, FIND, values, "patients-find.n_clicks"))


@pytest.mark.parametrize("role", ["registrar", "doctor", "nurse"])
def test_clinicians_find_by_pinfl_and_by_name_in_either_script(
    client: FlaskClient, portal: Dash, people: People, role: str
) -> None:
    sign_in_as(client, getattr(people, role))
    number = pinfl(BORN, 701)
    by_pinfl = find(client, portal, f" {number[:7]} {number[7:]} ")  # spaces as people type them
    shown = str(by_pinfl)
    assert "Toshmatov Alisher" in shown and number in shown and f"/patient/{people.alisher}" in shown
    by_name = find(client, portal, "Тошматов Алишер", BORN.isoformat())  # Cyrillic finds the Latin record
    assert f"/patient/{people.alisher}" in str(by_name) and "Toshmatov Alisher" in str(by_name)
    with_comma = find(client, portal, "toshmatov, alisher valiyevich", BORN.isoformat())
    assert f"/patient/{people.alisher}" in str(with_comma)
    other_day = find(client, portal, "Toshmatov Alisher", TWIN_BORN.isoformat())
    assert f"/patient/{people.alisher}" not in str(other_day)
    assert other_day["patients-results"]["children"]["props"]["id"] == "patients-results-table"  # "nothing found"


@pytest.mark.parametrize(
    ("typed", "born"),
    [
        (None, None),
        ("", BORN.isoformat()),
        ("12345", None),  # digits but not a PINFL
        (pinfl(BORN, 701)[:-1] + "0", None),  # a wrong check digit
        ("Toshmatov Alisher", None),  # a name without the birth date
        ("Toshmatov Alisher", "23.04.1961"),  # not a date the browser sends
        ("Toshmatov Alisher", "2999-01-01"),  # in the future
        ("Toshmatov", BORN.isoformat()),  # the surname alone
        ("Toshmatov4 Alisher", BORN.isoformat()),
        ("x" * 500, None),
        ({"forged": "object"}, ["list"]),
        ("Toshmatov\x00 Alisher", BORN.isoformat()),
    ],
)
def test_bad_searches_are_explained(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, typed: object, born: object
) -> None:
    sign_in_as(client, people.nurse)
    answer = find(client, portal, typed, born)
    result = answer["patients-results"]["children"]
    assert result["props"]["id"] == "patients-search-error" and text_of(result)


def test_a_manager_cannot_search(client: FlaskClient, portal: Dash, people: People) -> None:
    sign_in_as(client, people.manager)
    values = {"patients-find.n_clicks": 1, "patients-search.value": pinfl(BORN, 701)}
    assert call(client, portal, FIND, values, "patients-find.n_clicks").status_code == 403


def test_the_registration_form_is_shown_to_the_registrar_only(portal: Dash, engine: Engine, people: People) -> None:
    assert "patients-new-submit" in rendered(portal, engine, "pages.patients", people.registrar)
    for clinician in (people.doctor, people.nurse):
        page = rendered(portal, engine, "pages.patients", clinician)
        assert "patients-search" in page and "patients-new-submit" not in page


# --- registration ------------------------------------------------------------------------------------------------


def form(**changes: object) -> dict[str, object]:
    """A correct registration of a new patient (Karimova Dilnoza), changed as the test needs."""
    born = date(1963, 2, 11)
    values: dict[str, object] = {
        "pinfl": make_pinfl(born, "female", DISTRICT, 801),
        "surname": "Karimova",
        "given_name": "Dilnoza",
        "patronymic": "Rustamovna",
        "birth_date": born.isoformat(),
        "sex": "female",
        "region": str(SAMARQAND),
        "phone": "90 123 45 67",
        "address": "Samarqand sh., Registon ko'chasi 5",
    }
    values |= changes
    return {f"patients-new-{name.replace('_', '-')}.value": value for name, value in values.items()}


def register(
    client: FlaskClient, portal: Dash, values: dict[str, object], trigger: str = "patients-new-submit.n_clicks"
) -> dict[str, Any]:
    clicks = {trigger: 1}
    return response_of(call(client, portal, REGISTER, values | clicks, trigger))


def test_the_registrar_registers_a_new_patient(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    sign_in_as(client, people.registrar)
    before = patients(engine)
    answer = register(client, portal, form())
    result = answer["patients-new-result"]["children"]
    assert result["props"]["id"] == "patients-new-created", text_of(result)
    assert patients(engine) == before + 1
    with Session(engine) as session:
        created = session.execute(
            select(Patient).where(Patient.pinfl == form()["patients-new-pinfl.value"])
        ).scalar_one()
        assert (created.surname, created.given_name, created.patronymic) == ("Karimova", "Dilnoza", "Rustamovna")
        assert (created.sex, created.region_id, created.phone) == (Sex.FEMALE, SAMARQAND, "+998901234567")
        # The organization and the author come from the session, never from the form.
        assert (created.registered_by_organization_id, created.created_by) == (people.organization, people.registrar)
    assert f"/patient/{created.id}" in str(result)
    # The form is emptied for the next patient; the region stays.
    assert answer["patients-new-pinfl"]["value"] == "" and answer["patients-new-surname"]["value"] == ""
    assert "value" not in answer.get("patients-new-region", {})
    # Registering the same PINFL again finds the record instead, and writes nothing.
    again = register(client, portal, form(surname="Каримова"))
    existing = again["patients-new-result"]["children"]
    assert existing["props"]["id"] == "patients-new-existing" and f"/patient/{created.id}" in str(existing)
    assert patients(engine) == before + 1


def test_possible_duplicates_are_shown_before_a_new_record(
    client: FlaskClient, portal: Dash, people: People, engine: Engine
) -> None:
    sign_in_as(client, people.registrar)
    before = patients(engine)
    twin = form(
        pinfl=pinfl(TWIN_BORN, 802),
        surname="Кадыров",  # Qodirov in Russian Cyrillic
        given_name="Жасур",
        patronymic="",
        birth_date=TWIN_BORN.isoformat(),
        sex="male",
        phone="+998 90 123-45-67",
    )
    answer = register(client, portal, twin)
    shown = answer["patients-new-result"]["children"]
    assert f"/patient/{people.jasur}" in str(shown)
    assert "patients-new-candidates" in str(shown) and answer["patients-new-confirm"]["className"] == "mt-2"
    reasons = text_of(shown)
    for reason in ("Same birth date", "Similar surname", "Similar given name", "Same phone number"):
        assert _uz(reason) in reasons
    checked = answer["patients-new-checked"]["data"]
    assert checked and patients(engine) == before
    # "Register as a new patient" for other values than those checked checks again and saves nothing.
    changed = register(
        client,
        portal,
        twin | {"patients-new-address.value": "Boshqa manzil", "patients-new-checked.data": checked},
        "patients-new-confirm.n_clicks",
    )
    assert "patients-new-candidates" in str(changed["patients-new-result"]["children"])
    assert patients(engine) == before
    # A forged confirmation without the candidates' check is no confirmation either.
    forged = register(client, portal, twin, "patients-new-confirm.n_clicks")
    assert "patients-new-candidates" in str(forged["patients-new-result"]["children"])
    assert patients(engine) == before
    confirmed = register(client, portal, twin | {"patients-new-checked.data": checked}, "patients-new-confirm.n_clicks")
    assert confirmed["patients-new-result"]["children"]["props"]["id"] == "patients-new-created"
    assert confirmed["patients-new-confirm"]["className"] == "d-none"
    assert patients(engine) == before + 1
    with Session(engine) as session:
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "patient.registered").order_by(AuditEvent.id.desc()).limit(1)
        ).scalar_one()
        assert event.actor_id == people.registrar and str(people.jasur) in (event.detail or "")


def _uz(message: str) -> str:
    with language("uz"):
        return gettext(message)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"pinfl": ""}, "pinfl"),
        ({"pinfl": make_pinfl(date(1963, 2, 11), "female", DISTRICT, 803)[:-1] + "9"}, "pinfl"),  # check digit
        ({"pinfl": "4110263555803x"}, "pinfl"),
        ({"birth_date": "1963-02-12"}, "birth-date"),  # not the date the PINFL gives
        ({"birth_date": None}, "birth-date"),
        ({"birth_date": "yesterday"}, "birth-date"),
        ({"sex": "male"}, "sex"),  # the PINFL is a woman's
        ({"sex": "other"}, "sex"),
        ({"surname": ""}, "surname"),
        ({"surname": "Karimova2"}, "surname"),
        ({"given_name": "<script>"}, "given-name"),
        ({"patronymic": "R" * 150}, "patronymic"),
        ({"region": None}, "region"),
        ({"region": "1"}, "region"),  # no such region
        ({"region": "99999999999999999999999"}, "region"),
        ({"phone": "+7 912 345 67 89"}, "phone"),
        ({"phone": "12"}, "phone"),
        ({"address": "a" * 400}, "address"),
        ({"address": "line\x07bell"}, "address"),
    ],
)
def test_bad_fields_are_named_next_to_the_field_and_nothing_is_saved(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, changes: dict[str, object], field: str
) -> None:
    sign_in_as(client, people.registrar)
    before = patients(engine)
    answer = register(
        client, portal, form(pinfl=make_pinfl(date(1963, 2, 11), "female", DISTRICT, 803)) | form(**changes)
    )
    assert patients(engine) == before
    assert answer["patients-new-result"]["children"]["props"]["id"] == "patients-new-error"
    feedback = {key: value["children"] for key, value in answer.items() if key.endswith("-feedback")}
    assert [key for key, text in feedback.items() if text] == [f"patients-new-{field}-feedback"]
    if field != "sex":  # radio buttons have no invalid state: the message alone shows
        assert answer[f"patients-new-{field}"]["invalid"] is True
    assert "value" not in answer.get("patients-new-surname", {})  # what was typed stays to be corrected


def test_a_valid_pinfl_fills_the_birth_date_and_sex(client: FlaskClient, portal: Dash, people: People) -> None:
    sign_in_as(client, people.registrar)
    number = make_pinfl(date(2001, 12, 31), "female", DISTRICT, 804)
    answer = response_of(call(client, portal, FILL, {"patients-new-pinfl.value": f"{number[:4]} {number[4:]}"}))
    assert answer["patients-new-birth-date"]["value"] == "2001-12-31"
    assert answer["patients-new-sex"]["value"] == "female"
    for typed in (None, "", "1234", number[:-1] + "0", 42, ["x"]):
        assert call(client, portal, FILL, {"patients-new-pinfl.value": typed}).status_code == 204


@pytest.mark.parametrize("role", ["doctor", "nurse", "manager"])
def test_only_the_registrar_registers(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, role: str
) -> None:
    sign_in_as(client, getattr(people, role))
    before = patients(engine)
    values = form(pinfl=make_pinfl(date(1963, 2, 11), "female", DISTRICT, 805)) | {"patients-new-submit.n_clicks": 1}
    assert call(client, portal, REGISTER, values, "patients-new-submit.n_clicks").status_code == 403
    assert call(client, portal, FILL, {"patients-new-pinfl.value": pinfl(BORN, 701)}).status_code == 403
    assert patients(engine) == before


# --- merging -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    survivor: int
    duplicate: int
    duplicate_pinfl: str
    visit: int


@pytest.fixture
def pair(engine: Engine, people: People) -> Pair:
    """Two records of one person; the duplicate has a visit."""
    with Session(engine) as session:
        doctor = session.get_one(Cabinet, people.doctor)
        survivor = _patient(session, "Yusupov", "Bobur", date(1964, 5, 5), next(_pairs))
        duplicate = _patient(session, "Юсупов", "Бобур", date(1964, 5, 5), next(_pairs))
        organization = session.get_one(Organization, people.organization)
        visit = factories.encounter(session, organization, doctor, duplicate)
        session.commit()
        return Pair(survivor.id, duplicate.id, duplicate.pinfl, visit.id)


def merge_values(keep: object, duplicate: object, reason: object = "Bir odam, ikki karta") -> dict[str, object]:
    return {
        "patients-merge-submit.n_clicks": 1,
        "patients-merge-keep.value": keep,
        "patients-merge-duplicate.value": duplicate,
        "patients-merge-reason.value": reason,
    }


def test_the_registrar_merges_and_undoes_through_the_page(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, pair: Pair
) -> None:
    sign_in_as(client, people.registrar)
    # Compared side by side: the record to keep by number, the duplicate by PINFL.
    show = {"patients-merge-show.n_clicks": 1, "patients-merge-keep.value": str(pair.survivor)}
    shown = response_of(
        call(
            client,
            portal,
            SHOW,
            show | {"patients-merge-duplicate.value": pair.duplicate_pinfl},
            "patients-merge-show.n_clicks",
        )
    )
    compared = str(shown)
    assert "Yusupov Bobur" in compared and "Юсупов Бобур" in compared and pair.duplicate_pinfl in compared
    assert "patients-merge-keep-card" in compared and "patients-merge-duplicate-card" in compared
    # No reason: nothing merged.
    before = merges(engine)
    refused = response_of(
        call(
            client,
            portal,
            MERGE,
            merge_values(pair.survivor, pair.duplicate_pinfl, "  "),
            "patients-merge-submit.n_clicks",
        )
    )
    assert refused["patients-merge-result"]["children"]["props"]["id"] == "patients-merge-error"
    assert merges(engine) == before
    done = response_of(
        call(
            client,
            portal,
            MERGE,
            merge_values(f" {pair.survivor} ", pair.duplicate_pinfl),
            "patients-merge-submit.n_clicks",
        )
    )
    assert done["patients-merge-result"]["children"]["props"]["id"] == "patients-merge-done"
    assert "Yusupov Bobur" in str(done["patients-merge-list-box"]["children"])
    with Session(engine) as session:
        entry = session.execute(select(PatientMerge).where(PatientMerge.merged_id == pair.duplicate)).scalar_one()
        assert (entry.survivor_id, entry.merged_by) == (pair.survivor, people.registrar)
        assert session.get_one(Patient, pair.duplicate).merged_into_id == pair.survivor
        assert session.get_one(Encounter, pair.visit).patient_id == pair.survivor
    assert str(entry.id) in str(done["patients-merge-undo-pick"]["options"])
    # Another registrar neither sees the merge nor can undo it with a forged choice.
    assert f"patients-merge-row-{entry.id}" not in rendered(
        portal, engine, "pages.patient_merge", people.other_registrar
    )
    assert f"patients-merge-row-{entry.id}" in rendered(portal, engine, "pages.patient_merge", people.registrar)
    sign_in_as(client, people.other_registrar)
    undo = {
        "patients-merge-undo.n_clicks": 1,
        "patients-merge-undo-pick.value": str(entry.id),
        "patients-merge-undo-reason.value": "Xato",
    }
    forged = response_of(call(client, portal, UNDO, undo, "patients-merge-undo.n_clicks"))
    assert forged["patients-merge-undo-result"]["children"]["props"]["id"] == "patients-merge-undo-error"
    with Session(engine) as session:
        assert session.get_one(Patient, pair.duplicate).merged_into_id == pair.survivor
    # The registrar who merged undoes it; a reason is required.
    sign_in_as(client, people.registrar)
    no_reason = response_of(
        call(client, portal, UNDO, undo | {"patients-merge-undo-reason.value": ""}, "patients-merge-undo.n_clicks")
    )
    assert no_reason["patients-merge-undo-result"]["children"]["props"]["id"] == "patients-merge-undo-error"
    undone = response_of(call(client, portal, UNDO, undo, "patients-merge-undo.n_clicks"))
    assert undone["patients-merge-undo-result"]["children"]["props"]["id"] == "patients-merge-undone"
    assert str(entry.id) not in str(undone["patients-merge-undo-pick"]["options"])
    with Session(engine) as session:
        assert session.get_one(Patient, pair.duplicate).merged_into_id is None
        assert session.get_one(Encounter, pair.visit).patient_id == pair.duplicate
        assert session.get_one(PatientMerge, entry.id).undo_reason == "Xato"
    again = response_of(call(client, portal, UNDO, undo, "patients-merge-undo.n_clicks"))
    assert again["patients-merge-undo-result"]["children"]["props"]["id"] == "patients-merge-undo-error"


@pytest.mark.parametrize(
    ("keep", "duplicate"),
    [
        (None, None),
        ("", "1"),
        ("abc", "1"),
        ("-5", "1"),
        ("99999999999999999999999", "1"),
        ("0", "1"),
        ("same", "same"),  # one record twice
        ("survivor", "999999999999"),  # no such record
        ("survivor", "31503870010019"),  # a PINFL with a wrong check digit
        ("survivor", "31503870010018x"),
        ("survivor", ["forged"]),
        ("survivor", "merged"),  # a record already merged into another
    ],
)
def test_bad_merges_are_explained_and_change_nothing(
    client: FlaskClient,
    portal: Dash,
    people: People,
    engine: Engine,
    pair: Pair,
    keep: object,
    duplicate: object,
) -> None:
    names = {"survivor": str(pair.survivor), "same": str(pair.survivor)}
    if duplicate == "merged":
        with Session(engine) as session:
            session.get_one(Patient, pair.duplicate).merged_into_id = people.alisher
            session.commit()
        duplicate = str(pair.duplicate)
    keep = names.get(keep, keep) if isinstance(keep, str) else keep
    duplicate = names.get(duplicate, duplicate) if isinstance(duplicate, str) else duplicate
    sign_in_as(client, people.registrar)
    before = merges(engine)
    answer = response_of(call(client, portal, MERGE, merge_values(keep, duplicate), "patients-merge-submit.n_clicks"))
    assert answer["patients-merge-result"]["children"]["props"]["id"] == "patients-merge-error"
    assert text_of(answer["patients-merge-result"]["children"])
    show = {
        "patients-merge-show.n_clicks": 1,
        "patients-merge-keep.value": keep,
        "patients-merge-duplicate.value": duplicate,
    }
    shown = response_of(call(client, portal, SHOW, show, "patients-merge-show.n_clicks"))
    if duplicate != str(pair.duplicate):  # an already-merged record is shown (marked), only the merge is refused
        assert shown["patients-merge-compare"]["children"]["props"]["id"] == "patients-merge-show-error"
    assert merges(engine) == before
    with Session(engine) as session:
        assert session.get_one(Encounter, pair.visit).patient_id == pair.duplicate


def test_forged_undo_choices_change_nothing(client: FlaskClient, portal: Dash, people: People, engine: Engine) -> None:
    sign_in_as(client, people.registrar)
    for picked in (None, "", "x", "-1", "0", "99999999999999999999999", ["1"], "999999999"):
        undo = {
            "patients-merge-undo.n_clicks": 1,
            "patients-merge-undo-pick.value": picked,
            "patients-merge-undo-reason.value": "r",
        }
        answer = response_of(call(client, portal, UNDO, undo, "patients-merge-undo.n_clicks"))
        assert answer["patients-merge-undo-result"]["children"]["props"]["id"] == "patients-merge-undo-error"


@pytest.mark.parametrize("role", ["doctor", "nurse", "manager"])
def test_only_the_registrar_uses_the_merge_page(
    client: FlaskClient, portal: Dash, people: People, engine: Engine, pair: Pair, role: str
) -> None:
    sign_in_as(client, getattr(people, role))
    before = merges(engine)
    values = merge_values(str(pair.survivor), str(pair.duplicate))
    assert call(client, portal, MERGE, values, "patients-merge-submit.n_clicks").status_code == 403
    show = {
        "patients-merge-show.n_clicks": 1,
        "patients-merge-keep.value": str(pair.survivor),
        "patients-merge-duplicate.value": str(pair.duplicate),
    }
    assert call(client, portal, SHOW, show, "patients-merge-show.n_clicks").status_code == 403
    undo = {
        "patients-merge-undo.n_clicks": 1,
        "patients-merge-undo-pick.value": "1",
        "patients-merge-undo-reason.value": "r",
    }
    assert call(client, portal, UNDO, undo, "patients-merge-undo.n_clicks").status_code == 403
    assert merges(engine) == before

"""The patient registry (R-13.1): lookup by PINFL, search by name and birth date, registration with duplicates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ehealth.access.models import Role
from ehealth.audit.models import AuditEvent
from ehealth.audit.trail import Actor, verify
from ehealth.calendar import today
from ehealth.errors import ValidationError
from ehealth.i18n import language
from ehealth.identifiers import make_pinfl
from ehealth.patients.models import Patient, Sex
from ehealth.patients.registry import (
    MatchReason,
    RegistrationOutcome,
    find_by_pinfl,
    normalize_phone,
    reason_label,
    register,
    search,
)
from tests import factories

BORN = date(1987, 3, 14)
TASHKENT_CITY = factories.TASHKENT_CITY
SAMARQAND = 1718


def pinfl(born: date = BORN, sex: str = "male", serial: int = 901) -> str:
    """A valid PINFL out of the range the shared factories use."""
    return make_pinfl(born, sex, 777, serial)


@pytest.fixture
def registrar(session: Session) -> Actor:
    org = factories.organization(session)
    cabinet = factories.cabinet(session, org, Role.REGISTRAR)
    return Actor(cabinet.id, "registrar", org.id, "10.1.1.1")


def person(
    session: Session, surname: str, given_name: str, *, born: date = BORN, serial: int = 901, **extra: object
) -> Patient:
    """A patient row written directly (not through register, so the test controls every field)."""
    row = Patient(
        pinfl=pinfl(born, "male", serial),
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


def events(session: Session, action: str) -> list[tuple[int | None, str | None, str | None]]:
    """(patient_id, object_id, detail) of each audit event of `action`, oldest first."""
    rows = session.execute(
        select(AuditEvent.patient_id, AuditEvent.object_id, AuditEvent.detail)
        .where(AuditEvent.action == action)
        .order_by(AuditEvent.id)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def count(session: Session, model: type[Patient] | type[AuditEvent]) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


# --- find_by_pinfl --------------------------------------------------------------------------------------------


def test_find_by_pinfl_returns_the_patient_and_audits_it(session: Session, registrar: Actor) -> None:
    alisher = person(session, "Toshmatov", "Alisher")
    assert find_by_pinfl(session, f" {alisher.pinfl[:7]} {alisher.pinfl[7:]} ", actor=registrar) is alisher
    assert events(session, "patient.looked_up") == [(alisher.id, str(alisher.id), None)]
    assert list(verify(session)) == []


def test_find_by_pinfl_not_found_is_audited_without_a_patient(session: Session, registrar: Actor) -> None:
    assert find_by_pinfl(session, pinfl(serial=999), actor=registrar) is None
    assert events(session, "patient.looked_up") == [(None, None, "not found")]


def test_find_by_pinfl_follows_merges_to_the_survivor(session: Session, registrar: Actor) -> None:
    first = person(session, "Toshmatov", "Alisher", serial=901)
    second = person(session, "Тошматов", "Алишер", serial=902)
    third = person(session, "Toshmatov", "Alisher", serial=903)
    first.merged_into_id, second.merged_into_id = second.id, third.id
    session.flush()
    assert find_by_pinfl(session, first.pinfl, actor=registrar) is third
    assert events(session, "patient.looked_up") == [(third.id, str(third.id), f"via merged record {first.id}")]


def test_find_by_pinfl_refuses_an_invalid_pinfl(session: Session, registrar: Actor) -> None:
    with pytest.raises(ValidationError) as refused:
        find_by_pinfl(session, "12345", actor=registrar)
    assert refused.value.field == "pinfl"
    assert events(session, "patient.looked_up") == []


# --- search ---------------------------------------------------------------------------------------------------


def test_search_finds_the_name_in_any_script_best_first(session: Session, registrar: Actor) -> None:
    exact = person(session, "Тошматов", "Алишер", serial=901)
    near = person(session, "Toshmatova", "Alisher", serial=902)
    other_name = person(session, "Tursunov", "Alisher", serial=903)
    other_given = person(session, "Toshmatov", "Nodir", serial=904)
    other_day = person(session, "Toshmatov", "Alisher", born=BORN + timedelta(days=1), serial=905)
    merged = person(session, "Toshmatov", "Alisher", serial=906, merged_into_id=exact.id)
    found = search(session, surname="Toshmatov", given_name="Alisher", birth_date=BORN, actor=registrar)
    assert found == [exact, near]
    assert not {other_name, other_given, other_day, merged} & set(found)
    # One event per patient listed, so each patient's history shows the search.
    assert events(session, "patient.searched") == [
        (exact.id, str(exact.id), "result 1 of 2"),
        (near.id, str(near.id), "result 2 of 2"),
    ]
    assert list(verify(session)) == []


def test_search_honours_the_limit(session: Session, registrar: Actor) -> None:
    rows = [person(session, "Karimov", "Aziz", serial=901 + n) for n in range(3)]
    found = search(session, surname="Каримов", given_name="Азиз", birth_date=BORN, actor=registrar, limit=2)
    assert found == rows[:2]  # equal scores: oldest record first
    with pytest.raises(ValueError, match="limit"):
        search(session, surname="Karimov", given_name="Aziz", birth_date=BORN, actor=registrar, limit=0)


def test_search_without_results_is_audited_once_without_a_patient(session: Session, registrar: Actor) -> None:
    person(session, "Karimov", "Aziz")
    assert search(session, surname="Karimov", given_name="Aziz", birth_date=date(1950, 1, 1), actor=registrar) == []
    assert events(session, "patient.searched") == [(None, None, "no results")]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"surname": "  "}, "surname"),
        ({"surname": "Karimov2"}, "surname"),
        ({"given_name": "Aziz!"}, "given_name"),
        ({"birth_date": today() + timedelta(days=1)}, "birth_date"),
    ],
)
def test_search_refuses_bad_input(session: Session, registrar: Actor, fields: dict[str, object], field: str) -> None:
    query: dict[str, object] = {"surname": "Karimov", "given_name": "Aziz", "birth_date": BORN, **fields}
    with pytest.raises(ValidationError) as refused:
        search(session, actor=registrar, **query)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert events(session, "patient.searched") == []


# --- register -------------------------------------------------------------------------------------------------


def typed(**changes: object) -> dict[str, object]:
    """What a registrar types for Alisher Toshmatov, with `changes`."""
    values: dict[str, object] = {
        "pinfl": pinfl(serial=950),
        "surname": "Toshmatov",
        "given_name": "Alisher",
        "patronymic": "Valiyevich",
        "birth_date": BORN,
        "sex": "male",
        "region_id": TASHKENT_CITY,
        "phone": "+998 90 123-45-67",
        "address": "  Chilonzor 9,   12-uy ",
    }
    return values | changes


def test_register_creates_a_new_patient(session: Session, registrar: Actor) -> None:
    registration = register(session, actor=registrar, **typed(surname="Gʻulomov"))  # type: ignore[arg-type]
    assert registration.outcome == RegistrationOutcome.CREATED and registration.candidates == ()
    patient = registration.patient
    assert patient is not None and patient.id is not None
    assert (patient.pinfl, patient.surname, patient.given_name, patient.patronymic) == (
        pinfl(serial=950),
        "G'ulomov",
        "Alisher",
        "Valiyevich",
    )
    assert (patient.birth_date, patient.sex, patient.region_id) == (BORN, Sex.MALE, TASHKENT_CITY)
    assert (patient.phone, patient.address) == ("+998901234567", "Chilonzor 9, 12-uy")
    assert (patient.registered_by_organization_id, patient.created_by) == (
        registrar.organization_id,
        registrar.cabinet_id,
    )
    assert patient.merged_into_id is None
    assert events(session, "patient.registered") == [(patient.id, str(patient.id), None)]
    assert list(verify(session)) == []


def test_register_optional_fields_may_be_left_out(session: Session, registrar: Actor) -> None:
    registration = register(
        session,
        actor=registrar,
        **typed(patronymic="  ", phone="", address=None, sex=Sex.MALE, region_id=SAMARQAND),  # type: ignore[arg-type]
    )
    patient = registration.patient
    assert patient is not None
    assert (patient.patronymic, patient.phone, patient.address, patient.region_id) == (None, None, None, SAMARQAND)


def test_register_a_known_pinfl_returns_that_patient_and_writes_nothing(session: Session, registrar: Actor) -> None:
    known = person(session, "Toshmatov", "Alisher", serial=950)
    before = count(session, Patient)
    registration = register(session, actor=registrar, **typed(surname="Boshqa"))  # type: ignore[arg-type]
    assert registration.outcome == RegistrationOutcome.EXISTING and registration.patient is known
    assert count(session, Patient) == before
    assert events(session, "patient.registered") == []
    assert events(session, "patient.registration_existing") == [(known.id, str(known.id), None)]


def test_register_a_merged_pinfl_returns_the_survivor(session: Session, registrar: Actor) -> None:
    survivor = person(session, "Toshmatov", "Alisher", serial=901)
    person(session, "Toshmatov", "Alisher", serial=950, merged_into_id=survivor.id)
    registration = register(session, actor=registrar, **typed())  # type: ignore[arg-type]
    assert registration.outcome == RegistrationOutcome.EXISTING and registration.patient is survivor


def test_register_shows_possible_duplicates_first(session: Session, registrar: Actor) -> None:
    same = person(session, "Тошматов", "Алишер", serial=901, phone="+998901234567")
    twin = person(session, "Toshmatov", "Nodir", serial=902)
    renamed = person(session, "Karimova", "Alisher", serial=903)
    stranger = person(session, "Tursunov", "Nodir", serial=904)  # born the same day, nothing else alike
    merged = person(session, "Toshmatov", "Alisher", serial=905, merged_into_id=same.id)
    elsewhere = person(session, "Toshmatov", "Alisher", born=date(1990, 1, 1), serial=906)
    before = count(session, Patient)

    registration = register(session, actor=registrar, **typed())  # type: ignore[arg-type]
    assert registration.outcome == RegistrationOutcome.CANDIDATES and registration.patient is None
    assert [(c.patient, c.reasons) for c in registration.candidates] == [
        (same, tuple(MatchReason)),
        (twin, (MatchReason.SAME_BIRTH_DATE, MatchReason.SIMILAR_SURNAME)),
        (renamed, (MatchReason.SAME_BIRTH_DATE, MatchReason.SIMILAR_GIVEN_NAME)),
    ]
    assert not {stranger, merged, elsewhere} & {c.patient for c in registration.candidates}
    assert count(session, Patient) == before  # nothing written
    patient, reasons = registration.candidates[1]  # a candidate unpacks as (patient, reasons)
    assert (patient, reasons[0]) == (twin, "same_birth_date")
    with language("en"):
        assert registration.candidates[0].labels() == [
            "Same birth date",
            "Similar surname",
            "Similar given name",
            "Same phone number",
        ]
    assert reason_label(MatchReason.SAME_PHONE)  # every reason has a label in the default language
    assert events(session, "patient.duplicate_candidate") == [
        (same.id, str(same.id), "same_birth_date,similar_surname,similar_given_name,same_phone"),
        (twin.id, str(twin.id), "same_birth_date,similar_surname"),
        (renamed.id, str(renamed.id), "same_birth_date,similar_given_name"),
    ]
    assert events(session, "patient.registered") == []

    confirmed = register(session, actor=registrar, confirmed_new=True, **typed())  # type: ignore[arg-type]
    assert confirmed.outcome == RegistrationOutcome.CREATED and confirmed.patient is not None
    assert count(session, Patient) == before + 1
    new_id = confirmed.patient.id
    assert events(session, "patient.registered") == [
        (new_id, str(new_id), f"confirmed new despite candidates {same.id},{twin.id},{renamed.id}")
    ]
    assert list(verify(session)) == []


def test_register_without_look_alikes_creates_at_once(session: Session, registrar: Actor) -> None:
    person(session, "Tursunov", "Nodir", serial=904)
    registration = register(session, actor=registrar, **typed())  # type: ignore[arg-type]
    assert registration.outcome == RegistrationOutcome.CREATED


def test_the_same_phone_is_a_reason(session: Session, registrar: Actor) -> None:
    other = person(session, "Tursunov", "Nodir", serial=904, phone="+998901234567")
    registration = register(session, actor=registrar, **typed())  # type: ignore[arg-type]
    assert [(c.patient, c.reasons) for c in registration.candidates] == [
        (other, (MatchReason.SAME_BIRTH_DATE, MatchReason.SAME_PHONE))
    ]


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"pinfl": ""}, "pinfl", "PINFL is required"),
        ({"pinfl": pinfl(serial=950)[:-1] + "0" if pinfl(serial=950)[-1] != "0" else "1"}, "pinfl", "check digit"),
        ({"surname": ""}, "surname", "Name is required"),
        ({"given_name": "Ali3"}, "given_name", "digits"),
        ({"patronymic": "Vali@"}, "patronymic", "@"),
        ({"sex": "unknown"}, "sex", "male or female"),
        ({"sex": "female"}, "sex", "belongs to a man"),
        ({"birth_date": BORN + timedelta(days=1)}, "birth_date", "1987-03-14"),
        ({"region_id": 1799}, "region_id", "region"),
        ({"phone": "+998 90 123 45 6x"}, "phone", "x is not allowed"),
        ({"phone": "90 123 45 6"}, "phone", "8 digits given"),
        ({"phone": "+7 916 123 45 67"}, "phone", "Uzbek"),
        ({"phone": "+998 90 123 45 678"}, "phone", "10 digits given"),
        ({"address": "x" * 301}, "address", "300"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(
    session: Session, registrar: Actor, changes: dict[str, object], field: str, says: str
) -> None:
    patients, audited = count(session, Patient), count(session, AuditEvent)
    with pytest.raises(ValidationError) as refused, language("en"):
        register(session, actor=registrar, **typed(**changes))  # type: ignore[arg-type]
    assert refused.value.field == field
    with language("en"):
        assert says in str(refused.value)
    assert (count(session, Patient), count(session, AuditEvent)) == (patients, audited)


def test_register_says_what_the_pinfl_says_about_a_woman(session: Session, registrar: Actor) -> None:
    with pytest.raises(ValidationError) as refused:
        register(session, actor=registrar, **typed(pinfl=pinfl(sex="female", serial=951)))  # type: ignore[arg-type]
    assert refused.value.field == "sex"
    with language("en"):
        assert "belongs to a woman" in str(refused.value)


@pytest.mark.parametrize(
    "typed_phone",
    [
        "+998901234567",
        "+998 90 123-45-67",
        "998901234567",
        "90 123 45 67",
        "(90) 123-45-67",
        "00998 90 123 45 67",
        "90.123.45.67",
    ],
)
def test_phone_numbers_are_normalized(typed_phone: str) -> None:
    assert normalize_phone(typed_phone) == "+998901234567"


@pytest.mark.parametrize(
    "typed_phone", ["+1 202 555 0100", "0044 20 7946 0000", "+99890123456", "12345", "+998 9O 123 45 67"]
)
def test_wrong_phone_numbers_are_refused(typed_phone: str) -> None:
    with pytest.raises(ValidationError) as refused:
        normalize_phone(typed_phone)
    assert refused.value.field == "phone"

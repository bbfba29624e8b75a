"""The patient registry (R-13.1): find a patient by PINFL or by name and birth date, and register a new one only
after the records that may be the same person have been shown."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import flush
from ehealth.audit.trail import Actor, record
from ehealth.calendar import today
from ehealth.errors import ValidationError
from ehealth.i18n import N_, gettext
from ehealth.identifiers import pinfl_birth_date, pinfl_sex, validate_person_name, validate_pinfl
from ehealth.patients.models import Patient, Sex
from ehealth.patients.names import name_key, similarity
from ehealth.reference.models import Region

# Jaro-Winkler on name keys: the same name in another script or spelling scores 0.9-1.0 (Qodirov/Кадыров 0.91,
# Jo'rayev/Джураев 0.90), different names of one family mostly below (Toshmatov/Tursunov 0.68, Alisher/Alijon 0.75).
SIMILAR_NAME = 0.88
SEARCH_LIMIT_MAX = 100
CANDIDATE_LIMIT = 10
ADDRESS_LENGTH = 300
# A merge chain longer than this is a data error, not history: stop instead of looping.
_MAX_MERGE_HOPS = 50

_PHONE_SEPARATORS = re.compile(r"[\s\-().]+")
UZ_COUNTRY_CODE = "998"
UZ_NATIONAL_DIGITS = 9


class MatchReason(StrEnum):
    """Why an existing record may be the person being registered (a machine code; the label is for people)."""

    SAME_BIRTH_DATE = "same_birth_date"
    SIMILAR_SURNAME = "similar_surname"
    SIMILAR_GIVEN_NAME = "similar_given_name"
    SAME_PHONE = "same_phone"


REASON_LABELS: dict[MatchReason, str] = {
    MatchReason.SAME_BIRTH_DATE: N_("Same birth date"),
    MatchReason.SIMILAR_SURNAME: N_("Similar surname"),
    MatchReason.SIMILAR_GIVEN_NAME: N_("Similar given name"),
    MatchReason.SAME_PHONE: N_("Same phone number"),
}


def reason_label(reason: MatchReason) -> str:
    """The label of a match reason in the current language."""
    return gettext(REASON_LABELS[reason])


class Candidate(NamedTuple):
    """An existing record that may be the person being registered, with every reason it matched."""

    patient: Patient
    reasons: tuple[MatchReason, ...]

    def labels(self) -> list[str]:
        """The reasons as the registrar reads them, in the current language."""
        return [reason_label(reason) for reason in self.reasons]


class RegistrationOutcome(StrEnum):
    """What `register` did."""

    EXISTING = "existing"  # the PINFL is registered: that patient is returned, nothing written
    CANDIDATES = "candidates"  # possible duplicates to look at first: nothing written
    CREATED = "created"  # a new patient was registered


@dataclass(frozen=True)
class Registration:
    """The answer of `register`: the existing or new patient, or the candidates to look at."""

    outcome: RegistrationOutcome
    patient: Patient | None = None
    candidates: tuple[Candidate, ...] = ()


def normalize_phone(value: str) -> str:
    """An Uzbek phone number as +998XXXXXXXXX, from the ways people type it, or raise ValidationError."""
    compact = _PHONE_SEPARATORS.sub("", value)
    international = compact.startswith(("+", "00"))
    digits = compact[1:] if compact.startswith("+") else compact[2:] if compact.startswith("00") else compact
    for char in digits:
        if not "0" <= char <= "9":
            raise ValidationError(
                N_(
                    "Phone number may have only digits, spaces, hyphens, brackets and a leading +; {char} is not allowed"
                ),
                field="phone",
                char=char,
            )
    if international and not digits.startswith(UZ_COUNTRY_CODE):
        raise ValidationError(N_("Only Uzbek phone numbers are accepted: +998 and 9 digits"), field="phone")
    # Typed with the country code (998...) or without it (90 123 45 67): the count below is of the 9 after 998.
    if digits.startswith(UZ_COUNTRY_CODE) and len(digits) > UZ_NATIONAL_DIGITS:
        digits = digits[len(UZ_COUNTRY_CODE) :]
    if len(digits) != UZ_NATIONAL_DIGITS:
        raise ValidationError(
            N_("Phone number must be +998 and 9 digits, like +998 90 123 45 67; {count} digits given"),
            field="phone",
            count=len(digits),
        )
    return f"+{UZ_COUNTRY_CODE}{digits}"


def _survivor(session: Session, patient: Patient) -> Patient:
    """The record `patient` was merged into (following a chain of merges), or `patient` itself."""
    current = patient
    for _ in range(_MAX_MERGE_HOPS):
        if current.merged_into_id is None:
            return current
        target = session.get(Patient, current.merged_into_id)
        assert target is not None  # foreign key
        current = target
    raise RuntimeError(f"patient {patient.id}: merge chain longer than {_MAX_MERGE_HOPS}")


def find_by_pinfl(session: Session, pinfl: str, *, actor: Actor) -> Patient | None:
    """The patient with this PINFL (the surviving record if it was merged), or None; the lookup is audited."""
    number = validate_pinfl(pinfl)
    found = session.execute(select(Patient).where(Patient.pinfl == number)).scalar_one_or_none()
    if found is None:
        record(session, actor, "patient.looked_up", object_type="patient", detail="not found")
        return None
    survivor = _survivor(session, found)
    via = None if survivor is found else f"via merged record {found.id}"
    record(
        session,
        actor,
        "patient.looked_up",
        patient_id=survivor.id,
        object_type="patient",
        object_id=survivor.id,
        detail=via,
    )
    return survivor


def _check_birth_date(birth_date: date) -> None:
    if birth_date > today():
        raise ValidationError(N_("The birth date cannot be in the future"), field="birth_date")


class _Scored(NamedTuple):
    patient_id: int
    surname: float
    given_name: float

    @property
    def score(self) -> float:
        return (self.surname + self.given_name) / 2


def _score_same_birth_date(
    session: Session, birth_date: date, surname: str, given_name: str
) -> list[tuple[_Scored, str | None]]:
    """Name similarity of every unmerged record born on `birth_date` (with its phone), in id order.

    Same-day births are a few thousand nationally at most and the index on birth_date finds them; names are
    compared in Python because a key in another script cannot be matched by SQL on the stored spelling.
    """
    query = select(Patient.id, Patient.surname, Patient.given_name, Patient.phone).where(
        Patient.birth_date == birth_date, Patient.merged_into_id.is_(None)
    )
    surname_key, given_key = name_key(surname), name_key(given_name)
    scored = []
    for patient_id, other_surname, other_given, phone in session.execute(query.order_by(Patient.id)):
        scored.append(
            (_Scored(patient_id, similarity(surname_key, other_surname), similarity(given_key, other_given)), phone)
        )
    return scored


def _load(session: Session, ids: Sequence[int]) -> dict[int, Patient]:
    rows = session.execute(select(Patient).where(Patient.id.in_(ids))).scalars()
    return {row.id: row for row in rows}


def search(
    session: Session, *, surname: str, given_name: str, birth_date: date, actor: Actor, limit: int = 20
) -> list[Patient]:
    """Unmerged patients born on `birth_date` whose surname and given name both resemble these, best first.

    Audited with one `patient.searched` event per patient listed (the list shows their names and birth dates,
    so each appears in that patient's own "who saw my record"), or one event without a patient if none matched.
    """
    if not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise ValueError(f"limit must be 1-{SEARCH_LIMIT_MAX}, not {limit}")
    wanted_surname = validate_person_name(surname, "surname")
    wanted_given = validate_person_name(given_name, "given_name")
    _check_birth_date(birth_date)
    scored = [
        match
        for match, _phone in _score_same_birth_date(session, birth_date, wanted_surname, wanted_given)
        if match.surname >= SIMILAR_NAME and match.given_name >= SIMILAR_NAME
    ]
    best = sorted(scored, key=lambda match: (-match.score, match.patient_id))[:limit]
    loaded = _load(session, [match.patient_id for match in best])
    found = [loaded[match.patient_id] for match in best]
    if not found:
        record(session, actor, "patient.searched", object_type="patient", detail="no results")
    for rank, patient in enumerate(found, start=1):
        record(
            session,
            actor,
            "patient.searched",
            patient_id=patient.id,
            object_type="patient",
            object_id=patient.id,
            detail=f"result {rank} of {len(found)}",
        )
    return found


@dataclass(frozen=True)
class _NewPatient:
    pinfl: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: date
    sex: Sex
    region_id: int
    phone: str | None
    address: str | None


def _parse_sex(value: Sex | str) -> Sex:
    try:
        return Sex(value)
    except ValueError:
        raise ValidationError(N_("Choose the sex: male or female"), field="sex") from None


def _validated(
    session: Session,
    *,
    pinfl: str,
    surname: str,
    given_name: str,
    patronymic: str | None,
    birth_date: date,
    sex: Sex | str,
    region_id: int,
    phone: str | None,
    address: str | None,
) -> _NewPatient:
    """Every typed value checked and cleaned, or the first ValidationError naming its field."""
    number = validate_pinfl(pinfl)
    clean_surname = validate_person_name(surname, "surname")
    clean_given = validate_person_name(given_name, "given_name")
    clean_patronymic = validate_person_name(patronymic, "patronymic") if patronymic and patronymic.strip() else None
    typed_sex = _parse_sex(sex)
    # The PINFL encodes both: a disagreement is a typo in one of them, and the registrar must say which.
    encoded_birth = pinfl_birth_date(number)
    if birth_date != encoded_birth:
        raise ValidationError(
            N_("The PINFL gives the birth date {date}; check the birth date or the PINFL"),
            field="birth_date",
            date=encoded_birth.isoformat(),
        )
    encoded_sex = Sex(pinfl_sex(number))
    if typed_sex != encoded_sex:
        message = (
            N_("The PINFL belongs to a man; check the sex or the PINFL")
            if encoded_sex == Sex.MALE
            else N_("The PINFL belongs to a woman; check the sex or the PINFL")
        )
        raise ValidationError(message, field="sex")
    if session.get(Region, region_id) is None:
        raise ValidationError(N_("Choose the region from the list"), field="region_id")
    clean_phone = normalize_phone(phone) if phone and phone.strip() else None
    clean_address = " ".join((address or "").split()) or None
    if clean_address is not None and len(clean_address) > ADDRESS_LENGTH:
        raise ValidationError(
            N_("The text is too long: at most {limit} characters."), field="address", limit=ADDRESS_LENGTH
        )
    return _NewPatient(
        number,
        clean_surname,
        clean_given,
        clean_patronymic,
        encoded_birth,
        typed_sex,
        region_id,
        clean_phone,
        clean_address,
    )


def _candidates(session: Session, new: _NewPatient) -> list[Candidate]:
    """Unmerged records born the same day that match on at least one more thing, strongest first.

    Only same-day births are looked at: a PINFL's check digit catches every single-digit typo, so a second
    record of one person carries another valid PINFL with, as a rule, the same birth date; and patient.phone
    has no index, so a phone-only match would scan the whole national registry.
    """
    ranked: list[tuple[int, float, int, tuple[MatchReason, ...]]] = []
    for match, phone in _score_same_birth_date(session, new.birth_date, new.surname, new.given_name):
        reasons = [MatchReason.SAME_BIRTH_DATE]
        if match.surname >= SIMILAR_NAME:
            reasons.append(MatchReason.SIMILAR_SURNAME)
        if match.given_name >= SIMILAR_NAME:
            reasons.append(MatchReason.SIMILAR_GIVEN_NAME)
        if new.phone is not None and phone == new.phone:
            reasons.append(MatchReason.SAME_PHONE)
        # The same birth date alone is shared by thousands: one more sign is needed.
        if len(reasons) >= 2:
            ranked.append((-len(reasons), -match.score, match.patient_id, tuple(reasons)))
    best = sorted(ranked)[:CANDIDATE_LIMIT]
    loaded = _load(session, [patient_id for _n, _s, patient_id, _r in best])
    return [Candidate(loaded[patient_id], reasons) for _n, _s, patient_id, reasons in best]


def register(
    session: Session,
    *,
    pinfl: str,
    surname: str,
    given_name: str,
    patronymic: str | None,
    birth_date: date,
    sex: Sex | str,
    region_id: int,
    phone: str | None = None,
    address: str | None = None,
    actor: Actor,
    confirmed_new: bool = False,
) -> Registration:
    """Register a patient: the existing one if the PINFL is known, else possible duplicates first, else a new one."""
    new = _validated(
        session,
        pinfl=pinfl,
        surname=surname,
        given_name=given_name,
        patronymic=patronymic,
        birth_date=birth_date,
        sex=sex,
        region_id=region_id,
        phone=phone,
        address=address,
    )
    existing = session.execute(select(Patient).where(Patient.pinfl == new.pinfl)).scalar_one_or_none()
    if existing is not None:
        # A merged record's PINFL leads to the record it was merged into, as find_by_pinfl does.
        survivor = _survivor(session, existing)
        record(
            session,
            actor,
            "patient.registration_existing",
            patient_id=survivor.id,
            object_type="patient",
            object_id=survivor.id,
        )
        return Registration(RegistrationOutcome.EXISTING, patient=survivor)
    candidates = _candidates(session, new)
    if candidates and not confirmed_new:
        for candidate in candidates:
            record(
                session,
                actor,
                "patient.duplicate_candidate",
                patient_id=candidate.patient.id,
                object_type="patient",
                object_id=candidate.patient.id,
                detail=",".join(candidate.reasons),
            )
        return Registration(RegistrationOutcome.CANDIDATES, candidates=tuple(candidates))
    patient = Patient(
        pinfl=new.pinfl,
        surname=new.surname,
        given_name=new.given_name,
        patronymic=new.patronymic,
        birth_date=new.birth_date,
        sex=new.sex,
        region_id=new.region_id,
        phone=new.phone,
        address=new.address,
        registered_by_organization_id=actor.organization_id,
        created_by=actor.cabinet_id,
    )
    session.add(patient)
    flush(session)
    # Who went ahead despite which candidates: the trail a later merge decision starts from.
    overridden = ",".join(str(candidate.patient.id) for candidate in candidates)
    record(
        session,
        actor,
        "patient.registered",
        patient_id=patient.id,
        object_type="patient",
        object_id=patient.id,
        detail=f"confirmed new despite candidates {overridden}"[:300] if candidates else None,
    )
    return Registration(RegistrationOutcome.CREATED, patient=patient)

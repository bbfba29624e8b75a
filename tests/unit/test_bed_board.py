"""The ward board and bed occupancy: every bed with its patient or free, counts per department, one query each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.clinical import RecordStatus
from ehealth.hospital.board import BoardBed, DepartmentOccupancy, bed_days, occupancy, ward_board
from ehealth.hospital.models import Admission, AdmissionType, BedAssignment, DischargeOutcome
from ehealth.hospital.stays import admit, discharge, transfer
from ehealth.identifiers import TASHKENT
from ehealth.patients.models import Patient
from ehealth.reference.models import Bed, DepartmentKind
from tests import factories
from tests.hospital_factories import Hospital, beds, department, hospital, ward


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements the session sends inside the block."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        sent.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(connection, "before_cursor_execute", count)


def put(session: Session, h: Hospital, who: Patient, bed: Bed, at: datetime) -> Admission:
    dept = h.icu if bed in h.icu_beds else h.therapy
    return admit(
        session,
        patient_id=who.id,
        department_id=dept.id,
        bed_id=bed.id,
        admission_type=AdmissionType.EMERGENCY,
        admitted_at=at,
        icd10_code="I21.9",
        actor=h.as_doctor,
    )


def test_board_shows_every_bed_with_its_patient_or_free(session: Session) -> None:
    h = hospital(session, therapy_beds=4, icu_beds=2)
    other = hospital(session)  # its beds and patients never show here
    put(session, other, factories.patient(session), other.therapy_beds[0], utcnow() - timedelta(hours=1))
    now = utcnow()
    ali, vali, sami = (factories.patient(session) for _ in range(3))
    # Ali: 3 days ago at 23:30 Tashkent time, moved to intensive care; Vali: today; Sami: came and went.
    ali_in = datetime.combine(now.astimezone(TASHKENT).date() - timedelta(days=3), datetime.min.time(), TASHKENT)
    ali_in = (ali_in + timedelta(hours=23, minutes=30)).astimezone(UTC)
    ali_stay = put(session, h, ali, h.therapy_beds[1], ali_in)
    transfer(
        session,
        admission_id=ali_stay.id,
        bed_id=h.icu_beds[1].id,
        moved_at=ali_in + timedelta(hours=2),
        actor=h.as_nurse,
    )
    vali_stay = put(session, h, vali, h.therapy_beds[3], now - timedelta(minutes=30))
    sami_stay = put(session, h, sami, h.therapy_beds[0], now - timedelta(days=2))
    discharge(
        session,
        admission_id=sami_stay.id,
        discharged_at=now - timedelta(hours=1),
        outcome=DischargeOutcome.IMPROVED,
        final_icd10="I21.9",
        summary="Ahvoli yaxshilandi.",
        actor=h.as_doctor,
    )
    # An out-of-service bed is not offered; one taken out of service with a patient in it still shows.
    spare = beds(session, ward(session, h.therapy, "102"), 2)
    spare[0].is_active = False
    lone = factories.patient(session)
    lone_stay = put(session, h, lone, spare[1], now - timedelta(days=1))
    spare[1].is_active = False
    session.flush()

    today = now.astimezone(TASHKENT).date()
    board = ward_board(session, h.org.id, today=today)

    def free(bed: Bed, dept: str, room: str) -> BoardBed:
        return BoardBed(dept_id(dept), dept, bed.ward_id, room, bed.id, bed.code, None, None, None, None, None)

    def taken(bed: Bed, dept: str, room: str, who: Patient, stay: Admission, days: int) -> BoardBed:
        return BoardBed(
            dept_id(dept), dept, bed.ward_id, room, bed.id, bed.code, stay.id, who.id, who.full_name,
            stay.admitted_at, days,
        )  # fmt: skip

    def dept_id(name: str) -> int:
        return {"Terapiya": h.therapy.id, "Reanimatsiya": h.icu.id}[name]

    # Departments, then wards, by name; beds by number.
    assert board == [
        free(h.icu_beds[0], "Reanimatsiya", "R1"),
        taken(h.icu_beds[1], "Reanimatsiya", "R1", ali, ali_stay, 3),
        free(h.therapy_beds[0], "Terapiya", "101"),
        free(h.therapy_beds[1], "Terapiya", "101"),
        free(h.therapy_beds[2], "Terapiya", "101"),
        taken(h.therapy_beds[3], "Terapiya", "101", vali, vali_stay, 1),
        taken(spare[1], "Terapiya", "102", lone, lone_stay, 1),
    ]
    assert [row.free for row in board] == [True, False, True, True, True, False, False]
    assert [row.bed_id for row in ward_board(session, h.org.id, department_id=h.icu.id, today=today)] == [
        bed.id for bed in h.icu_beds
    ]
    assert ward_board(session, h.org.id, department_id=other.icu.id) == []


def test_occupancy_counts_beds_per_department(session: Session) -> None:
    h = hospital(session, therapy_beds=5, icu_beds=2)
    hospital(session)  # another hospital's beds are not counted
    empty = department(session, h.org, "Kardiologiya")  # inpatient, no beds yet
    department(session, h.org, "Laboratoriya", DepartmentKind.DIAGNOSTIC)  # no beds: not a bed department
    extra = beds(session, ward(session, h.therapy, "103"), 3)
    extra[2].is_active = False  # out of service and free: not a bed to count
    session.flush()
    now = utcnow()
    taken = [h.therapy_beds[0], h.therapy_beds[4], extra[0], h.icu_beds[0]]
    for bed in taken:
        put(session, h, factories.patient(session), bed, now - timedelta(hours=3))

    # Counted from what this test built, not with the service's query.
    therapy_beds = [*h.therapy_beds, *extra[:2]]
    expected = [
        DepartmentOccupancy(empty.id, "Kardiologiya", 0, 0),
        DepartmentOccupancy(h.icu.id, "Reanimatsiya", len(h.icu_beds), sum(bed in taken for bed in h.icu_beds)),
        DepartmentOccupancy(h.therapy.id, "Terapiya", len(therapy_beds), sum(bed in taken for bed in therapy_beds)),
    ]
    rows = occupancy(session, h.org.id)
    assert rows == expected
    assert [(row.beds, row.occupied, row.free) for row in rows] == [(0, 0, 0), (2, 1, 1), (7, 3, 4)]
    assert [row.rate for row in rows] == [0.0, 0.5, 3 / 7]


def test_each_view_is_one_query_whatever_the_number_of_beds(session: Session) -> None:
    h = hospital(session, therapy_beds=12, icu_beds=6)
    for bed in (*h.therapy_beds[::2], *h.icu_beds[:3]):
        put(session, h, factories.patient(session), bed, utcnow() - timedelta(hours=2))
    org_id = h.org.id
    session.expire_all()  # nothing comes from the identity map
    with statements(session) as sent:
        board = ward_board(session, org_id)
    assert len(board) == 18 and sum(not row.free for row in board) == 9
    assert len(sent) == 1
    with statements(session) as sent:
        occupancy(session, org_id)
    assert len(sent) == 1


@given(
    admitted=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    later=st.integers(min_value=0, max_value=400 * 24 * 60),
)
def test_bed_days_count_calendar_days_in_tashkent(admitted: datetime, later: int) -> None:
    on = (admitted + timedelta(minutes=later)).astimezone(TASHKENT).date()
    days = bed_days(admitted, on)
    arrival = admitted.astimezone(TASHKENT).date()
    assert days >= 1
    # The day of arrival counts as one day, and every midnight in Tashkent after it adds one.
    assert days == ((on - arrival).days or 1)
    assert bed_days(admitted, on + timedelta(days=1)) == (on - arrival).days + 1


def test_days_in_hospital_follow_tashkent_midnight() -> None:
    evening = datetime(2025, 3, 1, 18, 30, tzinfo=UTC)  # 23:30 in Tashkent on 1 March
    assert bed_days(evening, date(2025, 3, 1)) == 1
    assert bed_days(evening, date(2025, 3, 2)) == 1
    assert bed_days(evening, date(2025, 3, 3)) == 2


def test_a_bed_entry_made_in_error_does_not_hold_the_bed(session: Session) -> None:
    h = hospital(session, therapy_beds=1, icu_beds=0)
    put(session, h, factories.patient(session), h.therapy_beds[0], utcnow() - timedelta(hours=1))
    entry = session.execute(select(BedAssignment).where(BedAssignment.bed_id == h.therapy_beds[0].id)).scalar_one()
    entry.status_reason, entry.status_changed_at = "Boshqa karavot", utcnow()
    entry.status = RecordStatus.ENTERED_IN_ERROR
    session.flush()
    assert [row.free for row in ward_board(session, h.org.id)] == [True]
    assert [(row.beds, row.occupied) for row in occupancy(session, h.org.id)] == [(0, 0), (1, 0)]

"""The hospital page over HTTP: the ward board with occupancy redrawn only when the hospital's newest stay event
moved on; the doctor admits (from a referral), transfers and discharges; the nurse moves a patient between beds of
one department only; a wrong field, an occupied bed, a forged or foreign id answer with the field named and change
nothing; another hospital's patients are never shown or touched; a manager is refused."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import dash
import plotly.utils
import pytest
from dash import Dash
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app import create_app
from auth.user import PortalUser
from components.hospital_forms import ADMIT_FIELDS, DISCHARGE_FIELDS
from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.models import AuditEvent
from ehealth.clinical import RecordStatus
from ehealth.emr.models import Encounter, EncounterState, Referral, ReferralState
from ehealth.hospital.models import Admission, AdmissionType, BedAssignment, Discharge
from ehealth.hospital.stays import admit
from ehealth.i18n import gettext, language
from ehealth.identifiers import TASHKENT, make_pinfl
from ehealth.patients.models import Patient
from ehealth.reference.models import Bed, Organization
from settings import Settings
from tests import factories, own_database
from tests.dash_calls import call, response_of, text_of
from tests.hospital_factories import actor, hospital, hospital_referral
from tests.signin_checks import sign_in_as

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

REFRESH = ("hospital-board-box.children", "hospital-occupancy-box.children", "hospital-version.data")
FIND = "hospital-admit-patient.children", "hospital-admit-type.value"
ADMIT_BEDS = "hospital-admit-bed.options"
ADMIT_ICD10 = "hospital-admit-icd10.options"
ADMIT = ("hospital-admit-result.children",)
MOVE_CHOICES = "hospital-move-stay.options"
MOVE = ("hospital-move-result.children",)
TRANSFER_CHOICES = "hospital-transfer-stay.options"
TRANSFER = ("hospital-transfer-result.children",)
DISCHARGE_CHOICES = "hospital-discharge-stay.options"
DISCHARGE_TARGETS = "hospital-discharge-target.options"
DISCHARGE = ("hospital-discharge-result.children",)
_surnames = itertools.count(1)


@dataclass(frozen=True)
class Ward:
    """A hospital (therapy: 10 beds, intensive care: 2) with its staff, another hospital with a patient in a bed."""

    organization: int
    therapy: int
    icu: int
    therapy_beds: list[int]
    icu_beds: list[int]
    doctor: int
    nurse: int
    registrar: int
    manager: int
    other_hospital: int
    other_department: int
    other_bed: int
    other_stay: int
    other_patient: str


# This module's own database on each backend: the pages commit stays, events and audit rows that the hospital's unit
def named(session: Session, surname: str | None = None) -> Patient:
    """A patient with a surname of their own, so that the board shows who is who."""
    row = factories.patient(session)
    row.surname = surname or f"Bemor{next(_surnames)}ov"
    session.flush()
    return row


@pytest.fixture(scope="module")
def ward(engine: Engine) -> Ward:
    with Session(engine) as session:
        h = hospital(session, therapy_beds=10, icu_beds=2)
        other = hospital(session, therapy_beds=2, icu_beds=1)
        stranger = named(session, "Begonayev")
        stay = admit(
            session,
            patient_id=stranger.id,
            department_id=other.therapy.id,
            bed_id=other.therapy_beds[0].id,
            admission_type=AdmissionType.EMERGENCY,
            admitted_at=utcnow() - timedelta(days=2),
            icd10_code="J18.9",
            actor=other.as_doctor,
        )
        found = Ward(
            organization=h.org.id,
            therapy=h.therapy.id,
            icu=h.icu.id,
            therapy_beds=[b.id for b in h.therapy_beds],
            icu_beds=[b.id for b in h.icu_beds],
            doctor=h.doctor.id,
            nurse=h.nurse.id,
            registrar=factories.cabinet(session, h.org, Role.REGISTRAR).id,
            manager=factories.cabinet(session, h.org, Role.MANAGER).id,
            other_hospital=other.org.id,
            other_department=other.therapy.id,
            other_bed=other.therapy_beds[1].id,
            other_stay=stay.id,
            other_patient=stranger.surname,
        )
        session.commit()
    return found


@pytest.fixture(scope="module")
def portal(database_url: str, ward: Ward) -> Dash:
    app = create_app(Settings(environment="test", database_url=database_url, secret_key="h" * 40))
    app.server.test_client().get("/healthz")  # the first request moves the pages' callbacks into the app
    return app


@pytest.fixture
def client(portal: Dash) -> Iterator[FlaskClient]:
    with portal.server.test_client() as client:
        yield client


# --- helpers -------------------------------------------------------------------------------------------------------


def tree(component: Any) -> Any:
    """A rendered component as the browser receives it."""
    return json.loads(json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder))


def find(node: Any, component_id: str) -> dict[str, Any] | None:
    """The component with `component_id` inside a serialized tree."""
    if isinstance(node, list):
        return next((hit for item in node if (hit := find(item, component_id)) is not None), None)
    if isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict):
            if props.get("id") == component_id:
                return node
            return next((hit for value in props.values() if (hit := find(value, component_id)) is not None), None)
    return None


def rendered(portal: Dash, engine: Engine, cabinet_id: int) -> Any:
    """The page's layout as `cabinet_id` sees it, serialized."""
    module = dash.page_registry["pages.hospital"]
    with Session(engine) as session:
        who = PortalUser.of(session.get_one(Cabinet, cabinet_id))
    assert who is not None
    with portal.server.test_request_context(module["path"]):
        login_user(who)
        return tree(module["layout"]())


def local(moment: datetime) -> str:
    """A time as the datetime-local input posts it (Tashkent)."""
    return moment.astimezone(TASHKENT).strftime("%Y-%m-%dT%H:%M")


def refresh(
    client: FlaskClient, portal: Dash, seen: object = None, trigger: str = "hospital-tick.n_intervals", **more: Any
) -> Any:
    values = {"hospital-tick.n_intervals": 3, "hospital-version.data": seen, "hospital-department.value": "all"}
    return call(client, portal, REFRESH, values | more, trigger)


def board_of(client: FlaskClient, portal: Dash, **more: Any) -> Any:
    return response_of(refresh(client, portal, **more))["hospital-board-box"]["children"]


def admit_values(ward: Ward, pinfl: str, bed: int, **changes: Any) -> dict[str, Any]:
    now = local(utcnow())
    return {
        "hospital-admit-submit.n_clicks": 1,
        "hospital-admit-pinfl.value": pinfl,
        "hospital-admit-referral.value": "none",
        "hospital-admit-type.value": "emergency",
        "hospital-admit-department.value": str(ward.therapy),
        "hospital-admit-bed.value": str(bed),
        "hospital-admit-icd10.value": "I21.9",
        "hospital-admit-time.value": now,
        "hospital-admit-time-opened.data": now,
    } | changes


def post(client: FlaskClient, portal: Dash, outputs: tuple[str, ...], values: dict[str, Any], trigger: str) -> Any:
    return response_of(call(client, portal, outputs, values, trigger))


def result(answer: dict[str, Any], box: str) -> tuple[str | None, str]:
    """The id of the alert a form answered with, and its text."""
    alert = answer[box]["children"]
    return alert["props"].get("id"), text_of(alert)


def field_named(answer: dict[str, Any], box: str) -> str:
    """The field label an error alert starts with."""
    first = answer[box]["children"]["props"]["children"][0]
    return text_of(first).rstrip(": ")


def shown(msgid: str) -> str:
    """A label as the page shows it (Uzbek, the default language)."""
    with language("uz"):
        return gettext(msgid)


def stays_of(engine: Engine, patient_id: int) -> list[Admission]:
    with Session(engine) as session:
        return list(session.execute(select(Admission).where(Admission.patient_id == patient_id)).scalars())


def open_bed(engine: Engine, admission_id: int) -> int | None:
    with Session(engine) as session:
        return session.execute(
            select(BedAssignment.bed_id).where(
                BedAssignment.admission_id == admission_id,
                BedAssignment.ended_at.is_(None),
                BedAssignment.status == RecordStatus.ACTIVE,
            )
        ).scalar_one_or_none()


def occupied_beds(engine: Engine, organization_id: int) -> int:
    """Counted apart from the board's query: open assignments on the organization's beds."""
    with Session(engine) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(BedAssignment)
                .join(Bed, Bed.id == BedAssignment.bed_id)
                .where(
                    Bed.organization_id == organization_id,
                    BedAssignment.ended_at.is_(None),
                    BedAssignment.status == RecordStatus.ACTIVE,
                )
            )
            or 0
        )


def snapshot(engine: Engine) -> tuple[int, int, int, list[tuple[Any, ...]]]:
    """Everything a hospital form could change."""
    with Session(engine) as session:
        counts = [session.scalar(select(func.count()).select_from(m)) or 0 for m in (Admission, Discharge, Referral)]
        beds = session.execute(
            select(BedAssignment.id, BedAssignment.bed_id, BedAssignment.ended_at).order_by(BedAssignment.id)
        ).all()
        return counts[0], counts[1], counts[2], [tuple(row) for row in beds]


def new_patient(engine: Engine, surname: str | None = None, referred_by: int | None = None) -> tuple[int, str, str]:
    """A committed patient (id, PINFL, surname), with a hospital referral to `referred_by` if given."""
    with Session(engine) as session:
        who = named(session, surname)
        if referred_by is not None:
            hospital_referral(session, who, target=session.get_one(Organization, referred_by))
        session.commit()
        return who.id, who.pinfl, who.surname


def put_in_bed(engine: Engine, ward: Ward, bed: int, department: int | None = None) -> tuple[int, int, str]:
    """A patient admitted by the service straight into `bed` (patient id, admission id, surname)."""
    patient_id, _pinfl, surname = new_patient(engine)
    with Session(engine) as session:
        stay = admit(
            session,
            patient_id=patient_id,
            department_id=department or ward.therapy,
            bed_id=bed,
            admission_type=AdmissionType.EMERGENCY,
            admitted_at=utcnow() - timedelta(hours=5),
            icd10_code="I10",
            actor=actor(session.get_one(Cabinet, ward.doctor)),
        )
        session.commit()
        return patient_id, stay.id, surname


def free_therapy_bed(engine: Engine, ward: Ward) -> int:
    with Session(engine) as session:
        taken = set(
            session.execute(
                select(BedAssignment.bed_id).where(
                    BedAssignment.ended_at.is_(None), BedAssignment.status == RecordStatus.ACTIVE
                )
            ).scalars()
        )
    return next(bed for bed in ward.therapy_beds if bed not in taken)


# --- the board -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["doctor", "nurse", "registrar"])
def test_the_board_opens_for_clinicians_with_their_own_forms_and_is_audited_once(
    portal: Dash, engine: Engine, ward: Ward, role: str
) -> None:
    cabinet = getattr(ward, role)

    def viewed() -> int:
        with Session(engine) as session:
            query = select(func.count()).where(
                AuditEvent.action == "hospital.board.viewed", AuditEvent.actor_id == cabinet
            )
            return session.scalar(query) or 0

    before = viewed()
    page = rendered(portal, engine, cabinet)
    assert viewed() == before + 1
    assert find(page, "hospital-occupancy") is not None and find(page, "hospital-board") is not None
    assert find(page, "hospital-tick")["props"]["interval"] == 2000  # type: ignore[index]
    forms = {
        form: find(page, f"hospital-{form}-card") is not None for form in ("admit", "transfer", "discharge", "move")
    }
    assert (
        forms
        == {
            "doctor": {"admit": True, "transfer": True, "discharge": True, "move": False},
            "nurse": {"admit": False, "transfer": False, "discharge": False, "move": True},
            "registrar": {"admit": False, "transfer": False, "discharge": False, "move": False},
        }[role]
    )
    assert ward.other_patient not in json.dumps(page)  # another hospital's patient is never on this board
    with portal.server.test_client() as client:
        sign_in_as(client, cabinet)
        response_of(refresh(client, portal))
    assert viewed() == before + 1  # a refresh is not a new view


def test_a_manager_gets_neither_the_page_nor_its_callbacks(
    client: FlaskClient, portal: Dash, engine: Engine, ward: Ward
) -> None:
    assert rendered(portal, engine, ward.manager)["props"]["id"] == "guard-denied"
    sign_in_as(client, ward.manager)
    assert refresh(client, portal).status_code == 403
    values = admit_values(ward, "30101900060013", ward.therapy_beds[0])
    assert call(client, portal, ADMIT, values, "hospital-admit-submit.n_clicks").status_code == 403
    assert (
        call(client, portal, MOVE, {"hospital-move-submit.n_clicks": 1}, "hospital-move-submit.n_clicks").status_code
        == 403
    )


def test_the_refresh_answers_nothing_until_the_board_changes(
    client: FlaskClient, portal: Dash, engine: Engine, ward: Ward
) -> None:
    sign_in_as(client, ward.registrar)
    first = response_of(refresh(client, portal))
    seen = first["hospital-version"]["data"]
    assert refresh(client, portal, seen).status_code == 204  # nothing changed: no board is drawn or sent
    # Another hospital's admission is not this board's change.
    with Session(engine) as session:
        stranger = named(session)
        other_doctor = factories.cabinet(session, session.get_one(Organization, ward.other_hospital))
        admit(
            session,
            patient_id=stranger.id,
            department_id=ward.other_department,
            bed_id=ward.other_bed,
            admission_type=AdmissionType.EMERGENCY,
            admitted_at=utcnow(),
            icd10_code="I10",
            actor=actor(other_doctor),
        )
        session.commit()
    assert refresh(client, portal, seen).status_code == 204
    bed = free_therapy_bed(engine, ward)
    _patient, _stay, surname = put_in_bed(engine, ward, bed)
    answer = response_of(refresh(client, portal, seen))
    assert answer["hospital-version"]["data"]["event"] > seen["event"]
    row = find(answer["hospital-board-box"]["children"], f"hospital-bed-{bed}")
    assert surname in text_of(row)
    # A filter change always redraws, and a forged or foreign department shows nothing of anyone.
    for department, visible in ((str(ward.icu), False), (str(ward.other_department), False), ("x", True)):
        board = board_of(
            client,
            portal,
            seen=answer["hospital-version"]["data"],
            trigger="hospital-department.value",
            **{"hospital-department.value": department},
        )
        assert (surname in json.dumps(board)) is visible
        assert ward.other_patient not in json.dumps(board)
    # A drawing older than a minute is redrawn even without a new event.
    stale = answer["hospital-version"]["data"] | {"at": answer["hospital-version"]["data"]["at"] - 120}
    assert refresh(client, portal, stale).status_code == 200
    for garbage in ("x", {"event": "1; drop", "at": "soon"}, {"event": 10**30, "at": float("1e300")}, [1]):
        assert refresh(client, portal, garbage).status_code in (200, 204)


# --- admission -----------------------------------------------------------------------------------------------------


def test_a_doctor_admits_from_a_referral_and_every_screen_shows_the_patient(
    client: FlaskClient, portal: Dash, engine: Engine, ward: Ward
) -> None:
    patient_id, pinfl, surname = new_patient(engine, "Qabulov", referred_by=ward.organization)
    with Session(engine) as session:
        referral_id = session.execute(select(Referral.id).where(Referral.patient_id == patient_id)).scalar_one()
    sign_in_as(client, ward.doctor)
    found = post(
        client,
        portal,
        FIND,
        {"hospital-admit-find.n_clicks": 1, "hospital-admit-pinfl.value": pinfl},
        "hospital-admit-find.n_clicks",
    )
    assert surname in text_of(found["hospital-admit-patient"]["children"])
    assert found["hospital-admit-referral"]["value"] == str(referral_id)
    assert [o["value"] for o in found["hospital-admit-referral"]["options"]] == ["none", str(referral_id)]
    assert found["hospital-admit-type"]["value"] == "planned"

    beds = post(
        client,
        portal,
        (ADMIT_BEDS,),
        {"hospital-admit-department.value": str(ward.therapy)},
        "hospital-admit-department.value",
    )
    offered = [o["value"] for o in beds["hospital-admit-bed"]["options"]]
    bed = free_therapy_bed(engine, ward)
    assert str(bed) in offered and all(int(v) in ward.therapy_beds for v in offered)
    codes = post(
        client,
        portal,
        (ADMIT_ICD10,),
        {"hospital-admit-icd10.search_value": "I10"},
        "hospital-admit-icd10.search_value",
    )
    assert "I10" in [o["value"] for o in codes["hospital-admit-icd10"]["options"]]

    occupied_before = occupied_beds(engine, ward.organization)
    values = admit_values(
        ward,
        pinfl,
        bed,
        **{
            "hospital-admit-referral.value": str(referral_id),
            "hospital-admit-type.value": "planned",
            "hospital-admit-icd10.value": "I10",
        },
    )
    answer = post(client, portal, ADMIT, values, "hospital-admit-submit.n_clicks")
    assert result(answer, "hospital-admit-result")[0] == "hospital-admit-done"
    assert surname in result(answer, "hospital-admit-result")[1]
    assert answer["hospital-signal"]["data"]  # the board is redrawn at once
    assert answer["hospital-admit-pinfl"]["value"] == ""  # ready for the next patient

    [stay] = stays_of(engine, patient_id)
    assert (stay.organization_id, stay.department_id, stay.icd10_code, stay.referral_id) == (
        ward.organization,
        ward.therapy,
        "I10",
        referral_id,
    )
    assert open_bed(engine, stay.id) == bed
    assert abs((stay.admitted_at - utcnow()).total_seconds()) < 120  # the untouched time means now
    with Session(engine) as session:
        referral = session.get_one(Referral, referral_id)
        assert referral.state == ReferralState.COMPLETED and referral.completed_encounter_id == stay.encounter_id
        assert session.get_one(Encounter, stay.encounter_id).state == EncounterState.OPEN

    # The nurse's and the registrar's boards show the patient in the bed; the counts match a count of their own.
    for cabinet in (ward.nurse, ward.registrar):
        sign_in_as(client, cabinet)
        answer = response_of(refresh(client, portal))
        link = find(answer["hospital-board-box"]["children"], f"hospital-bed-patient-{bed}")
        assert link is not None and link["props"]["href"] == f"/patient/{patient_id}"
        assert surname in text_of(link)
        total = find(answer["hospital-occupancy-box"]["children"], "hospital-occupancy-total")
        cells = [text_of(cell) for cell in total["props"]["children"]]  # type: ignore[index]
        assert int(cells[2]) == occupied_beds(engine, ward.organization) == occupied_before + 1
        assert int(cells[1]) == len(ward.therapy_beds) + len(ward.icu_beds)

    # Found again: already in this hospital, and a second admission is refused.
    sign_in_as(client, ward.doctor)
    again = post(
        client,
        portal,
        FIND,
        {"hospital-admit-find.n_clicks": 1, "hospital-admit-pinfl.value": pinfl},
        "hospital-admit-find.n_clicks",
    )
    assert find(again["hospital-admit-patient"]["children"], "hospital-admit-already") is not None
    before = snapshot(engine)
    refused = post(
        client,
        portal,
        ADMIT,
        admit_values(ward, pinfl, free_therapy_bed(engine, ward)),
        "hospital-admit-submit.n_clicks",
    )
    assert result(refused, "hospital-admit-result")[0] == "hospital-admit-error"
    assert snapshot(engine) == before


def test_an_occupied_bed_and_wrong_fields_are_named_and_nothing_is_saved(
    client: FlaskClient, portal: Dash, engine: Engine, ward: Ward
) -> None:
    taken = free_therapy_bed(engine, ward)
    put_in_bed(engine, ward, taken)
    patient_id, pinfl, _surname = new_patient(engine)
    sign_in_as(client, ward.doctor)
    future = local(utcnow() + timedelta(hours=3))
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "bed_id"),  # the bed is taken
        ({"hospital-admit-pinfl.value": ""}, "pinfl"),
        ({"hospital-admit-pinfl.value": "12345"}, "pinfl"),
        ({"hospital-admit-pinfl.value": make_pinfl(date(1950, 1, 1), "male", 999, 999)}, "pinfl"),  # nobody's
        ({"hospital-admit-department.value": None}, "department_id"),
        ({"hospital-admit-bed.value": "x"}, "bed_id"),
        ({"hospital-admit-type.value": "walked in"}, "admission_type"),
        ({"hospital-admit-icd10.value": "XYZ"}, "icd10_code"),
        ({"hospital-admit-icd10.value": None}, "icd10_code"),
        ({"hospital-admit-time.value": future}, "admitted_at"),
        ({"hospital-admit-time.value": "yesterday"}, "admitted_at"),
        ({"hospital-admit-department.value": str(ward.icu)}, "bed_id"),  # a therapy bed is not in intensive care
    ]
    free = free_therapy_bed(engine, ward)
    before = snapshot(engine)
    for changes, named_field in cases:
        # Each case is right but for the one field it changes (the first, only for the occupied bed).
        values = admit_values(ward, pinfl, free if changes else taken, **changes)
        answer = post(client, portal, ADMIT, values, "hospital-admit-submit.n_clicks")
        alert_id, message = result(answer, "hospital-admit-result")
        assert alert_id == "hospital-admit-error", (changes, message)
        assert field_named(answer, "hospital-admit-result") == shown(ADMIT_FIELDS[named_field]), (changes, message)
    # Enter in the time field submits the form as the button does.
    enter = admit_values(ward, pinfl, taken) | {
        "hospital-admit-submit.n_clicks": None,
        "hospital-admit-time.n_submit": 1,
    }
    answer = post(client, portal, ADMIT, enter, "hospital-admit-time.n_submit")
    assert field_named(answer, "hospital-admit-result") == shown(ADMIT_FIELDS["bed_id"])
    assert snapshot(engine) == before
    assert stays_of(engine, patient_id) == []


def test_forged_and_foreign_ids_are_refused_and_change_nothing(
    client: FlaskClient, portal: Dash, engine: Engine, ward: Ward
) -> None:
    patient_id, pinfl, _surname = new_patient(engine)
    elsewhere, _pinfl, _name = new_patient(engine, referred_by=ward.other_hospital)  # another patient's referral
    with Session(engine) as session:
        foreign_referral = session.execute(select(Referral.id).where(Referral.patient_id == elsewhere)).scalar_one()
    bed = free_therapy_bed(engine, ward)
    sign_in_as(client, ward.doctor)
    before = snapshot(engine)
    forged: list[dict[str, Any]] = [
        {"hospital-admit-bed.value": str(ward.other_bed)},  # another hospital's free bed
        {"hospital-admit-department.value": str(ward.other_department)},
        {"hospital-admit-referral.value": str(foreign_referral)},
        {"hospital-admit-referral.value": "99999999999999999999999"},
        {"hospital-admit-bed.value": -1},
        {"hospital-admit-bed.value": [bed]},
        {"hospital-admit-department.value": {"id": ward.therapy}},
        {"hospital-admit-time.value": ["2024-01-01T10:00"]},
        {"hospital-admit-icd10.value": {"code": "I10"}},
        {"hospital-admit-pinfl.value": 30101900060013},
    ]
    for changes in forged:
        answer = post(
            client, portal, ADMIT, admit_values(ward, pinfl, bed, **changes), "hospital-admit-submit.n_clicks"
        )
        assert result(answer, "hospital-admit-result")[0] == "hospital-admit-error", changes
    # Another hospital's stay: not found by any form, never moved or discharged.
    now = local(utcnow())
    attempts = [
        (
            MOVE,
            {
                "hospital-move-submit.n_clicks": 1,
                "hospital-move-stay.value": str(ward.other_stay),
                "hospital-move-bed.value": str(ward.other_bed),
                "hospital-move-time.value": now,
                "hospital-move-time-opened.data": now,
            },
            ward.nurse,
            "hospital-move",
        ),
        (
            TRANSFER,
            {
                "hospital-transfer-submit.n_clicks": 1,
                "hospital-transfer-stay.value": str(ward.other_stay),
                "hospital-transfer-department.value": str(ward.other_department),
                "hospital-transfer-bed.value": str(ward.other_bed),
                "hospital-transfer-time.value": now,
                "hospital-transfer-time-opened.data": now,
            },
            ward.doctor,
            "hospital-transfer",
        ),
        (
            DISCHARGE,
            {
                "hospital-discharge-submit.n_clicks": 1,
                "hospital-discharge-stay.value": str(ward.other_stay),
                "hospital-discharge-outcome.value": "recovered",
                "hospital-discharge-icd10.value": "J18.9",
                "hospital-discharge-summary.value": "Sog'aydi",
                "hospital-discharge-time.value": now,
                "hospital-discharge-time-opened.data": now,
            },
            ward.doctor,
            "hospital-discharge",
        ),
    ]
    for outputs, values, cabinet, prefix in attempts:
        sign_in_as(client, cabinet)
        answer = post(client, portal, outputs, values, f"{prefix}-submit.n_clicks")
        assert result(answer, f"{prefix}-result")[0] == f"{prefix}-error"
        for garbage in (None, "x", "99999999999999999999999", -1, [1], {"a": 1}):
            for field in ("stay", "bed", "time"):
                key = f"{prefix}-{field}.value"
                if key in values:
                    answer = post(client, portal, outputs, values | {key: garbage}, f"{prefix}-submit.n_clicks")
                    assert result(answer, f"{prefix}-result")[0] == f"{prefix}-error", (key, garbage)
    assert snapshot(engine) == before
    assert open_bed(engine, ward.other_stay) is not None and stays_of(engine, patient_id) == []
    # The forms' lists never offer another hospital's patients or beds.
    sign_in_as(client, ward.doctor)
    choices = post(
        client,
        portal,
        (TRANSFER_CHOICES,),
        {"hospital-transfer-department.value": str(ward.other_department)},
        "hospital-transfer-department.value",
    )
    assert choices["hospital-transfer-bed"]["options"] == []
    assert str(ward.other_stay) not in [o["value"] for o in choices["hospital-transfer-stay"]["options"]]


# --- moves and discharge -------------------------------------------------------------------------------------------


def test_the_nurse_moves_within_the_department_and_the_doctor_transfers_and_discharges(
    client: FlaskClient, portal: Dash, engine: Engine, ward: Ward
) -> None:
    first = free_therapy_bed(engine, ward)
    patient_id, stay, surname = put_in_bed(engine, ward, first)
    now = local(utcnow())

    sign_in_as(client, ward.nurse)
    choices = post(client, portal, (MOVE_CHOICES,), {"hospital-move-stay.value": str(stay)}, "hospital-move-stay.value")
    assert str(stay) in [o["value"] for o in choices["hospital-move-stay"]["options"]]
    free = [int(o["value"]) for o in choices["hospital-move-bed"]["options"]]
    assert free and set(free) <= set(ward.therapy_beds) - {first}  # only the same department's free beds
    move = {
        "hospital-move-submit.n_clicks": 1,
        "hospital-move-stay.value": str(stay),
        "hospital-move-time.value": now,
        "hospital-move-time-opened.data": now,
    }
    before = snapshot(engine)
    across = post(
        client,
        portal,
        MOVE,
        move | {"hospital-move-bed.value": str(ward.icu_beds[-1])},
        "hospital-move-submit.n_clicks",
    )
    assert result(across, "hospital-move-result")[0] == "hospital-move-error"  # intensive care is another department
    assert snapshot(engine) == before
    moved = post(
        client, portal, MOVE, move | {"hospital-move-bed.value": str(free[0])}, "hospital-move-submit.n_clicks"
    )
    assert (
        result(moved, "hospital-move-result")[0] == "hospital-move-done"
        and surname in result(moved, "hospital-move-result")[1]
    )
    assert open_bed(engine, stay) == free[0]
    # The department transfer, admission and discharge are the doctor's.
    transfer = {
        "hospital-transfer-submit.n_clicks": 1,
        "hospital-transfer-stay.value": str(stay),
        "hospital-transfer-department.value": str(ward.icu),
        "hospital-transfer-bed.value": str(ward.icu_beds[-1]),
        "hospital-transfer-time.value": now,
        "hospital-transfer-time-opened.data": now,
    }
    assert call(client, portal, TRANSFER, transfer, "hospital-transfer-submit.n_clicks").status_code == 403
    assert call(client, portal, (TRANSFER_CHOICES,), {}, "hospital-transfer-department.value").status_code == 403
    assert (
        call(client, portal, ADMIT, {"hospital-admit-submit.n_clicks": 1}, "hospital-admit-submit.n_clicks").status_code
        == 403
    )
    assert (
        call(
            client, portal, DISCHARGE, {"hospital-discharge-submit.n_clicks": 1}, "hospital-discharge-submit.n_clicks"
        ).status_code
        == 403
    )
    assert open_bed(engine, stay) == free[0]

    sign_in_as(client, ward.doctor)
    assert (
        call(
            client, portal, MOVE, move | {"hospital-move-bed.value": str(first)}, "hospital-move-submit.n_clicks"
        ).status_code
        == 403
    )
    choices = post(
        client,
        portal,
        (TRANSFER_CHOICES,),
        {"hospital-transfer-department.value": str(ward.icu)},
        "hospital-transfer-department.value",
    )
    assert {int(o["value"]) for o in choices["hospital-transfer-bed"]["options"]} <= set(ward.icu_beds)
    done = post(client, portal, TRANSFER, transfer, "hospital-transfer-submit.n_clicks")
    assert result(done, "hospital-transfer-result")[0] == "hospital-transfer-done"
    assert open_bed(engine, stay) == ward.icu_beds[-1]
    with Session(engine) as session:
        moves = (
            session.execute(
                select(BedAssignment.department_id).where(BedAssignment.admission_id == stay).order_by(BedAssignment.id)
            )
            .scalars()
            .all()
        )
    assert list(moves) == [ward.therapy, ward.therapy, ward.icu]

    listed = post(
        client,
        portal,
        (DISCHARGE_CHOICES,),
        {"hospital-discharge-stay.value": str(stay)},
        "hospital-board-for-doctor.data",
    )
    assert str(stay) in [o["value"] for o in listed["hospital-discharge-stay"]["options"]]
    discharge = {
        "hospital-discharge-submit.n_clicks": 1,
        "hospital-discharge-stay.value": str(stay),
        "hospital-discharge-outcome.value": "improved",
        "hospital-discharge-icd10.value": "I10",
        "hospital-discharge-summary.value": "",
        "hospital-discharge-time.value": now,
        "hospital-discharge-time-opened.data": now,
    }
    before = snapshot(engine)
    for changes, field in (
        ({}, "summary"),
        (
            {"hospital-discharge-summary.value": "Yaxshi", "hospital-discharge-outcome.value": "transferred"},
            "transferred_to_id",
        ),
        ({"hospital-discharge-summary.value": "Yaxshi", "hospital-discharge-icd10.value": ""}, "final_icd10"),
    ):
        refused = post(client, portal, DISCHARGE, discharge | changes, "hospital-discharge-submit.n_clicks")
        assert result(refused, "hospital-discharge-result")[0] == "hospital-discharge-error"
        assert field_named(refused, "hospital-discharge-result") == shown(DISCHARGE_FIELDS[field])
    assert snapshot(engine) == before
    summary = "Ahvoli yaxshilandi.\nUyga javob berildi."
    done = post(
        client,
        portal,
        DISCHARGE,
        discharge | {"hospital-discharge-summary.value": summary},
        "hospital-discharge-submit.n_clicks",
    )
    assert result(done, "hospital-discharge-result")[0] == "hospital-discharge-done"
    assert open_bed(engine, stay) is None
    with Session(engine) as session:
        row = session.execute(select(Discharge).where(Discharge.admission_id == stay)).scalar_one()
        assert (row.outcome, row.icd10_code, row.organization_id) == ("improved", "I10", ward.organization)
        encounter = session.get_one(Encounter, session.get_one(Admission, stay).encounter_id)
        assert encounter.state == EncounterState.CLOSED
    board = board_of(client, portal)
    assert surname not in json.dumps(board)
    assert patient_id  # the patient's record stays; only the stay ended


def test_the_transfer_hospital_is_searched_among_other_hospitals(
    client: FlaskClient, portal: Dash, engine: Engine, ward: Ward
) -> None:
    sign_in_as(client, ward.doctor)
    assert (
        call(
            client,
            portal,
            ("hospital-discharge-target.disabled",),
            {"hospital-discharge-outcome.value": "transferred"},
            "hospital-discharge-outcome.value",
        ).get_json()["response"]["hospital-discharge-target"]["disabled"]
        is False
    )
    answer = post(
        client,
        portal,
        (DISCHARGE_TARGETS,),
        {"hospital-discharge-target.search_value": "hospital"},
        "hospital-discharge-target.search_value",
    )
    offered = [int(o["value"]) for o in answer["hospital-discharge-target"]["options"]]
    assert ward.other_hospital in offered and ward.organization not in offered

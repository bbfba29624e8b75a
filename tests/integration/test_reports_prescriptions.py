"""The prescriptions and pharmacy reports against known data: prescriptions issued, dispensed, cancelled and expired
through the services, every figure checked against a hand-computed expectation and a recount over plain rows
(other organizations, the period's edges, the department filter and withdrawn records left out)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.clinical import RecordStatus
from ehealth.emr.models import Encounter
from ehealth.i18n import gettext, language
from ehealth.identifiers import TASHKENT
from ehealth.patients.models import Patient
from ehealth.prescription.confirmation import OneIdSession
from ehealth.prescription.dispensing import DispenseLine, dispense
from ehealth.prescription.lifecycle import cancel, expire_due, state_on
from ehealth.prescription.models import (
    Dispense,
    Prescription,
    PrescriptionCategory,
    PrescriptionItem,
    PrescriptionState,
)
from ehealth.prescription.prescribing import ItemInput, Order, issue_with_session
from ehealth.reference.models import Department, Drug, DrugCategory, Organization, OrganizationKind
from ehealth.reports import pharmacy as pharmacy_report
from ehealth.reports import prescriptions as rx_report
from ehealth.reports.base import REGISTRY, Report, Scope, Table, build, offered
from tests import emr_factories, factories
from tests.prescription_factories import CONFIRMER, catalogue

AMOXICILLIN = "J01CA04"
AZITHROMYCIN = "J01FA10"
AMLODIPINE = "C08CA01"
LISINOPRIL = "C09AA03"
TRAMADOL = "N02AX02"
FLUCONAZOLE = "J02AC01"  # an antimycotic: J0 but not J01, so not an antibiotic of the report

START, END = date(2026, 3, 1), date(2026, 3, 31)


def at(day: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A Tashkent wall-clock moment, in UTC (the prescription's seal covers the issue time as stored: UTC)."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=TASHKENT).astimezone(UTC)


def scope_of(org: Organization, start: date = START, end: date = END, department: Department | None = None) -> Scope:
    """The report scope of `org` over [start, end] (and a department)."""
    return Scope(
        organization_id=org.id,
        organization_name=org.name,
        organization_kind=OrganizationKind(org.kind),
        start=start,
        end=end,
        department_id=department.id if department else None,
        department_name=department.name if department else None,
    )


def column(table: Table, key: str) -> list[object]:
    """The values of one column of a table's rows."""
    index = table.column(key)
    return [row[index] for row in table.rows]


def doctor_named(session: Session, org: Organization, surname: str, role: Role = Role.DOCTOR) -> Cabinet:
    """A cabinet of `org` with its own surname, so that rows sorted by name are told apart."""
    cabinet = factories.cabinet(session, org, role)
    cabinet.surname = surname
    session.flush()
    return cabinet


@dataclass
class Place:
    """An organization's doctors and departments, a pharmacy and its pharmacist, and the drug catalogue."""

    org: Organization
    drugs: dict[str, Drug]
    pharmacy: Organization
    pharmacist: Cabinet
    departments: list[Department] = field(default_factory=list)

    def issue(
        self,
        session: Session,
        doctor: Cabinet,
        when: datetime,
        *atcs: str,
        department: Department | None = None,
        category: str = "regular",
        icd10: str = "J18.9",
    ) -> Prescription:
        """A prescription of `atcs` for a new patient, from a new visit (in `department`), issued at `when`."""
        patient = factories.patient(session)
        visit = factories.encounter(session, self.org, doctor, patient, start=when - timedelta(minutes=10))
        visit.department_id = department.id if department else None
        session.flush()
        items = []
        for atc in atcs:
            drug = self.drugs[atc]
            items.append(
                ItemInput(
                    drug_id=drug.id,
                    dose=drug.usual_dose,
                    intakes_per_day=drug.usual_intakes,
                    duration_days=min(drug.usual_days, 5),
                )
            )
        order = Order(
            patient_id=patient.id, encounter_id=visit.id, icd10_code=icd10, category=category, items=tuple(items)
        )
        return issue_with_session(
            session,
            order,
            (),
            actor=emr_factories.actor(doctor),
            oneid=OneIdSession(doctor.id, utcnow()),
            confirmer=CONFIRMER,
            now=when,
        )

    def give(
        self,
        session: Session,
        prescription: Prescription,
        when: datetime,
        *,
        only: str | None = None,
        quantity: int | None = None,
        pharmacist: Cabinet | None = None,
        batch: str = "AT2603001",
    ) -> list[Dispense]:
        """Hand over every item left (or only the INN `only`, `quantity` of it) at the pharmacy at `when`."""
        items = session.execute(
            select(PrescriptionItem)
            .where(PrescriptionItem.prescription_id == prescription.id)
            .order_by(PrescriptionItem.line)
        ).scalars()
        lines = [
            DispenseLine(item.id, quantity or item.remaining, item.drug_id, "1 quti", batch)
            for item in items
            if only is None or item.inn == only
        ]
        patient = session.get(Patient, prescription.patient_id)
        assert patient is not None
        return dispense(
            session,
            prescription.number,
            patient.pinfl,
            lines,
            actor=emr_factories.actor(pharmacist or self.pharmacist),
            confirmer=CONFIRMER,
            now=when,
        )


def place_of(session: Session, kind: OrganizationKind = OrganizationKind.HOSPITAL) -> Place:
    """A fresh organization of `kind` with two departments, and a contracted pharmacy with its pharmacist."""
    org = factories.organization(session, kind)
    pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
    pharmacy.reimbursement_contract = True
    pharmacist = doctor_named(session, pharmacy, "Rahimova", Role.PHARMACIST)
    place = Place(org, catalogue(session), pharmacy, pharmacist)
    place.departments = [emr_factories.department(session, org), emr_factories.department(session, org)]
    return place


def fluconazole(session: Session) -> Drug:
    """An antimycotic for systemic use (ATC J02), which the demo catalogue lacks."""
    row = Drug(
        inn="Flukonazol",
        brand="Diflyukan",
        form="kapsula",
        strength="150 mg",
        unit="kapsula",
        pack_size=1,
        atc_code=FLUCONAZOLE,
        category=DrugCategory.PRESCRIPTION,
        dose_unit="kapsula",
        doses_per_unit=1,
        usual_dose=1,
        usual_intakes=1,
        usual_days=1,
        route="og'iz orqali",
    )
    session.add(row)
    session.flush()
    return row


def written_dispense(
    session: Session, item: PrescriptionItem, place: Place, when: datetime, drug_id: int | None = None
) -> Dispense:
    """A dispense row written directly (for what the dispensing service would refuse, or a withdrawn one)."""
    row = Dispense(
        patient_id=item.patient_id,
        organization_id=place.pharmacy.id,
        created_by=place.pharmacist.id,
        prescription_id=item.prescription_id,
        item_id=item.id,
        drug_id=drug_id or item.drug_id,
        quantity=1,
        strength=item.strength,
        pack="1 quti",
        batch_number="WR2603001",
        dispensed_at=when,
    )
    session.add(row)
    session.flush()
    return row


def first_item(session: Session, prescription: Prescription) -> PrescriptionItem:
    """The first line of a prescription."""
    return session.execute(
        select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id, PrescriptionItem.line == 1)
    ).scalar_one()


def withdraw(session: Session, row: Prescription | Dispense) -> None:
    """Mark a record entered in error (it then counts nowhere)."""
    row.status, row.status_reason, row.status_changed_at = RecordStatus.ENTERED_IN_ERROR, "Xato kiritilgan", utcnow()
    session.flush()


# --- the prescriptions report ---------------------------------------------------------------------------------------


@dataclass
class Issued:
    """The known data of the prescriptions report."""

    place: Place
    first: Cabinet  # "Aliyev": four prescriptions in the period
    second: Cabinet  # "Boboyev": five
    rx: dict[str, Prescription]


@pytest.fixture
def issued(session: Session) -> Issued:
    """Prescriptions in March 2026 in every state, with their edges, another organization's and a withdrawn one."""
    place = place_of(session)
    dept1, dept2 = place.departments
    first = doctor_named(session, place.org, "Aliyev")
    second = doctor_named(session, place.org, "Boboyev")
    rx: dict[str, Prescription] = {}
    # P1: the very first instant of the period; two antibiotics (one antibiotic prescription), dispensed in full 10
    # hours later.
    rx["p1"] = place.issue(session, first, at(START), AMOXICILLIN, AZITHROMYCIN, department=dept1)
    place.give(session, rx["p1"], at(START, 10))
    # P2: amlodipine and an antibiotic; only amlodipine handed over, 48 hours later.
    rx["p2"] = place.issue(session, first, at(date(2026, 3, 5), 9), AMLODIPINE, AMOXICILLIN, department=dept1)
    place.give(session, rx["p2"], at(date(2026, 3, 7), 9), only="Amlodipin")
    # P3: dispensed after 96 hours; a withdrawn dispense 24 hours after the issue must not shorten that.
    rx["p3"] = place.issue(session, first, at(date(2026, 3, 10), 12), AMLODIPINE, department=dept2)
    place.give(session, rx["p3"], at(date(2026, 3, 14), 12))
    withdraw(session, written_dispense(session, first_item(session, rx["p3"]), place, at(date(2026, 3, 11), 12)))
    # P4: controlled, valid 15 days, never dispensed: expired by 31 March although no sweep marked it.
    rx["p4"] = place.issue(
        session, second, at(date(2026, 3, 10), 8), TRAMADOL, department=dept2, category="controlled", icd10="M54.5"
    )
    # P5: controlled, expired by the nightly sweep.
    rx["p5"] = place.issue(
        session, second, at(date(2026, 3, 2), 8), TRAMADOL, department=dept1, category="controlled", icd10="M54.5"
    )
    assert expire_due(session, today=date(2026, 3, 20)) >= 1
    # P6: an antibiotic cancelled by its prescriber the next day.
    rx["p6"] = place.issue(session, second, at(date(2026, 3, 20), 10), AZITHROMYCIN, department=dept2)
    cancel(
        session, rx["p6"].id, reason="Dozasi noto'g'ri", actor=emr_factories.actor(second), now=at(date(2026, 3, 21))
    )
    # P7: the last second of the period, dispensed after the period ended, exactly 24 hours later: counted (dispenses
    # are followed up to now), and within 24 hours.
    rx["p7"] = place.issue(session, second, at(END, 23, 59, 59), AMLODIPINE, department=dept1)
    place.give(session, rx["p7"], at(END, 23, 59, 59) + timedelta(hours=24))
    # P8: no department (counted for the organization, in no department's report); an antimycotic, which is not an
    # antibiotic; its only dispense was withdrawn, so it is still active and not dispensed.
    place.drugs[FLUCONAZOLE] = fluconazole(session)
    rx["p8"] = place.issue(session, first, at(date(2026, 3, 15), 11), LISINOPRIL, FLUCONAZOLE)
    withdraw(session, written_dispense(session, first_item(session, rx["p8"]), place, at(date(2026, 3, 15), 12)))
    # P9: two items of the same INN (written directly: the prescribing form refuses a repeated medicine).
    visit = factories.encounter(session, place.org, second, factories.patient(session), start=at(date(2026, 3, 25), 9))
    visit.department_id = dept2.id
    rx["p9"] = emr_factories.prescription(session, visit, at(date(2026, 3, 25), 9, 30))
    line = session.execute(select(PrescriptionItem).where(PrescriptionItem.prescription_id == rx["p9"].id)).scalar_one()
    session.add(
        PrescriptionItem(
            prescription_id=line.prescription_id,
            patient_id=line.patient_id,
            line=2,
            drug_id=line.drug_id,
            inn=line.inn,
            form=line.form,
            strength=line.strength,
            dose=line.dose,
            dose_unit=line.dose_unit,
            intakes_per_day=line.intakes_per_day,
            route=line.route,
            duration_days=line.duration_days,
            quantity=line.quantity,
        )
    )
    session.flush()
    # Not counted: a second before the period, the first instant after it, withdrawn, another organization's.
    rx["x_before"] = place.issue(session, first, at(START) - timedelta(seconds=1), AMOXICILLIN, department=dept1)
    rx["x_after"] = place.issue(session, first, at(END + timedelta(days=1)), AMOXICILLIN, department=dept1)
    rx["x_withdrawn"] = place.issue(session, first, at(date(2026, 3, 12), 9), AZITHROMYCIN, department=dept1)
    withdraw(session, rx["x_withdrawn"])
    other = place_of(session, OrganizationKind.POLYCLINIC)
    rx["x_other"] = other.issue(
        session, doctor_named(session, other.org, "Boshqa"), at(date(2026, 3, 12), 9), AMOXICILLIN
    )
    place.give(session, rx["x_other"], at(date(2026, 3, 12), 10))
    return Issued(place, first, second, rx)


@dataclass
class Recount:
    """The report's figures counted another way."""

    states: Counter[PrescriptionState]
    issued: int
    antibiotic: int
    hours: list[float]
    inn_items: Counter[str]
    inn_prescriptions: Counter[str]
    per_prescriber: dict[int, list[int]]  # prescriptions, items, with an antibiotic, dispensed


def recount(session: Session, scope: Scope, day: date) -> Recount:
    """Every figure of the report from plain rows fetched one table at a time, then counted in Python."""
    prescriptions = [
        row
        for row in session.execute(
            select(Prescription).where(Prescription.organization_id == scope.organization_id)
        ).scalars()
        if row.status == RecordStatus.ACTIVE and scope.since <= row.issued_at < scope.until
    ]
    if scope.department_id is not None:
        departments = {eid: did for eid, did in session.execute(select(Encounter.id, Encounter.department_id))}
        prescriptions = [
            row
            for row in prescriptions
            if row.encounter_id is not None and departments.get(row.encounter_id) == scope.department_id
        ]
    ids = {row.id for row in prescriptions}
    items = [row for row in session.execute(select(PrescriptionItem)).scalars() if row.prescription_id in ids]
    atc = {drug_id: code for drug_id, code in session.execute(select(Drug.id, Drug.atc_code))}
    dispenses = [
        row
        for row in session.execute(select(Dispense)).scalars()
        if row.prescription_id in ids and row.status == RecordStatus.ACTIVE
    ]
    antibiotic = {item.prescription_id for item in items if atc[item.drug_id].startswith("J01")}
    first: dict[int, datetime] = {}
    for given in dispenses:
        first[given.prescription_id] = min(first.get(given.prescription_id, given.dispensed_at), given.dispensed_at)
    issued_at = {row.id: row.issued_at for row in prescriptions}
    per_prescriber: dict[int, list[int]] = {}
    for row in prescriptions:
        figures = per_prescriber.setdefault(row.prescriber_id, [0, 0, 0, 0])
        figures[0] += 1
        figures[1] += sum(1 for item in items if item.prescription_id == row.id)
        figures[2] += row.id in antibiotic
        figures[3] += row.id in first
    return Recount(
        states=Counter(state_on(row, day) for row in prescriptions),
        issued=len(prescriptions),
        antibiotic=len(antibiotic),
        hours=sorted((first[pid] - issued_at[pid]).total_seconds() / 3600 for pid in first),
        inn_items=Counter(item.inn for item in items),
        inn_prescriptions=Counter(inn for inn, _pid in {(item.inn, item.prescription_id) for item in items}),
        per_prescriber=per_prescriber,
    )


def check_against_recount(session: Session, report: Report, day: date) -> None:
    """Every cell of the report equals the recount."""
    expected = recount(session, report.scope, day)
    states = report.table("states")
    by_label = dict(zip(column(states, "state"), column(states, "prescriptions"), strict=True))
    for state, label in rx_report.STATE_LABELS.items():
        assert by_label[gettext(label)] == expected.states[state], state
        assert states.rows[rx_report.STATE_ORDER.index(state)][2] == (
            expected.states[state] / expected.issued if expected.issued else None
        )
    assert states.total is not None and states.total[1] == expected.issued
    antibiotics = report.table("antibiotics")
    assert antibiotics.rows[0][:2] == (expected.issued, expected.antibiotic)
    hours = expected.hours
    ((dispensed, median, p90, within_24, within_72),) = report.table("time_to_dispense").rows
    assert dispensed == len(hours)
    if hours:
        # Nearest ranks by hand: the median of an even count is the mean of the middle two.
        middle = len(hours) // 2
        assert median == pytest.approx(hours[middle] if len(hours) % 2 else (hours[middle - 1] + hours[middle]) / 2)
        assert hours[0] <= p90 <= hours[-1]
    assert within_24 == (sum(1 for h in hours if h <= 24) / len(hours) if hours else None)
    assert within_72 == (sum(1 for h in hours if h <= 72) / len(hours) if hours else None)
    inns = report.table("top_inns")
    assert len(inns.rows) == min(len(expected.inn_items), rx_report.TOP_INNS)
    for inn, items, count in inns.rows:
        assert (items, count) == (expected.inn_items[inn], expected.inn_prescriptions[inn])
    prescribers = report.table("by_prescriber")
    figures = expected.per_prescriber.values()
    assert sorted(row[2:] for row in prescribers.rows) == sorted(
        (count, items, antibiotic / count, dispensed / count) for count, items, antibiotic, dispensed in figures
    )
    counts = [row[2] for row in prescribers.rows]
    assert counts == sorted(counts, reverse=True)
    assert prescribers.total is not None
    assert prescribers.total[2:4] == (expected.issued, sum(values[1] for values in figures))


def test_figures_match_the_known_data(session: Session, issued: Issued) -> None:
    report = rx_report.build(session, scope_of(issued.place.org), today=date(2026, 11, 26))
    states = report.table("states")
    assert column(states, "prescriptions") == [2, 1, 3, 2, 1]  # active, partly, dispensed, expired, cancelled
    assert states.total is not None and states.total[1] == 9 and states.total[2] == 1.0
    assert column(states, "share") == [2 / 9, 1 / 9, 3 / 9, 2 / 9, 1 / 9]
    assert "31.03.2026" in (states.note or "")
    assert report.table("antibiotics").rows == [(9, 3, 3 / 9)]
    # First dispenses after 10, 48, 96 and 24 hours: median 36, 90th percentile 48 + 0.7 * 48.
    ((dispensed, median, p90, within_24, within_72),) = report.table("time_to_dispense").rows
    assert (dispensed, within_24, within_72) == (4, 2 / 4, 3 / 4)
    assert median == pytest.approx(36.0) and p90 == pytest.approx(81.6)
    inns = report.table("top_inns")
    assert inns.rows == [
        ("Amlodipin", 3, 3),
        ("Amlodipine", 2, 1),
        ("Amoksitsillin", 2, 2),
        ("Azitromitsin", 2, 2),
        ("Tramadol", 2, 2),
        ("Flukonazol", 1, 1),
        ("Lizinopril", 1, 1),
    ]
    prescribers = report.table("by_prescriber")
    assert [row[0].split()[0] for row in prescribers.rows] == ["Boboyev", "Aliyev"]
    assert [row[2:] for row in prescribers.rows] == [(5, 6, 1 / 5, 1 / 5), (4, 7, 2 / 4, 3 / 4)]
    assert prescribers.total is not None and prescribers.total[2:] == (9, 13, 3 / 9, 4 / 9)
    check_against_recount(session, report, END)


def test_states_are_judged_on_today_when_the_period_runs_on(session: Session, issued: Issued) -> None:
    # On 20 March P4 (valid until 25 March) is still active; P5 was swept on 20 March and reads expired.
    scope = scope_of(issued.place.org)
    report = rx_report.build(session, scope, today=date(2026, 3, 20))
    assert rx_report.as_of(scope, date(2026, 3, 20)) == date(2026, 3, 20)
    assert column(report.table("states"), "prescriptions") == [3, 1, 3, 1, 1]
    assert "20.03.2026" in (report.table("states").note or "")
    check_against_recount(session, report, date(2026, 3, 20))
    # P4's last valid day is 25 March: still active that day, expired the next.
    assert column(rx_report.build(session, scope, today=date(2026, 3, 25)).table("states"), "prescriptions")[3] == 1
    assert column(rx_report.build(session, scope, today=date(2026, 3, 26)).table("states"), "prescriptions")[3] == 2


def test_a_department_counts_its_own_visits_and_stays(session: Session, issued: Issued) -> None:
    dept1, dept2 = issued.place.departments
    first = rx_report.build(session, scope_of(issued.place.org, department=dept1), today=END)
    # Department 1: P1 (dispensed), P2 (partly), P5 (expired), P7 (dispensed); the others are elsewhere or outside.
    assert column(first.table("states"), "prescriptions") == [0, 1, 2, 1, 0]
    assert first.table("antibiotics").rows == [(4, 2, 2 / 4)]
    assert first.table("time_to_dispense").rows[0][0] == 3
    check_against_recount(session, first, END)
    second = rx_report.build(session, scope_of(issued.place.org, department=dept2), today=END)
    # Department 2: P3 (dispensed), P4 (expired), P6 (cancelled), P9 (active).
    assert column(second.table("states"), "prescriptions") == [1, 0, 1, 1, 1]
    assert second.table("time_to_dispense").rows[0][:3] == (1, 96.0, 96.0)
    check_against_recount(session, second, END)


def test_one_day_period_edges(session: Session, issued: Issued) -> None:
    # 1 March holds P1 (issued at its first instant); the prescription a second earlier is February's.
    report = rx_report.build(session, scope_of(issued.place.org, START, START), today=END)
    assert report.table("states").total == (gettext("Issued"), 1, 1.0)
    feb = rx_report.build(session, scope_of(issued.place.org, date(2026, 2, 28), date(2026, 2, 28)), today=END)
    assert feb.table("states").total == (gettext("Issued"), 1, 1.0)
    april = rx_report.build(session, scope_of(issued.place.org, date(2026, 4, 1), date(2026, 4, 1)), today=END)
    assert april.table("states").total == (gettext("Issued"), 1, 1.0)
    check_against_recount(session, april, date(2026, 4, 1))


def test_an_empty_period_has_no_rates(session: Session, issued: Issued) -> None:
    report = rx_report.build(session, scope_of(issued.place.org, date(2025, 1, 1), date(2025, 1, 31)), today=END)
    assert column(report.table("states"), "share") == [None] * 5
    assert report.table("antibiotics").rows == [(0, 0, None)]
    assert report.table("time_to_dispense").rows == [(0, None, None, None, None)]
    assert report.table("top_inns").rows == [] and report.table("by_prescriber").rows == []
    assert report.table("by_prescriber").total == (gettext("All prescribers"), "", 0, 0, None, None)


def test_percentile_interpolates_between_ranks() -> None:
    assert rx_report.percentile([], 0.5) is None
    assert rx_report.percentile([7.0], 0.9) == 7.0
    assert rx_report.percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert rx_report.percentile([float(n) for n in range(1, 11)], 0.9) == pytest.approx(9.1)


def test_offered_to_clinics_and_hospitals_and_built_in_the_user_s_language(session: Session, issued: Issued) -> None:
    assert REGISTRY["prescriptions"].departments
    assert REGISTRY["pharmacy"].departments is False
    assert "prescriptions" in {spec.key for spec in offered(OrganizationKind.HOSPITAL)}
    assert "prescriptions" in {spec.key for spec in offered(OrganizationKind.POLYCLINIC)}
    assert "prescriptions" not in {spec.key for spec in offered(OrganizationKind.PHARMACY)}
    assert "pharmacy" in {spec.key for spec in offered(OrganizationKind.PHARMACY)}
    with language("ru"):
        report = build(session, "prescriptions", scope_of(issued.place.org))
        assert column(report.table("states"), "state")[0] == gettext("Active") != "Active"
    assert report.scope.organization_id == issued.place.org.id


# --- the pharmacy report --------------------------------------------------------------------------------------------

WEEK_START, WEEK_END = date(2026, 3, 1), date(2026, 3, 7)


@dataclass
class Handed:
    """The known data of the pharmacy report."""

    place: Place
    colleague: Cabinet
    dispenses: list[Dispense]
    controlled: Prescription


@pytest.fixture
def handed(session: Session) -> Handed:
    """A pharmacy's dispenses in the first week of March 2026, with their edges and what must not count."""
    place = place_of(session, OrganizationKind.POLYCLINIC)
    doctor = doctor_named(session, place.org, "Aliyev")
    colleague = doctor_named(session, place.pharmacy, "Sobirova", Role.PHARMACIST)
    issued_on = at(date(2026, 2, 25), 9)
    amox1, amox2, amlo, tram, before, after, withdrawn = (
        place.issue(session, doctor, issued_on, AMOXICILLIN),
        place.issue(session, doctor, issued_on, AMOXICILLIN),
        place.issue(session, doctor, issued_on, AMLODIPINE),
        place.issue(session, doctor, issued_on, TRAMADOL, category="controlled", icd10="M54.5"),
        place.issue(session, doctor, issued_on, AMLODIPINE),
        place.issue(session, doctor, issued_on, AMLODIPINE),
        place.issue(session, doctor, issued_on, LISINOPRIL),
    )
    given = [
        *place.give(session, amox1, at(WEEK_START)),  # the period's first instant
        *place.give(session, amlo, at(date(2026, 3, 3), 10), quantity=2, pharmacist=colleague),
        *place.give(session, amlo, at(date(2026, 3, 3), 11)),  # the rest of the same item, an hour later
        *place.give(session, tram, at(date(2026, 3, 5), 14, 30), batch="TR2602007"),
        *place.give(session, amox2, at(WEEK_END, 23, 59, 59), pharmacist=colleague),  # its last second
    ]
    # Not counted: a second before, the first instant after, a withdrawn dispense, another pharmacy's dispense.
    place.give(session, before, at(WEEK_START) - timedelta(seconds=1))
    place.give(session, after, at(WEEK_END + timedelta(days=1)))
    for row in place.give(session, withdrawn, at(date(2026, 3, 6), 12)):
        withdraw(session, row)
    other = place_of(session, OrganizationKind.POLYCLINIC)
    other_rx = other.issue(
        session, doctor_named(session, other.org, "Boshqa"), issued_on, TRAMADOL, category="controlled", icd10="M54.5"
    )
    other.give(session, other_rx, at(date(2026, 3, 4), 9))
    return Handed(place, colleague, given, tram)


def test_pharmacy_figures_match_the_known_data(session: Session, handed: Handed) -> None:
    report = pharmacy_report.build(session, scope_of(handed.place.pharmacy, WEEK_START, WEEK_END))
    by_day = report.table("by_day")
    assert column(by_day, "date") == [date(2026, 3, day) for day in range(1, 8)]
    assert column(by_day, "items") == [1, 0, 2, 0, 1, 0, 1]
    assert by_day.total == (gettext("Total"), 5)
    amox, amlo, tram = (handed.place.drugs[atc] for atc in (AMOXICILLIN, AMLODIPINE, TRAMADOL))
    assert report.table("by_inn").rows == [
        ("Amlodipin", amlo.unit, 2, 5),  # 1 tablet a day for 5 days, given as 2 and then 3
        ("Amoksitsillin", amox.unit, 2, 2 * 15),  # 1 capsule 3 times a day for 5 days, twice
        ("Tramadol", tram.unit, 1, 10),
    ]
    (entry,) = report.table("controlled").rows
    assert entry == (
        date(2026, 3, 5),
        "14:30",
        handed.controlled.number,
        "Tramadol",
        tram.strength,
        10,
        tram.unit,
        "TR2602007",
        "Rahimova Aziz Botirovich",
    )
    assert report.charts[0].table == "by_day" and report.charts[0].kind == "line"


def test_pharmacy_figures_match_a_recount(session: Session, handed: Handed) -> None:
    scope = scope_of(handed.place.pharmacy, date(2026, 2, 20), date(2026, 3, 10))
    report = pharmacy_report.build(session, scope)
    rows = [
        row
        for row in session.execute(select(Dispense).where(Dispense.organization_id == scope.organization_id)).scalars()
        if row.status == RecordStatus.ACTIVE and scope.since <= row.dispensed_at < scope.until
    ]
    per_day = Counter(row.dispensed_at.astimezone(TASHKENT).date() for row in rows)
    assert column(report.table("by_day"), "items") == [per_day[day] for day in scope.days]
    assert len(column(report.table("by_day"), "items")) == 19
    drugs = {drug.id: drug for drug in session.execute(select(Drug)).scalars()}
    items = Counter((drugs[row.drug_id].inn, drugs[row.drug_id].unit) for row in rows)
    quantity = Counter[tuple[str, str]]()
    for row in rows:
        quantity[(drugs[row.drug_id].inn, drugs[row.drug_id].unit)] += row.quantity
    by_inn = report.table("by_inn")
    assert {(inn, unit): (count, total) for inn, unit, count, total in by_inn.rows} == {
        key: (items[key], quantity[key]) for key in items
    }
    assert by_inn.total is not None and by_inn.total[2] == len(rows) == 7
    controlled = [row for row in rows if drugs[row.drug_id].category == "controlled"]
    assert len(report.table("controlled").rows) == len(controlled) == 1


def test_the_register_follows_the_dispensing_log_s_rule(session: Session, handed: Handed) -> None:
    # Written directly, as the services would refuse them: a controlled-category prescription of an ordinary medicine,
    # and a controlled product given for an ordinary one. Each is in the register; an ordinary dispense is not.
    place, doctor = handed.place, doctor_named(session, handed.place.org, "Aliyev")
    visit = factories.encounter(session, place.org, doctor, factories.patient(session), start=at(date(2026, 3, 1), 8))
    by_category = emr_factories.prescription(session, visit, at(date(2026, 3, 1), 9))
    by_category.category = PrescriptionCategory.CONTROLLED
    ordinary = emr_factories.prescription(session, visit, at(date(2026, 3, 1), 9))
    by_product = emr_factories.prescription(session, visit, at(date(2026, 3, 1), 9))
    written_dispense(session, first_item(session, by_category), place, at(date(2026, 3, 2), 9))
    written_dispense(session, first_item(session, ordinary), place, at(date(2026, 3, 2), 10))
    tramadol = place.drugs[TRAMADOL].id
    written_dispense(session, first_item(session, by_product), place, at(date(2026, 3, 2), 11), drug_id=tramadol)
    report = pharmacy_report.build(session, scope_of(place.pharmacy, WEEK_START, WEEK_END))
    numbers = column(report.table("controlled"), "number")
    assert numbers == [by_category.number, by_product.number, handed.controlled.number]
    assert column(report.table("by_day"), "items")[1] == 3


def test_the_register_lists_every_controlled_dispense_in_order(session: Session, handed: Handed) -> None:
    # Three more controlled dispenses on one day, by two pharmacists: oldest first, Tashkent time.
    doctor = doctor_named(session, handed.place.org, "Aliyev")
    times = [at(date(2026, 3, 6), hour) for hour in (16, 9, 12)]
    for when in times:
        prescription = handed.place.issue(
            session, doctor, at(date(2026, 3, 1), 8), TRAMADOL, category="controlled", icd10="M54.5"
        )
        handed.place.give(session, prescription, when, pharmacist=handed.colleague)
    report = pharmacy_report.build(session, scope_of(handed.place.pharmacy, WEEK_START, WEEK_END))
    register = report.table("controlled")
    assert column(register, "time") == ["14:30", "09:00", "12:00", "16:00"]
    assert column(register, "date") == [date(2026, 3, 5)] + [date(2026, 3, 6)] * 3
    assert column(register, "pharmacist")[1:] == ["Sobirova Aziz Botirovich"] * 3

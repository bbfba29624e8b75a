"""Hospital stays: admission, beds (with transfers), what happens on the ward, discharge; some still in hospital."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from random import Random

from ehealth.demo.clinical import Entry, HospitalLike, PatientFile, PatientWriter
from ehealth.demo.clock import DAY, HOUR, MINUTE, Weighted, at, local_day, midnight
from ehealth.demo.env import Env
from ehealth.demo.medicine import (
    CARDIOLOGY,
    DELIVERY,
    GYNECOLOGY,
    INTENSIVE_CARE,
    NEUROLOGY,
    PEDIATRICS,
    PREGNANCY,
    REIMBURSED_PREFIXES,
    STAYS,
    SURGERY,
    THERAPY,
    WARD_NOTE,
    WARD_NOTES,
    Diagnosis,
    Stay,
)
from ehealth.demo.organizations import ADMISSION, Dept, Network, Org
from ehealth.demo.prescriptions import Order, Prescriber

OPEN = 2**62  # the end of a stay that has not ended
_OUTCOMES = Weighted([("recovered", 45), ("improved", 45), ("unchanged", 5), ("worsened", 1.5), ("transferred", 2)])
_DELIVERY_OUTCOMES = Weighted([("recovered", 90), ("improved", 10)])
# Chronic patients come in with their disease's complications more often: (chronic code, stay code, chance).
_COMPLICATIONS = (("I25.1", "I20.0", 0.3), ("I10", "I10", 0.25), ("E11.9", "E11.9", 0.25), ("J44.9", "J44.1", 0.4))
# Chance of a hospital stay over the two years by age (below which age): children under 5 and the elderly most
# often. Deliveries and today's stays come on top, for about 3-5% of patients a year in all.
ADMISSION_CHANCE = ((5, 0.07), (15, 0.035), (45, 0.03), (60, 0.06), (75, 0.11), (999, 0.16))
_STAY_BY_CODE = {stay.code: stay for stay, *_rest in STAYS}

Segment = tuple[Dept, int, int]  # a department from a time until a time (OPEN while the patient is there)


def _stays(group: int, sex: str) -> Weighted[Stay]:
    allowed = "M" if sex == "male" else "F"
    return Weighted([(stay, weights[group]) for stay, *weights, only in STAYS if only in ("", allowed)])


class BedBook:
    """Who lies in which bed when: a few stays per bed, enough to keep stays in one bed from overlapping."""

    def __init__(self) -> None:
        self._stays: dict[int, list[tuple[int, int]]] = {}

    def find(self, rng: Random, beds: list[int], start: int, end: int) -> int | None:
        """A bed of `beds` free from `start` to `end` (checked from a random bed on), or None."""
        count = len(beds)
        if not count:
            return None
        offset = rng.randrange(count)
        for step in range(count):
            bed = beds[(offset + step) % count]
            taken = self._stays.get(bed)
            if taken is None or all(end <= begin or start >= finish for begin, finish in taken):
                return bed
        return None

    def take(self, bed: int, start: int, end: int) -> None:
        """Record that `bed` is occupied from `start` to `end` (OPEN while the patient is still there)."""
        self._stays.setdefault(bed, []).append((start, end))


@dataclass
class StayPlan:
    """One hospital stay being written."""

    file: PatientFile
    stay: Stay
    hospital: Org
    segments: list[Segment]
    beds: list[int]
    admitted: int
    discharged: int
    died: bool
    encounter_id: int = 0
    admitting: int = 0
    attending: int = 0

    @property
    def current(self) -> bool:
        """True while the patient is still in hospital."""
        return self.segments[-1][2] == OPEN

    @property
    def entry(self) -> Entry:
        """Where the stay's clinical rows are entered."""
        return Entry(self.file, self.hospital, self.encounter_id)


class HospitalWriter(HospitalLike):
    """Writes admissions for patients: about 3-5% of them a year, deliveries, and some who are in hospital now."""

    def __init__(
        self, env: Env, network: Network, patients: PatientWriter, prescriber: Prescriber, total_patients: int
    ) -> None:
        self.rng = env.rng
        self.clock = env.clock
        self.ids = env.ids
        self.sink = env.sink
        self.network = network
        self.patients = patients
        self.prescriber = prescriber
        self.beds = BedBook()
        self._by_group = {(group, sex): _stays(group, sex) for group in range(3) for sex in ("male", "female")}
        hospitals = sum(len(orgs) for orgs in network.hospitals.values())
        # Enough patients in hospital today for the wards to show some (about a dozen per hospital), but never
        # more than 1% of patients: at national scale the natural admissions already fill today's beds.
        self.current_chance = min(0.01, 12 * hospitals / max(total_patients, 1))
        self._referral_dx: dict[str, Diagnosis] = {}
        patients.hospital = self

    def admissions(self, file: PatientFile) -> None:
        """The patient's hospital stays, if any."""
        rng, clock = self.rng, self.clock
        age = file.age(clock.now)
        chance = next(chance for below, chance in ADMISSION_CHANCE if age < below)
        first = max(clock.window_start, file.created + DAY)
        busy: list[tuple[int, int]] = []  # one patient is in one hospital bed at a time
        if file.delivery is not None:
            self._admit(file, DELIVERY, file.delivery, busy)
        if rng.random() < chance and first < clock.now - 2 * HOUR:
            self._admit(file, self._choose(file, age), rng.randrange(first, clock.now - 2 * HOUR), busy)
        if rng.random() < self.current_chance:
            stay = self._choose(file, age)
            start = clock.now - rng.randrange(HOUR, max(2 * HOUR, (stay.days[0] - 1) * DAY))
            if start > file.created + HOUR:
                self._admit(file, stay, start, busy)

    def _choose(self, file: PatientFile, age: float) -> Stay:
        rng = self.rng
        for code, stay_code, chance in _COMPLICATIONS:
            if file.has(code) and rng.random() < chance:
                return _STAY_BY_CODE[stay_code]
        return self._by_group[(0 if age < 15 else 1 if age < 60 else 2, file.sex)].pick(rng)

    def _admit(self, file: PatientFile, stay: Stay, admitted: int, busy: list[tuple[int, int]]) -> None:
        rng, clock = self.rng, self.clock
        planned = rng.random() < stay.planned
        if planned:
            # Planned patients come on a working morning.
            day = clock.working_day_between(rng, admitted, admitted + 5 * DAY)
            if day is not None and day + 9 * HOUR < clock.now - HOUR:
                admitted = max(admitted, day + rng.randrange(9 * HOUR, 12 * HOUR))
        days = rng.randint(*stay.days)
        discharged = midnight(local_day(admitted) + timedelta(days=days)) + rng.randrange(10 * HOUR, 14 * HOUR)
        died = rng.random() < stay.death * (1.5 if file.age(admitted) >= 70 else 1.0)
        if died:
            discharged = admitted + rng.randrange(6 * HOUR, days * DAY)
        end = OPEN if discharged > clock.now else discharged
        # A planned visit before the stay happens days earlier; keep a margin so it does not fall inside another stay.
        if any(admitted - 11 * DAY < finish and start < end for start, finish in busy):
            return
        plan = self._place(file, stay, admitted, end)
        if plan is None:
            return  # every ward full: the patient was treated elsewhere
        plan.discharged, plan.died = discharged, died
        busy.append((admitted, end))
        self._write(plan, planned=planned)

    def _place(self, file: PatientFile, stay: Stay, admitted: int, end: int) -> StayPlan | None:
        """Beds for the whole stay in one of the region's hospitals (tried in turn), booked; None if all are full."""
        rng = self.rng
        profile = (
            PEDIATRICS if file.age(admitted) < 15 and stay.profile in (THERAPY, CARDIOLOGY, NEUROLOGY) else stay.profile
        )
        hospitals = self.network.hospitals[file.region.id]
        for hospital in rng.sample(hospitals, min(3, len(hospitals))):
            segments = self._segments(hospital, stay, profile, admitted, end)
            beds = [self.beds.find(rng, dept.beds, start, finish) for dept, start, finish in segments]
            if all(bed is not None for bed in beds):
                found = [bed for bed in beds if bed is not None]
                for bed, (_dept, start, finish) in zip(found, segments, strict=True):
                    self.beds.take(bed, start, finish)
                return StayPlan(file, stay, hospital, segments, found, admitted, 0, died=False)
        return None

    def _segments(self, hospital: Org, stay: Stay, profile: str, admitted: int, end: int) -> list[Segment]:
        """The departments the stay passes through: intensive care first for some, a transfer for a few."""
        rng, now = self.rng, self.clock.now
        ward = hospital.dept(profile)
        icu = hospital.depts.get(INTENSIVE_CARE)
        if icu is not None and rng.random() < stay.icu_first:
            move = admitted + rng.randrange(12 * HOUR, 3 * DAY)
            if move < min(end, now) - 6 * HOUR:
                return [(icu, admitted, move), (ward, move, end)]
            return [(icu, admitted, end)]
        if profile in (SURGERY, CARDIOLOGY, NEUROLOGY) and rng.random() < 0.03:
            move = admitted + rng.randrange(DAY, 4 * DAY)
            if move < min(end, now) - 6 * HOUR:
                return [(ward, admitted, move), (hospital.dept(THERAPY), move, end)]
        return [(ward, admitted, end)]

    def _write(self, plan: StayPlan, *, planned: bool) -> None:
        """The encounter, admission and bed assignments of a placed stay, then the ward's entries and discharge."""
        rng, ids, sink = self.rng, self.ids, self.sink
        hospital, file, admitted = plan.hospital, plan.file, plan.admitted
        plan.encounter_id = ids.take("encounter")
        referral_id = self._referral(plan) if planned else None
        first_dept, last_dept = plan.segments[0][0], plan.segments[-1][0]
        plan.admitting = rng.choice(first_dept.of("doctor") or hospital.anyone(THERAPY, "doctor"))
        plan.attending = rng.choice(last_dept.of("doctor") or hospital.anyone(THERAPY, "doctor"))
        registrars = hospital.depts[ADMISSION].of("registrar")
        registrar = rng.choice(registrars) if registrars else plan.admitting
        admitted_at = at(admitted)
        finished = None if plan.current else at(plan.discharged)
        sink.clinical("encounter", {
            "id": plan.encounter_id, "patient_id": file.id, "organization_id": hospital.id, "status": "active",
            "created_at": admitted_at, "updated_at": finished or admitted_at, "created_by": registrar,
            "kind": "inpatient", "state": "open" if plan.current else "closed", "department_id": first_dept.id,
            "practitioner_id": plan.attending, "started_at": admitted_at, "ended_at": finished, "reason": plan.stay.name,
        })  # fmt: skip
        admission_id = ids.take("admission")
        row = plan.entry.base(admission_id, registrar, admitted_at)
        row.update(department_id=first_dept.id, admitted_at=admitted_at, icd10_code=plan.stay.code, referral_id=referral_id,
                   admission_type="planned" if referral_id is not None else "emergency")  # fmt: skip
        sink.clinical("admission", row)
        for index, (bed, (dept, start, finish)) in enumerate(zip(plan.beds, plan.segments, strict=True)):
            begun = at(start + (0 if index else rng.randrange(10 * MINUTE, 40 * MINUTE)))
            row = plan.entry.base(ids.take("bed_assignment"), rng.choice(dept.of("nurse") or [plan.attending]), begun)
            row.update(admission_id=admission_id, department_id=dept.id, bed_id=bed, reason="transfer" if index else "admission",
                       started_at=begun, ended_at=None if finish == OPEN else at(finish))  # fmt: skip
            row["updated_at"] = row["ended_at"] or begun
            sink.clinical("bed_assignment", row)
        self._ward(plan)
        if not plan.current:
            self._discharge(plan, admission_id)

    def _referral(self, plan: StayPlan) -> int | None:
        """The polyclinic visit a few days before a planned admission, with its hospital referral."""
        rng, clock, file, stay = self.rng, self.clock, plan.file, plan.stay
        before = plan.admitted - rng.randrange(DAY, 10 * DAY)
        day = clock.working_day_between(rng, before - 2 * DAY, before)
        if day is None:
            return None
        start = day + rng.randrange(8 * HOUR, 16 * HOUR)
        if start < max(clock.window_start, file.created + HOUR) or start > plan.admitted - HOUR:
            return None
        dx = self._referral_dx.get(stay.code)
        if dx is None:
            profile = stay.profile if stay.profile in (SURGERY, GYNECOLOGY, CARDIOLOGY, NEUROLOGY) else THERAPY
            # A planned delivery is referred from an antenatal visit.
            dx = (
                PREGNANCY
                if stay is DELIVERY
                else Diagnosis(stay.code, stay.name, profile, f"{stay.name}: statsionar davolanish masalasi")
            )
            self._referral_dx[stay.code] = dx
        visit, doctor = self.patients.visit(file, start, dx, profile=GYNECOLOGY if stay is DELIVERY else None)
        return self.patients.referral(
            visit, doctor, start + 15 * MINUTE, "hospital", f"Statsionar davolanish: {stay.name}", code=dx.code,
            completed=plan.admitted, target=plan.hospital.id, completed_encounter=plan.encounter_id,
        )  # fmt: skip

    def _ward(self, plan: StayPlan) -> None:
        """Diagnosis, indicators, results and treatment entered during the stay (only what happened by now)."""
        rng, patients, stay, entry, admitted = self.rng, self.patients, plan.stay, plan.entry, plan.admitted
        limit = min(plan.segments[-1][2], self.clock.now)
        recorded = admitted + rng.randrange(20 * MINUTE, 60 * MINUTE)
        if recorded <= limit:
            onset = local_day(admitted) - timedelta(days=rng.randint(0, 3))
            patients.condition(entry, plan.admitting, recorded, stay.code, "preliminary", onset=onset)
        respiratory = stay.code in ("J18.9", "J20.9", "J44.1")
        for day in range(min(4, max(1, (limit - admitted) // DAY + 1))):
            when = (
                admitted
                + day * DAY
                + (rng.randrange(15 * MINUTE, 45 * MINUTE) if day == 0 else rng.randrange(7 * HOUR, 9 * HOUR))
            )
            if when > limit:
                break
            dept = next((dept for dept, start, finish in plan.segments if start <= when < finish), plan.segments[-1][0])
            patients.vitals(entry, rng.choice(dept.of("nurse") or [plan.attending]), when, fever=respiratory and day < 2,
                            respiratory=respiratory, pneumonia=stay.code == "J18.9", full=day == 0)  # fmt: skip
        collected = admitted + rng.randrange(HOUR, 3 * HOUR)
        if stay.labs and collected < limit:
            patients.labs(entry, collected, stay.labs, stay.abnormal)
        performed = admitted + rng.randrange(2 * HOUR, 20 * HOUR)
        if stay.study is not None and performed < limit:
            patients.study(entry, performed, stay.study)
        nurses = plan.segments[-1][0].of("nurse") or [plan.attending]
        for kind, title in stay.treatments:
            when = admitted + rng.randrange(2 * HOUR, 30 * HOUR)
            if when < limit:
                patients.treatment(
                    entry, plan.attending if kind == "procedure" else rng.choice(nurses), when, kind, title
                )
        for day in range(1, min(3, (limit - admitted) // DAY) + 1):
            when = admitted + day * DAY + rng.randrange(HOUR, 3 * HOUR)
            if when < limit:
                patients.treatment(entry, plan.attending, when, "note", WARD_NOTE, text=rng.choice(WARD_NOTES))

    def _discharge(self, plan: StayPlan, admission_id: int) -> None:
        """The final diagnosis, the discharge with its outcome, and for some a prescription to take home."""
        rng, stay, hospital = self.rng, plan.stay, plan.hospital
        others = [org for org in self.network.hospitals[hospital.region.id] if org is not hospital]
        if plan.died:
            outcome = "died"
        else:
            outcome = (_DELIVERY_OUTCOMES if stay is DELIVERY else _OUTCOMES).pick(rng)
            if outcome == "transferred" and not others:
                outcome = "improved"
        self.patients.condition(plan.entry, plan.attending, plan.discharged, stay.code, "final", onset=None)
        moment = at(plan.discharged)
        row = plan.entry.base(self.ids.take("discharge"), plan.attending, moment)
        row.update(admission_id=admission_id, discharged_at=moment, outcome=outcome, icd10_code=stay.code,
                   transferred_to_id=rng.choice(others).id if outcome == "transferred" else None)  # fmt: skip
        self.sink.clinical("discharge", row)
        if outcome in ("died", "transferred") or not stay.drugs or rng.random() >= 0.55:
            return
        drugs = self.prescriber.choose(stay.drugs, plan.file.allergy.avoid if plan.file.allergy else None)
        if drugs:
            reimbursable = stay.code.startswith(REIMBURSED_PREFIXES)
            issued = plan.discharged - rng.randrange(20 * MINUTE, 60 * MINUTE)
            order = Order(plan.file.id, plan.file.region.id, hospital.id, plan.attending, plan.encounter_id, issued,
                          stay.code, reimbursable, reimbursable, plan.file.pinfl, hospital.stir)  # fmt: skip
            self.prescriber.prescribe(order, drugs)

"""One patient's record: registration, chronic diseases, visits with diagnoses, indicators, results and treatment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random

from ehealth.demo.clock import DAY, HOUR, MINUTE, WINDOW_DAYS, Weighted, at, local_day, midnight, office_hours
from ehealth.demo.env import Env
from ehealth.demo.medicine import (
    ACUTE,
    ALLERGENS,
    ANEMIA,
    ASTHMA,
    CARDIOLOGY,
    COPD,
    DIABETES,
    ENDOCRINOLOGY,
    GONARTHROSIS,
    GYNECOLOGY,
    HYPERTENSION,
    HYPERTENSIVE_HEART,
    HYPOTHYROIDISM,
    IHD,
    LAB_TESTS,
    MALE_ONLY,
    MORE_IN_WOMEN,
    NEUROLOGY,
    OUTPATIENT_PROCEDURES,
    PEDIATRICS,
    PREGNANCY,
    REACTIONS,
    STUDIES,
    SURGERY,
    THERAPY,
    URINE_ABNORMAL,
    URINE_NORMAL,
    VISIT_NOTE,
    VISIT_NOTES,
    Allergen,
    Diagnosis,
)
from ehealth.demo.organizations import FUNCTIONAL, LABORATORY, RADIOLOGY, REGISTRY, Network, Org
from ehealth.demo.people import People
from ehealth.demo.places import REGION_INFO, TASHKENT_CITY, RegionInfo, address, district_for
from ehealth.demo.prescriptions import Order, Prescriber
from ehealth.demo.sink import Row
from ehealth.emr.indicators import RULES
from ehealth.emr.models import Modality

YEAR = 365.25 * DAY
_REGIONS = Weighted([(region, region.population) for region in REGION_INFO])
_ACUTE_BY_AGE = (
    Weighted([(dx, child) for dx, child, _adult, _old in ACUTE]),
    Weighted([(dx, adult) for dx, _child, adult, _old in ACUTE]),
    Weighted([(dx, old) for dx, _child, _adult, old in ACUTE]),
)
_ALLERGENS = Weighted([(allergen, allergen.weight) for allergen in ALLERGENS])
_REACTIONS = Weighted([((reaction, severity), weight) for reaction, severity, weight in REACTIONS])
# Follow-up visits over the two years, per chronic disease (fewest, most).
FOLLOW_UPS: dict[str, tuple[int, int]] = {
    "I10": (2, 4), "I11.9": (2, 4), "E11.9": (3, 5), "I25.1": (2, 4), "J45.9": (1, 3), "J44.9": (2, 3),
    "D50.9": (1, 3), "E03.9": (2, 3), "M17.9": (1, 2),
}  # fmt: skip
# Specialist diagnoses are seen by the specialist about half the time, else by the family doctor (therapy).
SPECIALTIES = frozenset({CARDIOLOGY, ENDOCRINOLOGY, NEUROLOGY, SURGERY})
PREGNANCY_WEEKS = (8, 12, 16, 20, 24, 28, 32, 36)
# The development sign-in doctor's first adult patients of Tashkent city, whatever the seed (a small run too).
SIGN_IN_LIST = 12

UNITS = {str(code): rule.unit for code, rule in RULES.items()}

# Indicator: (unit, normal low, normal high, critical low, critical high); children's ranges where they differ.
INDICATORS: dict[str, tuple[str, float | None, float | None, float | None, float | None]] = {
    "bp_systolic": ("mmHg", 90, 139, 70, 180),
    "bp_diastolic": ("mmHg", 60, 89, 40, 120),
    "pulse": ("1/min", 60, 90, 40, 140),
    "temperature": ("°C", 36.0, 37.0, 35.0, 40.0),
    "respiratory_rate": ("1/min", 12, 20, 8, 30),
    "spo2": ("%", 95, 100, 90, None),
    "weight": ("kg", None, None, None, None),
    "height": ("cm", None, None, None, None),
    "bmi": ("kg/m2", 18.5, 24.9, None, None),
    "glucose": ("mmol/L", 3.9, 6.1, 2.8, 15.0),
}
CHILD_INDICATORS = {
    "pulse": ("1/min", 70, 120, 50, 180),
    "respiratory_rate": ("1/min", 20, 30, 12, 50),
    "bp_systolic": ("mmHg", 85, 120, 60, 150),
    "bp_diastolic": ("mmHg", 50, 80, 35, 100),
    "bmi": ("kg/m2", None, None, None, None),
}


def _flag(
    value: float, low: float | None, high: float | None, crit_low: float | None, crit_high: float | None
) -> str | None:
    """How a value compares with its range; None when the indicator has no range."""
    if low is None and high is None:
        return None
    if (crit_low is not None and value < crit_low) or (crit_high is not None and value > crit_high):
        return "critical"
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return "normal"


@dataclass
class Visit:
    """A planned outpatient visit."""

    start: int
    diagnosis: Diagnosis
    profile: str | None = None  # forced department (pregnancy: gynecology)


@dataclass
class PatientFile:
    """What the generator knows about the patient while writing their record (dropped afterwards)."""

    id: int
    sex: str
    born: int  # epoch seconds of birth
    region: RegionInfo
    home: Org
    created: int
    pinfl: str = ""
    chronic: list[Diagnosis] = field(default_factory=list)
    onset: dict[str, date] = field(default_factory=dict)
    allergy: Allergen | None = None
    allergy_written: bool = False
    systolic: int = 120
    diastolic: int = 78
    pulse: int = 74
    height: float = 165.0
    bmi: float = 24.0
    therapist: int = 0
    pediatrician: int = 0
    delivery: int | None = None  # when a pregnancy seen in the window ended in childbirth

    def age(self, moment: int) -> float:
        """Age in years at `moment`."""
        return (moment - self.born) / YEAR

    def has(self, code: str) -> bool:
        """True if the patient has the chronic disease `code`."""
        return any(dx.code == code for dx in self.chronic)


@dataclass(frozen=True, slots=True)
class Entry:
    """Where a clinical row is entered: whose record, at which organization, in which encounter."""

    file: PatientFile
    org: Org
    encounter_id: int

    def base(self, table_id: int, by: int, moment: datetime) -> Row:
        """The columns every clinical row entered in an encounter shares (entered at `moment` by `by`)."""
        return {
            "id": table_id, "patient_id": self.file.id, "organization_id": self.org.id, "status": "active",
            "created_at": moment, "updated_at": moment, "created_by": by, "encounter_id": self.encounter_id,
        }  # fmt: skip


class PatientWriter:
    """Writes one patient after another; everything is drawn from the run's single random stream."""

    def __init__(
        self,
        env: Env,
        people: People,
        network: Network,
        prescriber: Prescriber,
        districts: dict[int, list[tuple[int, str]]],
    ) -> None:
        self.rng = env.rng
        self.clock = env.clock
        self.ids = env.ids
        self.sink = env.sink
        self.people = people
        self.network = network
        self.prescriber = prescriber
        self.districts = districts
        self.sign_in_home = network.polyclinics[TASHKENT_CITY][0]
        self.sign_in_doctor = self.sign_in_home.dept(THERAPY).of("doctor")[0]
        self.sign_in_seen_today = False  # until then, each of the sign-in doctor's patients comes today
        self.sign_in_adults = 0
        self.hospital: HospitalLike | None = None

    # --- the patient ----------------------------------------------------------------------------------------------

    def patient(self) -> None:
        """Register one patient and write their two years of history."""
        rng, clock = self.rng, self.clock
        person = self.people.patient()
        region = _REGIONS.pick(rng)
        area = rng.choice(region.areas)
        home = rng.choice(self.network.polyclinics[region.id])
        adult = (clock.today - person.birth_date).days >= 18 * 366
        sign_in = region.id == TASHKENT_CITY and adult and self.sign_in_adults < SIGN_IN_LIST
        if sign_in:
            home = self.sign_in_home
            self.sign_in_adults += 1
        # Someone born today was born this morning: nothing happens after "now".
        birth = midnight(person.birth_date)
        born = birth + rng.randrange(max(HOUR, min(DAY, clock.now - birth - HOUR)))
        if born < clock.launch:
            created = office_hours(rng, rng.randrange(clock.launch, clock.window_start), 9, 17)
        else:
            created = max(
                born, min(office_hours(rng, born + rng.randrange(DAY, 10 * DAY), 9, 17), clock.now - 30 * MINUTE)
            )
        patient_id = self.ids.take("patient")
        registrar = rng.choice(home.depts[REGISTRY].of("registrar"))
        moment = at(created)
        self.sink.add("patient", {
            "id": patient_id, "pinfl": person.pinfl, "surname": person.surname, "given_name": person.given_name,
            "patronymic": person.patronymic, "birth_date": person.birth_date, "sex": person.sex,
            "phone": self.people.phone() if rng.random() < 0.92 else None, "address": address(rng, region, area),
            "region_id": region.id, "district_id": district_for(self.districts, region.id, area),
            "registered_by_organization_id": home.id, "created_by": registrar, "created_at": moment, "updated_at": moment,
        })  # fmt: skip
        file = PatientFile(patient_id, person.sex, born, region, home, created, person.pinfl)
        self._profile(file, sign_in=sign_in)
        for visit in sorted(self._plan_visits(file), key=lambda visit: visit.start):
            self.visit(file, visit.start, visit.diagnosis, profile=visit.profile)
        if self.hospital is not None:
            self.hospital.admissions(file)

    def _profile(self, file: PatientFile, *, sign_in: bool = False) -> None:
        """Chronic diseases by age and sex, the body they go with, an allergy, the family doctors."""
        rng, clock = self.rng, self.clock
        age = file.age(clock.now)
        female = file.sex == "female"
        chances = (
            (HYPERTENSION, 0.01 if age < 30 else 0.06 if age < 40 else 0.18 if age < 50 else 0.35 if age < 60 else 0.5 if age < 70 else 0.6),
            (DIABETES, 0.005 if age < 35 else 0.03 if age < 45 else 0.08 if age < 55 else 0.14 if age < 65 else 0.17),
            (IHD, 0.002 if age < 45 else 0.03 if age < 55 else 0.08 if age < 65 else 0.16),
            (ASTHMA, 0.03 if age >= 3 else 0.0),
            (COPD, (0.05 if age >= 50 else 0.0) if not female else (0.015 if age >= 55 else 0.0)),
            (ANEMIA, (0.15 if 15 <= age < 50 else 0.03) if female else (0.08 if age < 5 else 0.02)),
            (HYPOTHYROIDISM, (0.04 if age >= 25 else 0.005) if female else 0.005),
            (GONARTHROSIS, 0.12 if age >= 55 else 0.0),
        )  # fmt: skip
        # Chronic diseases were diagnosed before the window (after birth): infants' records start with them.
        before_window = clock.today - timedelta(days=WINDOW_DAYS + 30)
        after_birth = local_day(file.born) + timedelta(days=180)
        for dx, chance in chances if age >= 2.5 else ():
            if chance and rng.random() < chance:
                # A quarter of hypertensive patients already have hypertensive heart disease.
                chosen = HYPERTENSIVE_HEART if dx is HYPERTENSION and rng.random() < 0.25 else dx
                file.chronic.append(chosen)
                years = rng.uniform(0.0, min(15.0, age))
                file.onset[chosen.code] = max(after_birth, before_window - timedelta(days=int(years * 365.25)))
        hypertensive = any(dx.code in ("I10", "I11.9") for dx in file.chronic)
        file.systolic = rng.randint(142, 168) if hypertensive else rng.randint(106, 132)
        file.diastolic = rng.randint(88, 100) if hypertensive else rng.randint(66, 84)
        file.pulse = rng.randint(62, 86)
        file.height = rng.gauss(172, 6) if not female else rng.gauss(160, 5.5)
        file.bmi = rng.gauss(26.5 if age >= 30 else 23.0, 3.5) + (3.0 if file.has("E11.9") else 0.0)
        file.bmi = min(42.0, max(17.0, file.bmi))
        if rng.random() < 0.06:
            file.allergy = _ALLERGENS.pick(rng)
        home = file.home
        therapists = home.dept(THERAPY).of("doctor")
        # The development sign-in doctor (the first therapist of the first Tashkent polyclinic) keeps a full list,
        # so that whoever tries the portal sees their own patients, visits and prescriptions, today's included.
        mine = home is self.sign_in_home and (rng.random() < 0.6 or sign_in)
        file.therapist = self.sign_in_doctor if mine else rng.choice(therapists)
        file.pediatrician = rng.choice(home.dept(PEDIATRICS).of("doctor"))

    def _plan_visits(self, file: PatientFile) -> list[Visit]:
        rng, clock = self.rng, self.clock
        first = max(clock.window_start, file.created + HOUR)
        last = clock.now - 30 * MINUTE
        if first >= last:
            return []
        visits: list[Visit] = []
        age = file.age(clock.now)
        acute = _ACUTE_BY_AGE[0 if age < 15 else 1 if age < 60 else 2]
        rate = 2.5 if age < 5 else 1.2 if age < 15 else 0.7 if age < 60 else 0.9
        for _ in range(_poisson(rng, rate)):
            dx = self._acute(file, acute)
            if dx is not None:
                visits.append(Visit(self._moment(first, last), dx))
        for dx in file.chronic:
            low, high = FOLLOW_UPS[dx.code]
            visits.extend(Visit(self._moment(first, last), dx) for _ in range(rng.randint(low, high)))
        # A few patients are seen this morning: their visits are still open. The sign-in doctor's patients come
        # today until one of them has been seen, so that doctor always has a visit today.
        mine = file.therapist == self.sign_in_doctor
        seen_today = (0.15 if self.sign_in_seen_today else 1.0) if mine else 0.004
        if rng.random() < seen_today and (dx := self._acute(file, acute)) is not None:
            visits.append(Visit(midnight(clock.today) + rng.randrange(8 * HOUR, 11 * HOUR + 30 * MINUTE), dx))
        if file.sex == "female" and 18 <= age < 44 and rng.random() < 0.25:
            visits.extend(self._pregnancy(file, first, last))
        return [visit for visit in visits if first <= visit.start <= clock.now]

    def _acute(self, file: PatientFile, acute: Weighted[Diagnosis]) -> Diagnosis | None:
        """An acute diagnosis for the patient's age, or None when it does not fit their sex."""
        dx = acute.pick(self.rng)
        if dx.code in MALE_ONLY and file.sex != "male":
            return None
        if dx.code in MORE_IN_WOMEN and file.sex == "male" and self.rng.random() < 0.6:
            return None
        return dx

    def _pregnancy(self, file: PatientFile, first: int, last: int) -> list[Visit]:
        """Antenatal visits of one pregnancy; a delivery inside the window becomes a hospital stay."""
        rng, clock = self.rng, self.clock
        conception = rng.randrange(clock.window_start - 270 * DAY, clock.now - 28 * DAY)
        if file.age(conception) < 18:
            return []
        file.onset[PREGNANCY.code] = local_day(conception)
        visits = []
        for week in PREGNANCY_WEEKS:
            moment = conception + week * 7 * DAY
            if first <= moment <= last and rng.random() < 0.75:
                day = clock.working_day_between(rng, moment, moment + 4 * DAY)
                if day is not None:
                    start = day + rng.randrange(8 * HOUR, 17 * HOUR)
                    if first <= start <= last:
                        visits.append(Visit(start, PREGNANCY, profile=GYNECOLOGY))
        delivery = conception + rng.randint(266, 287) * DAY + rng.randrange(DAY)
        if first <= delivery <= clock.now - HOUR:
            file.delivery = delivery
        return visits

    def _moment(self, first: int, last: int) -> int:
        """A time during working hours on a working day between `first` and `last`."""
        rng = self.rng
        day = self.clock.working_day_between(rng, first, last)
        if day is None:
            return last
        return min(max(day + rng.randrange(8 * HOUR, 17 * HOUR + 30 * MINUTE), first), last)

    # --- one visit ------------------------------------------------------------------------------------------------

    def visit(self, file: PatientFile, start: int, dx: Diagnosis, *, profile: str | None = None) -> tuple[Entry, int]:
        """Write an outpatient encounter and what was entered in it; (where it was entered, the doctor)."""
        rng, clock = self.rng, self.clock
        org = file.home if rng.random() < 0.92 else rng.choice(self.network.polyclinics[file.region.id])
        child = file.age(start) < 18
        if profile is None:
            profile = dx.profile
            if profile in SPECIALTIES and rng.random() < 0.5:
                profile = THERAPY
            if child and profile != SURGERY:
                profile = PEDIATRICS
        dept = org.dept(profile)
        if org is file.home and dept.profile in (THERAPY, PEDIATRICS):
            doctor = file.therapist if dept.profile == THERAPY else file.pediatrician
        else:
            doctor = rng.choice(dept.of("doctor") or org.anyone(THERAPY, "doctor"))
        is_open = start >= midnight(clock.today)
        self.sign_in_seen_today = self.sign_in_seen_today or (is_open and doctor == self.sign_in_doctor)
        cancelled = not is_open and rng.random() < 0.01
        end = None if is_open or cancelled else start + rng.randrange(10 * MINUTE, 40 * MINUTE)
        state = "cancelled" if cancelled else "open" if is_open else "closed"
        entry = Entry(file, org, self.ids.take("encounter"))
        registrars = org.depts[REGISTRY].of("registrar") if REGISTRY in org.depts else []
        entered_by = rng.choice(registrars) if registrars and rng.random() < 0.5 else doctor
        row = entry.base(entry.encounter_id, entered_by, at(start))
        del row["encounter_id"]
        row.update(kind="outpatient", state=state, department_id=dept.id, practitioner_id=doctor, started_at=row["created_at"],
                   ended_at=None if end is None else at(end), reason=dx.complaint)  # fmt: skip
        if end is not None:
            row["updated_at"] = row["ended_at"]
        self.sink.clinical("encounter", row)
        if not cancelled:
            nurse = rng.choice(dept.of("nurse") or [doctor])
            self._visit_content(entry, dx, doctor, nurse, start, end=end, profile=dept.profile)
        return entry, doctor

    def _visit_content(
        self, entry: Entry, dx: Diagnosis, doctor: int, nurse: int, start: int, *, end: int | None, profile: str
    ) -> None:
        """Indicators and diagnoses; once the visit is over also results, treatment, referrals and a prescription."""
        rng, file = self.rng, entry.file
        self._vitals(entry, nurse, start + rng.randrange(2 * MINUTE, 8 * MINUTE), dx)
        self._conditions(entry, doctor, start, dx, final=end is not None)
        if file.allergy is not None and not file.allergy_written:
            self._allergy(entry, doctor, start + rng.randrange(5 * MINUTE, 15 * MINUTE))
        if end is None:
            return  # still open: the doctor is with the patient now
        if dx.labs and rng.random() < dx.lab_chance:
            self._labs(entry, doctor, start, dx)
        if dx.study is not None and rng.random() < dx.study_chance:
            self._study(entry, doctor, start, dx.study, dx.code)
        roll = rng.random()
        if roll < 0.25:
            self.treatment(
                entry, doctor, end - rng.randrange(MINUTE, 5 * MINUTE), "note", VISIT_NOTE, text=rng.choice(VISIT_NOTES)
            )
        elif roll < 0.33 and profile in OUTPATIENT_PROCEDURES:
            title, kind = OUTPATIENT_PROCEDURES[profile]
            self.treatment(entry, nurse, end - rng.randrange(MINUTE, 5 * MINUTE), kind, title)
        if rng.random() < 0.04:
            self._consultation(entry, doctor, start + 15 * MINUTE, dx)
        if dx.drugs and rng.random() < dx.rx_chance:
            drugs = self.prescriber.choose(dx.drugs, file.allergy.avoid if file.allergy else None)
            if drugs:
                issued = end - rng.randrange(MINUTE, 4 * MINUTE)
                order = Order(
                    file.id,
                    file.region.id,
                    entry.org.id,
                    doctor,
                    entry.encounter_id,
                    issued,
                    dx.code,
                    dx.chronic,
                    dx.reimbursable,
                    file.pinfl,
                    entry.org.stir,
                )
                self.prescriber.prescribe(order, drugs)

    def _conditions(self, entry: Entry, doctor: int, start: int, dx: Diagnosis, *, final: bool) -> None:
        rng, file = self.rng, entry.file
        recorded = start + rng.randrange(5 * MINUTE, 15 * MINUTE)
        onset = file.onset.get(dx.code) or local_day(start) - timedelta(days=rng.randint(1, 5))
        kinds = ["final"] if final else ["preliminary"]
        if final and not dx.chronic and rng.random() < 0.12:
            kinds.insert(0, "preliminary")
        for index, kind in enumerate(kinds):
            self.condition(entry, doctor, recorded + index * 3 * MINUTE, dx.code, kind, onset=onset)
        others = [other for other in file.chronic if other.code != dx.code]
        if final and others and rng.random() < 0.35:
            other = rng.choice(others)
            self.condition(
                entry, doctor, recorded + 8 * MINUTE, other.code, "comorbidity", onset=file.onset.get(other.code)
            )

    def condition(self, entry: Entry, by: int, moment: int, code: str, kind: str, *, onset: date | None) -> None:
        """A diagnosis recorded at `moment` (an onset never before the patient was born)."""
        when = at(moment)
        if onset is not None:
            onset = max(onset, local_day(entry.file.born))
        row = entry.base(self.ids.take("condition"), by, when)
        row.update(icd10_code=code, kind=kind, onset_date=onset, recorded_at=when)
        self.sink.clinical("condition", row)

    # --- indicators -----------------------------------------------------------------------------------------------

    def vitals(
        self,
        entry: Entry,
        by: int,
        moment: int,
        *,
        fever: bool,
        respiratory: bool,
        pneumonia: bool = False,
        full: bool = True,
    ) -> None:
        """Indicators measured at one moment, correlated with the patient's conditions."""
        rng, file = self.rng, entry.file
        age = file.age(moment)
        child = age < 12
        values: list[tuple[str, float]] = []
        if not child and (full or rng.random() < 0.85):
            values.append(("bp_systolic", float(file.systolic + rng.randint(-9, 9))))
            values.append(("bp_diastolic", float(file.diastolic + rng.randint(-6, 6))))
        if full or rng.random() < 0.7:
            base = file.pulse + (25 if age < 6 else 12 if child else 0)
            values.append(("pulse", float(base + rng.randint(-6, 6) + (14 if fever else 0))))
        if fever:
            values.append(("temperature", round(rng.uniform(37.3, 39.4), 1)))
        elif rng.random() < 0.3:
            values.append(("temperature", round(rng.uniform(36.3, 36.9), 1)))
        if respiratory or rng.random() < 0.08:
            low = 88 if pneumonia else 94 if respiratory else 96
            values.append(("spo2", float(rng.randint(low, 99 if not pneumonia else 95))))
        if pneumonia:
            values.append(("respiratory_rate", float(rng.randint(20, 27) + (8 if child else 0))))
        if rng.random() < (0.7 if child else 0.35):
            values.extend(self._body(file, age, measure_height=rng.random() < (0.85 if child else 0.4)))
        if file.has("E11.9"):
            values.append(("glucose", round(rng.uniform(6.6, 13.2), 1)))
        elif rng.random() < 0.05:
            values.append(("glucose", round(rng.uniform(4.1, 6.0), 1)))
        when = at(moment)
        for code, value in values:
            unit, low_ref, high_ref, crit_low, crit_high = (
                CHILD_INDICATORS.get(code) if child else None
            ) or INDICATORS[code]
            row = entry.base(self.ids.take("observation"), by, when)
            unit = UNITS[code]  # the EMR's one unit per indicator, whatever the demo table says
            row.update(code=code, value=value, unit=unit, reference_low=low_ref, reference_high=high_ref,
                       flag=_flag(value, low_ref, high_ref, crit_low, crit_high), effective_at=when)  # fmt: skip
            self.sink.clinical("observation", row)

    def _vitals(self, entry: Entry, by: int, moment: int, dx: Diagnosis) -> None:
        self.vitals(entry, by, moment, fever=dx.fever, respiratory=dx.respiratory, pneumonia=dx.code == "J18.9",
                    full=dx.profile in (CARDIOLOGY, THERAPY))  # fmt: skip

    def _body(self, file: PatientFile, age: float, *, measure_height: bool) -> list[tuple[str, float]]:
        """Weight, and with the height the BMI computed from both (children on a growth curve)."""
        height = self._height(file, age)
        bmi = file.bmi if age >= 12 else (16.0 if age < 6 else 16.0 + (age - 6) * 0.5)
        weight = round(bmi * (height / 100) ** 2, 1)
        if not measure_height:
            return [("weight", weight)]
        measured = float(round(height))
        return [("weight", weight), ("height", measured), ("bmi", round(weight / (measured / 100) ** 2, 1))]

    @staticmethod
    def _height(file: PatientFile, age: float) -> float:
        """Height in cm at `age`: a rough growth curve to the adult height reached at 18."""
        adult = file.height
        if age < 1:
            return 50 + 25 * age
        at_13 = 75 + (adult - 75) * 0.78
        if age < 13:
            return 75 + (at_13 - 75) * (age - 1) / 12
        return at_13 + (adult - at_13) * min(1.0, (age - 13) / 5)

    # --- results and treatment ------------------------------------------------------------------------------------

    def labs(self, entry: Entry, collected: int, tests: tuple[str, ...], abnormal: tuple[str, ...]) -> int | None:
        """Lab results of one sample; the time they came out, or None when they are not out yet."""
        rng, file = self.rng, entry.file
        resulted = collected + rng.randrange(2 * HOUR, 6 * HOUR)
        if resulted > self.clock.now:
            return None
        by = rng.choice(entry.org.anyone(LABORATORY, "nurse"))
        child = file.age(collected) < 15
        female = file.sex == "female"
        collected_at, resulted_at = at(collected), at(resulted)
        for code in tests:
            test = LAB_TESTS[code]
            low, high = test.child if child else test.female if female else test.male
            if code in abnormal and rng.random() < 0.8:
                value = round(rng.uniform(*test.abnormal), test.decimals)
            else:
                value = round(rng.uniform(low + (high - low) * 0.12, high - (high - low) * 0.12), test.decimals)
            flag = _flag(value, low, high, *test.critical)
            row = entry.base(self.ids.take("lab_result"), by, resulted_at)
            row.update(test_code=code, test_name=test.name, value_numeric=value, value_text=None, unit=test.unit,
                       reference_low=float(low), reference_high=float(high), flag=flag,
                       collected_at=collected_at, resulted_at=resulted_at)  # fmt: skip
            if code == "UA":
                # Urinalysis reads as text: leukocytes per field of view.
                template = URINE_ABNORMAL if flag != "normal" else URINE_NORMAL
                row.update(value_numeric=None, value_text=template.format(value=int(value), upper=int(value) + rng.randint(1, 5)),
                           reference_low=None, reference_high=None)  # fmt: skip
            self.sink.clinical("lab_result", row)
        return resulted

    def _labs(self, entry: Entry, doctor: int, start: int, dx: Diagnosis) -> None:
        rng = self.rng
        resulted = self.labs(entry, start + rng.randrange(20 * MINUTE, 60 * MINUTE), dx.labs, dx.abnormal)
        if rng.random() < 0.7:
            self.referral(
                entry, doctor, start + 12 * MINUTE, "lab", "Laboratoriya tekshiruvi", code=dx.code, completed=resulted
            )

    def study(self, entry: Entry, performed: int, key: str) -> int | None:
        """An instrumental result; the time it was entered, or None when the study is still to come."""
        rng = self.rng
        entered = performed + rng.randrange(10 * MINUTE, 45 * MINUTE)
        if entered > self.clock.now:
            return None
        study = STUDIES[key]
        room = RADIOLOGY if study.modality in (Modality.XRAY, Modality.CT, Modality.MRI) else FUNCTIONAL
        by = rng.choice(entry.org.anyone(room, "doctor"))
        conclusion = rng.choice(study.conclusions).format(pulse=entry.file.pulse + rng.randint(-5, 5))
        row = entry.base(self.ids.take("instrumental_result"), by, at(entered))
        row.update(modality=str(study.modality), study=study.name, conclusion=conclusion, performed_at=at(performed))
        self.sink.clinical("instrumental_result", row)
        return entered

    def _study(self, entry: Entry, doctor: int, start: int, key: str, code: str) -> None:
        entered = self.study(entry, start + self.rng.randrange(30 * MINUTE, 3 * HOUR), key)
        if self.rng.random() < 0.8:
            self.referral(
                entry, doctor, start + 14 * MINUTE, "instrumental", STUDIES[key].name, code=code, completed=entered
            )

    def referral(
        self, entry: Entry, doctor: int, issued: int, kind: str, reason: str, *, code: str | None, completed: int | None,
        target: int | None = None, completed_encounter: int | None = None, cancelled: bool = False,
    ) -> int:  # fmt: skip
        """A referral issued in an encounter: completed at `completed`, else still issued (or cancelled)."""
        referral_id = self.ids.take("referral")
        row = entry.base(referral_id, doctor, at(issued))
        row.update(
            kind=kind, state="cancelled" if cancelled else "completed" if completed is not None else "issued",
            target_organization_id=target, icd10_code=code, reason=reason, issued_at=row["created_at"],
            completed_at=at(completed) if completed is not None and not cancelled else None,
            completed_encounter_id=completed_encounter,
        )  # fmt: skip
        if row["completed_at"] is not None:
            row["updated_at"] = row["completed_at"]
        self.sink.clinical("referral", row)
        return referral_id

    def _consultation(self, entry: Entry, doctor: int, issued: int, dx: Diagnosis) -> None:
        rng = self.rng
        specialist = {CARDIOLOGY: "Kardiolog", NEUROLOGY: "Nevrolog", ENDOCRINOLOGY: "Endokrinolog", SURGERY: "Jarroh"}
        done = office_hours(rng, issued + rng.randrange(DAY, 14 * DAY))
        cancelled = rng.random() < 0.05
        self.referral(entry, doctor, issued, "consultation", f"{specialist.get(dx.profile, 'Kardiolog')} konsultatsiyasi",
                      code=dx.code, completed=done if done <= self.clock.now and not cancelled else None, cancelled=cancelled)  # fmt: skip

    def treatment(self, entry: Entry, by: int, moment: int, kind: str, title: str, *, text: str | None = None) -> None:
        """An entry of the course of treatment."""
        when = at(moment)
        row = entry.base(self.ids.take("treatment_record"), by, when)
        row.update(kind=kind, title=title, text=text, performed_at=when)
        self.sink.clinical("treatment_record", row)

    def _allergy(self, entry: Entry, doctor: int, moment: int) -> None:
        allergen = entry.file.allergy
        assert allergen is not None
        reaction, severity = _REACTIONS.pick(self.rng)
        when = at(moment)
        row = entry.base(self.ids.take("allergy"), doctor, when)
        row.update(substance=allergen.substance, inn=allergen.inn, atc_code=allergen.atc, reaction=reaction,
                   severity=severity, recorded_at=when)  # fmt: skip
        self.sink.clinical("allergy", row)
        entry.file.allergy_written = True


class HospitalLike:
    """What the patient writer needs from the hospital writer (kept abstract to avoid an import cycle)."""

    def admissions(self, file: PatientFile) -> None:
        """Write the patient's hospital stays."""
        raise NotImplementedError


def _poisson(rng: Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth's method; the means here are small)."""
    limit = 2.718281828459045**-mean
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count

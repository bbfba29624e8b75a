"""Organizations in all regions with their modules, departments, wards and beds, and the lookups kept in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from random import Random

from ehealth.demo.clock import DAY, HOUR, at, local_day
from ehealth.demo.env import Env
from ehealth.demo.medicine import (
    CARDIOLOGY,
    ENDOCRINOLOGY,
    GYNECOLOGY,
    INTENSIVE_CARE,
    NEUROLOGY,
    PEDIATRICS,
    SURGERY,
    THERAPY,
)
from ehealth.demo.places import REGION_INFO, TASHKENT_CITY, Area, RegionInfo, address, district_for

# Roughly one polyclinic per 20,000 patients, one hospital per 60,000 and one pharmacy per 8,000.
PATIENTS_PER_POLYCLINIC = 20_000
PATIENTS_PER_HOSPITAL = 60_000
PATIENTS_PER_PHARMACY = 8_000
MIN_POLYCLINICS, MIN_HOSPITALS, MIN_PHARMACIES = 2, 1, 2
# The share of pharmacies under contract with the State Health Insurance Fund (each region's first one always is).
CONTRACTED_PHARMACIES = 0.6

MODULES_BY_KIND: dict[str, tuple[str, ...]] = {
    "polyclinic": ("polyclinic", "emr", "prescription"),
    "hospital": ("hospital", "emr", "prescription"),
    "pharmacy": ("prescription",),
}

PHARMACY_BRANDS = (
    "Shifo-Farm", "Dori-Darmon", "Grand Pharm", "Oxy-Med", "Arzon Apteka", "Nika Farm", "Med-Line",
    "Sog'lom Hayot", "Malham", "Darmon Plus", "Navbahor Farm", "Sino Farm",
)  # fmt: skip

# Department profiles that are not clinical specialties.
REGISTRY = "registry"
ADMISSION = "admission"
LABORATORY = "laboratory"
FUNCTIONAL = "functional"
RADIOLOGY = "radiology"
ADMINISTRATION = "administration"
PHARMACY = "pharmacy"

Staffing = tuple[tuple[str, str, int, int], ...]  # (role, position, fewest, most)


@dataclass(frozen=True)
class DeptPlan:
    """A department every organization of a kind has, with its staffing and beds."""

    name: str
    kind: str
    profile: str
    staffing: Staffing
    beds: tuple[int, int] = (0, 0)


def _clinic(role: str, position: str, low: int, high: int) -> tuple[str, str, int, int]:
    return (role, position, low, high)


_NURSE = "Hamshira"
_WARD_NURSE = "Palata hamshirasi"

POLYCLINIC_DEPTS: tuple[DeptPlan, ...] = (
    DeptPlan("Umumiy amaliyot (terapiya) bo'limi", "outpatient", THERAPY,
             (_clinic("doctor", "Terapevt shifokor", 4, 8), _clinic("nurse", _NURSE, 4, 8))),
    DeptPlan("Pediatriya bo'limi", "outpatient", PEDIATRICS,
             (_clinic("doctor", "Pediatr shifokor", 3, 6), _clinic("nurse", _NURSE, 3, 6))),
    DeptPlan("Registratura", "administration", REGISTRY, (_clinic("registrar", "Registrator", 2, 4),)),
    DeptPlan("Kardiologiya kabineti", "outpatient", CARDIOLOGY,
             (_clinic("doctor", "Kardiolog shifokor", 1, 2), _clinic("nurse", _NURSE, 1, 1))),
    DeptPlan("Nevrologiya kabineti", "outpatient", NEUROLOGY,
             (_clinic("doctor", "Nevrolog shifokor", 1, 2), _clinic("nurse", _NURSE, 1, 1))),
    DeptPlan("Ayollar maslahatxonasi", "outpatient", GYNECOLOGY,
             (_clinic("doctor", "Akusher-ginekolog shifokor", 1, 3), _clinic("nurse", "Akusherka", 1, 2))),
    DeptPlan("Endokrinologiya kabineti", "outpatient", ENDOCRINOLOGY,
             (_clinic("doctor", "Endokrinolog shifokor", 1, 1), _clinic("nurse", _NURSE, 1, 1))),
    DeptPlan("Jarrohlik kabineti", "outpatient", SURGERY,
             (_clinic("doctor", "Jarroh shifokor", 1, 2), _clinic("nurse", "Bog'lov xonasi hamshirasi", 1, 1))),
    DeptPlan("Klinik laboratoriya", "diagnostic", LABORATORY,
             (_clinic("doctor", "Klinik laboratoriya shifokori", 1, 1), _clinic("nurse", "Laborant", 2, 3))),
    DeptPlan("Funksional diagnostika bo'limi", "diagnostic", FUNCTIONAL,
             (_clinic("doctor", "Funksional diagnostika shifokori", 1, 2), _clinic("doctor", "UTT shifokori", 1, 1))),
    DeptPlan("Rentgen kabineti", "diagnostic", RADIOLOGY,
             (_clinic("doctor", "Rentgenolog shifokor", 1, 1), _clinic("nurse", "Rentgen laboranti", 1, 1))),
    DeptPlan("Ma'muriyat", "administration", ADMINISTRATION, (_clinic("manager", "Bosh shifokor", 1, 1),)),
)  # fmt: skip

HOSPITAL_DEPTS: tuple[DeptPlan, ...] = (
    DeptPlan("Qabul bo'limi", "outpatient", ADMISSION,
             (_clinic("registrar", "Registrator", 2, 4), _clinic("doctor", "Qabul bo'limi shifokori", 2, 3),
              _clinic("nurse", _NURSE, 2, 3))),
    DeptPlan("Terapiya bo'limi", "inpatient", THERAPY,
             (_clinic("doctor", "Terapevt shifokor", 3, 6), _clinic("nurse", _WARD_NURSE, 5, 9)), (40, 80)),
    DeptPlan("Umumiy jarrohlik bo'limi", "inpatient", SURGERY,
             (_clinic("doctor", "Jarroh shifokor", 3, 6), _clinic("nurse", _WARD_NURSE, 5, 9)), (30, 60)),
    DeptPlan("Kardiologiya bo'limi", "inpatient", CARDIOLOGY,
             (_clinic("doctor", "Kardiolog shifokor", 3, 5), _clinic("nurse", _WARD_NURSE, 5, 8)), (30, 60)),
    DeptPlan("Nevrologiya bo'limi", "inpatient", NEUROLOGY,
             (_clinic("doctor", "Nevrolog shifokor", 3, 5), _clinic("nurse", _WARD_NURSE, 5, 8)), (30, 60)),
    DeptPlan("Pediatriya bo'limi", "inpatient", PEDIATRICS,
             (_clinic("doctor", "Pediatr shifokor", 3, 5), _clinic("nurse", _WARD_NURSE, 5, 8)), (30, 60)),
    DeptPlan("Ginekologiya bo'limi", "inpatient", GYNECOLOGY,
             (_clinic("doctor", "Akusher-ginekolog shifokor", 3, 5), _clinic("nurse", "Akusherka", 4, 7)), (30, 50)),
    DeptPlan("Reanimatsiya va intensiv terapiya bo'limi", "inpatient", INTENSIVE_CARE,
             (_clinic("doctor", "Anesteziolog-reanimatolog", 3, 5), _clinic("nurse", "Reanimatsiya hamshirasi", 5, 8)), (6, 12)),
    DeptPlan("Klinik laboratoriya", "diagnostic", LABORATORY,
             (_clinic("doctor", "Klinik laboratoriya shifokori", 1, 2), _clinic("nurse", "Laborant", 2, 4))),
    DeptPlan("Funksional diagnostika bo'limi", "diagnostic", FUNCTIONAL,
             (_clinic("doctor", "Funksional diagnostika shifokori", 1, 2), _clinic("doctor", "UTT shifokori", 1, 2))),
    DeptPlan("Nurli diagnostika bo'limi", "diagnostic", RADIOLOGY,
             (_clinic("doctor", "Rentgenolog shifokor", 1, 2), _clinic("nurse", "Rentgen laboranti", 1, 2))),
    DeptPlan("Ma'muriyat", "administration", ADMINISTRATION, (_clinic("manager", "Bosh shifokor", 1, 1),)),
)  # fmt: skip

PHARMACY_DEPTS: tuple[DeptPlan, ...] = (
    DeptPlan("Dorixona savdo zali", "pharmacy", PHARMACY,
             (_clinic("manager", "Dorixona mudiri", 1, 1), _clinic("pharmacist", "Farmatsevt", 2, 4),
              _clinic("pharmacist", "Provizor", 0, 1))),
)  # fmt: skip

MINISTRY_DEPTS: tuple[DeptPlan, ...] = (
    DeptPlan("Tibbiy statistika va tahlil bo'limi", "administration", "statistics",
             (_clinic("analyst", "Bosh mutaxassis-tahlilchi", 5, 5),)),
    DeptPlan("Raqamli sog'liqni saqlash boshqarmasi", "administration", ADMINISTRATION,
             (_clinic("admin", "Tizim ma'muri", 3, 3), _clinic("manager", "Boshqarma boshlig'i", 1, 1))),
)  # fmt: skip

INTEGRATOR_DEPTS: tuple[DeptPlan, ...] = (
    DeptPlan("Tibbiyot axborot tizimlarini joriy etish departamenti", "administration", "deployment",
             (_clinic("integrator", "Integratsiya muhandisi", 6, 6), _clinic("manager", "Departament direktori", 1, 1))),
    DeptPlan("Texnik qo'llab-quvvatlash xizmati", "administration", "support",
             (_clinic("integrator", "Texnik qo'llab-quvvatlash mutaxassisi", 3, 3), _clinic("admin", "Tizim ma'muri", 1, 1))),
)  # fmt: skip

DEPTS_BY_KIND: dict[str, tuple[DeptPlan, ...]] = {
    "polyclinic": POLYCLINIC_DEPTS,
    "hospital": HOSPITAL_DEPTS,
    "pharmacy": PHARMACY_DEPTS,
    "ministry": MINISTRY_DEPTS,
    "integrator": INTEGRATOR_DEPTS,
}


@dataclass
class Dept:
    """A department as the generator remembers it: id, beds and who works there."""

    id: int
    name: str
    kind: str
    profile: str
    beds: list[int] = field(default_factory=list)
    # Cabinets that stay active the whole window, by role: they author the clinical history.
    staff: dict[str, list[int]] = field(default_factory=dict)

    def of(self, role: str) -> list[int]:
        """The department's stable cabinets of `role` (maybe none)."""
        return self.staff.get(role, [])


@dataclass
class Org:
    """An organization as the generator remembers it."""

    id: int
    kind: str
    name: str
    region: RegionInfo
    area: Area
    created: int  # epoch seconds
    stir: str = ""
    # A pharmacy under contract with the State Health Insurance Fund (dispenses reimbursed prescriptions).
    reimbursement_contract: bool = False
    depts: dict[str, Dept] = field(default_factory=dict)  # by profile

    def dept(self, profile: str) -> Dept:
        """The department of `profile`, or the general one (therapy) when the organization has none."""
        return self.depts.get(profile) or self.depts[THERAPY]

    def anyone(self, profile: str, role: str) -> list[int]:
        """Stable cabinets of `role` in the department of `profile`, else anywhere in the organization."""
        found = self.depts[profile].of(role) if profile in self.depts else []
        if found:
            return found
        return [cabinet for dept in self.depts.values() for cabinet in dept.of(role)]


@dataclass
class Network:
    """Every organization of the run, by kind and region (a few hundred objects at most)."""

    ministry: Org
    integrator: Org
    polyclinics: dict[int, list[Org]]
    hospitals: dict[int, list[Org]]
    pharmacies: dict[int, list[Org]]

    def all(self) -> list[Org]:
        """Every organization in id order."""
        orgs = [self.ministry, self.integrator]
        for table in (self.polyclinics, self.hospitals, self.pharmacies):
            orgs.extend(org for region_orgs in table.values() for org in region_orgs)
        return sorted(orgs, key=lambda org: org.id)


def plan_counts(patients: int) -> dict[int, tuple[int, int, int]]:
    """(polyclinics, hospitals, pharmacies) per region for `patients`, each region at least the minimum."""
    total = sum(region.population for region in REGION_INFO)
    plan: dict[int, tuple[int, int, int]] = {}
    for region in REGION_INFO:
        served = patients * region.population / total
        plan[region.id] = (
            max(MIN_POLYCLINICS, round(served / PATIENTS_PER_POLYCLINIC)),
            max(MIN_HOSPITALS, round(served / PATIENTS_PER_HOSPITAL)),
            max(MIN_PHARMACIES, round(served / PATIENTS_PER_PHARMACY)),
        )
    return plan


class _RegionNames:
    """Unique names for a region's polyclinics and hospitals: numbered city ones and district ones."""

    def __init__(self, rng: Random, region: RegionInfo, count: int) -> None:
        self.rng = rng
        self.region = region
        self.city = "Toshkent shahar" if region.id == TASHKENT_CITY else f"{region.centre} shahar"
        # The first polyclinic is number 1; the others get distinct numbers as real cities have gaps.
        self.numbers = iter([1, *sorted(rng.sample(range(2, 2 + max(90, 3 * count)), count))])
        self.hospital_numbers = iter(range(1, count + 2))
        outside = [area for area in region.areas if not area.is_city] or list(region.areas)
        self.districts = rng.sample(outside, len(outside))
        self.polyclinics = 0

    def polyclinic(self) -> tuple[str, RegionInfo, Area]:
        """A family polyclinic in the city, or every other one a district's central polyclinic."""
        self.polyclinics += 1
        if self.region.id != TASHKENT_CITY and self.polyclinics % 2 == 0 and self.districts:
            area = self.districts.pop()
            return f"{area.in_name} ko'p tarmoqli markaziy poliklinikasi", self.region, area
        area = self.rng.choice(self.region.areas)
        return f"{self.city} {next(self.numbers)}-oilaviy poliklinikasi", self.region, area

    def hospital(self) -> tuple[str, RegionInfo, Area]:
        """The region's multi-profile centre first, then numbered city hospitals."""
        number = next(self.hospital_numbers)
        if number == 1:
            if self.region.id == TASHKENT_CITY:
                return "Toshkent shahar ko'p tarmoqli klinik shifoxonasi", self.region, self.region.areas[0]
            return f"{self.region.in_name} ko'p tarmoqli tibbiyot markazi", self.region, self.region.areas[0]
        return f"{self.city} {number}-klinik shifoxonasi", self.region, self.rng.choice(self.region.areas)


class OrganizationBuilder:
    """Writes organizations, modules, departments, wards and beds; returns the Network lookups."""

    def __init__(self, env: Env, districts: dict[int, list[tuple[int, str]]]) -> None:
        self.rng = env.rng
        self.clock = env.clock
        self.ids = env.ids
        self.sink = env.sink
        self.districts = districts
        self._stirs: set[str] = set()
        self._pharmacy_numbers: dict[str, int] = {}

    def build(self, patients: int) -> Network:
        """All organizations for `patients`: the ministry and UZINFOCOM first, then Tashkent city, then the rest."""
        tashkent = next(region for region in REGION_INFO if region.id == TASHKENT_CITY)
        ministry = self._org(
            "ministry", "O'zbekiston Respublikasi Sog'liqni saqlash vazirligi", tashkent, tashkent.areas[4],
            name_ru="Министерство здравоохранения Республики Узбекистан", street="Navoiy ko'chasi, 12-uy",
        )  # fmt: skip
        integrator = self._org(
            "integrator", "«UZINFOCOM» yagona integratori DUK", tashkent, tashkent.areas[2],
            name_ru="ГУП «Единый интегратор UZINFOCOM»", street="Mirzo Ulug'bek ko'chasi, 69-uy",
        )  # fmt: skip
        plan = plan_counts(patients)
        # Tashkent city first so that its first polyclinic and pharmacy get the smallest ids (demo sign-in).
        regions = sorted(REGION_INFO, key=lambda region: (region.id != TASHKENT_CITY, region.id))
        network = Network(ministry, integrator, {}, {}, {})
        for region in regions:
            polyclinics, hospitals, pharmacies = plan[region.id]
            names = _RegionNames(self.rng, region, polyclinics + hospitals)
            first_polyclinic = self._org("polyclinic", *names.polyclinic())
            first_pharmacy = self._pharmacy(region, first=True)
            network.polyclinics[region.id] = [first_polyclinic]
            network.polyclinics[region.id].extend(
                self._org("polyclinic", *names.polyclinic()) for _ in range(polyclinics - 1)
            )
            network.hospitals[region.id] = [self._org("hospital", *names.hospital()) for _ in range(hospitals)]
            network.pharmacies[region.id] = [first_pharmacy]
            network.pharmacies[region.id].extend(self._pharmacy(region) for _ in range(pharmacies - 1))
        return network

    def _pharmacy(self, region: RegionInfo, *, first: bool = False) -> Org:
        """A pharmacy; the region's first one (the demo sign-in pharmacist's, in Tashkent) is always contracted."""
        brand = self.rng.choice(PHARMACY_BRANDS)
        number = self._pharmacy_numbers.get(brand, 0) + 1
        self._pharmacy_numbers[brand] = number
        contract = self.rng.random() < CONTRACTED_PHARMACIES or first
        return self._org(
            "pharmacy", f"Dorixona «{brand}» {number}", region, self.rng.choice(region.areas), contract=contract
        )

    # --- rows -------------------------------------------------------------------------------------------------

    def _stir(self) -> str:
        # Legal entities' STIRs start with 2 or 3 (individuals' with 4-7).
        while True:
            stir = f"{self.rng.choice('23')}{self.rng.randrange(10**8):08d}"
            if stir not in self._stirs:
                self._stirs.add(stir)
                return stir

    def _org(
        self,
        kind: str,
        name: str,
        region: RegionInfo,
        area: Area,
        *,
        name_ru: str | None = None,
        street: str | None = None,
        contract: bool = False,
    ) -> Org:
        rng, clock = self.rng, self.clock
        org_id = self.ids.take("organization")
        state_body = kind in ("ministry", "integrator")
        created = (
            clock.platform_start
            + (0 if state_body else rng.randrange(1, 40) * DAY)
            + rng.randrange(9 * HOUR, 17 * HOUR)
        )
        licence_number = licence_date = licence_until = None
        if not state_body:
            licence_date = local_day(created) - timedelta(days=rng.randrange(200, 2400))
            licence_number = f"L-{rng.randrange(10**6, 10**7)}"
            licence_until = (
                licence_date.replace(year=licence_date.year + 10)
                if licence_date.month != 2
                else licence_date + timedelta(days=3652)
            )
        district_id, area_text = self._district(region, area)
        text = f"Toshkent shahri, {area_text}, {street}" if street else address(rng, region, area)
        moment = at(created)
        stir = self._stir()
        self.sink.add("organization", {
            "id": org_id, "name": name, "name_ru": name_ru, "kind": kind, "stir": stir,
            "licence_number": licence_number, "licence_date": licence_date, "licence_valid_until": licence_until,
            "region_id": region.id, "district_id": district_id, "address": text, "is_active": True,
            "reimbursement_contract": contract, "created_at": moment, "updated_at": moment,
        })  # fmt: skip
        for module in MODULES_BY_KIND.get(kind, ()):
            self.sink.add("organization_module", {"organization_id": org_id, "module": module, "enabled_at": moment})
        org = Org(org_id, kind, name, region, area, created, stir, contract)
        for plan in DEPTS_BY_KIND[kind]:
            org.depts[plan.profile] = self._department(org, plan)
        return org

    def _district(self, region: RegionInfo, area: Area) -> tuple[int | None, str]:
        """The district row matching `area` when the database has district reference data, and the address text."""
        return district_for(self.districts, region.id, area), area.in_address

    def _department(self, org: Org, plan: DeptPlan) -> Dept:
        dept = Dept(self.ids.take("department"), plan.name, plan.kind, plan.profile)
        self.sink.add("department", {
            "id": dept.id, "organization_id": org.id, "name": plan.name, "kind": plan.kind, "profile": plan.profile,
        })  # fmt: skip
        low, high = plan.beds
        if high:
            self._beds(org, dept, self.rng.randint(low, high))
        return dept

    def _beds(self, org: Org, dept: Dept, count: int) -> None:
        rng = self.rng
        # Wards are numbered by floor (201, 202, ...); intensive care is one open hall.
        floor = rng.randint(1, 4) * 100
        ward_number, placed = floor, 0
        while placed < count:
            ward_number += 1
            size = count - placed if dept.profile == INTENSIVE_CARE else min(count - placed, rng.randint(2, 6))
            ward_id = self.ids.take("ward")
            self.sink.add(
                "ward",
                {"id": ward_id, "organization_id": org.id, "department_id": dept.id, "name": f"{ward_number}-palata"},
            )
            for bed_number in range(1, size + 1):
                bed_id = self.ids.take("bed")
                self.sink.add("bed", {
                    "id": bed_id, "organization_id": org.id, "ward_id": ward_id, "code": f"{ward_number}-{bed_number}", "is_active": True,
                })  # fmt: skip
                dept.beds.append(bed_id)
            placed += size

"""Where people live: each region's population weight, centre, districts and street names, and addresses."""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

TASHKENT_CITY = 1726


@dataclass(frozen=True)
class Area:
    """A district (tuman) or city (shahar) inside a region."""

    name: str
    is_city: bool
    district_id: int | None = None  # the `district` row, when the database has district reference data

    @property
    def in_address(self) -> str:
        """How an address writes it: "Urgut tumani", "Chirchiq shahri"."""
        return f"{self.name} {'shahri' if self.is_city else 'tumani'}"

    @property
    def in_name(self) -> str:
        """How an organization's name writes it: "Urgut tuman", "Chirchiq shahar"."""
        return f"{self.name} {'shahar' if self.is_city else 'tuman'}"


@dataclass(frozen=True)
class RegionInfo:
    """A region as the generator sees it."""

    id: int
    name: str  # "Samarqand viloyati"
    in_name: str  # "Samarqand viloyat", as an organization's name writes it
    centre: str  # the regional centre, a city
    population: float  # millions (2024), the weight of the region among patients
    areas: tuple[Area, ...]


def _areas(centre: str, cities: tuple[str, ...], districts: tuple[str, ...]) -> tuple[Area, ...]:
    return (
        Area(centre, True),
        *(Area(name, True) for name in cities),
        *(Area(name, False) for name in districts),
    )


# Populations from the Statistics Agency (2024, millions, rounded); districts are a representative subset.
REGION_INFO: tuple[RegionInfo, ...] = (
    RegionInfo(1703, "Andijon viloyati", "Andijon viloyat", "Andijon", 3.3,
               _areas("Andijon", ("Asaka",), ("Baliqchi", "Bo'ston", "Izboskan", "Xo'jaobod", "Shahrixon", "Marhamat"))),
    RegionInfo(1706, "Buxoro viloyati", "Buxoro viloyat", "Buxoro", 2.0,
               _areas("Buxoro", ("Kogon",), ("G'ijduvon", "Qorako'l", "Romitan", "Vobkent", "Jondor"))),
    RegionInfo(1708, "Jizzax viloyati", "Jizzax viloyat", "Jizzax", 1.5,
               _areas("Jizzax", (), ("Zomin", "G'allaorol", "Paxtakor", "Forish", "Do'stlik"))),
    RegionInfo(1710, "Qashqadaryo viloyati", "Qashqadaryo viloyat", "Qarshi", 3.5,
               _areas("Qarshi", ("Shahrisabz",), ("Kitob", "G'uzor", "Koson", "Qamashi", "Yakkabog'"))),
    RegionInfo(1712, "Navoiy viloyati", "Navoiy viloyat", "Navoiy", 1.1,
               _areas("Navoiy", ("Zarafshon",), ("Karmana", "Qiziltepa", "Nurota", "Uchquduq"))),
    RegionInfo(1714, "Namangan viloyati", "Namangan viloyat", "Namangan", 3.0,
               _areas("Namangan", (), ("Chust", "Kosonsoy", "Pop", "To'raqo'rg'on", "Uchqo'rg'on", "Chortoq"))),
    RegionInfo(1718, "Samarqand viloyati", "Samarqand viloyat", "Samarqand", 4.2,
               _areas("Samarqand", ("Kattaqo'rg'on",), ("Urgut", "Pastdarg'om", "Payariq", "Jomboy", "Bulung'ur", "Ishtixon"))),
    RegionInfo(1722, "Surxondaryo viloyati", "Surxondaryo viloyat", "Termiz", 2.8,
               _areas("Termiz", (), ("Denov", "Sherobod", "Sho'rchi", "Jarqo'rg'on", "Boysun", "Qumqo'rg'on"))),
    RegionInfo(1724, "Sirdaryo viloyati", "Sirdaryo viloyat", "Guliston", 0.9,
               _areas("Guliston", ("Yangiyer",), ("Sirdaryo", "Boyovut", "Mirzaobod", "Sardoba"))),
    RegionInfo(TASHKENT_CITY, "Toshkent shahri", "Toshkent shahar", "Toshkent", 3.0,
               tuple(Area(name, False) for name in ("Chilonzor", "Yunusobod", "Mirzo Ulug'bek", "Yakkasaroy",
                                                    "Shayxontohur", "Olmazor", "Mirobod", "Sergeli", "Uchtepa",
                                                    "Yashnobod", "Bektemir", "Yangihayot"))),
    RegionInfo(1727, "Toshkent viloyati", "Toshkent viloyat", "Nurafshon", 3.0,
               _areas("Nurafshon", ("Chirchiq", "Angren", "Olmaliq"), ("Zangiota", "Qibray", "Bo'stonliq", "Yangiyo'l", "Parkent"))),
    RegionInfo(1730, "Farg'ona viloyati", "Farg'ona viloyat", "Farg'ona", 4.0,
               _areas("Farg'ona", ("Marg'ilon", "Qo'qon", "Quvasoy"), ("Oltiariq", "Rishton", "Quva", "Beshariq"))),
    RegionInfo(1733, "Xorazm viloyati", "Xorazm viloyat", "Urganch", 1.9,
               _areas("Urganch", ("Xiva",), ("Xonqa", "Gurlan", "Shovot", "Bog'ot", "Yangiariq"))),
    RegionInfo(1735, "Qoraqalpog'iston Respublikasi", "Qoraqalpog'iston Respublikasi", "Nukus", 2.0,
               _areas("Nukus", (), ("Xo'jayli", "Beruniy", "To'rtko'l", "Chimboy", "Qo'ng'irot", "Ellikqal'a"))),
)  # fmt: skip

STREETS: tuple[str, ...] = (
    "Amir Temur", "Alisher Navoiy", "Mustaqillik", "Bobur", "Istiqlol", "Mirzo Ulug'bek", "Ibn Sino", "Beruniy",
    "Bunyodkor", "Furqat", "Cho'lpon", "Abdulla Qodiriy", "Muqimiy", "Bog'ishamol", "Yangi hayot", "Do'stlik",
    "Tinchlik", "Guliston", "Navro'z", "Paxtakor", "Sharq", "Zarafshon", "Mehnat", "Bahor", "Uzumzor",
    "Oqtepa", "Nurafshon", "Shodlik", "Yoshlik", "Ma'rifat",
)  # fmt: skip


def address(rng: Random, region: RegionInfo, area: Area) -> str:
    """A home or office address: region (outside Tashkent city), district, street, house and flat."""
    street = rng.choice(STREETS)
    kind = "ko'chasi" if rng.random() < 0.8 else "mahallasi"
    house = f"{rng.randint(1, 180)}-uy"
    flat = f", {rng.randint(1, 90)}-xonadon" if area.is_city or region.id == TASHKENT_CITY else ""
    return f"{region.name}, {area.in_address}, {street} {kind}, {house}{flat}"


def district_for(districts: dict[int, list[tuple[int, str]]], region_id: int, area: Area) -> int | None:
    """The `district` row named like `area`, when the database has district reference data (else None)."""
    for district_id, name in districts.get(region_id, ()):
        if name.startswith(area.name):
            return district_id
    return None

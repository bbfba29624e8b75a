"""Uzbekistan's 14 first-level regions: SOATO code, ISO 3166-2 code, names in uz (Latin), ru and en."""

from __future__ import annotations

from typing import NamedTuple


class RegionRow(NamedTuple):
    """One region as the reference table stores it."""

    soato: int
    iso_code: str
    name_uz: str
    name_ru: str
    name_en: str


REGIONS: tuple[RegionRow, ...] = (
    RegionRow(1703, "UZ-AN", "Andijon viloyati", "Андижанская область", "Andijan Region"),
    RegionRow(1706, "UZ-BU", "Buxoro viloyati", "Бухарская область", "Bukhara Region"),
    RegionRow(1708, "UZ-JI", "Jizzax viloyati", "Джизакская область", "Jizzakh Region"),
    RegionRow(1710, "UZ-QA", "Qashqadaryo viloyati", "Кашкадарьинская область", "Kashkadarya Region"),
    RegionRow(1712, "UZ-NW", "Navoiy viloyati", "Навоийская область", "Navoiy Region"),
    RegionRow(1714, "UZ-NG", "Namangan viloyati", "Наманганская область", "Namangan Region"),
    RegionRow(1718, "UZ-SA", "Samarqand viloyati", "Самаркандская область", "Samarkand Region"),
    RegionRow(1722, "UZ-SU", "Surxondaryo viloyati", "Сурхандарьинская область", "Surkhandarya Region"),
    RegionRow(1724, "UZ-SI", "Sirdaryo viloyati", "Сырдарьинская область", "Syrdarya Region"),
    RegionRow(1726, "UZ-TK", "Toshkent shahri", "город Ташкент", "Tashkent City"),
    RegionRow(1727, "UZ-TO", "Toshkent viloyati", "Ташкентская область", "Tashkent Region"),
    RegionRow(1730, "UZ-FA", "Farg'ona viloyati", "Ферганская область", "Fergana Region"),
    RegionRow(1733, "UZ-XO", "Xorazm viloyati", "Хорезмская область", "Khorezm Region"),
    RegionRow(
        1735, "UZ-QR", "Qoraqalpog'iston Respublikasi", "Республика Каракалпакстан", "Republic of Karakalpakstan"
    ),
)

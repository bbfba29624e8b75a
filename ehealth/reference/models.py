"""Regions, organizations with departments, wards and beds, and the drug catalogue."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, IntPk, Timestamp, UpdatedAt, enum_column, fk
from ehealth.i18n import N_


class OrganizationKind(StrEnum):
    """What an organization is; decides which modules and roles make sense for it."""

    POLYCLINIC = "polyclinic"
    HOSPITAL = "hospital"
    PHARMACY = "pharmacy"
    MINISTRY = "ministry"
    INTEGRATOR = "integrator"


class Module(StrEnum):
    """The four modules of clause 1 (R-1)."""

    POLYCLINIC = "polyclinic"
    HOSPITAL = "hospital"
    EMR = "emr"
    PRESCRIPTION = "prescription"


class DrugCategory(StrEnum):
    """How a medicine may be sold (PRESCRIPTION.md)."""

    OTC = "otc"
    PRESCRIPTION = "prescription"
    CONTROLLED = "controlled"


class DepartmentKind(StrEnum):
    """Where a department works: outpatient, inpatient (with wards and beds), diagnostics, pharmacy, office."""

    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    DIAGNOSTIC = "diagnostic"
    PHARMACY = "pharmacy"
    ADMINISTRATION = "administration"


class Region(Base):
    """One of Uzbekistan's 14 first-level regions; the key is its SOATO code (1703 … 1735)."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    iso_code: Mapped[str] = mapped_column(String(6), unique=True)
    name_uz: Mapped[str] = mapped_column(String(80))
    name_ru: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))

    __table_args__ = (CheckConstraint("id BETWEEN 1700 AND 1799", name="soato_range"),)


class District(Base):
    """A district or city inside a region (SOATO 7-digit code)."""

    __tablename__ = "district"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    name_uz: Mapped[str] = mapped_column(String(80))
    name_ru: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))


class Organization(Base):
    """A medical organization, pharmacy, the ministry or the integrator."""

    __tablename__ = "organization"

    id: Mapped[IntPk]
    name: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[OrganizationKind] = enum_column(OrganizationKind, "kind", index=True)
    stir: Mapped[str] = mapped_column(String(9))
    licence_number: Mapped[str | None] = mapped_column(String(40))
    licence_date: Mapped[date | None] = mapped_column(Date)
    licence_valid_until: Mapped[date | None] = mapped_column(Date)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A pharmacy under contract with the State Health Insurance Fund may dispense reimbursed prescriptions.
    reimbursement_contract: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        UniqueConstraint(
            "stir",
            name="uq_organization_stir",
            info={"message": N_("An organization with this STIR is already registered.")},
        ),
        CheckConstraint(
            "kind IN ('ministry', 'integrator') OR (licence_number IS NOT NULL AND licence_date IS NOT NULL)",
            name="licence_required",
            info={"message": N_("A medical organization or pharmacy needs its licence number and date.")},
        ),
        CheckConstraint(
            "licence_valid_until IS NULL OR licence_date IS NULL OR licence_valid_until >= licence_date",
            name="licence_dates",
            info={"message": N_("A licence cannot expire before it was issued.")},
        ),
    )


class OrganizationModule(Base):
    """A module installed for an organization (R-2, R-3)."""

    __tablename__ = "organization_module"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    module: Mapped[Module] = enum_column(Module, "module", primary_key=True)
    enabled_at: Mapped[Timestamp]


class Department(Base):
    """A department of an organization."""

    __tablename__ = "department"

    id: Mapped[IntPk]
    organization_id: Mapped[int] = fk("organization.id")
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[DepartmentKind] = enum_column(DepartmentKind, "kind")
    profile: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint(
            "organization_id", "name", info={"message": N_("This organization already has a department of that name.")}
        ),
    )


class Ward(Base):
    """A ward of an inpatient department."""

    __tablename__ = "ward"

    id: Mapped[IntPk]
    organization_id: Mapped[int] = fk("organization.id")
    department_id: Mapped[int] = fk("department.id")
    name: Mapped[str] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint(
            "department_id", "name", info={"message": N_("This department already has a ward of that name.")}
        ),
    )


class Bed(Base):
    """A bed in a ward."""

    __tablename__ = "bed"

    id: Mapped[IntPk]
    organization_id: Mapped[int] = fk("organization.id")
    ward_id: Mapped[int] = fk("ward.id")
    code: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("ward_id", "code", info={"message": N_("This ward already has a bed with that number.")}),
    )


class Drug(Base):
    """A medicine of the national catalogue (one INN + brand + form + strength)."""

    __tablename__ = "drug"

    id: Mapped[IntPk]
    inn: Mapped[str] = mapped_column(String(120), index=True)
    brand: Mapped[str | None] = mapped_column(String(120), index=True)
    form: Mapped[str] = mapped_column(String(40))
    strength: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(20))
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    atc_code: Mapped[str] = mapped_column(String(7), index=True)
    category: Mapped[DrugCategory] = enum_column(DrugCategory, "category")
    eprescription_only: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # How a dose is counted ("tabletka", "doza", "XB") and how many of them one unit (`unit`) holds: an inhaler
    # gives 200 doses, an insulin pen 300 XB. Prescribed quantities are counted in `unit`.
    dose_unit: Mapped[str] = mapped_column(String(20), server_default="")
    doses_per_unit: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The usual regimen, offered when a doctor picks the medicine.
    usual_dose: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    usual_intakes: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    usual_days: Mapped[int] = mapped_column(SmallInteger, default=7, server_default="7")
    route: Mapped[str] = mapped_column(String(20), server_default="")

    __table_args__ = (
        UniqueConstraint(
            "inn", "brand", "form", "strength", info={"message": N_("This medicine is already in the catalogue.")}
        ),
        CheckConstraint(
            "length(atc_code) = 7",
            name="atc_code_length",
            info={"message": N_("An ATC code has 7 characters, such as J01CA04.")},
        ),
        CheckConstraint("pack_size > 0", name="pack_size_positive"),
        CheckConstraint("doses_per_unit > 0", name="doses_per_unit_positive"),
        CheckConstraint(
            "category <> 'otc' OR eprescription_only = false",
            name="otc_not_eprescription",
            info={"message": N_("An over-the-counter medicine cannot be e-prescription-only.")},
        ),
    )


Index("ix_organization_region_kind", Organization.region_id, Organization.kind)

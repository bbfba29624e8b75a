"""Every number of the e-prescription rules (PRESCRIPTION.md) in one place: the Ministry changes them by order."""

from __future__ import annotations

from dataclasses import dataclass, field

from ehealth.prescription.models import PrescriptionCategory as Category


@dataclass(frozen=True)
class PrescriptionRules:
    """The configurable numbers and lists of prescribing and dispensing."""

    # Days a prescription stays valid after the day of issue, by category.
    validity_days: dict[Category, int] = field(
        default_factory=lambda: {
            Category.REGULAR: 90,
            Category.CHRONIC: 60,
            Category.REIMBURSED: 30,
            Category.CONTROLLED: 15,
        }
    )
    # The longest course one prescription may cover, by category (a controlled one: at most a 7-day supply).
    max_course_days: dict[Category, int] = field(
        default_factory=lambda: {
            Category.REGULAR: 90,
            Category.CHRONIC: 90,
            Category.REIMBURSED: 30,
            Category.CONTROLLED: 7,
        }
    )
    # A chronic prescription may be marked repeat: dispensed up to 1 + max_repeats times inside its validity.
    max_repeats: int = 5
    max_items: int = 5
    controlled_max_items: int = 1
    max_intakes_per_day: int = 12
    max_dose_units: float = 500.0  # per intake, in the medicine's dose unit (tablets, doses, XB)
    # ICD-10 prefixes of the reimbursement programme: hypertension, ischaemic heart disease, type 2 diabetes,
    # asthma, COPD.
    reimbursed_icd10_prefixes: tuple[str, ...] = (
        "I10", "I11", "I12", "I13", "I15", "I20", "I21", "I22", "I23", "I24", "I25", "E11", "J45", "J44",
    )  # fmt: skip
    # ATC groups sold only against an e-prescription (phase 1: antibacterials, systemic hormones).
    eprescription_only_atc: tuple[str, ...] = ("J01", "H02", "H03")
    # How a medicine is given; the prescribing form offers these (Uzbek, as printed on the prescription).
    routes: tuple[str, ...] = (
        "og'iz orqali", "til ostiga", "ingalyatsiya", "mushak ichiga", "vena ichiga", "teri osti", "teriga",
        "ko'zga", "quloqqa", "burunga", "to'g'ri ichakka", "qinga",
    )  # fmt: skip
    # A doctor may still prescribe on a visit or stay this long after it closed (discharge prescriptions).
    after_close_hours: int = 24
    # A draft waiting for the E-IMZO signature is kept this long.
    draft_minutes: int = 30
    # Controlled medicines: the record is kept 5 years (nothing clinical is deleted; this is what reports cite).
    controlled_retention_years: int = 5

    def reimbursable(self, icd10_code: str) -> bool:
        """True when the programme reimburses medicines for this diagnosis."""
        return icd10_code.upper().startswith(self.reimbursed_icd10_prefixes)

    def eprescription_only(self, atc_code: str) -> bool:
        """True when the medicine may be dispensed only on an e-prescription."""
        return atc_code.upper().startswith(self.eprescription_only_atc)


RULES = PrescriptionRules()

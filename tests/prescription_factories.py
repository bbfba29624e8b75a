"""A prescribing doctor, a pharmacy with its pharmacist, the drug catalogue, and orders built from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.models import Cabinet, Role
from ehealth.audit.trail import Actor
from ehealth.demo.catalogue import DRUGS, DrugSpec
from ehealth.patients.models import Patient, Sex
from ehealth.prescription.confirmation import Confirmer, OneIdSession
from ehealth.prescription.models import Prescription
from ehealth.prescription.prescribing import Acknowledgement, ItemInput, Order, issue_with_session
from ehealth.reference.models import Drug, Organization, OrganizationKind
from tests import emr_factories, factories

SEAL_KEY = b"test-confirmation-key-0123456789abcdef"
CONFIRMER = Confirmer(seal_key=SEAL_KEY)


def _row(spec: DrugSpec) -> Drug:
    return Drug(
        inn=spec.inn,
        brand=spec.brand,
        form=spec.form,
        strength=spec.strength,
        unit=spec.unit,
        pack_size=spec.pack_size,
        atc_code=spec.atc,
        category=spec.category,
        eprescription_only=spec.eprescription_only,
        dose_unit=spec.dose_unit,
        doses_per_unit=spec.doses_per_pack // spec.pack_size,
        usual_dose=spec.dose,
        usual_intakes=spec.intakes,
        usual_days=spec.days,
        route=spec.route,
    )


def catalogue(session: Session) -> dict[str, Drug]:
    """The demo drug catalogue in the database (added once), by ATC code."""
    found = {drug.atc_code: drug for drug in session.execute(select(Drug)).scalars()}
    missing = [_row(spec) for spec in DRUGS if spec.atc not in found]
    session.add_all(missing)
    session.flush()
    found.update({drug.atc_code: drug for drug in missing})
    return found


def generic(session: Session, atc: str, brand: str) -> Drug:
    """Another brand of the medicine with code `atc` (same INN, form and strength)."""
    base = catalogue(session)[atc]
    row = Drug(
        inn=base.inn,
        brand=brand,
        form=base.form,
        strength=base.strength,
        unit=base.unit,
        pack_size=base.pack_size,
        atc_code=base.atc_code,
        category=base.category,
        eprescription_only=base.eprescription_only,
        dose_unit=base.dose_unit,
        doses_per_unit=base.doses_per_unit,
        usual_dose=base.usual_dose,
        usual_intakes=base.usual_intakes,
        usual_days=base.usual_days,
        route=base.route,
    )
    session.add(row)
    session.flush()
    return row


@dataclass
class Setting:
    """A polyclinic doctor with an open visit, a colleague, a pharmacy (contracted or not) and its pharmacist."""

    clinic: emr_factories.Clinic
    colleague: Cabinet
    pharmacy: Organization
    pharmacist: Cabinet
    drugs: dict[str, Drug]

    @property
    def doctor(self) -> Actor:
        """The prescribing doctor acting."""
        return self.clinic.as_doctor

    @property
    def dispenser(self) -> Actor:
        """The pharmacist acting."""
        return emr_factories.actor(self.pharmacist)

    @property
    def patient(self) -> Patient:
        """The patient of the open visit."""
        return self.clinic.patient

    def oneid(self) -> OneIdSession:
        """The doctor's live OneID session."""
        return OneIdSession(self.clinic.doctor.id, utcnow())

    def item(self, atc: str, **changes: object) -> ItemInput:
        """A line of the medicine `atc` at its usual regimen, with `changes`."""
        drug = self.drugs[atc]
        values: dict[str, object] = {
            "drug_id": drug.id,
            "dose": drug.usual_dose,
            "intakes_per_day": drug.usual_intakes,
            "duration_days": drug.usual_days,
        }
        values.update(changes)
        return ItemInput(**values)  # type: ignore[arg-type]

    def order(self, *items: ItemInput, category: str = "regular", icd10: str = "J18.9", **extra: object) -> Order:
        """An order from the open visit."""
        return Order(
            patient_id=self.patient.id,
            encounter_id=self.clinic.visit.id,
            icd10_code=icd10,
            category=category,
            items=tuple(items),
            **extra,  # type: ignore[arg-type]
        )

    def issue(
        self, session: Session, order: Order, acks: tuple[Acknowledgement, ...] = (), now: datetime | None = None
    ) -> Prescription:
        """Issue `order`, confirmed with the doctor's OneID session."""
        return issue_with_session(
            session, order, acks, actor=self.doctor, oneid=self.oneid(), confirmer=CONFIRMER, now=now
        )


def setting(
    session: Session, *, contracted: bool = True, born: date = date(1980, 3, 1), sex: Sex = Sex.MALE
) -> Setting:
    """A fresh polyclinic, patient, visit and pharmacy."""
    who = factories.patient(session, born=born, sex=sex)
    who.phone = "+998901234567"
    clinic = emr_factories.clinic(session, patient=who)
    colleague = factories.cabinet(session, clinic.org, Role.DOCTOR)
    pharmacy = factories.organization(session, OrganizationKind.PHARMACY)
    pharmacy.reimbursement_contract = contracted
    pharmacist = factories.cabinet(session, pharmacy, Role.PHARMACIST)
    session.flush()
    return Setting(clinic, colleague, pharmacy, pharmacist, catalogue(session))

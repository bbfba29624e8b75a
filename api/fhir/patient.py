"""Patient (UZ Core Patient) from the patient registry."""

from __future__ import annotations

from fhir.resources.address import Address
from fhir.resources.contactpoint import ContactPoint
from fhir.resources.humanname import HumanName
from fhir.resources.identifier import Identifier
from fhir.resources.patient import Patient as FhirPatient
from fhir.resources.patient import PatientLink

from api.fhir.common import concept, meta, ref
from api.fhir.identifiers import COUNTRY_UZ, IDENTIFIER_TYPE_SYSTEM, PINFL_SYSTEM
from ehealth.patients.models import Patient, Sex

# AdministrativeGender (http://hl7.org/fhir/administrative-gender), bound by the IG's AdministrativeGenderVS.
GENDER: dict[Sex, str] = {Sex.MALE: "male", Sex.FEMALE: "female"}


def pinfl_identifier(pinfl: str) -> Identifier:
    """The IG's nationalId slice: system $nationaluniqueID, type v2-0203#NI, use official."""
    return Identifier(
        use="official",
        type=concept(IDENTIFIER_TYPE_SYSTEM, "NI", "National unique individual identifier"),
        system=PINFL_SYSTEM,
        value=pinfl,
    )


def human_name(surname: str, given_name: str, patronymic: str | None) -> HumanName:
    """Family, given and text as stored (Uzbek Latin); the patronymic goes in suffix, as the IG's examples do."""
    return HumanName(
        use="official",
        text=" ".join(part for part in (surname, given_name, patronymic) if part),
        family=surname,
        given=[given_name],
        suffix=[patronymic] if patronymic else None,
    )


def uz_address(text: str | None, region_id: int, district_id: int | None) -> Address:
    """The IG's uzAddress slice: country UZ, state = region SOATO code, district = district SOATO code."""
    return Address(
        use="home",
        type="physical",
        text=text,
        state=str(region_id),
        district=str(district_id) if district_id is not None else None,
        country=COUNTRY_UZ,
    )


def patient(row: Patient) -> FhirPatient:
    """A registered patient; a record merged into another is inactive and points at the one that replaced it."""
    merged = row.merged_into_id is not None
    return FhirPatient(
        id=str(row.id),
        meta=meta("Patient"),
        identifier=[pinfl_identifier(row.pinfl)],
        active=not merged,
        name=[human_name(row.surname, row.given_name, row.patronymic)],
        telecom=[ContactPoint(system="phone", value=row.phone, use="mobile")] if row.phone else None,
        gender=GENDER[row.sex],
        birthDate=row.birth_date,
        address=[uz_address(row.address, row.region_id, row.district_id)],
        link=[PatientLink(other=ref("Patient", row.merged_into_id), type="replaced-by")]
        if row.merged_into_id is not None
        else None,
    )

"""Organization (UZ Core Organization) and Practitioner (UZ Core Practitioner)."""

from __future__ import annotations

from fhir.resources.contactpoint import ContactPoint
from fhir.resources.extendedcontactdetail import ExtendedContactDetail
from fhir.resources.identifier import Identifier
from fhir.resources.organization import Organization as FhirOrganization
from fhir.resources.practitioner import Practitioner

from api.fhir.common import concept, meta
from api.fhir.identifiers import IDENTIFIER_TYPE_SYSTEM, TAX_ID_SYSTEM
from api.fhir.patient import human_name, pinfl_identifier, uz_address
from ehealth.access.models import Cabinet, CabinetStatus
from ehealth.reference.models import Organization


def organization(row: Organization) -> FhirOrganization:
    """An organization with its tax number (the IG's taxId slice) and its address (R5 keeps it under contact)."""
    tax_id = Identifier(
        use="official",
        type=concept(IDENTIFIER_TYPE_SYSTEM, "TAX", "Tax ID number"),
        system=TAX_ID_SYSTEM,
        value=row.stir,
    )
    return FhirOrganization(
        id=str(row.id),
        meta=meta("Organization"),
        identifier=[tax_id],
        active=row.is_active,
        name=row.name,
        alias=[row.name_ru] if row.name_ru else None,
        contact=[ExtendedContactDetail(address=uz_address(row.address, row.region_id, row.district_id))],
    )


def practitioner(row: Cabinet, *, national_id: bool = True) -> Practitioner:
    """A member of staff (a cabinet); `national_id=False` leaves out their PINFL for outputs that must not carry it."""
    identifiers = [pinfl_identifier(row.pinfl)] if national_id and row.pinfl else None
    return Practitioner(
        id=str(row.id),
        meta=meta("Practitioner"),
        identifier=identifiers,
        active=row.status == CabinetStatus.ACTIVE,
        name=[human_name(row.surname, row.given_name, row.patronymic)],
        telecom=[ContactPoint(system="email", value=row.email, use="work")] if row.email else None,
    )

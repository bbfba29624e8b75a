"""Small builders every resource module shares: meta, references, codings, and the active-record rule."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import cast

from fhir.resources.codeableconcept import CodeableConcept
from fhir.resources.codeablereference import CodeableReference
from fhir.resources.coding import Coding
from fhir.resources.meta import Meta
from fhir.resources.reference import Reference

from api.fhir.identifiers import PROFILE
from ehealth.clinical import ClinicalRecord, RecordStatus


class NotExported(LookupError):
    """A record that is not part of the patient's record: withdrawn (entered in error) or superseded."""


def ensure_active(row: ClinicalRecord) -> None:
    """Refuse a record whose status is not active: a withdrawn or replaced row is not the patient's record."""
    if row.status != RecordStatus.ACTIVE:
        raise NotExported(f"{type(row).__name__} {row.id} is {row.status}")


def meta(resource_type: str) -> Meta:
    """The resource's national profile in meta.profile."""
    return Meta(profile=[PROFILE[resource_type]])


def ref(resource_type: str, resource_id: int | str) -> Reference:
    """A literal `ResourceType/id` reference."""
    return Reference(reference=f"{resource_type}/{resource_id}")


def coding(system: str, code: str, display: str | None = None) -> Coding:
    """One coding."""
    return Coding(system=system, code=code, display=display)


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> CodeableConcept:
    """A concept of one coding."""
    return CodeableConcept(coding=[coding(system, code, display)], text=text)


def text_concept(text: str) -> CodeableConcept:
    """A concept with only text: the portal has no code for it, and inventing one would mislead."""
    return CodeableConcept(text=text)


def by_concept(value: CodeableConcept) -> CodeableReference:
    """A CodeableReference holding a concept."""
    return CodeableReference(concept=value)


def by_reference(resource_type: str, resource_id: int | str) -> CodeableReference:
    """A CodeableReference pointing at a resource."""
    return CodeableReference(reference=ref(resource_type, resource_id))


def decimal(value: float) -> Decimal:
    """A FHIR decimal from a stored number, through its shortest text so that 5.1 stays 5.1."""
    return Decimal(str(value))


def date_time(value: date) -> datetime:
    """A bare date for a FHIR dateTime element, which admits one; the model's type hint names only datetime."""
    return cast(datetime, value)

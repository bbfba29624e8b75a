"""Scopes of the API: parsed from RFC 6749 space-separated text, unknown ones refused, held by the right tokens."""

from __future__ import annotations

import pytest

from api.access.scopes import PATIENT_OWN_READ, SCOPES, Holder, parse, render, satisfies
from ehealth.errors import ValidationError


def test_space_separated_scopes_are_parsed_into_a_set() -> None:
    assert parse("MedicationRequest.read  MedicationDispense.write MedicationRequest.read") == {
        "MedicationRequest.read",
        "MedicationDispense.write",
    }
    assert parse(["Patient.read", "Encounter.read Condition.read"]) == {
        "Patient.read",
        "Encounter.read",
        "Condition.read",
    }
    assert parse("") == frozenset()


@pytest.mark.parametrize("text", ["Patient.delete", "patient/*.write", "*", "medicationrequest.read", "Patient.read;"])
def test_unknown_scopes_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse(f"Encounter.read {text}")
    assert refused.value.field == "scope"
    assert text in str(refused.value)


def test_the_patient_scope_is_for_patient_tokens_and_the_others_for_clients() -> None:
    with pytest.raises(ValidationError, match="not available to client tokens"):
        parse(PATIENT_OWN_READ, Holder.CLIENT)
    with pytest.raises(ValidationError, match="not available to patient tokens"):
        parse("Patient.read", Holder.PATIENT)
    assert parse(PATIENT_OWN_READ, Holder.PATIENT) == {PATIENT_OWN_READ}
    assert all(holder == Holder.CLIENT for scope, (holder, _) in SCOPES.items() if scope != PATIENT_OWN_READ)
    assert all(meaning for _, meaning in SCOPES.values())


def test_rendering_is_sorted_and_round_trips() -> None:
    scopes = frozenset({"Patient.read", "AuditEvent.read", "Condition.read"})
    assert render(scopes) == "AuditEvent.read Condition.read Patient.read"
    assert parse(render(scopes)) == scopes


def test_granted_scopes_must_cover_the_required_ones() -> None:
    assert satisfies({"Patient.read", "Encounter.read"}, {"Patient.read"})
    assert not satisfies({"Patient.read"}, {"Patient.read", "Encounter.read"})
    assert satisfies({"MedicationDispense.write"}, set())


def test_the_patient_scope_covers_reads_of_their_own_record_but_no_writes() -> None:
    assert satisfies({PATIENT_OWN_READ}, {"Patient.read", "MedicationRequest.read"})
    assert not satisfies({PATIENT_OWN_READ}, {"MedicationDispense.write"})
    assert not satisfies({"Patient.read"}, {PATIENT_OWN_READ})

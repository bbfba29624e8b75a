"""Every member of the portal's enums maps to a code of the FHIR value set the national profile binds."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import pytest

from api.fhir import audit, clinical, encounter, medication, patient
from api.fhir.identifiers import PROFILE
from ehealth.audit.models import Outcome
from ehealth.clinical import RecordStatus
from ehealth.emr.models import (
    ConditionKind,
    EncounterKind,
    EncounterState,
    Flag,
    Indicator,
    Modality,
    Severity,
    VisitOutcome,
)
from ehealth.hospital.models import AdmissionType, DischargeOutcome
from ehealth.patients.models import Sex
from ehealth.prescription.models import PrescriptionState

# (enum, mapping, the codes of the bound value set)
MAPPINGS: list[tuple[type[StrEnum], Mapping[Any, str], set[str]]] = [
    (Sex, patient.GENDER, {"male", "female", "other", "unknown"}),
    (
        EncounterState,
        encounter.STATUS,
        {
            "planned",
            "in-progress",
            "on-hold",
            "discharged",
            "completed",
            "cancelled",
            "discontinued",
            "entered-in-error",
            "unknown",
        },
    ),
    (
        AdmissionType,
        encounter.ADMIT,
        {"hosp-trans", "emd", "outp", "born", "gp", "mp", "nursing", "psych", "rehab", "other"},
    ),
    (
        DischargeOutcome,
        encounter.DISPOSITION,
        {"home", "alt-home", "other-hcf", "hosp", "long", "aadvice", "exp", "psy", "rehab", "snf", "oth"},
    ),
    (
        ConditionKind,
        clinical.VERIFICATION,
        {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"},
    ),
    (
        VisitOutcome,
        clinical.CLINICAL,
        {"active", "recurrence", "relapse", "inactive", "remission", "resolved", "unknown"},
    ),
    (
        RecordStatus,
        clinical.OBSERVATION_STATUS,
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"},
    ),
    (
        Indicator,
        clinical.CATEGORY,
        {
            "social-history",
            "vital-signs",
            "imaging",
            "laboratory",
            "procedure",
            "survey",
            "exam",
            "therapy",
            "activity",
        },
    ),
    (Severity, clinical.CRITICALITY, {"low", "high", "unable-to-assess"}),
    (Severity, clinical.REACTION_SEVERITY, {"mild", "moderate", "severe"}),
    (Modality, clinical.SECTION, {"RAD", "RUS", "EC", "CT", "NMR", "OTH", "LAB"}),
    (
        PrescriptionState,
        medication.STATUS,
        {"active", "on-hold", "ended", "stopped", "completed", "cancelled", "entered-in-error", "draft", "unknown"},
    ),
    (
        PrescriptionState,
        medication.INTENT,
        {"proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option"},
    ),
    (
        RecordStatus,
        medication.DISPENSE_STATUS,
        {
            "preparation",
            "in-progress",
            "cancelled",
            "on-hold",
            "completed",
            "entered-in-error",
            "stopped",
            "declined",
            "unknown",
        },
    ),
    (Outcome, audit.OUTCOME, {"fatal", "error", "warning", "information", "success"}),
]


@pytest.mark.parametrize(("kind", "mapping", "codes"), MAPPINGS, ids=lambda v: getattr(v, "__name__", ""))
def test_every_member_maps_into_the_value_set(kind: type[StrEnum], mapping: Mapping[Any, str], codes: set[str]) -> None:
    assert set(mapping) == set(kind)
    assert set(mapping.values()) <= codes


def test_encounter_class_is_v3_act_code() -> None:
    assert set(encounter.CLASS) == set(EncounterKind)
    assert set(audit.INTERACTION) == {"C", "R", "U", "D", "E"}
    assert {code for code, _ in encounter.CLASS.values()} == {"AMB", "IMP"}


def test_every_indicator_has_a_loinc_code_and_ucum_unit() -> None:
    assert set(clinical.LOINC) == set(Indicator)
    assert len({code for code, _, _ in clinical.LOINC.values()}) == len(Indicator)


def test_every_flag_has_an_interpretation() -> None:
    assert set(clinical.INTERPRETATION) == set(Flag)
    assert {code for code, _ in clinical.INTERPRETATION.values()} <= {"N", "L", "H", "LL", "HH", "AA", "A"}


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("prescription.issued", "C"),
        ("prescription.looked_up", "R"),
        ("referral.open_listed", "R"),
        ("prescription.cancelled", "U"),
        ("prescription.dispensed", "U"),
        ("emr.emergency_access", "E"),
        ("signin", "E"),
    ],
)
def test_audit_action_names_map_to_crude(action: str, code: str) -> None:
    assert audit.action_code(action) == code


def test_profiles_are_the_ig_ids() -> None:
    assert PROFILE["Patient"] == "https://dhp.uz/fhir/core/StructureDefinition/uz-core-patient"
    assert PROFILE["MedicationRequest"].endswith("/uz-core-medicationrequest")
    assert PROFILE["MedicationDispense"].endswith("/uz-core-medication-dispense")
    assert PROFILE["AuditEvent"].endswith("/uz-core-auditevent")

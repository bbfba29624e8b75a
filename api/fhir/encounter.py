"""Encounter (UZ Core Encounter): an outpatient visit, or an inpatient stay with its admission and discharge."""

from __future__ import annotations

from collections.abc import Sequence

from fhir.resources.encounter import (
    Encounter as FhirEncounter,
)
from fhir.resources.encounter import (
    EncounterAdmission,
    EncounterDiagnosis,
    EncounterParticipant,
    EncounterReason,
)
from fhir.resources.period import Period

from api.fhir.common import by_concept, by_reference, concept, ensure_active, meta, ref, text_concept
from api.fhir.identifiers import ADMIT_SOURCE, DISCHARGE_DISPOSITION, V3_ACT_CODE, V3_PARTICIPATION_TYPE
from ehealth.clinical import RecordStatus
from ehealth.emr.models import Condition, Encounter, EncounterKind, EncounterState
from ehealth.hospital.models import Admission, AdmissionType, Discharge, DischargeOutcome

# EncounterStatus (http://hl7.org/fhir/encounter-status), bound by the IG's EncounterStatusVS.
STATUS: dict[EncounterState, str] = {
    EncounterState.OPEN: "in-progress",
    EncounterState.CLOSED: "completed",
    EncounterState.CANCELLED: "cancelled",
}
# v3 ActEncounterCode (v3-ActCode), bound by EncounterClassVS; the IG's example stay is IMP.
CLASS: dict[EncounterKind, tuple[str, str]] = {
    EncounterKind.OUTPATIENT: ("AMB", "ambulatory"),
    EncounterKind.INPATIENT: ("IMP", "inpatient encounter"),
}
# Admit source (http://terminology.hl7.org/CodeSystem/admit-source), as the IG's example admission uses it.
# A planned admission comes on a polyclinic doctor's referral, hence "gp".
ADMIT: dict[AdmissionType, str] = {
    AdmissionType.EMERGENCY: "emd",
    AdmissionType.PLANNED: "gp",
    AdmissionType.TRANSFER: "hosp-trans",
}
# Discharge disposition (http://terminology.hl7.org/CodeSystem/discharge-disposition): where the patient went.
# Whether they left better or not is not a place, so every "went home" outcome is "home".
DISPOSITION: dict[DischargeOutcome, str] = {
    DischargeOutcome.RECOVERED: "home",
    DischargeOutcome.IMPROVED: "home",
    DischargeOutcome.UNCHANGED: "home",
    DischargeOutcome.WORSENED: "home",
    DischargeOutcome.DIED: "exp",
    DischargeOutcome.TRANSFERRED: "other-hcf",
}


def encounter(
    row: Encounter,
    *,
    conditions: Sequence[Condition] = (),
    admission: Admission | None = None,
    discharge: Discharge | None = None,
) -> FhirEncounter:
    """A visit or stay; its active diagnoses, admission and discharge (for a stay) are passed in by the caller."""
    ensure_active(row)
    code, display = CLASS[row.kind]
    stay: EncounterAdmission | None = None
    live_admission = admission if admission is not None and admission.status == RecordStatus.ACTIVE else None
    live_discharge = discharge if discharge is not None and discharge.status == RecordStatus.ACTIVE else None
    if live_admission is not None or live_discharge is not None:
        stay = EncounterAdmission(
            admitSource=concept(ADMIT_SOURCE, ADMIT[live_admission.admission_type]) if live_admission else None,
            dischargeDisposition=concept(DISCHARGE_DISPOSITION, DISPOSITION[live_discharge.outcome])
            if live_discharge
            else None,
            destination=ref("Organization", live_discharge.transferred_to_id)
            if live_discharge is not None and live_discharge.transferred_to_id is not None
            else None,
        )
    diagnoses = [
        EncounterDiagnosis(condition=[by_reference("Condition", c.id)])
        for c in conditions
        if c.status == RecordStatus.ACTIVE and c.encounter_id == row.id
    ]
    values = {
        "id": str(row.id),
        "meta": meta("Encounter"),
        "status": STATUS[row.state],
        # `class` is a Python keyword: the model's field is `class_fhir`, filled through its JSON name.
        "class": [concept(V3_ACT_CODE, code, display)],
        "subject": ref("Patient", row.patient_id),
        "serviceProvider": ref("Organization", row.organization_id),
        "participant": [
            EncounterParticipant(
                type=[concept(V3_PARTICIPATION_TYPE, "ATND", "attender")],
                actor=ref("Practitioner", row.practitioner_id),
            )
        ],
        "actualPeriod": Period(start=row.started_at, end=row.ended_at),
        "reason": [EncounterReason(value=[by_concept(text_concept(row.reason))])] if row.reason else None,
        "diagnosis": diagnoses or None,
        "admission": stay,
    }
    return FhirEncounter.model_validate(values)

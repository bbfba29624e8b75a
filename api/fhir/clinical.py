"""Condition, Observation, AllergyIntolerance, Procedure and DiagnosticReport from the medical record."""

from __future__ import annotations

from fhir.resources.allergyintolerance import (
    AllergyIntolerance,
    AllergyIntoleranceParticipant,
    AllergyIntoleranceReaction,
)
from fhir.resources.annotation import Annotation
from fhir.resources.codeableconcept import CodeableConcept
from fhir.resources.condition import Condition as FhirCondition
from fhir.resources.condition import ConditionParticipant
from fhir.resources.diagnosticreport import DiagnosticReport
from fhir.resources.observation import Observation as FhirObservation
from fhir.resources.observation import ObservationReferenceRange
from fhir.resources.procedure import Procedure, ProcedurePerformer
from fhir.resources.quantity import Quantity

from api.fhir.common import by_concept, coding, concept, date_time, decimal, ensure_active, meta, ref, text_concept
from api.fhir.identifiers import (
    ALLERGY_CLINICAL,
    ATC_SYSTEM,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    DIAGNOSTIC_SERVICE_SECTION,
    ICD10_SYSTEM,
    LOINC_SYSTEM,
    OBSERVATION_CATEGORY,
    PROVENANCE_PARTICIPANT_TYPE,
    UCUM_SYSTEM,
    V3_INTERPRETATION,
)
from ehealth.clinical import RecordStatus
from ehealth.emr.models import (
    Allergy,
    Condition,
    ConditionKind,
    Flag,
    Indicator,
    InstrumentalResult,
    LabResult,
    Modality,
    Observation,
    Severity,
    TreatmentKind,
    TreatmentRecord,
    VisitOutcome,
)

# Condition verification status (condition-ver-status), bound by the IG's ConditionVerificationStatusVS.
VERIFICATION: dict[ConditionKind, str] = {
    ConditionKind.PRELIMINARY: "provisional",
    ConditionKind.FINAL: "confirmed",
    ConditionKind.COMORBIDITY: "confirmed",
}
# Condition clinical status (condition-clinical), bound by ClinicalStatusVS, from how the visit ended: only a
# recovery resolves the visit's own diagnoses; a comorbidity outlives the visit and stays active.
CLINICAL: dict[VisitOutcome, str] = {
    VisitOutcome.RECOVERED: "resolved",
    VisitOutcome.IMPROVED: "active",
    VisitOutcome.UNCHANGED: "active",
    VisitOutcome.FOLLOW_UP: "active",
    VisitOutcome.REFERRED: "active",
    VisitOutcome.HOSPITALIZED: "active",
}
# Observation status (http://hl7.org/fhir/observation-status), bound by ObservationStatusVS. Only active rows are
# exported (they are "final"); the others are listed so that the mapping is total for a later history export.
OBSERVATION_STATUS: dict[RecordStatus, str] = {
    RecordStatus.ACTIVE: "final",
    RecordStatus.ENTERED_IN_ERROR: "entered-in-error",
    RecordStatus.SUPERSEDED: "amended",
}
# Observation category (observation-category), bound by ObservationCategoryVS: glucose is a (point-of-care)
# laboratory value, the rest are vital signs and body measures.
CATEGORY: dict[Indicator, str] = {
    Indicator.BP_SYSTOLIC: "vital-signs",
    Indicator.BP_DIASTOLIC: "vital-signs",
    Indicator.PULSE: "vital-signs",
    Indicator.TEMPERATURE: "vital-signs",
    Indicator.RESPIRATORY_RATE: "vital-signs",
    Indicator.SPO2: "vital-signs",
    Indicator.WEIGHT: "vital-signs",
    Indicator.HEIGHT: "vital-signs",
    Indicator.BMI: "vital-signs",
    Indicator.GLUCOSE: "laboratory",
}
# LOINC code and UCUM unit of each indicator, as the IG's vital-sign examples code them (glucose in mmol/L).
LOINC: dict[Indicator, tuple[str, str, str]] = {
    Indicator.BP_SYSTOLIC: ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    Indicator.BP_DIASTOLIC: ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    Indicator.PULSE: ("8867-4", "Heart rate", "/min"),
    Indicator.TEMPERATURE: ("8310-5", "Body temperature", "Cel"),
    Indicator.RESPIRATORY_RATE: ("9279-1", "Respiratory rate", "/min"),
    Indicator.SPO2: ("2708-6", "Oxygen saturation in Arterial blood", "%"),
    Indicator.WEIGHT: ("29463-7", "Body weight", "kg"),
    Indicator.HEIGHT: ("8302-2", "Body height", "cm"),
    Indicator.BMI: ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
    Indicator.GLUCOSE: ("15074-8", "Glucose [Moles/volume] in Blood", "mmol/L"),
}
# Observation interpretation (v3-ObservationInterpretation), bound by ObservationInterpretationVS; the portal's
# "critical" does not say which side, so it is AA (critical abnormal).
INTERPRETATION: dict[Flag, tuple[str, str]] = {
    Flag.NORMAL: ("N", "Normal"),
    Flag.LOW: ("L", "Low"),
    Flag.HIGH: ("H", "High"),
    Flag.CRITICAL: ("AA", "Critical abnormal"),
}
# Allergy criticality (allergy-intolerance-criticality) from the worst reaction seen: only a severe one says
# that another exposure may be life-threatening.
CRITICALITY: dict[Severity, str] = {Severity.MILD: "low", Severity.MODERATE: "low", Severity.SEVERE: "high"}
# Reaction severity (reaction-event-severity), bound by AllergyReactionSeverityVS: the same three words.
REACTION_SEVERITY: dict[Severity, str] = {
    Severity.MILD: "mild",
    Severity.MODERATE: "moderate",
    Severity.SEVERE: "severe",
}
# Allergy category (allergy-intolerance-category), bound by AllergyCategoryVS: an allergy recorded against a
# medicine (INN or ATC code) is a medication allergy; for a free-text substance the portal does not know.
MEDICATION_CATEGORY = "medication"
# Diagnostic service section (HL7 v2 table 0074), as the IG's DiagnosticReport examples categorize reports.
SECTION: dict[Modality, str] = {
    Modality.XRAY: "RAD",
    Modality.ULTRASOUND: "RUS",
    Modality.ECG: "EC",
    Modality.CT: "CT",
    Modality.MRI: "NMR",
    Modality.ENDOSCOPY: "OTH",
}
LAB_SECTION = "LAB"

# Observations come from two tables whose ids overlap, so their FHIR ids carry the table's prefix; so do reports.
VITAL_PREFIX = "vital-"
LAB_PREFIX = "lab-"
INSTRUMENTAL_PREFIX = "instrumental-"


def icd10(code: str) -> CodeableConcept:
    """An ICD-10 code."""
    return concept(ICD10_SYSTEM, code)


def condition(row: Condition, outcome: VisitOutcome | None = None) -> FhirCondition:
    """A diagnosis of a visit; `outcome` is how the visit ended (None while it is open)."""
    ensure_active(row)
    clinical = "active" if outcome is None or row.kind == ConditionKind.COMORBIDITY else CLINICAL[outcome]
    return FhirCondition(
        id=str(row.id),
        meta=meta("Condition"),
        clinicalStatus=concept(CONDITION_CLINICAL, clinical),
        verificationStatus=concept(CONDITION_VERIFICATION, VERIFICATION[row.kind]),
        category=[concept(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")],
        code=icd10(row.icd10_code),
        subject=ref("Patient", row.patient_id),
        encounter=ref("Encounter", row.encounter_id),
        onsetDateTime=date_time(row.onset_date) if row.onset_date is not None else None,
        recordedDate=row.recorded_at,
        participant=[
            ConditionParticipant(
                function=concept(PROVENANCE_PARTICIPANT_TYPE, "author", "Author"),
                actor=ref("Practitioner", row.created_by),
            )
        ],
        note=[Annotation(text=row.note)] if row.note else None,
    )


def _interpretation(flag: Flag | None) -> list[CodeableConcept] | None:
    if flag is None:
        return None
    code, display = INTERPRETATION[flag]
    return [concept(V3_INTERPRETATION, code, display)]


def _range(
    low: float | None, high: float | None, unit: str | None, code: str | None
) -> list[ObservationReferenceRange] | None:
    if low is None and high is None:
        return None
    system = UCUM_SYSTEM if code else None
    return [
        ObservationReferenceRange(
            low=Quantity(value=decimal(low), unit=unit, system=system, code=code) if low is not None else None,
            high=Quantity(value=decimal(high), unit=unit, system=system, code=code) if high is not None else None,
        )
    ]


def observation(row: Observation) -> FhirObservation:
    """A medical indicator (vital sign or measurement) with its LOINC code and UCUM unit."""
    ensure_active(row)
    loinc, display, ucum = LOINC[row.code]
    return FhirObservation(
        id=VITAL_PREFIX + str(row.id),
        meta=meta("Observation"),
        status=OBSERVATION_STATUS[row.status],
        category=[concept(OBSERVATION_CATEGORY, CATEGORY[row.code])],
        code=concept(LOINC_SYSTEM, loinc, display),
        subject=ref("Patient", row.patient_id),
        encounter=ref("Encounter", row.encounter_id),
        effectiveDateTime=row.effective_at,
        performer=[ref("Practitioner", row.created_by)],
        valueQuantity=Quantity(value=decimal(row.value), unit=row.unit, system=UCUM_SYSTEM, code=ucum),
        interpretation=_interpretation(row.flag),
        referenceRange=_range(row.reference_low, row.reference_high, row.unit, ucum),
    )


def lab_observation(row: LabResult) -> FhirObservation:
    """A laboratory result; its test has only the laboratory's name (no national lab code is stored)."""
    ensure_active(row)
    numeric = row.value_numeric is not None
    return FhirObservation(
        id=LAB_PREFIX + str(row.id),
        meta=meta("Observation"),
        status=OBSERVATION_STATUS[row.status],
        category=[concept(OBSERVATION_CATEGORY, "laboratory")],
        code=text_concept(row.test_name),
        subject=ref("Patient", row.patient_id),
        encounter=ref("Encounter", row.encounter_id),
        effectiveDateTime=row.collected_at,
        issued=row.resulted_at,
        performer=[ref("Practitioner", row.created_by)],
        valueQuantity=Quantity(value=decimal(row.value_numeric), unit=row.unit)
        if row.value_numeric is not None
        else None,
        valueString=None if numeric else row.value_text,
        note=[Annotation(text=row.value_text)] if numeric and row.value_text else None,
        interpretation=_interpretation(row.flag),
        referenceRange=_range(row.reference_low, row.reference_high, row.unit, None),
    )


def lab_report(row: LabResult) -> DiagnosticReport:
    """The report of one laboratory result, pointing at its Observation."""
    ensure_active(row)
    return DiagnosticReport(
        id=LAB_PREFIX + str(row.id),
        meta=meta("DiagnosticReport"),
        status="final",
        category=[concept(DIAGNOSTIC_SERVICE_SECTION, LAB_SECTION, "Laboratory")],
        code=text_concept(row.test_name),
        subject=ref("Patient", row.patient_id),
        encounter=ref("Encounter", row.encounter_id),
        effectiveDateTime=row.collected_at,
        issued=row.resulted_at,
        performer=[ref("Practitioner", row.created_by)],
        result=[ref("Observation", LAB_PREFIX + str(row.id))],
    )


def instrumental_report(row: InstrumentalResult) -> DiagnosticReport:
    """An instrumental study (X-ray, ultrasound, ECG, CT, MRI, endoscopy) with its conclusion."""
    ensure_active(row)
    return DiagnosticReport(
        id=INSTRUMENTAL_PREFIX + str(row.id),
        meta=meta("DiagnosticReport"),
        status="final",
        category=[concept(DIAGNOSTIC_SERVICE_SECTION, SECTION[row.modality])],
        code=text_concept(row.study),
        subject=ref("Patient", row.patient_id),
        encounter=ref("Encounter", row.encounter_id),
        effectiveDateTime=row.performed_at,
        issued=row.created_at,
        performer=[ref("Practitioner", row.created_by)],
        conclusion=row.conclusion,
    )


def allergy(row: Allergy) -> AllergyIntolerance:
    """A recorded allergy; a medicine's ATC code is carried when it was recorded against one."""
    ensure_active(row)
    codings = [coding(ATC_SYSTEM, row.atc_code)] if row.atc_code else None
    is_medicine = bool(row.atc_code or row.inn)
    return AllergyIntolerance(
        id=str(row.id),
        meta=meta("AllergyIntolerance"),
        clinicalStatus=concept(ALLERGY_CLINICAL, "active", "Active"),
        category=[MEDICATION_CATEGORY] if is_medicine else None,
        criticality=CRITICALITY[row.severity],
        code=CodeableConcept(coding=codings, text=row.substance),
        patient=ref("Patient", row.patient_id),
        encounter=ref("Encounter", row.encounter_id) if row.encounter_id is not None else None,
        recordedDate=row.recorded_at,
        participant=[
            AllergyIntoleranceParticipant(
                function=concept(PROVENANCE_PARTICIPANT_TYPE, "author", "Author"),
                actor=ref("Practitioner", row.created_by),
            )
        ],
        # R5 needs a manifestation for a reaction: without the reaction's text only the criticality is said.
        reaction=[
            AllergyIntoleranceReaction(
                manifestation=[by_concept(text_concept(row.reaction))],
                severity=REACTION_SEVERITY[row.severity],
            )
        ]
        if row.reaction
        else None,
    )


def procedure(row: TreatmentRecord) -> Procedure:
    """A procedure of the course of treatment (notes and medications given are not procedures)."""
    ensure_active(row)
    if row.kind != TreatmentKind.PROCEDURE:
        raise ValueError(f"treatment record {row.id} is a {row.kind}, not a procedure")
    return Procedure(
        id=str(row.id),
        meta=meta("Procedure"),
        status="completed",
        code=text_concept(row.title),
        subject=ref("Patient", row.patient_id),
        encounter=ref("Encounter", row.encounter_id),
        occurrenceDateTime=row.performed_at,
        recorded=row.created_at,
        recorder=ref("Practitioner", row.created_by),
        performer=[ProcedurePerformer(actor=ref("Practitioner", row.created_by))],
        note=[Annotation(text=row.text)] if row.text else None,
    )

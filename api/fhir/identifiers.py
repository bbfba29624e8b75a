"""Identifier systems, code systems and profile URLs of the national implementation guide.

Sources: the IG's `input/fsh/Aliases.fsh`, `Namingsystems.fsh`, `Rulesets.fsh` and the `Id:` of each profile.
"""

from __future__ import annotations

# The PINFL. Issue 8 quotes `https://dpm.uz/identifier/nationaluniqueID`, an older system; the IG now names
# `$nationaluniqueID = https://dhp.uz/fhir/core/sid/pid/uz/ni` (Aliases.fsh, NamingSystem patient-id-uzb-national-id),
# and exchange partners validate against the current IG, so the current one is used.
PINFL_SYSTEM = "https://dhp.uz/fhir/core/sid/pid/uz/ni"
# An organization's tax number (STIR) in Soliq: `$organization-tax-id-system`, NamingSystem uzb-soliq.
TAX_ID_SYSTEM = "https://dhp.uz/fhir/core/sid/org/uz/soliq"
# HL7 v2 table 0203, the identifier types the IG's slices fix (NI for the PINFL, TAX, PLAC for a prescription).
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
# terminology/ATCClassificationCS.fsh: `SupplementCodeSystemDraft(atc-classification-cs, ...)`, whose RuleSet
# (Rulesets.fsh) gives the canonical `https://terminology.dhp.uz/fhir/core/CodeSystem/{id}`.
ATC_SYSTEM = "https://terminology.dhp.uz/fhir/core/CodeSystem/atc-classification-cs"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
# ISO 3166: the IG's uzAddress slice fixes country = urn:iso:std:iso:3166#UZ.
COUNTRY_UZ = "UZ"

# HL7 terminology the profiles bind (Aliases.fsh names each).
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
PROVENANCE_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
DIAGNOSTIC_SERVICE_SECTION = "http://terminology.hl7.org/CodeSystem/v2-0074"
MEDICATION_REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-admin-location"
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
ISSUE_SEVERITY = "http://hl7.org/fhir/issue-severity"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
EXTRA_SECURITY_ROLE_TYPE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
SECURITY_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"

_PROFILE_BASE = "https://dhp.uz/fhir/core/StructureDefinition/"
# The `Id:` line of each profile's FSH file (they are not uniform: "medicationrequest" but "medication-dispense").
PROFILE = {
    "Patient": _PROFILE_BASE + "uz-core-patient",
    "Practitioner": _PROFILE_BASE + "uz-core-practitioner",
    "Organization": _PROFILE_BASE + "uz-core-organization",
    "Encounter": _PROFILE_BASE + "uz-core-encounter",
    "Condition": _PROFILE_BASE + "uz-core-condition",
    "Observation": _PROFILE_BASE + "uz-core-observation",
    "AllergyIntolerance": _PROFILE_BASE + "uz-core-allergy-intolerance",
    "Procedure": _PROFILE_BASE + "uz-core-procedure",
    "DiagnosticReport": _PROFILE_BASE + "uz-core-diagnostic-report",
    "MedicationRequest": _PROFILE_BASE + "uz-core-medicationrequest",
    "MedicationDispense": _PROFILE_BASE + "uz-core-medication-dispense",
    "AuditEvent": _PROFILE_BASE + "uz-core-auditevent",
}

"""Import every model so that Base.metadata knows the whole schema (Alembic and tests use this)."""

from api.access.models import ApiClient, ApiRateWindow, ApiToken
from ehealth.access.models import (
    Cabinet,
    EmploymentNotice,
    InstallationRequest,
    InventoryCampaign,
    InventoryReview,
    LoginIdentity,
    RequestedUser,
)
from ehealth.audit.models import AuditChainHead, AuditEvent
from ehealth.emr.models import (
    Allergy,
    Condition,
    EmergencyAccess,
    Encounter,
    InstrumentalResult,
    LabResult,
    Observation,
    Referral,
    TreatmentRecord,
)
from ehealth.hospital.models import Admission, BedAssignment, Discharge
from ehealth.outbox import ClinicalEvent
from ehealth.patients.models import Patient, PatientMerge
from ehealth.polyclinic.models import Appointment
from ehealth.prescription.models import (
    Dispense,
    PatientNotification,
    Prescription,
    PrescriptionDraft,
    PrescriptionItem,
    PrescriptionWarning,
)
from ehealth.reference.models import Bed, Department, District, Drug, Organization, OrganizationModule, Region, Ward
from ehealth.reports.models import ReportExport

__all__ = [
    "Admission",
    "Allergy",
    "ApiClient",
    "ApiRateWindow",
    "ApiToken",
    "Appointment",
    "AuditChainHead",
    "AuditEvent",
    "Bed",
    "BedAssignment",
    "Cabinet",
    "ClinicalEvent",
    "Condition",
    "Department",
    "Discharge",
    "Dispense",
    "District",
    "Drug",
    "EmergencyAccess",
    "EmploymentNotice",
    "Encounter",
    "InstallationRequest",
    "InstrumentalResult",
    "InventoryCampaign",
    "InventoryReview",
    "LabResult",
    "LoginIdentity",
    "Observation",
    "Organization",
    "OrganizationModule",
    "Patient",
    "PatientMerge",
    "PatientNotification",
    "Prescription",
    "PrescriptionDraft",
    "PrescriptionItem",
    "PrescriptionWarning",
    "Referral",
    "Region",
    "ReportExport",
    "RequestedUser",
    "TreatmentRecord",
    "Ward",
]

"""Roles and what each may do; deny by default (R-6, R-16)."""

from __future__ import annotations

from enum import StrEnum

from ehealth.access.models import Role


class Permission(StrEnum):
    """One thing a user may do; pages, callbacks and API routes each require one."""

    VIEW_HOME = "view_home"
    VIEW_CABINET = "view_cabinet"
    REGISTER_PATIENT = "register_patient"
    READ_PATIENT = "read_patient"
    OPEN_ENCOUNTER = "open_encounter"
    RECORD_DIAGNOSIS = "record_diagnosis"
    RECORD_INDICATORS = "record_indicators"
    RECORD_RESULTS = "record_results"
    RECORD_TREATMENT = "record_treatment"
    ADMIT_DISCHARGE = "admit_discharge"
    MOVE_BED = "move_bed"
    PRESCRIBE = "prescribe"
    DISPENSE = "dispense"
    VIEW_REPORTS = "view_reports"
    VIEW_DASHBOARDS = "view_dashboards"
    MANAGE_STAFF = "manage_staff"
    MANAGE_ACCESS = "manage_access"
    RUN_INVENTORY = "run_inventory"
    READ_AUDIT = "read_audit"


_EVERYONE = frozenset({Permission.VIEW_HOME, Permission.VIEW_CABINET})

# Clinical entry only for the four user roles of clause 6; the others see reports, dashboards or administration.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.REGISTRAR: _EVERYONE | {Permission.REGISTER_PATIENT, Permission.READ_PATIENT, Permission.OPEN_ENCOUNTER},
    Role.DOCTOR: _EVERYONE
    | {
        Permission.READ_PATIENT,
        Permission.OPEN_ENCOUNTER,
        Permission.RECORD_DIAGNOSIS,
        Permission.RECORD_INDICATORS,
        Permission.RECORD_RESULTS,
        Permission.RECORD_TREATMENT,
        Permission.ADMIT_DISCHARGE,
        Permission.PRESCRIBE,
    },
    Role.NURSE: _EVERYONE
    | {Permission.READ_PATIENT, Permission.RECORD_INDICATORS, Permission.RECORD_TREATMENT, Permission.MOVE_BED},
    Role.PHARMACIST: _EVERYONE | {Permission.DISPENSE},
    Role.MANAGER: _EVERYONE | {Permission.VIEW_REPORTS, Permission.MANAGE_STAFF},
    Role.ANALYST: _EVERYONE | {Permission.VIEW_DASHBOARDS},
    # The ministry's admin reads any organization's reports (a manager only their own).
    Role.ADMIN: _EVERYONE | {Permission.MANAGE_ACCESS, Permission.VIEW_REPORTS},
    Role.INTEGRATOR: _EVERYONE | {Permission.RUN_INVENTORY, Permission.READ_AUDIT},
}


def permissions_of(role: Role | str) -> frozenset[Permission]:
    """What a role may do (nothing for an unknown role)."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()

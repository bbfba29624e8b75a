"""The annual inventory (R-14): one campaign a year, one review per cabinet, coverage, and who is overdue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.access.inventory import coverage, not_reviewed_within_a_year, open_campaign, review
from ehealth.access.models import CabinetStatus, Role
from ehealth.audit.trail import Actor
from ehealth.errors import ConstraintViolation, DomainError, ValidationError
from ehealth.reference.models import OrganizationKind
from tests import factories


@pytest.fixture
def integrator(session: Session) -> Actor:
    """A signed-in UZINFOCOM integrator."""
    cabinet = factories.cabinet(session, factories.organization(session, OrganizationKind.INTEGRATOR), Role.INTEGRATOR)
    return Actor(cabinet.id, "integrator", cabinet.organization_id, "10.3.3.3")


def test_a_campaign_reviews_each_cabinet_once(session: Session, integrator: Actor) -> None:
    today = utcnow().date()
    org = factories.organization(session)
    doctor, nurse, registrar = (
        factories.cabinet(session, org, role) for role in (Role.DOCTOR, Role.NURSE, Role.REGISTRAR)
    )
    campaign = open_campaign(session, year=today.year, today=today, integrator=integrator)
    assert campaign.due_on > today
    with pytest.raises(ConstraintViolation):
        savepoint = session.begin_nested()
        try:
            open_campaign(session, year=today.year, today=today, integrator=integrator)
        finally:
            savepoint.rollback()

    review(session, campaign_id=campaign.id, cabinet_id=doctor.id, decision="confirmed", integrator=integrator)
    review(
        session,
        campaign_id=campaign.id,
        cabinet_id=nurse.id,
        decision="rights_changed",
        new_role="registrar",
        integrator=integrator,
    )
    assert nurse.role == "registrar"
    review(session, campaign_id=campaign.id, cabinet_id=registrar.id, decision="blocked", integrator=integrator)
    assert registrar.status == CabinetStatus.BLOCKED and registrar.blocked_at is not None

    savepoint = session.begin_nested()
    with pytest.raises(ConstraintViolation):
        review(session, campaign_id=campaign.id, cabinet_id=doctor.id, decision="confirmed", integrator=integrator)
    savepoint.rollback()
    with pytest.raises(DomainError):  # blocked cabinets are not reviewed again
        review(session, campaign_id=campaign.id, cabinet_id=registrar.id, decision="confirmed", integrator=integrator)

    mine = next(item for item in coverage(session, campaign.id) if item.organization_id == org.id)
    assert (mine.active, mine.reviewed, mine.share) == (2, 2, 1.0)  # the blocked one is no longer active


def test_bad_reviews_are_refused(session: Session, integrator: Actor) -> None:
    today = utcnow().date()
    doctor = factories.cabinet(session, factories.organization(session))
    campaign = open_campaign(session, year=today.year + 1, today=today, integrator=integrator)
    with pytest.raises(ValidationError):
        review(session, campaign_id=campaign.id, cabinet_id=doctor.id, decision="maybe", integrator=integrator)
    with pytest.raises(ValidationError):
        review(session, campaign_id=campaign.id, cabinet_id=doctor.id, decision="rights_changed", integrator=integrator)
    with pytest.raises(ValidationError):
        open_campaign(session, year=today.year - 1, today=today, integrator=integrator)
    with pytest.raises(DomainError):  # only a signed-in integrator records reviews
        review(
            session,
            campaign_id=campaign.id,
            cabinet_id=doctor.id,
            decision="confirmed",
            integrator=Actor(None, "integrator", None),
        )


def test_cabinets_not_reviewed_in_twelve_months(session: Session, integrator: Actor) -> None:
    today = utcnow().date()
    org = factories.organization(session)
    fresh, stale, never = (factories.cabinet(session, org) for _ in range(3))
    campaign = open_campaign(session, year=today.year, today=today, integrator=integrator)
    review(session, campaign_id=campaign.id, cabinet_id=fresh.id, decision="confirmed", integrator=integrator)
    old = review(session, campaign_id=campaign.id, cabinet_id=stale.id, decision="confirmed", integrator=integrator)
    old.reviewed_at = utcnow() - timedelta(days=400)
    session.flush()
    overdue = {cabinet.id for cabinet in not_reviewed_within_a_year(session, today)}
    assert {stale.id, never.id} <= overdue and fresh.id not in overdue

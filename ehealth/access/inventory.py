"""The annual inventory of users (R-14): the integrator reviews every active cabinet at least once a year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.access.models import (
    Cabinet,
    CabinetStatus,
    InventoryCampaign,
    InventoryReview,
    ReviewDecision,
    Role,
)
from ehealth.audit.trail import Actor, record
from ehealth.calendar import add_working_days, day_bounds
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.i18n import N_
from ehealth.reference.models import Organization, Region

# How long a campaign runs once opened, in working days (a setting of the integrator's plan, not of the instruction).
CAMPAIGN_WORKING_DAYS = 60


def open_campaign(session: Session, *, year: int, today: date, integrator: Actor) -> InventoryCampaign:
    """Start the inventory of `year` (one per year; the unique constraint refuses a second)."""
    if year not in (today.year, today.year + 1):
        raise ValidationError(N_("An inventory can be opened for this year or the next only"), field="year")
    campaign = InventoryCampaign(
        year=year,
        started_on=today,
        due_on=add_working_days(today, CAMPAIGN_WORKING_DAYS),
        created_by=integrator.cabinet_id,
    )
    session.add(campaign)
    flush(session)
    record(session, integrator, "inventory.opened", object_type="inventory_campaign", object_id=campaign.id)
    return campaign


def review(
    session: Session,
    *,
    campaign_id: int,
    cabinet_id: int,
    decision: str,
    integrator: Actor,
    new_role: str | None = None,
    note: str | None = None,
) -> InventoryReview:
    """Record the integrator's review of one cabinet: confirm it, change its role, or block it."""
    if integrator.cabinet_id is None:
        raise DomainError(N_("A review is recorded by a signed-in integrator."))
    campaign = session.get(InventoryCampaign, campaign_id)
    if campaign is None:
        raise NotFound(N_("The inventory campaign does not exist."))
    if campaign.closed_at is not None:
        raise DomainError(N_("This inventory campaign is closed."))
    cabinet = session.get(Cabinet, cabinet_id, with_for_update=True)
    if cabinet is None:
        raise NotFound(N_("The personal cabinet does not exist."))
    if cabinet.status != CabinetStatus.ACTIVE:
        raise DomainError(N_("Only active cabinets are reviewed."))
    try:
        verdict = ReviewDecision(decision)
    except ValueError:
        raise ValidationError(N_("Choose confirm, change role or block"), field="decision") from None
    if verdict == ReviewDecision.RIGHTS_CHANGED:
        try:
            role = Role(new_role or "")
        except ValueError:
            raise ValidationError(N_("Choose the new role"), field="new_role") from None
        if role == cabinet.role:
            raise ValidationError(N_("Choose the new role"), field="new_role")
        cabinet.role = role
        record(session, integrator, "cabinet.role_changed", object_type="cabinet", object_id=cabinet.id, detail=role)
    elif verdict == ReviewDecision.BLOCKED:
        cabinet.status, cabinet.blocked_at = CabinetStatus.BLOCKED, utcnow()
        record(session, integrator, "cabinet.blocked", object_type="cabinet", object_id=cabinet.id)
    row = InventoryReview(
        campaign_id=campaign.id,
        cabinet_id=cabinet.id,
        reviewer_id=integrator.cabinet_id,
        decision=verdict,
        note=" ".join((note or "").split()) or None,
    )
    session.add(row)
    flush(session)  # a second review of the cabinet in this campaign is refused here
    record(session, integrator, "inventory.reviewed", object_type="cabinet", object_id=cabinet.id, detail=verdict)
    return row


@dataclass(frozen=True)
class Coverage:
    """How far a campaign has got in one organization."""

    organization_id: int
    organization: str
    region_id: int
    active: int
    reviewed: int

    @property
    def share(self) -> float:
        """Reviewed active cabinets as a share of all active ones (1.0 when there are none)."""
        return self.reviewed / self.active if self.active else 1.0


def coverage(session: Session, campaign_id: int) -> list[Coverage]:
    """Active cabinets and how many of them the campaign reviewed, per organization (least covered first)."""
    reviewed = select(InventoryReview.cabinet_id).where(InventoryReview.campaign_id == campaign_id).scalar_subquery()
    rows = session.execute(
        select(
            Organization.id,
            Organization.name,
            Organization.region_id,
            func.count(Cabinet.id),
            func.count(Cabinet.id).filter(Cabinet.id.in_(reviewed)),
        )
        .join(Cabinet, Cabinet.organization_id == Organization.id)
        .where(Cabinet.status == CabinetStatus.ACTIVE)
        .group_by(Organization.id, Organization.name, Organization.region_id)
    ).all()
    found = [Coverage(org_id, name, region, active, done) for org_id, name, region, active, done in rows]
    return sorted(found, key=lambda item: (item.share, item.organization_id))


def _not_reviewed_within_a_year(today: date) -> ColumnElement[bool]:
    """Active, and no review since the same Tashkent day a year ago (R-14)."""
    since, _ = day_bounds(today - timedelta(days=365))
    recent = select(InventoryReview.cabinet_id).where(InventoryReview.reviewed_at >= since)
    return and_(Cabinet.status == CabinetStatus.ACTIVE, Cabinet.id.not_in(recent))


def not_reviewed_within_a_year(session: Session, today: date, *, limit: int | None = None) -> list[Cabinet]:
    """Active cabinets with no review in the last 12 months, oldest first (the first `limit` of them if given)."""
    query = select(Cabinet).where(_not_reviewed_within_a_year(today)).order_by(Cabinet.created_at, Cabinet.id)
    return list(session.execute(query.limit(limit)).scalars())


def count_not_reviewed_within_a_year(session: Session, today: date) -> int:
    """How many active cabinets had no review in the last 12 months."""
    return session.execute(select(func.count()).where(_not_reviewed_within_a_year(today))).scalar_one()


def campaign_of(session: Session, year: int) -> InventoryCampaign | None:
    """The inventory campaign of `year`, if one was opened."""
    return session.execute(select(InventoryCampaign).where(InventoryCampaign.year == year)).scalar_one_or_none()


@dataclass(frozen=True)
class RegionCoverage:
    """How far a campaign has got in one region: its organizations' active cabinets added up."""

    region_id: int
    name_uz: str
    name_ru: str
    name_en: str
    active: int
    reviewed: int

    @property
    def share(self) -> float:
        """Reviewed active cabinets as a share of all active ones (1.0 when there are none)."""
        return self.reviewed / self.active if self.active else 1.0

    def name(self, language: str) -> str:
        """The region's name in `language` (uz, ru or en; Uzbek otherwise)."""
        return {"ru": self.name_ru, "en": self.name_en}.get(language, self.name_uz)


def coverage_by_region(session: Session, rows: list[Coverage]) -> list[RegionCoverage]:
    """The per-organization coverage rows added up per region (least covered first)."""
    totals: dict[int, tuple[int, int]] = {}
    for row in rows:
        active, reviewed = totals.get(row.region_id, (0, 0))
        totals[row.region_id] = (active + row.active, reviewed + row.reviewed)
    regions = session.execute(select(Region).where(Region.id.in_(list(totals)))).scalars()
    found = [
        RegionCoverage(region.id, region.name_uz, region.name_ru, region.name_en, *totals[region.id])
        for region in regions
    ]
    return sorted(found, key=lambda item: (item.share, item.region_id))


@dataclass(frozen=True)
class Unreviewed:
    """An active cabinet not reviewed within a year, with its organization's name."""

    cabinet: Cabinet
    organization: str


def unreviewed(session: Session, today: date, *, limit: int = 200) -> list[Unreviewed]:
    """The first `limit` active cabinets with no review in the last 12 months, oldest first, with organizations."""
    query = (
        select(Cabinet, Organization.name)
        .join(Organization, Organization.id == Cabinet.organization_id)
        .where(_not_reviewed_within_a_year(today))
        .order_by(Cabinet.created_at, Cabinet.id)
        .limit(limit)
    )
    return [Unreviewed(cabinet, name) for cabinet, name in session.execute(query)]

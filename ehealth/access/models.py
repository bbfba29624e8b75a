"""Installation requests (R-2, R-3), personal cabinets (R-7, R-8), notices (R-10) and inventory (R-14)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, IntPk, OptTimestamp, Timestamp, UpdatedAt, enum_column, fk
from ehealth.i18n import N_

POSITION_LENGTH = 120  # a position as the organization writes it, e.g. "Terapevt shifokor"


class Role(StrEnum):
    """What a cabinet's owner does; only the first four enter clinical data (R-6)."""

    DOCTOR = "doctor"
    NURSE = "nurse"
    REGISTRAR = "registrar"
    PHARMACIST = "pharmacist"
    MANAGER = "manager"
    ANALYST = "analyst"
    ADMIN = "admin"
    INTEGRATOR = "integrator"


CLINICAL_ROLES = frozenset({Role.DOCTOR, Role.NURSE, Role.REGISTRAR, Role.PHARMACIST})


class CabinetStatus(StrEnum):
    """A cabinet is usable only while active; archived ones are kept at least a year (R-10), then purged: the
    owner's identifiers are erased, the row stays so that the clinical records it authored keep their author."""

    ACTIVE = "active"
    BLOCKED = "blocked"
    ARCHIVED = "archived"
    PURGED = "purged"


class DocumentType(StrEnum):
    """Identity documents of clause 2: the passport or the ID card."""

    PASSPORT = "passport"
    ID_CARD = "id_card"


class RequestStatus(StrEnum):
    """Where an installation request stands (R-3)."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    INSTALLED = "installed"
    REJECTED = "rejected"


class IdentityKind(StrEnum):
    """How a person proves who they are: OneID or an E-IMZO certificate (R-9)."""

    ONEID = "oneid"
    EIMZO = "eimzo"


class NoticeKind(StrEnum):
    """What an employment notice reports (R-10)."""

    TERMINATION = "termination"
    TRANSFER = "transfer"


class NoticeAction(StrEnum):
    """What the ministry did about a notice (R-10)."""

    RIGHTS_UPDATED = "rights_updated"
    BLOCKED_ARCHIVED = "blocked_archived"


class ReviewDecision(StrEnum):
    """The outcome of one cabinet's annual review (R-14)."""

    CONFIRMED = "confirmed"
    RIGHTS_CHANGED = "rights_changed"
    BLOCKED = "blocked"


class PersonFields:
    """The person data clause 2 asks for every user to be given access.

    The identifiers (PINFL, identity document, e-mail) are erased when the cabinet is purged after its retention
    (R-10), so their columns allow NULL; each table's `identified_unless_purged` CHECK says when.
    """

    surname: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[str] = mapped_column(String(POSITION_LENGTH))
    department_name: Mapped[str] = mapped_column(String(120))
    document_type: Mapped[DocumentType] = enum_column(DocumentType, "document_type")
    document_series: Mapped[str | None] = mapped_column(String(2))
    document_number: Mapped[str | None] = mapped_column(String(7))
    pinfl: Mapped[str | None] = mapped_column(String(14), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[Role] = enum_column(Role, "role")


# The owner's identifiers, all present or (once the cabinet is purged) all erased.
_IDENTIFIED = "pinfl IS NOT NULL AND document_series IS NOT NULL AND document_number IS NOT NULL AND email IS NOT NULL"
_ERASED = "pinfl IS NULL AND document_series IS NULL AND document_number IS NULL AND email IS NULL"


def _person_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint("length(pinfl) = 14", name="pinfl_length", info={"message": N_("A PINFL has 14 digits.")}),
        CheckConstraint(
            "length(document_series) = 2 AND length(document_number) = 7",
            name="document_shape",
            info={"message": N_("A passport or ID card has a 2-letter series and a 7-digit number.")},
        ),
    )


class InstallationRequest(Base):
    """An organization's request to install the modules for named people (R-2), due in 15 working days (R-3)."""

    __tablename__ = "installation_request"

    id: Mapped[IntPk]
    number: Mapped[str] = mapped_column(String(20), unique=True)
    organization_id: Mapped[int] = fk("organization.id")
    modules: Mapped[list[str]] = mapped_column(JSON)
    letter_number: Mapped[str] = mapped_column(String(40))
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[RequestStatus] = enum_column(RequestStatus, "status", index=True)
    installed_on: Mapped[date | None] = mapped_column(Date)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_phone: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[int | None] = fk("cabinet.id", nullable=True)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        CheckConstraint("due_on >= received_on", name="due_after_received"),
        CheckConstraint(
            "status <> 'installed' OR installed_on IS NOT NULL",
            name="installed_has_date",
            info={"message": N_("An installed request needs its installation date.")},
        ),
        CheckConstraint(
            "status <> 'rejected' OR rejection_reason IS NOT NULL",
            name="rejected_has_reason",
            info={"message": N_("A rejected request needs the reason.")},
        ),
    )


class RequestedUser(PersonFields, Base):
    """One person named in an installation request, with every field clause 2 requires."""

    __tablename__ = "requested_user"

    id: Mapped[IntPk]
    request_id: Mapped[int] = fk("installation_request.id")
    organization_id: Mapped[int] = fk("organization.id")
    patronymic: Mapped[str] = mapped_column(String(100))  # clause 2 makes every field required
    cabinet_id: Mapped[int | None] = fk("cabinet.id", nullable=True)

    __table_args__ = (
        UniqueConstraint("request_id", "pinfl", info={"message": N_("This person is already listed in the request.")}),
        *_person_checks(),
        # A CHECK cannot see the cabinet: only a person who got a cabinet can have been erased with it.
        CheckConstraint(
            f"cabinet_id IS NOT NULL OR ({_IDENTIFIED})",
            name="identified_unless_purged",
            info={"message": N_("A person named in a request needs the PINFL, identity document and e-mail.")},
        ),
    )


class Cabinet(PersonFields, Base):
    """A user's personal cabinet (R-8): ID number, created-at, position, identity document, role."""

    __tablename__ = "cabinet"

    id: Mapped[IntPk]
    id_number: Mapped[str] = mapped_column(String(16), unique=True)
    organization_id: Mapped[int] = fk("organization.id")
    department_id: Mapped[int | None] = fk("department.id", nullable=True)
    status: Mapped[CabinetStatus] = enum_column(CabinetStatus, "status", default=CabinetStatus.ACTIVE)
    created_at: Mapped[Timestamp]
    blocked_at: Mapped[OptTimestamp]
    archived_at: Mapped[OptTimestamp]
    retain_until: Mapped[date | None] = mapped_column(Date)
    purged_at: Mapped[OptTimestamp]
    updated_at: Mapped[UpdatedAt]

    __table_args__ = (
        *_person_checks(),
        CheckConstraint(
            "status <> 'archived' OR (archived_at IS NOT NULL AND retain_until IS NOT NULL)",
            name="archive_retention",
            info={"message": N_("An archived cabinet needs its archive date and the date it is kept until.")},
        ),
        CheckConstraint(
            "status = 'active' OR blocked_at IS NOT NULL",
            name="inactive_has_blocked_at",
            info={"message": N_("A blocked or archived cabinet needs the time it was blocked.")},
        ),
        CheckConstraint(
            f"status = 'purged' OR ({_IDENTIFIED})",
            name="identified_unless_purged",
            info={"message": N_("A cabinet needs its owner's PINFL, identity document and e-mail until it is purged.")},
        ),
        CheckConstraint(
            f"status <> 'purged' OR (purged_at IS NOT NULL AND {_ERASED})",
            name="purge_erases_identifiers",
            info={
                "message": N_(
                    "A purged cabinet needs the time it was purged and keeps none of its owner's identifiers."
                )
            },
        ),
        # One live cabinet per person, organization and role; archived and purged ones stay as history.
        Index(
            "uq_cabinet_live_person_role",
            "organization_id",
            "pinfl",
            "role",
            unique=True,
            sqlite_where=text("status NOT IN ('archived', 'purged')"),
            postgresql_where=text("status NOT IN ('archived', 'purged')"),
            info={"message": N_("This person already has a cabinet with this role in the organization.")},
        ),
    )

    @property
    def full_name(self) -> str:
        """Surname, given name and patronymic as Uzbek documents write them."""
        return " ".join(part for part in (self.surname, self.given_name, self.patronymic) if part)


class LoginIdentity(Base):
    """A OneID account or E-IMZO certificate seen signing in to a cabinet."""

    __tablename__ = "login_identity"

    id: Mapped[IntPk]
    cabinet_id: Mapped[int] = fk("cabinet.id")
    kind: Mapped[IdentityKind] = enum_column(IdentityKind, "kind")
    subject: Mapped[str] = mapped_column(String(128))
    pinfl: Mapped[str] = mapped_column(String(14))
    created_at: Mapped[Timestamp]
    last_used_at: Mapped[OptTimestamp]

    __table_args__ = (UniqueConstraint("kind", "subject", "cabinet_id"),)


class EmploymentNotice(Base):
    """An organization's written notice that a user left or moved (R-10), with both deadlines."""

    __tablename__ = "employment_notice"

    id: Mapped[IntPk]
    cabinet_id: Mapped[int] = fk("cabinet.id")
    organization_id: Mapped[int] = fk("organization.id")
    kind: Mapped[NoticeKind] = enum_column(NoticeKind, "kind")
    event_date: Mapped[date] = mapped_column(Date)
    notice_due_on: Mapped[date] = mapped_column(Date)
    notified_on: Mapped[date] = mapped_column(Date)
    action_due_on: Mapped[date] = mapped_column(Date, index=True)
    new_position: Mapped[str | None] = mapped_column(String(POSITION_LENGTH))
    action: Mapped[NoticeAction | None] = enum_column(NoticeAction, "action", nullable=True)
    action_at: Mapped[OptTimestamp]
    action_by: Mapped[int | None] = fk("cabinet.id", nullable=True)
    created_by: Mapped[int | None] = fk("cabinet.id", nullable=True)
    created_at: Mapped[Timestamp]

    __table_args__ = (
        CheckConstraint("notice_due_on >= event_date AND action_due_on >= notified_on", name="deadlines_order"),
        CheckConstraint(
            "(action IS NULL) = (action_at IS NULL)",
            name="action_has_time",
            info={"message": N_("An action on a notice needs the time it was taken.")},
        ),
        CheckConstraint(
            "kind <> 'transfer' OR new_position IS NOT NULL",
            name="transfer_has_position",
            info={"message": N_("A transfer notice needs the new position.")},
        ),
    )


class InventoryCampaign(Base):
    """The integrator's annual inventory of users and their rights (R-14)."""

    __tablename__ = "inventory_campaign"

    id: Mapped[IntPk]
    year: Mapped[int] = mapped_column(
        unique=True, info={"message": N_("An inventory campaign for this year already exists.")}
    )
    started_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[OptTimestamp]
    created_by: Mapped[int | None] = fk("cabinet.id", nullable=True)

    __table_args__ = (CheckConstraint("due_on >= started_on", name="due_after_start"),)


class InventoryReview(Base):
    """One cabinet reviewed in one campaign."""

    __tablename__ = "inventory_review"

    id: Mapped[IntPk]
    campaign_id: Mapped[int] = fk("inventory_campaign.id")
    cabinet_id: Mapped[int] = mapped_column(ForeignKey("cabinet.id"))
    reviewer_id: Mapped[int] = fk("cabinet.id")
    reviewed_at: Mapped[Timestamp]
    decision: Mapped[ReviewDecision] = enum_column(ReviewDecision, "decision")
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint(
            "campaign_id", "cabinet_id", info={"message": N_("This cabinet was already reviewed in this campaign.")}
        ),
        # "Who has not been reviewed in the last 12 months" scans by cabinet and time.
        Index("ix_inventory_review_cabinet_time", "cabinet_id", "reviewed_at"),
    )

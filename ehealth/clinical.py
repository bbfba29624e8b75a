"""What every clinical row shares: record status, authorship, and the pointer to the row it replaces (R-17)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from db import BigId, IntPk, OptTimestamp, Timestamp, UpdatedAt, enum_column, fk
from ehealth.i18n import N_


class RecordStatus(StrEnum):
    """Nothing clinical is deleted: a correction marks the old row and writes a new one (R-17)."""

    ACTIVE = "active"
    ENTERED_IN_ERROR = "entered_in_error"
    SUPERSEDED = "superseded"


class ClinicalRecord:
    """Mixin of every clinical table; the outbox listener (ehealth.outbox) watches its subclasses."""

    id: Mapped[IntPk]
    # Patient and organization on every row: the keys a national deployment shards by.
    patient_id: Mapped[int] = fk("patient.id")
    organization_id: Mapped[int] = fk("organization.id")
    status: Mapped[RecordStatus] = enum_column(RecordStatus, "status", default=RecordStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    status_changed_at: Mapped[OptTimestamp]
    created_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt] = mapped_column(index=True)

    @declared_attr
    def created_by(cls) -> Mapped[int]:  # noqa: N805  (declared_attr receives the class)
        """The cabinet that entered the row."""
        return mapped_column(BigId, ForeignKey("cabinet.id"), index=False)

    @declared_attr
    def replaces_id(cls) -> Mapped[int | None]:  # noqa: N805
        """The earlier version this row corrects."""
        return mapped_column(BigId, ForeignKey(f"{cls.__tablename__}.id"), index=True)  # type: ignore[attr-defined]

    def change_kind(self) -> str:
        """The outbox's name for an update of this row: "updated", or the status it was marked with."""
        return "updated" if self.status == RecordStatus.ACTIVE else str(self.status)

    @classmethod
    def clinical_checks(cls) -> tuple[CheckConstraint, ...]:
        """Constraints shared by every clinical table."""
        return (
            CheckConstraint(
                "status = 'active' OR (status_reason IS NOT NULL AND status_changed_at IS NOT NULL)",
                name="status_reason",
                info={"message": N_("A corrected or withdrawn entry needs the reason and the time.")},
            ),
            CheckConstraint("replaces_id IS NULL OR replaces_id <> id", name="replaces_other"),
        )

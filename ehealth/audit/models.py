"""Audit rows and the head of their hash chain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, BigId, IntPk, enum_column, fk

GENESIS_HASH = "0" * 64
# Independent hash chains, one per group of organizations: appends in different organizations never wait for each
# other's commit (one chain serialized every audited save in the country). Chain k's head is row k + 1.
CHAINS = 64


def chain_of(organization_id: int | None) -> int:
    """The chain an event of this organization goes to (0 for events without one, e.g. anonymous sign-ins)."""
    return 0 if organization_id is None else organization_id % CHAINS


class Outcome(StrEnum):
    """Whether the audited action happened."""

    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


class AuditEvent(Base):
    """Who did what to which object of which patient, when, from where, and with what outcome."""

    __tablename__ = "audit_event"

    id: Mapped[IntPk]
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = fk("cabinet.id", nullable=True, index=False)
    actor_role: Mapped[str | None] = mapped_column(String(20))
    organization_id: Mapped[int | None] = fk("organization.id", nullable=True, index=False)
    patient_id: Mapped[int | None] = fk("patient.id", nullable=True, index=False)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[Outcome] = enum_column(Outcome, "outcome")
    source_ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[str | None] = mapped_column(String(300))
    chain: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        # "Who saw my record" and "what did this user do" are the two questions asked of the trail.
        Index("ix_audit_event_patient_at", "patient_id", "at"),
        Index("ix_audit_event_actor_at", "actor_id", "at"),
        # Failed sign-ins per address (auth.throttle) on every sign-in attempt.
        Index("ix_audit_event_source_at", "source_ip", "at"),
        CheckConstraint("length(hash) = 64 AND length(prev_hash) = 64", name="hash_shape"),
    )


class AuditChainHead(Base):
    """One row per chain holding its last hash; locking it serializes the appends to that chain across processes."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int | None] = mapped_column(BigId)
    last_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint(f"id BETWEEN 1 AND {CHAINS}", name="known_chain"),)

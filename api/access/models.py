"""API clients (an organization's system), the bearer tokens issued to them and to patients, and rate counters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, BigId, IntPk, OptTimestamp, Timestamp, enum_column, fk


class ApiClientStatus(StrEnum):
    """A client may get tokens only while active; a revoked client stays as history."""

    ACTIVE = "active"
    REVOKED = "revoked"


class TokenKind(StrEnum):
    """Whom a token speaks for: one patient (after OneID) or an organization's client."""

    PATIENT = "patient"
    CLIENT = "client"


class ApiClient(Base):
    """An organization's system allowed to call the API with client credentials (RFC 6749 §4.4)."""

    __tablename__ = "api_client"

    id: Mapped[IntPk]
    organization_id: Mapped[int] = fk("organization.id")
    name: Mapped[str] = mapped_column(String(200))
    # Public: sent with every token request.
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # "scrypt$n$r$p$salt$hash" (base64): the secret itself is shown once, at registration or rotation.
    secret_hash: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(String(1000))
    status: Mapped[ApiClientStatus] = enum_column(ApiClientStatus, "status", default=ApiClientStatus.ACTIVE)
    created_at: Mapped[Timestamp]
    created_by: Mapped[int | None] = fk("cabinet.id", nullable=True, index=False)
    revoked_at: Mapped[OptTimestamp]

    __table_args__ = (
        CheckConstraint("(status = 'revoked') = (revoked_at IS NOT NULL)", name="revoked_has_time"),
        CheckConstraint("secret_hash LIKE 'scrypt$%'", name="secret_hashed"),
    )


class ApiToken(Base):
    """A bearer token; only the SHA-256 of the bearer string is kept."""

    __tablename__ = "api_token"

    id: Mapped[IntPk]
    kind: Mapped[TokenKind] = enum_column(TokenKind, "kind")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Not named patient_id: a merge of two patient records moves every row with a patient_id to the survivor
    # (ehealth.patients.merge), and a credential must not follow it; a token of a merged-away record is refused.
    holder_patient_id: Mapped[int | None] = fk("patient.id", nullable=True)
    api_client_id: Mapped[int | None] = fk("api_client.id", nullable=True)
    organization_id: Mapped[int | None] = fk("organization.id", nullable=True, index=False)
    scopes: Mapped[str] = mapped_column(String(1000))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[OptTimestamp]

    __table_args__ = (
        CheckConstraint(
            "(kind = 'patient' AND holder_patient_id IS NOT NULL AND api_client_id IS NULL AND organization_id IS NULL)"
            " OR (kind = 'client' AND holder_patient_id IS NULL AND api_client_id IS NOT NULL"
            " AND organization_id IS NOT NULL)",
            name="bound_to_its_kind",
        ),
        CheckConstraint("expires_at > issued_at", name="expires_after_issue"),
        CheckConstraint("length(token_hash) = 64", name="token_hash_shape"),
    )


class ApiRateWindow(Base):
    """How many calls a token made in one minute (minutes since the epoch); one atomic UPSERT per call."""

    __tablename__ = "api_rate_window"

    token_id: Mapped[int] = mapped_column(BigId, ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True)
    window_minute: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(Integer)

    # Old windows are deleted by minute across all tokens.
    __table_args__ = (Index("ix_api_rate_window_window_minute", "window_minute"),)

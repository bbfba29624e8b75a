"""Append to the audit trail and verify that nobody edited or removed a row."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from ehealth.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent, Outcome

_HASHED = (
    "at",
    "actor_id",
    "actor_role",
    "organization_id",
    "patient_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "source_ip",
    "detail",
)


def _digest(prev_hash: str, fields: dict[str, object]) -> str:
    payload = {key: fields[key] for key in _HASHED}
    at = payload["at"]
    assert isinstance(at, datetime)
    payload["at"] = at.isoformat(timespec="microseconds")
    text = prev_hash + json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who acts: a cabinet (or None for the system itself) with role and organization at that moment."""

    cabinet_id: int | None
    role: str | None
    organization_id: int | None
    source_ip: str | None = None


SYSTEM = Actor(cabinet_id=None, role="system", organization_id=None)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    patient_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Append one audit event to the chain, in the caller's transaction."""
    head = session.execute(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditChainHead(id=1, last_event_id=None, last_hash=GENESIS_HASH)
        session.add(head)
    fields: dict[str, object] = {
        "at": utcnow(),
        "actor_id": actor.cabinet_id,
        "actor_role": actor.role,
        "organization_id": actor.organization_id,
        "patient_id": patient_id,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "outcome": str(outcome),
        "source_ip": actor.source_ip,
        "detail": detail,
    }
    row = AuditEvent(**fields, prev_hash=head.last_hash, hash=_digest(head.last_hash, fields))
    session.add(row)
    session.flush()
    head.last_event_id = row.id
    head.last_hash = row.hash
    return row


def verify(session: Session, batch: int = 10_000) -> Iterator[int]:
    """Yield the ids of audit rows whose hash or link is broken (edited, removed or inserted out of chain)."""
    prev = GENESIS_HASH
    for row in session.execute(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch)).scalars():
        fields = {key: getattr(row, key) for key in _HASHED}
        fields["outcome"] = str(fields["outcome"])
        if row.prev_hash != prev or row.hash != _digest(prev, fields):
            yield row.id
        prev = row.hash
    head = session.get(AuditChainHead, 1)
    if head is not None and head.last_hash != prev:
        # The newest rows were removed: the head remembers a hash the table no longer ends with.
        yield head.last_event_id or 0

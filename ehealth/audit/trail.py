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
from ehealth.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent, Outcome, chain_of

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


# session.info key: the chain heads this session's current transaction has locked.
_HEADS = "ehealth.audit_heads"

SYSTEM = Actor(cabinet_id=None, role="system", organization_id=None)
# The roles of callers of the data-exchange API (api/access), who act without a cabinet: an organization's system,
# and a patient signed in with OneID.
API_CLIENT_ROLE = "api_client"
API_PATIENT_ROLE = "api_patient"


def _locked_head(session: Session, chain: int) -> AuditChainHead:
    """The chain's head, locked once per transaction: a save that audits five rows asks for the lock once."""
    transaction = session.get_transaction()
    cached = session.info.get(_HEADS)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        session.info[_HEADS] = cached
    heads: dict[int, AuditChainHead] = cached[1]
    if chain not in heads:
        head = session.execute(
            select(AuditChainHead).where(AuditChainHead.id == chain + 1).with_for_update()
        ).scalar_one_or_none()
        if head is None:  # the migrations create every head; this keeps a bare schema (metadata.create_all) working
            head = AuditChainHead(id=chain + 1, last_event_id=None, last_hash=GENESIS_HASH)
            session.add(head)
        heads[chain] = head
    return heads[chain]


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
    """Append one audit event to its organization's chain, in the caller's transaction."""
    chain = chain_of(actor.organization_id)
    head = _locked_head(session, chain)
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
    row = AuditEvent(**fields, chain=chain, prev_hash=head.last_hash, hash=_digest(head.last_hash, fields))
    session.add(row)
    session.flush()
    head.last_event_id = row.id
    head.last_hash = row.hash
    return row


def verify(session: Session, batch: int = 10_000) -> Iterator[int]:
    """Yield the ids of audit rows whose hash or link is broken (edited, removed or inserted out of chain)."""
    prev: dict[int, str] = {}
    for row in session.execute(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch)).scalars():
        fields = {key: getattr(row, key) for key in _HASHED}
        fields["outcome"] = str(fields["outcome"])
        # Within a chain, id order is append order: the head's lock is taken before the row gets its id.
        before = prev.get(row.chain, GENESIS_HASH)
        if row.prev_hash != before or row.hash != _digest(before, fields):
            yield row.id
        prev[row.chain] = row.hash
    for head in session.execute(select(AuditChainHead).order_by(AuditChainHead.id)).scalars():
        if head.last_hash != prev.get(head.id - 1, GENESIS_HASH):
            # The newest rows of that chain were removed: the head remembers a hash the table no longer ends with.
            yield head.last_event_id or 0

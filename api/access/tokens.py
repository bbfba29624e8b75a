"""Register organization clients, issue and check bearer tokens (issue 8).

Each service refuses bad input with an ApiAccessError and changes nothing; a refusal that must stay in the audit trail
(a wrong secret, a forged token) carries what to audit, and the caller records it in a transaction of its own
(`audit_refusal`), so that the refused service's rollback does not take the audit row with it. Secrets are kept only
as salted scrypt hashes, bearer strings only as SHA-256: neither is ever stored or logged in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.access import scopes as scope_rules
from api.access.models import ApiClient, ApiClientStatus, ApiToken, TokenKind
from api.access.scopes import PATIENT_OWN_READ, Holder
from db import flush, utcnow
from ehealth.audit.models import Outcome
from ehealth.audit.trail import API_CLIENT_ROLE, API_PATIENT_ROLE, Actor, record
from ehealth.errors import DomainError, NotFound, ValidationError
from ehealth.patients.models import Patient
from ehealth.reference.models import Organization

# scrypt's cost: 16 MiB and some tens of milliseconds per check; kept in each stored hash, so it can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024

UNKNOWN_ORGANIZATION = "There is no such organization."
NAME_REQUIRED = "A client needs a name (1 to 200 characters)."
NO_SCOPES = "A client needs at least one scope."
UNKNOWN_CLIENT = "There is no such API client."
CLIENT_REVOKED = "This API client is revoked."
INVALID_CLIENT = "Client authentication failed."
SCOPE_NOT_GRANTED = "The requested scope exceeds what the client was granted: {scope}."
NO_PATIENT = "No patient is registered with this PINFL."
PATIENT_MERGED = "This patient record was merged into another one."
BAD_PINFL = "A PINFL has 14 digits."
BEARER_MISSING = "No access token was given."
BEARER_UNKNOWN = "The access token is not known."
BEARER_EXPIRED = "The access token has expired."
BEARER_REVOKED = "The access token has been revoked."


class ApiAccessError(DomainError):
    """A refused API-access operation. `code` is the OAuth 2.0 error code (RFC 6749 §5.2 / RFC 6750 §3.1) for the
    caller; `audit_detail`, `organization_id` and `patient_id` say what to audit (never the secret tried)."""

    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        audit_detail: str | None = None,
        organization_id: int | None = None,
        patient_id: int | None = None,
        object_id: int | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message, **params)
        self.audit_detail = audit_detail
        self.organization_id = organization_id
        self.patient_id = patient_id
        self.object_id = object_id


class InvalidClient(ApiAccessError):
    """Unknown client, wrong secret or revoked client: the caller is told only that authentication failed."""

    code = "invalid_client"


class InvalidScope(ApiAccessError):
    """A requested scope is unknown or not granted to the client."""

    code = "invalid_scope"


class InvalidToken(ApiAccessError):
    """A bearer string that is missing, unknown, expired or revoked; `reason` says which."""

    code = "invalid_token"

    def __init__(self, message: str, reason: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason


@dataclass(frozen=True)
class TokenContext:
    """Whom an authenticated bearer token speaks for: a patient (patient_id) or an organization's client."""

    token_id: int
    kind: TokenKind
    scopes: frozenset[str]
    patient_id: int | None = None
    organization_id: int | None = None
    api_client_id: int | None = None
    client_id: str | None = None

    def actor(self, source_ip: str | None) -> Actor:
        """The audit actor: the client's organization, or the patient (no cabinet, no organization)."""
        role = API_PATIENT_ROLE if self.kind == TokenKind.PATIENT else API_CLIENT_ROLE
        return Actor(cabinet_id=None, role=role, organization_id=self.organization_id, source_ip=source_ip)


@dataclass(frozen=True)
class IssuedToken:
    """A token as handed to the caller: the bearer string exists only here, never in the database."""

    access_token: str
    token_id: int
    expires_in: int
    scopes: frozenset[str]

    @property
    def scope(self) -> str:
        """The space-separated scopes (RFC 6749 §5.1)."""
        return scope_rules.render(self.scopes)


def hash_secret(secret: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$n$r$p$salt$hash` of the secret with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32)
    encode = base64.b64encode
    return f"scrypt${n}${r}${p}${encode(salt).decode()}${encode(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """True when `secret` hashes to `stored` (compared in constant time); False for any malformed stored value."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), maxmem=_SCRYPT_MAXMEM, dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# Checked against when the client_id is unknown, so that an unknown client costs as long as a wrong secret.
_DECOY = hash_secret(secrets.token_urlsafe(16))


def bearer_hash(bearer: str) -> str:
    """The SHA-256 (hex) under which a bearer string is stored."""
    return hashlib.sha256(bearer.encode()).hexdigest()


def _client(session: Session, client_id: str) -> ApiClient:
    client = session.execute(select(ApiClient).where(ApiClient.client_id == client_id)).scalar_one_or_none()
    if client is None:
        raise NotFound(UNKNOWN_CLIENT)
    return client


def register_client(
    session: Session,
    *,
    organization_id: int,
    name: str,
    scopes: str | Iterable[str],
    actor: Actor,
    now: datetime | None = None,
) -> tuple[ApiClient, str]:
    """A new active client of the organization with the given scopes; returns it and its secret (shown only now)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError(NAME_REQUIRED, field="name")
    granted = scope_rules.parse(scopes, Holder.CLIENT)
    if not granted:
        raise ValidationError(NO_SCOPES, field="scope")
    if session.get(Organization, organization_id) is None:
        raise NotFound(UNKNOWN_ORGANIZATION)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        organization_id=organization_id,
        name=name,
        client_id=f"c-{secrets.token_urlsafe(12)}",
        secret_hash=hash_secret(secret),
        scopes=scope_rules.render(granted),
        status=ApiClientStatus.ACTIVE,
        created_at=now or utcnow(),
        created_by=actor.cabinet_id,
    )
    session.add(client)
    flush(session)
    record(session, actor, "api.client_registered", object_type="api_client", object_id=client.id, detail=name)
    return client, secret


def rotate_secret(session: Session, client_id: str, *, actor: Actor) -> str:
    """A new secret for an active client (the old one stops working; tokens already issued run out as usual)."""
    client = _client(session, client_id)
    if client.status != ApiClientStatus.ACTIVE:
        raise ValidationError(CLIENT_REVOKED)
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hash_secret(secret)
    flush(session)
    record(session, actor, "api.client_secret_rotated", object_type="api_client", object_id=client.id)
    return secret


def revoke_client(session: Session, client_id: str, *, actor: Actor, now: datetime | None = None) -> ApiClient:
    """Revoke the client and every token it still holds."""
    client = _client(session, client_id)
    if client.status != ApiClientStatus.ACTIVE:
        raise ValidationError(CLIENT_REVOKED)
    at = now or utcnow()
    client.status = ApiClientStatus.REVOKED
    client.revoked_at = at
    session.execute(
        update(ApiToken).where(ApiToken.api_client_id == client.id, ApiToken.revoked_at.is_(None)).values(revoked_at=at)
    )
    flush(session)
    record(session, actor, "api.client_revoked", object_type="api_client", object_id=client.id)
    return client


def _new_token(
    session: Session, now: datetime, lifetime: timedelta, granted: frozenset[str], **binding: int | None
) -> IssuedToken:
    bearer = secrets.token_urlsafe(32)
    kind = TokenKind.PATIENT if binding.get("holder_patient_id") is not None else TokenKind.CLIENT
    token = ApiToken(
        kind=kind,
        token_hash=bearer_hash(bearer),
        scopes=scope_rules.render(granted),
        issued_at=now,
        expires_at=now + lifetime,
        **binding,
    )
    session.add(token)
    flush(session)
    return IssuedToken(bearer, token.id, int(lifetime.total_seconds()), granted)


def issue_client_token(
    session: Session,
    client_id: str,
    secret: str,
    scope: str | None,
    *,
    lifetime: timedelta,
    source_ip: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """A client-credentials token (RFC 6749 §4.4): the requested scopes (all granted ones when none are asked for)
    must be among the client's. Audited when issued; a refusal carries what to audit (`audit_refusal`)."""
    client = session.execute(select(ApiClient).where(ApiClient.client_id == client_id)).scalar_one_or_none()
    if client is None:
        verify_secret(secret, _DECOY)
        raise InvalidClient(INVALID_CLIENT, audit_detail="unknown client_id")
    refusal: dict[str, Any] = {"organization_id": client.organization_id, "object_id": client.id}
    if not verify_secret(secret, client.secret_hash):
        raise InvalidClient(INVALID_CLIENT, audit_detail="wrong secret", **refusal)
    if client.status != ApiClientStatus.ACTIVE:
        raise InvalidClient(INVALID_CLIENT, audit_detail="client revoked", **refusal)
    have = scope_rules.parse(client.scopes)
    try:
        requested = scope_rules.parse(scope, Holder.CLIENT) if scope and scope.strip() else have
    except ValidationError as error:
        params: dict[str, Any] = {**refusal, **error.params}
        raise InvalidScope(error.msgid, audit_detail="unknown scope", **params) from error
    if not requested <= have:
        extra = scope_rules.render(requested - have)
        raise InvalidScope(SCOPE_NOT_GRANTED, audit_detail=f"scope not granted: {extra}"[:300], scope=extra, **refusal)
    issued = _new_token(
        session,
        now or utcnow(),
        lifetime,
        requested,
        api_client_id=client.id,
        organization_id=client.organization_id,
    )
    actor = Actor(None, API_CLIENT_ROLE, client.organization_id, source_ip)
    record(session, actor, "api.token", object_type="api_token", object_id=issued.token_id, detail=issued.scope[:300])
    return issued


def issue_patient_token(
    session: Session,
    pinfl: str,
    *,
    lifetime: timedelta,
    source_ip: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """A token bound to the patient with this PINFL, read-only on their own record. Call it only after a OneID
    sign-in proved the PINFL; the patient must be registered and not merged into another record."""
    if len(pinfl) != 14 or not pinfl.isdigit():
        raise ValidationError(BAD_PINFL, field="pinfl")
    patient = session.execute(select(Patient).where(Patient.pinfl == pinfl)).scalar_one_or_none()
    if patient is None:
        raise NotFound(NO_PATIENT)
    if patient.merged_into_id is not None:
        raise ValidationError(PATIENT_MERGED)
    issued = _new_token(session, now or utcnow(), lifetime, frozenset({PATIENT_OWN_READ}), holder_patient_id=patient.id)
    actor = Actor(None, API_PATIENT_ROLE, None, source_ip)
    record(session, actor, "api.token", patient_id=patient.id, object_type="api_token", object_id=issued.token_id)
    return issued


def authenticate(session: Session, bearer: str | None, *, now: datetime | None = None) -> TokenContext:
    """The context of a bearer string, or InvalidToken saying whether it is missing, unknown, expired or revoked."""
    if not bearer:
        raise InvalidToken(BEARER_MISSING, "missing", audit_detail="no token")
    token = session.execute(select(ApiToken).where(ApiToken.token_hash == bearer_hash(bearer))).scalar_one_or_none()
    if token is None:
        raise InvalidToken(BEARER_UNKNOWN, "unknown", audit_detail="unknown token")
    where: dict[str, Any] = {
        "organization_id": token.organization_id,
        "patient_id": token.holder_patient_id,
        "object_id": token.id,
    }
    client: ApiClient | None = None
    if token.api_client_id is not None:
        client = session.get(ApiClient, token.api_client_id)
    patient = session.get(Patient, token.holder_patient_id) if token.holder_patient_id is not None else None
    revoked = (
        token.revoked_at is not None
        or (client is not None and client.status != ApiClientStatus.ACTIVE)
        or (patient is not None and patient.merged_into_id is not None)
    )
    if revoked:
        raise InvalidToken(BEARER_REVOKED, "revoked", audit_detail="revoked token", **where)
    if token.expires_at <= (now or utcnow()):
        raise InvalidToken(BEARER_EXPIRED, "expired", audit_detail="expired token", **where)
    return TokenContext(
        token_id=token.id,
        kind=token.kind,
        scopes=scope_rules.parse(token.scopes),
        patient_id=token.holder_patient_id,
        organization_id=token.organization_id,
        api_client_id=token.api_client_id,
        client_id=client.client_id if client is not None else None,
    )


def revoke_token(session: Session, bearer: str, *, actor: Actor, now: datetime | None = None) -> None:
    """Revoke the token with this bearer string (RFC 7009 spirit: an unknown or revoked one is a no-op refusal)."""
    token = session.execute(select(ApiToken).where(ApiToken.token_hash == bearer_hash(bearer))).scalar_one_or_none()
    if token is None:
        raise InvalidToken(BEARER_UNKNOWN, "unknown")
    if token.revoked_at is not None:
        raise InvalidToken(BEARER_REVOKED, "revoked")
    token.revoked_at = now or utcnow()
    flush(session)
    record(
        session,
        actor,
        "api.token_revoked",
        patient_id=token.holder_patient_id,
        object_type="api_token",
        object_id=token.id,
    )


def audit_refusal(session: Session, error: ApiAccessError, action: str, source_ip: str | None) -> None:
    """Record a refused call (in the caller's own transaction, after the refused one rolled back)."""
    actor = Actor(None, None, error.organization_id, source_ip)
    record(
        session,
        actor,
        action[:60],
        outcome=Outcome.DENIED,
        patient_id=error.patient_id,
        object_type=None
        if error.object_id is None
        else "api_client"
        if isinstance(error, InvalidClient)
        else "api_token",
        object_id=error.object_id,
        detail=error.audit_detail,
    )

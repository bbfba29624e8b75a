"""The API's front door under /api/v1: the token endpoint (RFC 6749 §4.4) and `bearer(...)` for the routes.

Every call through `bearer` is audited (refused or not) with the token's organization or patient and the source
address; refusals are JSON (a FHIR OperationOutcome) with the RFC 6750 WWW-Authenticate header. Bearer endpoints
carry no cookies' authority, so the portal's sign-in redirect and CSRF concerns do not apply to them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ParamSpec
from urllib.parse import unquote_plus

from flask import Blueprint, Response, current_app, g, jsonify, make_response, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from api.access import scopes as scope_rules
from api.access.limits import RateLimited, hit
from api.access.tokens import (
    ApiAccessError,
    InvalidClient,
    InvalidToken,
    TokenContext,
    audit_refusal,
    authenticate,
    issue_client_token,
)
from db import request_transaction
from ehealth.audit.models import Outcome
from ehealth.audit.trail import record
from ehealth.errors import DomainError
from settings import Settings

P = ParamSpec("P")

api_access_bp = Blueprint("api_access", __name__, url_prefix="/api/v1")
# The attribute `bearer` leaves on a view it guards (its scopes).
BEARER_SCOPES = "__bearer_scopes__"

REALM = "ehealth-api"
_CONTEXT = "api_context"
_AUDIT_PATIENT = "api_audit_patient_id"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# OperationOutcome issue codes (FHIR IssueType) for each refusal.
_ISSUE = {"missing": "login", "unknown": "unknown", "expired": "expired", "revoked": "security"}


def _settings() -> Settings:
    settings: Settings = current_app.config["EHEALTH_SETTINGS"]
    return settings


def _english(error: DomainError) -> str:
    """API errors are English (RFC 6749 codes with a description), whatever the portal's language."""
    return error.msgid.format(**error.params) if error.params else error.msgid


def _oauth_error(code: str, description: str, status: int, basic: bool = False) -> Response:
    """An RFC 6749 §5.2 error answer."""
    response = jsonify(error=code, error_description=description)
    response.status_code = status
    response.headers.update(_NO_STORE)
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"' if basic else f'Bearer realm="{REALM}"'
    return response


@api_access_bp.post("/token")
def token() -> Response:
    """Client credentials (RFC 6749 §4.4): form fields, or the id and secret by HTTP Basic (§2.3.1)."""
    form = request.form
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    basic = request.authorization is not None and request.authorization.type == "basic"
    if basic and request.authorization is not None:
        client_id = unquote_plus(request.authorization.username or "")
        secret = unquote_plus(request.authorization.password or "")
    grant_type = form.get("grant_type", "")
    if not grant_type:
        return _oauth_error("invalid_request", "grant_type is required.", 400)
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type", "Only client_credentials is supported.", 400)
    if not client_id or not secret:
        return _oauth_error("invalid_client", "Client authentication failed.", 401, basic)
    lifetime = timedelta(minutes=_settings().api_client_token_minutes)
    try:
        with request_transaction() as db:
            issued = issue_client_token(
                db, client_id, secret, form.get("scope"), lifetime=lifetime, source_ip=request.remote_addr
            )
    except ApiAccessError as error:
        # Audited after the refused transaction rolled back, so that the refusal stays in the trail.
        with request_transaction() as db:
            audit_refusal(db, error, "api.token", request.remote_addr)
        status = 401 if isinstance(error, InvalidClient) else 400
        return _oauth_error(error.code, _english(error), status, basic)
    answer = {"access_token": issued.access_token, "expires_in": issued.expires_in, "scope": issued.scope}
    response = jsonify({**answer, "token_type": "Bearer"})
    response.headers.update(_NO_STORE)
    return response


def operation_outcome(status: int, issue_code: str, text: str, headers: dict[str, str] | None = None) -> Response:
    """A refusal as a FHIR OperationOutcome."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": issue_code, "diagnostics": text}],
    }
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/fhir+json"
    response.headers.update(headers or {})
    return response


def _bearer_string() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def current_context() -> TokenContext:
    """The context of the bearer token of this request (inside a view protected by `bearer`)."""
    context: TokenContext = g.get(_CONTEXT)
    if context is None:
        raise RuntimeError("current_context() outside a view protected by bearer(...)")
    return context


def note_patient(patient_id: int) -> None:
    """Tell the audit of this call whose record it read (for "who saw my record")."""
    setattr(g, _AUDIT_PATIENT, patient_id)


def _admit(db: Session, needed: frozenset[str], action: str) -> TokenContext | Response:
    """Authenticate, check scopes, count the call; a refusal is audited here and returned as the response."""
    address = request.remote_addr
    try:
        context = authenticate(db, _bearer_string())
    except InvalidToken as error:
        audit_refusal(db, error, action, address)
        challenge = f'Bearer realm="{REALM}"'
        if error.reason != "missing":
            challenge += f', error="invalid_token", error_description="{error.msgid}"'
        return operation_outcome(401, _ISSUE[error.reason], _english(error), {"WWW-Authenticate": challenge})
    actor = context.actor(address)
    audit: dict[str, Any] = {
        "patient_id": context.patient_id,
        "object_type": "api_token",
        "object_id": context.token_id,
    }
    if not scope_rules.satisfies(context.scopes, needed):
        wanted = scope_rules.render(needed)
        record(db, actor, action, outcome=Outcome.DENIED, detail=f"insufficient scope: {wanted}"[:300], **audit)
        challenge = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{wanted}"'
        text = f"The token lacks the scope this call needs: {wanted}."
        return operation_outcome(403, "forbidden", text, {"WWW-Authenticate": challenge})
    try:
        hit(db, context.token_id, _settings().api_requests_per_minute)
    except RateLimited as error:
        record(db, actor, action, outcome=Outcome.DENIED, detail="rate limited", **audit)
        headers = {"Retry-After": str(error.retry_after)}
        return operation_outcome(429, "throttled", _english(error), headers)
    return context


def _audit_call(context: TokenContext, action: str, status: int) -> None:
    outcome = Outcome.SUCCESS if status < 400 else Outcome.DENIED if status < 500 else Outcome.FAILED
    patient_id = context.patient_id if context.patient_id is not None else g.get(_AUDIT_PATIENT)
    with request_transaction() as db:
        record(
            db,
            context.actor(request.remote_addr),
            action,
            outcome=outcome,
            patient_id=patient_id,
            object_type="api_token",
            object_id=context.token_id,
            detail=f"HTTP {status}",
        )


def bearer(*required: str) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, Response]]:
    """Protect a view: a valid bearer token with the scopes (a patient token's own-record scope covers reads),
    within its rate limit; every call is audited as `api.<endpoint>` with its outcome."""
    needed = scope_rules.parse(required)  # a misspelt scope fails when the route is declared

    def decorate(view: Callable[P, ResponseReturnValue]) -> Callable[P, Response]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Response:
            action = f"api.{request.endpoint}"[:60]
            with request_transaction() as db:
                admitted = _admit(db, needed, action)
            if isinstance(admitted, Response):
                return admitted
            setattr(g, _CONTEXT, admitted)
            try:
                response = make_response(view(*args, **kwargs))
            except HTTPException as error:
                _audit_call(admitted, action, error.code or 500)
                raise
            except Exception:
                _audit_call(admitted, action, 500)
                raise
            _audit_call(admitted, action, response.status_code)
            return response

        setattr(guarded, BEARER_SCOPES, needed)  # the portal's test of every /api/v1 route looks for it
        return guarded

    return decorate


def unguarded_routes(server: Any) -> list[str]:
    """The /api/v1 and /fhir routes a caller could reach without a bearer token (only the token endpoint and the
    FHIR CapabilityStatement, /fhir/metadata, may be).

    /api/v1 and /fhir are public to the portal's sign-in redirect (app.PUBLIC_PREFIXES): each route must guard itself.
    """
    return sorted(
        rule.rule
        for rule in server.url_map.iter_rules()
        if rule.rule.startswith(("/api/v1", "/fhir"))
        and rule.endpoint not in ("api_access.token", "fhir.metadata")
        and not hasattr(server.view_functions[rule.endpoint], BEARER_SCOPES)
    )

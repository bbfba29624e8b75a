"""OneID client (R-7): OAuth 2.0 with OneID's own grant names, all three steps on one endpoint URL."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from ehealth.errors import DomainError
from ehealth.i18n import N_

log = logging.getLogger(__name__)

NOT_CONFIRMED = N_("OneID did not confirm the sign-in; please try again.")
UNREACHABLE = N_("OneID is not reachable; please try again later.")
NO_PINFL = N_("OneID did not tell us the person's PINFL; sign-in is not possible.")


class OneIDError(DomainError):
    """OneID refused, failed or answered something we cannot use; the message is for the user."""


class OneIDUnreachable(OneIDError):
    """OneID could not be reached or answered with a server error (our side or theirs, not the user's)."""


@dataclass(frozen=True)
class OneIDConfig:
    """How this portal is registered at OneID."""

    endpoint: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str
    timeout: float = 10.0


@dataclass(frozen=True)
class OneIDIdentity:
    """The person OneID vouches for; `pin` is the PINFL."""

    pin: str
    user_id: str
    sur_name: str
    first_name: str
    mid_name: str
    birth_date: str
    pport_no: str
    auth_method: str
    valid: bool


def authorization_url(config: OneIDConfig, state: str) -> str:
    """Where to send the browser to sign in at OneID (no secret in it)."""
    query = urlencode(
        {
            "response_type": "one_code",
            "client_id": config.client_id,
            "redirect_uri": config.redirect_uri,
            "scope": config.scope,
            "state": state,
        }
    )
    separator = "&" if "?" in config.endpoint else "?"
    return f"{config.endpoint}{separator}{query}"


def _post(config: OneIDConfig, form: dict[str, str], step: str) -> dict[str, Any]:
    """Form-POST to the endpoint and return the JSON object; the secret travels only in the body."""
    try:
        response = requests.post(
            config.endpoint,
            data=form,
            timeout=config.timeout,
            allow_redirects=False,
            headers={"Accept": "application/json"},
        )
    except requests.RequestException as error:
        # The exception text may carry the URL but never the body, so the secret stays out of the log.
        log.warning("OneID %s: %s", step, type(error).__name__)
        raise OneIDUnreachable(UNREACHABLE) from error
    if response.status_code >= 500:
        log.warning("OneID %s: HTTP %s", step, response.status_code)
        raise OneIDUnreachable(UNREACHABLE)
    if response.status_code != 200:
        log.warning("OneID %s: HTTP %s", step, response.status_code)
        raise OneIDError(NOT_CONFIRMED)
    try:
        body = response.json()
    except ValueError as error:
        log.warning("OneID %s: the answer is not JSON", step)
        raise OneIDError(NOT_CONFIRMED) from error
    if not isinstance(body, dict):
        log.warning("OneID %s: the answer is not a JSON object", step)
        raise OneIDError(NOT_CONFIRMED)
    return body


def exchange_code(config: OneIDConfig, code: str) -> str:
    """Trade the one-time code from the redirect for an access token."""
    body = _post(
        config,
        {
            "grant_type": "one_authorization_code",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "redirect_uri": config.redirect_uri,
            "code": code,
        },
        "token",
    )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        log.warning("OneID token: no access_token (error %r)", body.get("error"))
        raise OneIDError(NOT_CONFIRMED)
    return token


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return "" if value is None else str(value).strip()


def identify(config: OneIDConfig, token: str) -> OneIDIdentity:
    """Ask OneID who the token belongs to; refuse unless it says success and gives a PINFL."""
    body = _post(
        config,
        {
            "grant_type": "one_access_token_identify",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "access_token": token,
            "scope": config.scope,
        },
        "identify",
    )
    if _text(body, "ret_cd") != "0":
        log.warning("OneID identify: ret_cd %r", body.get("ret_cd"))
        raise OneIDError(NOT_CONFIRMED)
    pin = _text(body, "pin")
    if not pin:
        log.warning("OneID identify: no pin")
        raise OneIDError(NO_PINFL)
    return OneIDIdentity(
        pin=pin,
        user_id=_text(body, "user_id"),
        sur_name=_text(body, "sur_name"),
        first_name=_text(body, "first_name"),
        mid_name=_text(body, "mid_name"),
        birth_date=_text(body, "birth_date"),
        pport_no=_text(body, "pport_no"),
        auth_method=_text(body, "auth_method"),
        valid=_text(body, "valid").lower() in ("true", "1", "y", "yes"),
    )

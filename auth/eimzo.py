"""E-IMZO client (R-9): challenges from E-IMZO-SERVER and verification of the signed challenge through it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from ehealth.errors import DomainError
from ehealth.i18n import N_
from ehealth.pkcs7 import SignerIdentity

log = logging.getLogger(__name__)

# Where the portal keeps its EimzoConfig in app.extensions (absent: E-IMZO sign-in is not configured).
EIMZO_KEY = "ehealth.eimzo"
# The OID under which the certificate subject carries the person's PINFL.
PINFL_OID = "1.2.860.3.16.1.2"

NOT_CONFIRMED = N_("E-IMZO did not confirm the signature; please try again.")
UNREACHABLE = N_("E-IMZO-SERVER is not reachable; please try again later.")
NO_PINFL = N_("The signature's certificate does not carry a PINFL; sign-in is not possible.")


class EimzoError(DomainError):
    """E-IMZO-SERVER refused the signature or answered something we cannot use; the message is for the user."""


class EimzoUnreachable(EimzoError):
    """E-IMZO-SERVER could not be reached or answered with a server error (not the user's fault)."""


@dataclass(frozen=True)
class EimzoConfig:
    """Where this organization's E-IMZO-SERVER listens."""

    server_url: str
    timeout: float = 10.0


# The signer as E-IMZO-SERVER read it from the verified certificate (the domain's name for it).
EimzoIdentity = SignerIdentity


def _url(config: EimzoConfig, path: str) -> str:
    return config.server_url.rstrip("/") + path


def _json(response: requests.Response, step: str) -> dict[str, Any]:
    """The JSON object of an answer, refusing server errors, other statuses and non-objects."""
    if response.status_code >= 500:
        log.warning("E-IMZO %s: HTTP %s", step, response.status_code)
        raise EimzoUnreachable(UNREACHABLE)
    if response.status_code != 200:
        log.warning("E-IMZO %s: HTTP %s", step, response.status_code)
        raise EimzoError(NOT_CONFIRMED)
    try:
        body = response.json()
    except ValueError as error:
        log.warning("E-IMZO %s: the answer is not JSON", step)
        raise EimzoError(NOT_CONFIRMED) from error
    if not isinstance(body, dict):
        log.warning("E-IMZO %s: the answer is not a JSON object", step)
        raise EimzoError(NOT_CONFIRMED)
    return body


def challenge(config: EimzoConfig) -> str:
    """A fresh one-time challenge for the person to sign."""
    try:
        response = requests.get(_url(config, "/frontend/challenge"), timeout=config.timeout, allow_redirects=False)
    except requests.RequestException as error:
        log.warning("E-IMZO challenge: %s", type(error).__name__)
        raise EimzoUnreachable(UNREACHABLE) from error
    body = _json(response, "challenge")
    value = body.get("challenge")
    if body.get("status") != 1 or not isinstance(value, str) or not value:
        log.warning("E-IMZO challenge: status %r", body.get("status"))
        raise EimzoUnreachable(UNREACHABLE)
    return value


def authenticate(config: EimzoConfig, pkcs7_b64: str, user_ip: str, host: str) -> EimzoIdentity:
    """Have E-IMZO-SERVER verify the signed challenge; the identity of the certificate's subject."""
    try:
        response = requests.post(
            _url(config, "/backend/auth"),
            data=pkcs7_b64.encode("ascii", "replace"),
            headers={"X-Real-IP": user_ip, "Host": host, "Content-Type": "text/plain"},
            timeout=config.timeout,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        log.warning("E-IMZO auth: %s", type(error).__name__)
        raise EimzoUnreachable(UNREACHABLE) from error
    body = _json(response, "auth")
    info = body.get("subjectCertificateInfo")
    if body.get("status") != 1 or not isinstance(info, dict):
        log.warning("E-IMZO auth: status %r, %r", body.get("status"), body.get("message"))
        raise EimzoError(NOT_CONFIRMED)
    subject = info.get("subjectName")
    subject = subject if isinstance(subject, dict) else {}
    pinfl = str(subject.get(PINFL_OID) or "").strip()
    if not pinfl:
        log.warning("E-IMZO auth: no PINFL in the certificate subject")
        raise EimzoError(NO_PINFL)
    return EimzoIdentity(
        pinfl=pinfl,
        serial=str(info.get("serialNumber") or "").strip(),
        common_name=str(subject.get("CN") or "").strip(),
        valid_to=str(info.get("validTo") or "").strip(),
    )


def _subject(value: object) -> dict[str, str]:
    """A certificate subject as E-IMZO-SERVER gives it: an object, or "CN=...,1.2.860.3.16.1.2=..." text."""
    if isinstance(value, dict):
        return {str(key): str(item) for key, item in value.items()}
    fields: dict[str, str] = {}
    for part in str(value or "").split(","):
        key, _, item = part.partition("=")
        if key.strip() and item:
            fields[key.strip()] = item.strip()
    return fields


def verify_attached(config: EimzoConfig, pkcs7_b64: str) -> EimzoIdentity:
    """Have E-IMZO-SERVER verify a signed document (attached PKCS#7); the signer's identity if it holds."""
    try:
        response = requests.post(
            _url(config, "/backend/pkcs7/verify/attached"),
            data=pkcs7_b64.encode("ascii", "replace"),
            headers={"Content-Type": "text/plain"},
            timeout=config.timeout,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        log.warning("E-IMZO verify: %s", type(error).__name__)
        raise EimzoUnreachable(UNREACHABLE) from error
    body = _json(response, "verify")
    info = body.get("pkcs7Info")
    signers = info.get("signers") if isinstance(info, dict) else None
    signer = signers[0] if isinstance(signers, list) and len(signers) == 1 and isinstance(signers[0], dict) else None
    if body.get("status") != 1 or signer is None or signer.get("verified") is not True:
        log.warning("E-IMZO verify: status %r, %r", body.get("status"), body.get("message"))
        raise EimzoError(NOT_CONFIRMED)
    if signer.get("certificateVerified") is not True:
        raise EimzoError(NOT_CONFIRMED)
    chain = signer.get("certificate")
    certificate = chain[0] if isinstance(chain, list) and chain and isinstance(chain[0], dict) else {}
    subject = _subject(certificate.get("subjectName"))
    pinfl = subject.get(PINFL_OID, "").strip()
    if not pinfl:
        raise EimzoError(NO_PINFL)
    return EimzoIdentity(
        pinfl=pinfl,
        serial=str(certificate.get("serialNumber") or "").strip(),
        common_name=subject.get("CN", "").strip(),
        valid_to=str(certificate.get("validTo") or "").strip(),
    )

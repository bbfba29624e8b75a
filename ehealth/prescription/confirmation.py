"""How a doctor confirms a prescription (E-IMZO signature or live OneID session) and how dispensing checks it again."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ehealth.errors import DomainError
from ehealth.i18n import N_
from ehealth.pkcs7 import SignerIdentity, signed_content
from ehealth.prescription.canonical import content_hash
from ehealth.prescription.models import ConfirmationKind, Prescription

SEAL_VERSION = 1

BROKEN = N_(
    "Prescription {number} does not match what the doctor confirmed; it cannot be dispensed. "
    "Tell the prescribing organization."
)


class ConfirmationBroken(DomainError):
    """The prescription's content no longer matches its signature or seal."""


@dataclass(frozen=True)
class OneIdSession:
    """The doctor's live session, opened through OneID: who and since when."""

    cabinet_id: int
    signed_in_at: datetime


@dataclass(frozen=True)
class Confirmer:
    """What checking confirmations needs: the portal's seal key and E-IMZO-SERVER's verification (if configured)."""

    seal_key: bytes
    verify_pkcs7: Callable[[str], SignerIdentity] | None = None


def _mac(key: bytes, digest: str, cabinet_id: int, signed_in_at: str) -> str:
    message = f"v{SEAL_VERSION}|{digest}|{cabinet_id}|{signed_in_at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal(key: bytes, canonical: bytes, session: OneIdSession) -> tuple[str, str]:
    """The stored confirmation (signature, signer) of a prescription confirmed by a live OneID session."""
    signed_in_at = session.signed_in_at.isoformat()
    mac = _mac(key, content_hash(canonical), session.cabinet_id, signed_in_at)
    token = {"v": SEAL_VERSION, "cabinet": session.cabinet_id, "session": signed_in_at, "mac": mac}
    return json.dumps(token, sort_keys=True, separators=(",", ":")), f"oneid:{session.cabinet_id}"


def signer_of(identity: SignerIdentity) -> str:
    """How an E-IMZO signer is stored: the certificate's serial and the name on it."""
    return f"eimzo:{identity.serial}:{identity.common_name}"[:200]


def _sealed_by(key: bytes, prescription: Prescription, canonical: bytes) -> bool:
    try:
        token = json.loads(prescription.signature or "")
        cabinet, session, mac = int(token["cabinet"]), str(token["session"]), str(token["mac"])
    except (ValueError, KeyError, TypeError):
        return False
    if token.get("v") != SEAL_VERSION or cabinet != prescription.prescriber_id:
        return False
    return hmac.compare_digest(mac, _mac(key, content_hash(canonical), cabinet, session))


def check(prescription: Prescription, canonical: bytes, confirmer: Confirmer) -> None:
    """Refuse a prescription whose rows, stored hash and signature or seal do not all agree."""
    broken = ConfirmationBroken(BROKEN, number=prescription.number)
    if not hmac.compare_digest(content_hash(canonical), prescription.content_hash):
        raise broken
    if prescription.confirmation == ConfirmationKind.ONEID:
        if not _sealed_by(confirmer.seal_key, prescription, canonical):
            raise broken
        return
    signed = signed_content(prescription.signature or "")
    if signed is None or not hmac.compare_digest(signed, canonical):
        raise broken
    if confirmer.verify_pkcs7 is not None:
        identity = confirmer.verify_pkcs7(prescription.signature or "")  # EimzoError propagates: its own message
        if not (prescription.signer or "").startswith(f"eimzo:{identity.serial}:"):
            raise broken

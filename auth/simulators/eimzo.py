"""An E-IMZO-SERVER stand-in on loopback: challenges, /backend/auth, and a signing page in place of the plugin.

Real E-IMZO keys and signatures use the Uzbek GOST algorithms, which Python's `cryptography` cannot do; the
simulator's test CA and personal keys are ECDSA P-256 instead. The PKCS#7 (CMS) structure, the certificate
subject (CN and the PINFL under OID 1.2.860.3.16.1.2) and the HTTP protocol are the real service's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID, ObjectIdentifier
from flask import Flask, Response, jsonify, request
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from auth.eimzo import PINFL_OID
from auth.simulators import Served, SimulatorRefused, mask, nobody_pinfl, serve
from db import make_engine, make_session_factory
from ehealth.access.models import Cabinet
from ehealth.pkcs7 import der_children, signed_content, signed_data
from settings import Settings

LISTED = 300  # enough for the demo data's cabinets; the page is for picking, not browsing
NOBODY = "nobody"
_SHA256 = bytes.fromhex("0609608648016503040201")  # OID 2.16.840.1.101.3.4.2.1
_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")  # OID 1.2.840.113549.1.9.4


@dataclass(frozen=True)
class Key:
    """One person's signing key and certificate."""

    pinfl: str
    name: str
    private: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def id(self) -> str:
        """The certificate's serial in hex: names the key on the page without showing the PINFL."""
        return format(self.certificate.serial_number, "x")


@dataclass
class SimulatorState:
    """The test CA, the keys issued so far (by PINFL) and the outstanding challenges."""

    ca_key: ec.EllipticCurvePrivateKey
    ca: x509.Certificate
    ttl: float
    keys: dict[str, Key] = field(default_factory=dict)
    challenges: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, pinfl: str, name: str) -> Key:
        """The person's key, issued on first use."""
        with self.lock:
            if pinfl not in self.keys:
                self.keys[pinfl] = _issue(self, pinfl, name)
            return self.keys[pinfl]


@dataclass(frozen=True)
class RunningSimulator:
    """A started simulator: its server URL, its state and how to stop it."""

    url: str
    state: SimulatorState
    served: Served

    def sign_url(self) -> str:
        """The page standing in for the E-IMZO browser plugin."""
        return f"{self.url}/sign"

    def stop(self) -> None:
        """Shut the HTTP server down and wait for its thread."""
        self.served.stop()


def _now() -> datetime:
    return datetime.now(UTC)


def _new_state(ttl: float) -> SimulatorState:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "E-IMZO simulator test CA (not GOST)")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - timedelta(days=1))
        .not_valid_after(_now() + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return SimulatorState(key, ca, ttl)


def _issue(state: SimulatorState, pinfl: str, name: str) -> Key:
    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(ObjectIdentifier(PINFL_OID), pinfl),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "UZ"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(state.ca.subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - timedelta(days=1))
        .not_valid_after(_now() + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(state.ca_key, hashes.SHA256())
    )
    return Key(pinfl, name, private, certificate)


def _people(db: Session, state: SimulatorState) -> list[Key]:
    """One key per person who has a cabinet (first LISTED cabinets), plus the person without one."""
    keys: dict[str, Key] = {}
    for cabinet in db.execute(select(Cabinet).order_by(Cabinet.id).limit(LISTED)).scalars():
        if cabinet.pinfl is not None and cabinet.pinfl not in keys:  # a purged cabinet's owner is no longer known
            keys[cabinet.pinfl] = state.key(cabinet.pinfl, cabinet.full_name)
    stranger = state.key(nobody_pinfl(db), "Begonaxonova Dilnoza Rustamovna")
    return [*keys.values(), stranger]


def sign(key: Key, content: bytes) -> str:
    """An attached PKCS#7 of `content` by `key`, base64 (what the E-IMZO plugin hands the page)."""
    der = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(key.certificate, key.private, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    return base64.b64encode(der).decode("ascii")


def _verify(state: SimulatorState, pkcs7_b64: str) -> tuple[x509.Certificate, str] | str:  # noqa: PLR0911, PLR0912
    """The signer's certificate and the signed text, or why the signature is refused."""
    content = signed_content(pkcs7_b64)
    if content is None:
        return "not an attached PKCS#7"
    try:
        der = base64.b64decode(pkcs7_b64, validate=True)
        certificates = pkcs7.load_der_pkcs7_certificates(der)
        fields = signed_data(der)
        signer = der_children(der, fields[-1])[0]
        parts = der_children(der, signer)
        issuer_serial = der_children(der, parts[1])
        serial_element = issuer_serial[1]
        serial = int.from_bytes(der[serial_element[2] : serial_element[3]], "big", signed=True)
        digest_algorithm, rest = parts[2], parts[3:]
    except (ValueError, IndexError, binascii.Error):
        return "malformed PKCS#7"
    if der[digest_algorithm[2] : digest_algorithm[2] + len(_SHA256)] != _SHA256:
        return "digest algorithm is not SHA-256"
    certificate = next((c for c in certificates if c.serial_number == serial), None)
    if certificate is None:
        return "signer certificate missing"
    try:
        certificate.verify_directly_issued_by(state.ca)
    except (ValueError, TypeError, InvalidSignature):
        return "certificate not issued by this CA"
    if not certificate.not_valid_before_utc <= _now() <= certificate.not_valid_after_utc:
        return "certificate expired"
    if rest[0][0] == 0xA0:  # signed attributes: the signature covers them (re-tagged as a SET)
        attributes = rest[0]
        signed = b"\x31" + der[attributes[1] + 1 : attributes[3]]
        digest = None
        for attribute in der_children(der, attributes):
            oid, values = der_children(der, attribute)[:2]
            if der[oid[1] : oid[3]] == _MESSAGE_DIGEST:
                value = der_children(der, values)[0]
                digest = der[value[2] : value[3]]
        if digest is None or not secrets.compare_digest(digest, hashlib.sha256(content).digest()):
            return "message digest does not match the content"
        rest = rest[1:]
    else:
        signed = content
    signature_element = rest[1]
    signature = der[signature_element[2] : signature_element[3]]
    public = certificate.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        return "unexpected key type"
    try:
        public.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "signature does not verify"
    return certificate, content.decode("utf-8", "replace")


def _name(certificate: x509.Certificate) -> dict[str, str]:
    names = {"CN": NameOID.COMMON_NAME, PINFL_OID: ObjectIdentifier(PINFL_OID), "C": NameOID.COUNTRY_NAME}
    subject = {}
    for label, oid in names.items():
        found = certificate.subject.get_attributes_for_oid(oid)
        if found:
            subject[label] = str(found[0].value)
    return subject


def _page(keys: list[Key], challenge: str, return_url: str) -> str:
    buttons = "".join(
        Markup('<li><button name="key" value="{}">{}</button> PINFL {}{}</li>').format(
            key.id, key.name, mask(key.pinfl), " (another person, no cabinet)" if key is keys[-1] else ""
        )
        for key in keys
    )
    hidden = Markup('<input type="hidden" name="challenge" value="{}"><input type="hidden" name="return" value="{}">')
    # A document (a prescription's canonical JSON) is shown before it is signed, as the E-IMZO application does.
    document = Markup('<pre id="document">{}</pre>').format(challenge) if challenge.startswith("{") else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>E-IMZO simulator</title></head><body>'
        "<h1>E-IMZO simulator</h1><p>Development only: choose whose key signs the challenge.</p>"
        f"{document}"
        f'<form method="post" action="/sign">{hidden.format(challenge, return_url)}<ul id="keys">{buttons}</ul>'
        "</form></body></html>"
    )


def _post_back(return_url: str, challenge: str, signature: str) -> str:
    """An auto-submitting form that hands the signature to the portal, as the plugin's page would."""
    return Markup(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>E-IMZO simulator</title></head>'
        '<body onload="document.forms[0].submit()"><form method="post" action="{}">'
        '<input type="hidden" name="challenge" value="{}"><input type="hidden" name="pkcs7" value="{}">'
        "<noscript><button>Continue</button></noscript></form></body></html>"
    ).format(return_url, challenge, signature)


def create(factory: sessionmaker[Session], state: SimulatorState) -> Flask:
    """The simulator's Flask app."""
    app = Flask(__name__)

    @app.get("/frontend/challenge")
    def new_challenge() -> Response:
        value = secrets.token_hex(20)
        with state.lock:
            now = time.monotonic()
            for stale in [c for c, expires in state.challenges.items() if expires <= now]:
                del state.challenges[stale]
            state.challenges[value] = now + state.ttl
        return jsonify(status=1, challenge=value, ttl=int(state.ttl))

    @app.post("/backend/auth")
    def backend_auth() -> Response:
        if not request.headers.get("X-Real-IP") or not request.headers.get("Host"):
            return jsonify(status=-1, message="X-Real-IP and Host headers are required")
        verified = _verify(state, request.get_data(as_text=True).strip())
        if isinstance(verified, str):
            return jsonify(status=-1, message=verified)
        certificate, content = verified
        with state.lock:
            expires = state.challenges.pop(content, None)  # consumed: one sign-in per challenge
        if expires is None or expires <= time.monotonic():
            return jsonify(status=-1, message="challenge unknown, used or expired")
        info = {
            "serialNumber": format(certificate.serial_number, "x"),
            "subjectName": _name(certificate),
            "validFrom": certificate.not_valid_before_utc.strftime("%Y-%m-%d %H:%M:%S"),
            "validTo": certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S"),
        }
        return jsonify(status=1, subjectCertificateInfo=info)

    @app.post("/backend/pkcs7/verify/attached")
    def verify_attached() -> Response:
        verified = _verify(state, request.get_data(as_text=True).strip())
        if isinstance(verified, str):
            return jsonify(status=-1, message=verified)
        certificate, content = verified
        subject = ",".join(f"{label}={value}" for label, value in _name(certificate).items())
        signer = {
            "certificate": [
                {
                    "serialNumber": format(certificate.serial_number, "x"),
                    "subjectName": subject,
                    "validFrom": certificate.not_valid_before_utc.strftime("%Y-%m-%d %H:%M:%S"),
                    "validTo": certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S"),
                }
            ],
            "verified": True,
            "certificateVerified": True,
        }
        document = base64.b64encode(content.encode("utf-8")).decode("ascii")
        return jsonify(status=1, pkcs7Info={"signers": [signer], "documentBase64": document})

    @app.get("/sign")
    def sign_page() -> tuple[str, int] | str:
        challenge, return_url = request.args.get("challenge", ""), request.args.get("return", "")
        if not challenge or not return_url.startswith(("http://", "https://")):
            return "challenge and an http(s) return URL are required", 400
        with factory() as db:
            return _page(_people(db, state), challenge, return_url)

    @app.post("/sign")
    def sign_post() -> tuple[str, int] | str:
        challenge, return_url = request.form.get("challenge", ""), request.form.get("return", "")
        chosen = request.form.get("key", "")
        with state.lock:
            key = next((key for key in state.keys.values() if key.id == chosen), None)
        if key is None or not challenge or not return_url.startswith(("http://", "https://")):
            return "unknown key, or no challenge or return URL", 400
        return _post_back(return_url, challenge, sign(key, challenge.encode("utf-8")))

    return app


def start(database_url: str, *, settings: Settings, port: int = 0, ttl: float = 120.0) -> RunningSimulator:
    """Serve the simulator on 127.0.0.1 in a daemon thread; refuses outside development settings."""
    if not settings.is_development:
        raise SimulatorRefused("the E-IMZO simulator runs only with development settings")
    state = _new_state(ttl)
    app = create(make_session_factory(make_engine(database_url)), state)
    served = serve(app, "eimzo-simulator", port)
    return RunningSimulator(served.base_url, state, served)

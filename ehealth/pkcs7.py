"""Reading an attached PKCS#7 (CMS SignedData) without cryptography: which content a signature carries.

E-IMZO's GOST signatures are verified by E-IMZO-SERVER; the portal only needs to see which text was signed (the
sign-in challenge, a prescription's canonical JSON), and the development simulator to find the signer's parts.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass


@dataclass(frozen=True)
class SignerIdentity:
    """The signer as E-IMZO-SERVER read it from the verified certificate."""

    pinfl: str
    serial: str
    common_name: str
    valid_to: str


Element = tuple[int, int, int, int]  # tag, start of the header, start of the value, end


def der_element(data: bytes, pos: int) -> Element:
    """The DER element at `pos` (single-byte tags, definite lengths)."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length, start = data[pos], data[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or start + count > len(data):
            raise ValueError("bad DER length")
        length, start = int.from_bytes(data[start : start + count], "big"), start + count
    if start + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, start, start + length


def der_children(data: bytes, parent: Element) -> list[Element]:
    """The elements inside a constructed element."""
    children, pos = [], parent[2]
    while pos < parent[3]:
        child = der_element(data, pos)
        children.append(child)
        pos = child[3]
    return children


def signed_data(der: bytes) -> list[Element]:
    """The fields of the SignedData inside a CMS ContentInfo."""
    content_info = der_element(der, 0)
    _oid, explicit = der_children(der, content_info)[:2]
    return der_children(der, der_children(der, explicit)[0])


def signed_content(pkcs7_b64: str) -> bytes | None:
    """The attached content of a base64 PKCS#7 (the signed challenge), or None if it is not one."""
    try:
        der = base64.b64decode(pkcs7_b64, validate=True)
        encapsulated = signed_data(der)[2]
        _type, explicit = der_children(der, encapsulated)[:2]
        octets = der_children(der, explicit)[0]
    except (ValueError, IndexError, binascii.Error):
        return None
    return der[octets[2] : octets[3]] if octets[0] == 0x04 else None

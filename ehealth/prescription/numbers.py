"""Prescription numbers: unique, short enough to read over the phone, and not guessable from one another."""

from __future__ import annotations

import re
import secrets
from datetime import date
from random import Random

# Crockford's base32: no I, L, O or U, so that a number read aloud or typed is not misread.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NUMBER_RE = re.compile(r"^RX-\d{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def new_number(issued_on: date, rng: Random | None = None) -> str:
    """RX-YYMM-XXXX-XXXX with 40 random bits; `rng` only for the demo's reproducible data."""
    pick = rng.choice if rng is not None else secrets.choice
    body = "".join(pick(ALPHABET) for _ in range(8))
    return f"RX-{issued_on:%y%m}-{body[:4]}-{body[4:]}"


def normalize(typed: str) -> str:
    """A typed number in the stored form: upper case, spaces dropped, O read as 0 and I or L as 1."""
    text = re.sub(r"\s+", "", typed).upper()
    head, _, tail = text.partition("-")
    tail = tail.replace("O", "0").replace("I", "1").replace("L", "1")
    return f"{head}-{tail}" if tail else text


def looks_valid(number: str) -> bool:
    """True when `number` has the shape of a prescription number."""
    return NUMBER_RE.match(number) is not None

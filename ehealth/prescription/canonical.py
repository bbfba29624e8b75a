"""The canonical JSON of a prescription: what the doctor signs, and what dispensing checks again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

# The prescription's own fields the signature covers. Ids of the patient and the encounter are left out (a merge
# of duplicate patients may move the rows); the patient is named by PINFL and the organization by STIR instead.
FIELDS = ("number", "prescriber_id", "icd10_code", "category", "issued_at", "valid_until", "repeats_allowed")
ITEM_FIELDS = ("line", "drug_id", "inn", "brand", "form", "strength", "dose", "dose_unit", "intakes_per_day",
               "route", "duration_days", "quantity", "fills")  # fmt: skip


def _plain(value: object) -> object:
    """An enum as its value, a date or time in ISO form, a float without noise."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    if hasattr(value, "value"):
        return value.value
    return value


def content(
    prescription: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *, patient_pinfl: str, organization_stir: str
) -> bytes:
    """The UTF-8 canonical JSON (sorted keys, no spaces) of a prescription and its items, ordered by line."""
    body: dict[str, Any] = {name: _plain(prescription[name]) for name in FIELDS}
    body["patient_pinfl"] = patient_pinfl
    body["organization_stir"] = organization_stir
    ordered = sorted(items, key=lambda item: int(item["line"]))
    body["items"] = [{name: _plain(item[name]) for name in ITEM_FIELDS} for item in ordered]
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def content_hash(canonical: bytes) -> str:
    """SHA-256 (hex) of the canonical JSON."""
    return hashlib.sha256(canonical).hexdigest()

"""E-prescriptions with items, and their dispenses at pharmacies, with states that agree with what was dispensed."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ehealth.demo.catalogue import DRUG_BY_ATC, DrugSpec
from ehealth.demo.clock import DAY, HOUR, MINUTE, at, local_day, midnight, office_hours
from ehealth.demo.env import Env
from ehealth.demo.organizations import PHARMACY, Network, Org
from ehealth.demo.sink import Row
from ehealth.reference.models import DrugCategory

# Days a prescription stays valid, by category (PRESCRIPTION.md).
VALIDITY_DAYS: dict[str, int] = {"regular": 90, "chronic": 60, "reimbursed": 30, "controlled": 15}

# The fields of a prescription and of its items that its content hash covers, in canonical JSON.
HASHED_FIELDS = ("number", "patient_id", "organization_id", "prescriber_id", "encounter_id", "icd10_code", "category",
                 "issued_at", "valid_until", "repeats_allowed")  # fmt: skip
HASHED_ITEM_FIELDS = ("line", "drug_id", "inn", "brand", "form", "strength", "dose", "dose_unit", "intakes_per_day",
                      "route", "duration_days", "quantity")  # fmt: skip

CANCEL_REASONS = ("Dori vositasi almashtirildi", "Dozasi noto'g'ri kiritilgan", "Bemor davolanishdan voz kechdi")
BATCH_LETTERS = ("AT", "BK", "CF", "DL", "EM", "FR", "GX", "KP", "LS", "MN", "PR", "SV")


def _iso(value: object) -> str:
    """A date or time in ISO form (the database may hand back either objects or ISO text)."""
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def content_hash(prescription: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 (hex) of the canonical JSON of a prescription's content: what the doctor signed."""
    content = {name: prescription[name] for name in HASHED_FIELDS}
    content["category"] = str(content["category"])  # an enum member reads as its value
    content["issued_at"] = _iso(content["issued_at"])
    content["valid_until"] = _iso(content["valid_until"])
    ordered = sorted(items, key=lambda item: int(item["line"]))
    content["items"] = [{name: item[name] for name in HASHED_ITEM_FIELDS} for item in ordered]
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Order:
    """What the doctor decided to prescribe."""

    patient_id: int
    region_id: int
    organization_id: int
    prescriber_id: int
    encounter_id: int | None
    issued: int  # epoch seconds
    icd10_code: str
    chronic: bool
    reimbursable: bool


class Prescriber:
    """Writes prescriptions, their items and dispenses."""

    def __init__(self, env: Env, network: Network, drug_ids: dict[str, int]) -> None:
        self.rng = env.rng
        self.clock = env.clock
        self.ids = env.ids
        self.sink = env.sink
        self.network = network
        self.drug_ids = drug_ids

    def choose(self, choices: Sequence[str], avoid: str | None) -> list[DrugSpec]:
        """1-3 distinct medicines from `choices` (earlier ones more likely), none the patient is allergic to."""
        rng = self.rng
        allowed = [DRUG_BY_ATC[atc] for atc in choices if not (avoid and atc.startswith(avoid))]
        if not allowed:
            return []
        roll = rng.random()
        count = min(len(allowed), 1 if roll < 0.55 else 2 if roll < 0.9 else 3)
        picked: list[DrugSpec] = []
        while len(picked) < count:
            # Doctors reach for the first-line medicine first: weight falls with the position in the list.
            drug = allowed[min(int(rng.random() ** 1.6 * len(allowed)), len(allowed) - 1)]
            if drug not in picked:
                picked.append(drug)
        return picked

    def prescribe(self, order: Order, drugs: Sequence[DrugSpec]) -> None:
        """Write one prescription of `drugs` and whatever has been dispensed of it by now."""
        rng, sink = self.rng, self.sink
        if any(drug.category == DrugCategory.CONTROLLED for drug in drugs):
            category = "controlled"
        elif order.chronic:
            category = "reimbursed" if order.reimbursable and rng.random() < 0.45 else "chronic"
        else:
            category = "regular"
        issued_day = local_day(order.issued)
        valid_until = issued_day + timedelta(days=VALIDITY_DAYS[category])
        prescription_id = self.ids.take("prescription")
        issued_at = at(order.issued)
        prescription: Row = {
            "id": prescription_id, "patient_id": order.patient_id, "organization_id": order.organization_id,
            "status": "active", "created_at": issued_at, "updated_at": issued_at, "created_by": order.prescriber_id,
            "number": f"RX-{issued_day.year}-{prescription_id:08d}", "encounter_id": order.encounter_id,
            "prescriber_id": order.prescriber_id, "icd10_code": order.icd10_code, "category": category,
            "state": "active", "issued_at": issued_at, "valid_until": valid_until,
            "repeats_allowed": rng.randint(0, 3) if category == "chronic" else 0,
            "confirmation": "eimzo", "signature": None, "content_hash": "",
            "cancelled_at": None, "cancelled_by": None, "cancel_reason": None,
        }  # fmt: skip
        items: list[Row] = []
        for line, drug in enumerate(drugs, start=1):
            days = 30 if category in ("chronic", "reimbursed") else drug.days
            doses = drug.dose * drug.intakes * days
            items.append({
                "id": self.ids.take("prescription_item"), "prescription_id": prescription_id,
                "patient_id": order.patient_id, "line": line, "drug_id": self.drug_ids[drug.atc], "inn": drug.inn,
                "brand": drug.brand, "form": drug.form, "strength": drug.strength, "dose": float(drug.dose),
                "dose_unit": drug.dose_unit, "intakes_per_day": drug.intakes, "route": drug.route,
                "duration_days": days, "quantity": max(1, -(-int(doses) // drug.doses_per_pack)),
                "dispensed_quantity": 0,
            })  # fmt: skip
        prescription["content_hash"] = content_hash(prescription, items)
        if rng.random() < 0.65:
            # E-IMZO signs the content hash; the PKCS#7 envelope is represented by its base64 text.
            digest = hashlib.sha256(prescription["content_hash"].encode() + rng.randbytes(16)).digest()
            blob = digest + rng.randbytes(32)
            prescription["signature"] = "MIAGCSqGSIb3DQEHAqCAMIACAQEx" + base64.b64encode(blob).decode()
        else:
            prescription["confirmation"] = "oneid"
        dispenses = self._dispense(order, prescription, items, drugs, midnight(valid_until) + DAY - MINUTE)
        sink.clinical("prescription", prescription)
        for item in items:
            sink.add("prescription_item", item)
        for dispense in dispenses:
            sink.clinical("dispense", dispense)

    def _dispense(
        self, order: Order, prescription: Row, items: list[Row], drugs: Sequence[DrugSpec], valid_end: int
    ) -> list[Row]:
        """Dispense (or cancel) the prescription as far as it got by now; set the state to match."""
        rng, clock = self.rng, self.clock
        horizon = min(clock.now, valid_end)
        expired = valid_end < clock.now
        if rng.random() < 0.03 and order.issued + 2 * HOUR < clock.now:
            cancelled = min(order.issued + rng.randrange(10 * MINUTE, 2 * DAY), clock.now - MINUTE)
            prescription.update(
                state="cancelled", cancelled_at=at(cancelled), cancelled_by=order.prescriber_id,
                cancel_reason=rng.choice(CANCEL_REASONS), updated_at=at(cancelled),
            )  # fmt: skip
            return []
        roll = rng.random()
        plan = ("full" if roll < 0.85 else "partial" if roll < 0.93 else "none") if expired else (
            "full" if roll < 0.55 else "partial" if roll < 0.72 else "none")  # fmt: skip
        first = self._open_hours(order.issued + rng.randrange(30 * MINUTE, 3 * DAY), order.issued)
        if plan == "none" or first > horizon:
            prescription["state"] = "expired" if expired else "active"
            return []
        pharmacy = rng.choice(self.network.pharmacies[order.region_id])
        dispenses: list[Row] = []
        last = first
        for index, (item, drug) in enumerate(zip(items, drugs, strict=True)):
            quantity = int(item["quantity"])
            if plan == "partial":
                # The first item is short (or missed when it is a single pack); the rest are complete.
                give = (rng.randint(1, quantity - 1) if quantity > 1 else 0) if index == 0 else quantity
            else:
                give = quantity
            parts = [give] if give < 2 or rng.random() < 0.8 else [give // 2, give - give // 2]
            moment = first
            for part in parts:
                if part <= 0 or moment > horizon:
                    continue
                dispenses.append(self._row(order, item, drug, pharmacy, quantity=part, moment=moment))
                item["dispensed_quantity"] += part
                last = max(last, moment)
                moment = self._open_hours(moment + rng.randrange(2 * DAY, 10 * DAY), moment)
        complete = all(item["dispensed_quantity"] == item["quantity"] for item in items)
        if not dispenses:
            prescription["state"] = "expired" if expired else "active"
        elif complete:
            prescription["state"] = "dispensed"
        else:
            prescription["state"] = "expired" if expired else "partially_dispensed"
        prescription["updated_at"] = at(last) if dispenses else prescription["created_at"]
        return dispenses

    def _open_hours(self, moment: int, after: int) -> int:
        """`moment` moved into pharmacy hours (08:00-21:00) of its day, and still after `after`."""
        opened = office_hours(self.rng, moment, 8, 21)
        return opened if opened > after + 20 * MINUTE else after + 20 * MINUTE + self.rng.randrange(HOUR)

    def _row(self, order: Order, item: Row, drug: DrugSpec, pharmacy: Org, *, quantity: int, moment: int) -> Row:
        """One dispense of `quantity` packs of an item by a pharmacist of `pharmacy`."""
        rng = self.rng
        pharmacist = rng.choice(pharmacy.depts[PHARMACY].of("pharmacist"))
        when = at(moment)
        made = local_day(moment) - timedelta(days=rng.randrange(60, 700))
        return {
            "id": self.ids.take("dispense"), "patient_id": order.patient_id, "organization_id": pharmacy.id,
            "status": "active", "created_at": when, "updated_at": when, "created_by": pharmacist,
            "prescription_id": item["prescription_id"], "item_id": item["id"], "drug_id": item["drug_id"],
            "quantity": quantity, "brand": drug.brand, "strength": drug.strength, "pack": drug.pack,
            "batch_number": f"{rng.choice(BATCH_LETTERS)}{made:%y%m}{rng.randrange(1000):03d}",
            "dispensed_at": when,
        }  # fmt: skip

"""E-prescriptions with items, and their dispenses at pharmacies, written as the prescription services write them:
numbers, quantities in units of the form, the category rules, repeat fills and the doctor's OneID confirmation sealed
over the canonical JSON, with states that agree with what was dispensed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ehealth.demo.catalogue import DRUG_BY_ATC, DrugSpec
from ehealth.demo.clock import DAY, HOUR, MINUTE, at, local_day, midnight, office_hours
from ehealth.demo.env import Env
from ehealth.demo.organizations import PHARMACY, Network, Org
from ehealth.demo.sink import Row
from ehealth.prescription import canonical, safety
from ehealth.prescription.confirmation import OneIdSession, seal
from ehealth.prescription.models import ConfirmationKind, PrescriptionCategory, PrescriptionState
from ehealth.prescription.numbers import new_number
from ehealth.prescription.rules import RULES
from ehealth.reference.models import DrugCategory

CANCEL_REASONS = ("Dori vositasi almashtirildi", "Dozasi noto'g'ri kiritilgan", "Bemor davolanishdan voz kechdi")
BATCH_LETTERS = ("AT", "BK", "CF", "DL", "EM", "FR", "GX", "KP", "LS", "MN", "PR", "SV")
# A chronic prescription is marked repeat up to this many times; its fills come about a month apart.
DEMO_MAX_REPEATS = 3
REFILL_DAYS = (25, 35)
# The course of a chronic or reimbursed prescription (a month), before the category's cap.
CHRONIC_COURSE_DAYS = 30


def need_units(spec: DrugSpec, dose: float, intakes_per_day: int, days: int) -> int:
    """Units of the form a course takes, counted as ehealth.prescription.prescribing.need_units counts them."""
    doses = dose * intakes_per_day * days
    return max(1, math.ceil(round(doses / spec.doses_per_unit, 6)))


@dataclass(frozen=True)
class Order:
    """What the doctor decided to prescribe, and who the confirmed content names (patient PINFL, organization STIR)."""

    patient_id: int
    region_id: int
    organization_id: int
    prescriber_id: int
    encounter_id: int | None
    issued: int  # epoch seconds
    icd10_code: str
    chronic: bool
    reimbursable: bool
    patient_pinfl: str
    organization_stir: str


class Prescriber:
    """Writes prescriptions, their items and dispenses."""

    def __init__(self, env: Env, network: Network, drug_ids: dict[str, int], *, seal_key: bytes) -> None:
        self.rng = env.rng
        self.clock = env.clock
        self.ids = env.ids
        self.sink = env.sink
        self.network = network
        self.drug_ids = drug_ids
        self.seal_key = seal_key
        self.safety_version = safety.load().version
        # Reimbursed prescriptions are dispensed only where the pharmacy holds the Fund's contract.
        self.contracted: dict[int, list[Org]] = {
            region: [pharmacy for pharmacy in pharmacies if pharmacy.reimbursement_contract]
            for region, pharmacies in network.pharmacies.items()
        }
        self.numbers: set[str] = set()

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
        """Write one prescription of `drugs` (a controlled medicine alone) and whatever was dispensed of it by now."""
        rng, sink = self.rng, self.sink
        controlled = [drug for drug in drugs if drug.category == DrugCategory.CONTROLLED]
        if controlled:
            # A controlled medicine is prescribed alone, in the controlled category.
            category, drugs = PrescriptionCategory.CONTROLLED, controlled[:1]
        elif order.chronic:
            reimbursed = order.reimbursable and rng.random() < 0.45
            category = PrescriptionCategory.REIMBURSED if reimbursed else PrescriptionCategory.CHRONIC
        else:
            category = PrescriptionCategory.REGULAR
        issued_day = local_day(order.issued)
        valid_until = issued_day + timedelta(days=RULES.validity_days[category])
        prescription_id = self.ids.take("prescription")
        issued_at = at(order.issued)
        # Every fill of a repeat prescription must fit in its validity (a 30-day course: at most one repeat in 60).
        fitting = RULES.validity_days[PrescriptionCategory.CHRONIC] // CHRONIC_COURSE_DAYS - 1
        repeats = rng.randint(0, min(DEMO_MAX_REPEATS, fitting)) if category == PrescriptionCategory.CHRONIC else 0
        prescription: Row = {
            "id": prescription_id, "patient_id": order.patient_id, "organization_id": order.organization_id,
            "status": "active", "created_at": issued_at, "updated_at": issued_at, "created_by": order.prescriber_id,
            "number": self._number(issued_day), "encounter_id": order.encounter_id,
            "prescriber_id": order.prescriber_id, "icd10_code": order.icd10_code, "category": str(category),
            "state": str(PrescriptionState.ACTIVE), "issued_at": issued_at, "valid_until": valid_until,
            "repeats_allowed": repeats, "confirmation": str(ConfirmationKind.ONEID), "signature": None, "signer": None,
            "content_hash": "", "safety_version": self.safety_version,
            "cancelled_at": None, "cancelled_by": None, "cancel_reason": None,
        }  # fmt: skip
        longest = RULES.max_course_days[category]
        chronic = category in (PrescriptionCategory.CHRONIC, PrescriptionCategory.REIMBURSED)
        items: list[Row] = []
        for line, drug in enumerate(drugs, start=1):
            days = min(CHRONIC_COURSE_DAYS if chronic else drug.days, longest)
            items.append({
                "id": self.ids.take("prescription_item"), "prescription_id": prescription_id,
                "patient_id": order.patient_id, "line": line, "drug_id": self.drug_ids[drug.atc], "inn": drug.inn,
                "brand": drug.brand, "form": drug.form, "strength": drug.strength, "dose": float(drug.dose),
                "dose_unit": drug.dose_unit, "intakes_per_day": drug.intakes, "route": drug.route,
                "duration_days": days, "quantity": need_units(drug, drug.dose, drug.intakes, days),
                "fills": 1 + repeats, "dispensed_quantity": 0,
            })  # fmt: skip
        self._confirm(order, prescription, items)
        dispenses = self._dispense(order, prescription, items, drugs, midnight(valid_until) + DAY - MINUTE)
        sink.clinical("prescription", prescription)
        for item in items:
            sink.add("prescription_item", item)
        for dispense in dispenses:
            sink.clinical("dispense", dispense)

    def _number(self, issued_day: date) -> str:
        """A new prescription number, drawn from the demo's random stream and unique within the run."""
        number = new_number(issued_day, self.rng)
        while number in self.numbers:
            number = new_number(issued_day, self.rng)
        self.numbers.add(number)
        return number

    def _confirm(self, order: Order, prescription: Row, items: list[Row]) -> None:
        """The content hash, and the seal of the doctor's OneID session over the canonical JSON (as issuing does)."""
        fields = {name: prescription[name] for name in canonical.FIELDS}
        body = canonical.content(
            fields, items, patient_pinfl=order.patient_pinfl, organization_stir=order.organization_stir
        )
        prescription["content_hash"] = canonical.content_hash(body)
        # The doctor signed in through OneID a little before confirming.
        signed_in = at(order.issued - self.rng.randrange(2 * MINUTE, 2 * HOUR))
        session = OneIdSession(cabinet_id=order.prescriber_id, signed_in_at=signed_in)
        prescription["signature"], prescription["signer"] = seal(self.seal_key, body, session)

    def _dispense(
        self, order: Order, prescription: Row, items: list[Row], drugs: Sequence[DrugSpec], valid_end: int
    ) -> list[Row]:
        """Dispense (or cancel) the prescription as far as it got by now, fill after fill; set the state to match."""
        rng, clock = self.rng, self.clock
        horizon = min(clock.now, valid_end)
        expired = valid_end < clock.now
        if rng.random() < 0.03 and order.issued + 2 * HOUR < clock.now:
            cancelled = min(order.issued + rng.randrange(10 * MINUTE, 2 * DAY), clock.now - MINUTE)
            prescription.update(
                state=str(PrescriptionState.CANCELLED), cancelled_at=at(cancelled), cancelled_by=order.prescriber_id,
                cancel_reason=rng.choice(CANCEL_REASONS), updated_at=at(cancelled),
            )  # fmt: skip
            return []
        category = prescription["category"]
        # A controlled medicine is handed over whole, in one go: never part of it.
        whole = category == PrescriptionCategory.CONTROLLED
        roll = rng.random()
        plan = ("full" if roll < 0.85 else "partial" if roll < 0.93 else "none") if expired else (
            "full" if roll < 0.55 else "partial" if roll < 0.72 else "none")  # fmt: skip
        if whole and plan == "partial":
            plan = "none"
        first = self._open_hours(order.issued + rng.randrange(30 * MINUTE, 3 * DAY), order.issued)
        if plan == "none" or first > horizon:
            prescription["state"] = str(PrescriptionState.EXPIRED if expired else PrescriptionState.ACTIVE)
            return []
        region = order.region_id
        pharmacies = (
            self.contracted[region] if category == PrescriptionCategory.REIMBURSED else self.network.pharmacies[region]
        )
        pharmacy = rng.choice(pharmacies)
        fills = int(items[0]["fills"])
        # A partial plan stops after some fill, the first item short on that last one.
        done_fills = fills if plan == "full" else rng.randint(1, fills)
        dispenses: list[Row] = []
        last = start = first
        for fill in range(done_fills):
            if fill:
                start = self._open_hours(start + rng.randrange(REFILL_DAYS[0] * DAY, REFILL_DAYS[1] * DAY), start)
                if start > horizon:
                    break
            short = plan == "partial" and fill == done_fills - 1
            for index, (item, drug) in enumerate(zip(items, drugs, strict=True)):
                quantity = int(item["quantity"])
                give = (rng.randint(1, quantity - 1) if quantity > 1 else 0) if short and index == 0 else quantity
                parts = [give] if whole or give < 2 or rng.random() < 0.8 else [give // 2, give - give // 2]
                moment = start
                for part in parts:
                    if part <= 0 or moment > horizon:
                        continue
                    dispenses.append(self._row(order, item, drug, pharmacy, quantity=part, moment=moment))
                    item["dispensed_quantity"] += part
                    last = max(last, moment)
                    moment = self._open_hours(moment + rng.randrange(2 * DAY, 10 * DAY), moment)
        complete = all(item["dispensed_quantity"] == item["quantity"] * item["fills"] for item in items)
        if not dispenses:
            state = PrescriptionState.EXPIRED if expired else PrescriptionState.ACTIVE
        elif complete:
            state = PrescriptionState.DISPENSED
        else:
            state = PrescriptionState.EXPIRED if expired else PrescriptionState.PARTIALLY_DISPENSED
        prescription["state"] = str(state)
        prescription["updated_at"] = at(last) if dispenses else prescription["created_at"]
        return dispenses

    def _open_hours(self, moment: int, after: int) -> int:
        """`moment` moved into pharmacy hours (08:00-21:00) of its day, and still after `after`."""
        opened = office_hours(self.rng, moment, 8, 21)
        return opened if opened > after + 20 * MINUTE else after + 20 * MINUTE + self.rng.randrange(HOUR)

    def _row(self, order: Order, item: Row, drug: DrugSpec, pharmacy: Org, *, quantity: int, moment: int) -> Row:
        """One dispense of `quantity` units (Drug.unit) of an item by a pharmacist of `pharmacy`."""
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

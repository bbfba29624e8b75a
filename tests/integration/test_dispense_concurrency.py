"""Pharmacies dispensing the same prescription at the same moment: the total never exceeds what was prescribed."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ehealth.access.models import Role
from ehealth.errors import DomainError
from ehealth.prescription.dispensing import DispenseLine, dispense
from ehealth.prescription.models import Dispense, PrescriptionItem
from ehealth.reference.models import OrganizationKind
from tests import emr_factories, factories, own_database
from tests.prescription_factories import CONFIRMER, setting

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

ATTEMPTS = 8
EACH = 5  # 8 x 5 = 40 asked for, 21 prescribed: at most 4 attempts can succeed


def test_parallel_dispensing_never_exceeds_the_prescribed_quantity(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        place = setting(session)
        others = [factories.organization(session, OrganizationKind.PHARMACY) for _ in range(3)]
        pharmacists = [place.pharmacist] + [factories.cabinet(session, org, Role.PHARMACIST) for org in others]
        prescription = place.issue(session, place.order(place.item("J01CA04")))
        item = session.execute(
            select(PrescriptionItem).where(PrescriptionItem.prescription_id == prescription.id)
        ).scalar_one()
        session.commit()
        actors = [emr_factories.actor(pharmacist) for pharmacist in pharmacists]
    start = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        with Session(engine) as own:
            start.wait()
            try:
                dispense(
                    own, prescription.number, place.patient.pinfl,
                    [DispenseLine(item.id, EACH, item.drug_id, "20 kapsula", f"AT2511{n:03d}")],
                    actor=actors[n % len(actors)], confirmer=CONFIRMER,
                )  # fmt: skip
                own.commit()
                result = "ok"
            except DomainError:
                own.rollback()
                result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == ATTEMPTS
    with Session(engine) as check:
        given = check.execute(
            select(func.coalesce(func.sum(Dispense.quantity), 0)).where(Dispense.item_id == item.id)
        ).scalar_one()
        stored = check.execute(
            select(PrescriptionItem.dispensed_quantity).where(PrescriptionItem.id == item.id)
        ).scalar_one()
    assert outcomes.count("ok") == 4  # 4 x 5 = 20 fits in 21; a fifth would make 25
    assert given == stored == 20 <= item.quantity

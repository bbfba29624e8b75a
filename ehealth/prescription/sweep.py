"""The periodic work of the e-prescription module: expire what is past valid-until, deliver pending SMS."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from db import transaction
from ehealth.prescription.lifecycle import EXPIRY_BATCH, expire_due
from ehealth.prescription.notifications import LoggingGateway, SmsGateway, send_pending

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    expired: int
    sent: int


def sweep(factory: sessionmaker[Session], *, today: date, gateway: SmsGateway) -> SweepReport:
    """Expire every live prescription past valid-until (in batches, one transaction each), then send pending SMS."""
    expired = 0
    while True:
        with transaction(factory) as session:
            done = expire_due(session, today=today, limit=EXPIRY_BATCH)
        expired += done
        if done < EXPIRY_BATCH:
            break
    with transaction(factory) as session:
        sent = send_pending(session, gateway)
    return SweepReport(expired, sent)


def start_background(factory: sessionmaker[Session], minutes: int) -> threading.Event:
    """Sweep every `minutes` in a daemon thread (first run at once); set the returned event to stop it."""
    from ehealth.calendar import today  # noqa: PLC0415  (the clock is read at each run)

    stop = threading.Event()
    gateway = LoggingGateway()

    def loop() -> None:
        while not stop.is_set():
            try:
                report = sweep(factory, today=today(), gateway=gateway)
                if report.expired or report.sent:
                    log.info("prescription sweep: %s expired, %s SMS sent", report.expired, report.sent)
            except Exception:  # a failed sweep is retried at the next tick; the portal keeps serving
                log.exception("prescription sweep failed")
            stop.wait(minutes * 60)

    threading.Thread(target=loop, name="prescription-sweep", daemon=True).start()
    return stop

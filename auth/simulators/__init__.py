"""Local stand-ins for national services that are unreachable here; development and tests only."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from ehealth.access.models import Cabinet
from ehealth.identifiers import make_pinfl


class SimulatorRefused(RuntimeError):
    """A simulator was asked to start with settings that are not development."""


def mask(pinfl: str) -> str:
    """A PINFL with all but the last 4 digits hidden."""
    return "*" * (len(pinfl) - 4) + pinfl[-4:]


def nobody_pinfl(db: Session) -> str:
    """A valid PINFL that no cabinet has: the person OneID knows but the portal does not."""
    candidates = [make_pinfl(date(1990, 3, 8), "female", 999, serial) for serial in range(1, 1000)]
    taken = set(db.execute(select(Cabinet.pinfl).where(Cabinet.pinfl.in_(candidates))).scalars())
    return next(pinfl for pinfl in candidates if pinfl not in taken)


@dataclass(frozen=True)
class Served:
    """A simulator's HTTP server running in a daemon thread on 127.0.0.1."""

    base_url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        """Shut the HTTP server down and wait for its thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(app: Flask, name: str, port: int = 0) -> Served:
    """Serve `app` on loopback (port 0: any free port) in a daemon thread."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return Served(f"http://127.0.0.1:{server.server_port}", server, thread)

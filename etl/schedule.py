"""Keeping the warehouse fresh while the portal runs: one ETL run every few minutes, in a daemon thread.

Several worker processes may each start the schedule; a lock file beside the warehouse lets exactly one of them build
at a time (the others skip that tick), since two builders would write the same next generation (warehouse/publish.py).
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from etl.pipeline import Report, run

log = logging.getLogger(__name__)


@contextmanager
def exclusive(warehouse_path: Path, *, wait: bool = False) -> Iterator[bool]:
    """Hold the builder's lock for the block if no other process does (or once it is free, when `wait`); yields
    whether it was taken."""
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with open(warehouse_path.with_name(warehouse_path.name + ".lock"), "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def run_once(engine: Engine, warehouse_path: Path, key: bytes) -> Report | None:
    """One incremental run (the first builds the warehouse), or None when another process is building."""
    with exclusive(warehouse_path) as mine:
        if not mine:
            return None
        return run(engine, warehouse_path, key, progress=False)


def start_background(engine: Engine, warehouse_path: Path, key: bytes, minutes: float) -> threading.Event:
    """Run the ETL now and then every `minutes` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                report = run_once(engine, warehouse_path, key)
                if report is not None:
                    log.info("warehouse refreshed: %s", report)
            except Exception:  # a failed run leaves the published snapshot as it was; the next tick retries
                log.exception("warehouse refresh failed")
            stop.wait(minutes * 60)

    threading.Thread(target=loop, name="warehouse-etl", daemon=True).start()
    return stop

"""Read access to the published warehouse: one cached read-only connection per process and snapshot file, a cursor
per query, never a write lock.

A connection to a snapshot that is no longer the published one is closed as soon as no query reads it: on the next
read, or by a janitor thread within STALE_SECONDS for a process that is idle. The ETL writes into the older of two
snapshot files (warehouse/publish.py), which it can only do once every reader has let go of it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

# The catalog name the published file is attached under (queries name tables unqualified: each cursor USEs it).
_CATALOG = "warehouse"


class WarehouseMissing(RuntimeError):
    """No snapshot has been published yet (run `python -m etl rebuild`)."""


@dataclass
class _Snapshot:
    """One opened snapshot file: the connection, the file it opened, and how many queries are reading it."""

    stamp: tuple[int, int, int]  # st_dev, st_ino, st_mtime_ns of the file when it was opened
    con: duckdb.DuckDBPyConnection
    readers: int = 0
    stale: bool = False  # a newer file has been published: closed once its last reader is done


# How often an idle process looks for snapshots to let go of.
STALE_SECONDS = 5.0

_lock = threading.Lock()
# (process id, absolute path) → the snapshot current readers get. The pid keeps a forked child off its parent's.
_current: dict[tuple[int, str], _Snapshot] = {}
# Every snapshot this process has open, current or stale and still being read.
_open_snapshots: list[_Snapshot] = []
# The process ids that have a janitor thread (a forked child starts its own).
_janitors: set[int] = set()


def _stamp(path: Path) -> tuple[int, int, int]:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise WarehouseMissing(f"no warehouse published at {path}") from None
    return stat.st_dev, stat.st_ino, stat.st_mtime_ns


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    # An in-memory database with the file attached read-only, not duckdb.connect(path): DuckDB caches one database
    # instance per path in a process, so connecting to a republished path while the old snapshot is still being read
    # would hand back the old snapshot. Each snapshot gets its own instance this way.
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH ? AS {_CATALOG} (READ_ONLY)", [str(path)])
    except BaseException:
        con.close()
        raise
    return con


def _retire(snapshot: _Snapshot) -> None:
    """Mark a snapshot stale and close it if no query reads it (else its last reader does). Holding _lock."""
    snapshot.stale = True
    if not snapshot.readers and snapshot in _open_snapshots:
        snapshot.con.close()
        _open_snapshots.remove(snapshot)


def _janitor() -> None:
    while True:
        time.sleep(STALE_SECONDS)
        release_stale()


def _start_janitor() -> None:
    """One daemon thread per process. Holding _lock."""
    if os.getpid() not in _janitors:
        _janitors.add(os.getpid())
        threading.Thread(target=_janitor, name="warehouse-janitor", daemon=True).start()


def _acquire(path: Path) -> _Snapshot:
    key = (os.getpid(), str(path.absolute()))
    with _lock:
        _start_janitor()
        # stat before opening: if the file is replaced in between, the stamp is the older one and the next read
        # reopens; a reader is never left on an older snapshot than the one it saw published.
        stamp = _stamp(path)
        snapshot = _current.get(key)
        if snapshot is None or snapshot.stamp != stamp:
            if snapshot is not None:
                _retire(snapshot)
            snapshot = _Snapshot(stamp, _open(path))
            _current[key] = snapshot
            _open_snapshots.append(snapshot)
        snapshot.readers += 1
        return snapshot


def _release(snapshot: _Snapshot) -> None:
    with _lock:
        snapshot.readers -= 1
        if snapshot.stale:
            _retire(snapshot)


def release_stale() -> None:
    """Let go of this process's snapshots that are no longer the published ones (at once if no query reads them)."""
    with _lock:
        for key, snapshot in list(_current.items()):
            if key[0] != os.getpid():
                continue
            try:
                published = _stamp(Path(key[1]))
            except WarehouseMissing:
                published = None
            if snapshot.stamp != published:
                _retire(snapshot)
                del _current[key]


def holds(path: Path) -> bool:
    """Whether this process has the file at `path` open as a snapshot (a reader of it may still be running)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return False
    with _lock:
        return any(s.stamp[:2] == (stat.st_dev, stat.st_ino) for s in _open_snapshots)


@contextmanager
def read(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only cursor on the published snapshot at `path`, closed on exit.

    The connection behind it is opened once per process and file, and reopened when a new snapshot is published
    (os.replace changes the inode): each query reads one whole snapshot, and the next query sees the newest.
    Cursors are per query, so threads never share one.
    """
    snapshot = _acquire(path)
    try:
        cursor = snapshot.con.cursor()
        try:
            cursor.execute(f"USE {_CATALOG}")
            yield cursor
        finally:
            cursor.close()
    finally:
        _release(snapshot)


def close_all() -> None:
    """Close this process's cached connections that no query is reading (tests; a worker shutting down)."""
    with _lock:
        for key, snapshot in list(_current.items()):
            _retire(snapshot)
            del _current[key]

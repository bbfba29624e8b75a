"""Read access to the published warehouse: one cached read-only connection per process and snapshot file, a cursor
per query, never a write lock."""

from __future__ import annotations

import os
import threading
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


_lock = threading.Lock()
# (process id, absolute path) → the snapshot current readers get. The pid keeps a forked child off its parent's.
_current: dict[tuple[int, str], _Snapshot] = {}


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


def _acquire(path: Path) -> _Snapshot:
    key = (os.getpid(), str(path.absolute()))
    with _lock:
        # stat before opening: if the file is replaced in between, the stamp is the older one and the next read
        # reopens; a reader is never left on an older snapshot than the one it saw published.
        stamp = _stamp(path)
        snapshot = _current.get(key)
        if snapshot is None or snapshot.stamp != stamp:
            if snapshot is not None:
                snapshot.stale = True
                if not snapshot.readers:
                    snapshot.con.close()
            snapshot = _Snapshot(stamp, _open(path))
            _current[key] = snapshot
        snapshot.readers += 1
        return snapshot


def _release(snapshot: _Snapshot) -> None:
    with _lock:
        snapshot.readers -= 1
        if snapshot.stale and not snapshot.readers:
            snapshot.con.close()


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
            snapshot.stale = True
            if not snapshot.readers:
                snapshot.con.close()
            del _current[key]

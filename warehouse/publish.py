"""The single writer: build a copy of the snapshot beside it, check it, then publish it with one rename."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse import schema


def building_path(path: Path) -> Path:
    """Where the next snapshot is built: beside the published file, so that os.replace stays on one filesystem."""
    return path.with_name(path.name + ".building")


def _discard(building: Path) -> None:
    for leftover in (building, building.with_name(building.name + ".wal")):
        leftover.unlink(missing_ok=True)


@contextmanager
def building(path: Path, *, fresh: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a new snapshot, published onto `path` if the block completes, discarded if it raises.

    The snapshot starts as a copy of the published one (or empty when `fresh` or nothing is published yet).
    Readers keep reading the published file throughout: DuckDB locks only the file being built.
    """
    target = building_path(path)
    # A .building file left by a crashed run is never resumed: its content is unknown.
    _discard(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not fresh and path.exists():
        shutil.copyfile(path, target)
    con = duckdb.connect(str(target))
    try:
        schema.create(con)
        yield con
        # Everything into the main file before the rename, so that no WAL is left behind the published name.
        con.execute("CHECKPOINT")
        con.close()
        publish(target, path)
    except BaseException:
        con.close()
        _discard(target)
        raise


def publish(built: Path, path: Path) -> None:
    """Atomically put the built snapshot in place of the published one (readers see the old or the new, whole)."""
    with open(built, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(built, path)

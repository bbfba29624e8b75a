"""The single writer: snapshot files by generation, the published one behind a symbolic link swapped atomically.

`warehouse.duckdb` is a link to `warehouse.duckdb.<n>`. A run builds generation n + 1 in the file of the generation
before the published one, renamed (the snapshot before the last: its own watermark makes the ETL catch up on two
runs' changes), inside one transaction; checks it; and swaps the link. Readers keep reading the published file
throughout (DuckDB locks only the file being written), and nothing is copied: at national scale the warehouse is
gigabytes, and copying it every minute would cost more than the run. Only when there is no older file, or a reader
still holds it (a worker that has not yet let go of an older snapshot), is the published one copied instead; the
held file is removed by a later run once it is free.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse import connection, schema

# How much memory a build may use (DuckDB's default is 80 % of the machine, which the portal shares).
BUILD_MEMORY = "4GB"


def generation_path(path: Path, generation: int) -> Path:
    """The file of one snapshot generation (beside the link, so that the link stays relative)."""
    return path.with_name(f"{path.name}.{generation}")


def _generations(path: Path) -> list[int]:
    """The generations with a file on disk, oldest first."""
    pattern = re.compile(re.escape(path.name) + r"\.(\d+)")
    found = (pattern.fullmatch(entry.name) for entry in path.parent.iterdir()) if path.parent.exists() else ()
    return sorted(int(match.group(1)) for match in found if match)


def published_generation(path: Path) -> int | None:
    """The generation the published link points at, or None when nothing is published as a link."""
    if not path.is_symlink():
        return None
    match = re.fullmatch(re.escape(path.name) + r"\.(\d+)", os.readlink(path))
    return int(match.group(1)) if match else None


def _link(path: Path, target: Path) -> None:
    """Point `path` at `target` in one rename (readers see the old file or the new, never none)."""
    temporary = path.with_name(path.name + ".link")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target.name)
    os.replace(temporary, path)


def _adopt(path: Path) -> None:
    """A warehouse published as a plain file (before generations) becomes generation 1, never absent meanwhile."""
    if path.exists() and not path.is_symlink():
        first = generation_path(path, 1)
        first.unlink(missing_ok=True)
        os.link(path, first)  # the same file under the generation's name; then the name becomes a link to it
        _link(path, first)


def _discard(target: Path) -> None:
    for leftover in (target, target.with_name(target.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _free(file: Path) -> bool:
    """Whether no reader holds `file`: none in this process, and another process's lock does not stop a writer."""
    if connection.holds(file):
        return False
    try:
        duckdb.connect(str(file)).close()
    except (duckdb.IOException, duckdb.ResourceInUseException):
        return False
    return True


def _prepare(path: Path, target: Path, fresh: bool) -> None:
    """Put the starting point of the next generation at `target`: the older file renamed, a copy, or nothing."""
    published = published_generation(path)
    if fresh or published is None:
        _discard(target)
        return
    # This process's own idle readers of older snapshots let go of them first (locks do not guard within a process).
    connection.release_stale()
    older = [generation for generation in _generations(path) if generation != published]
    reused = False
    for generation in reversed(older):  # the newest older one is the cheapest to catch up
        file = generation_path(path, generation)
        if not reused and _free(file):
            file.with_name(file.name + ".wal").unlink(missing_ok=True)
            os.replace(file, target)
            reused = True
        elif _free(file):
            _discard(file)  # an even older one nobody reads any more
    if not reused:
        copying = target.with_name(target.name + ".copying")
        shutil.copyfile(path, copying)
        os.replace(copying, target)


@contextmanager
def building(path: Path, *, fresh: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the next snapshot, published onto `path` if the block completes, left unpublished if it raises.

    It starts as the older snapshot (or empty when `fresh` or nothing is published yet). The caller works inside a
    transaction: if the block raises, DuckDB rolls it back, the file stays a whole older snapshot, and the next run
    starts from it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _adopt(path)
    target = generation_path(path, (published_generation(path) or 0) + 1)
    _prepare(path, target, fresh)
    # Bounded: the roll-ups of a national rebuild would otherwise take most of the machine; DuckDB spills instead.
    con = duckdb.connect(str(target), config={"memory_limit": BUILD_MEMORY})
    try:
        schema.create(con)
        yield con
        # Everything into the main file before the swap, so that no WAL is left behind the published name.
        con.execute("CHECKPOINT")
        con.close()
        publish(target, path)
    except BaseException:
        con.close()
        raise


def publish(built: Path, path: Path) -> None:
    """Atomically make `path` the built snapshot (readers see the old or the new, whole)."""
    with open(built, "rb") as handle:
        os.fsync(handle.fileno())
    _link(path, built)

"""Read access to the published warehouse: a fresh read-only connection per query, never a write lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


class WarehouseMissing(RuntimeError):
    """No snapshot has been published yet (run `python -m etl rebuild`)."""


@contextmanager
def read(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published snapshot at `path`, closed on exit.

    Opening per query is cheap and means a reader holds the inode it opened: a snapshot published meanwhile
    (os.replace) is seen by the next query, never half of it by this one.
    """
    if not path.exists():
        raise WarehouseMissing(f"no warehouse published at {path}")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()

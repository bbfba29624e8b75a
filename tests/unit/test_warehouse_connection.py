"""The cached read connection: one per process and file, a republished snapshot seen by the next read, a read
during a publish whole on the old or the new snapshot, and a cursor per query across threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from warehouse import connection
from warehouse.connection import WarehouseMissing, read
from warehouse.publish import publish


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts and ends without cached connections."""
    connection.close_all()
    yield
    connection.close_all()


def snapshot(path: Path, version: int, rows: int = 1000) -> None:
    """Write a snapshot whose two tables both hold `rows` rows tagged `version` (a reader checks they agree)."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE a AS SELECT {version} AS version, range AS n FROM range({rows})")
    con.execute(f"CREATE TABLE b AS SELECT {version} AS version, range AS n FROM range({rows})")
    con.execute("CHECKPOINT")
    con.close()


def version(path: Path) -> int:
    with read(path) as con:
        row = con.execute("SELECT DISTINCT version FROM a").fetchall()
    assert len(row) == 1
    return int(row[0][0])


def republish(path: Path, number: int) -> None:
    """Publish snapshot `number` from a file of its own (the published one may still be read)."""
    built = path.with_name(f"{path.name}.{number}")
    snapshot(built, number)
    publish(built, path)


def test_a_missing_warehouse_raises(tmp_path: Path) -> None:
    with pytest.raises(WarehouseMissing), read(tmp_path / "absent.duckdb"):
        pass


def test_the_connection_is_reused_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    snapshot(path, 1)
    with read(path):
        first = connection._current[(os.getpid(), str(path.absolute()))].con
    assert version(path) == 1
    assert connection._current[(os.getpid(), str(path.absolute()))].con is first
    republish(path, 2)
    assert version(path) == 2
    assert connection._current[(os.getpid(), str(path.absolute()))].con is not first


def test_a_republished_file_is_seen_by_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    snapshot(path, 1)
    assert version(path) == 1
    for number in range(2, 6):
        republish(path, number)
        assert version(path) == number


def test_a_read_open_during_a_publish_stays_on_its_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    snapshot(path, 1)
    with read(path) as old:
        republish(path, 2)
        # A query started after the publish reads the new snapshot while the old one is still being read ...
        assert version(path) == 2
        # ... and the old reader keeps its whole snapshot: both tables still version 1.
        assert old.execute("SELECT DISTINCT version FROM a UNION SELECT DISTINCT version FROM b").fetchall() == [(1,)]
    assert version(path) == 2


def test_reads_during_publishes_see_one_whole_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    snapshot(path, 0, rows=20_000)
    stop = threading.Event()
    seen: list[tuple[int, ...]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                with read(path) as con:
                    row = con.execute(
                        "SELECT (SELECT min(version) FROM a), (SELECT max(version) FROM a),"
                        " (SELECT min(version) FROM b), (SELECT max(version) FROM b), (SELECT count(*) FROM b)"
                    ).fetchone()
                assert row is not None
                seen.append(tuple(int(value) for value in row))
            except BaseException as error:
                errors.append(error)
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for number in range(1, 8):
            built = path.with_name(f"{path.name}.{number}")
            snapshot(built, number, rows=20_000)
            publish(built, path)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert seen
    # Every query saw one snapshot whole: one version across both tables, all of its rows.
    assert all(row[0] == row[1] == row[2] == row[3] and row[4] == 20_000 for row in seen)
    assert version(path) == 7

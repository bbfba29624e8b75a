"""Publishing snapshots: generations behind a link, each built in the file before the published one (no copy) while
it is free, a copy when a reader still holds it, a failed build never published, and a warehouse published as a
plain file adopted in place."""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Iterator
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import duckdb
import pytest

from warehouse import connection
from warehouse.connection import read
from warehouse.publish import building, generation_path, published_generation


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Each test starts and ends without cached connections."""
    connection.close_all()
    yield
    connection.close_all()


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files made by copying the published snapshot, in order."""
    made: list[Path] = []
    original = shutil.copyfile

    def counted(source: Path, target: Path) -> Any:
        made.append(Path(target))
        return original(source, target)

    monkeypatch.setattr(shutil, "copyfile", counted)
    return made


def build(path: Path, number: int, *, fresh: bool = False) -> None:
    """One run: the snapshot records which build it is."""
    with building(path, fresh=fresh) as con:
        con.execute("CREATE OR REPLACE TABLE build AS SELECT ? AS number", [number])


def published_build(path: Path) -> int:
    with read(path) as con:
        row = con.execute("SELECT number FROM build").fetchone()
    assert row is not None
    return int(row[0])


def names(path: Path) -> list[str]:
    """The snapshot files beside the link."""
    return sorted(entry.name for entry in path.parent.iterdir() if entry.name.startswith(path.name + "."))


def copy_of(path: Path, generation: int) -> Path:
    return Path(str(generation_path(path, generation)) + ".copying")


def test_each_run_builds_in_the_file_before_the_published_one(tmp_path: Path, copies: list[Path]) -> None:
    path = tmp_path / "warehouse.duckdb"
    build(path, 1, fresh=True)
    for number in range(2, 7):
        build(path, number)
        assert (published_generation(path), published_build(path)) == (number, number)
        assert names(path) == [f"warehouse.duckdb.{number - 1}", f"warehouse.duckdb.{number}"]
    assert copies == [copy_of(path, 2)]  # to make the second file, once; then each run renames the older one


def test_a_failed_build_is_not_published_and_the_file_stays_whole(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    build(path, 1, fresh=True)
    build(path, 2)
    with pytest.raises(RuntimeError, match="power cut"), building(path) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE OR REPLACE TABLE build AS SELECT 3 AS number")
        raise RuntimeError("power cut")
    assert (published_generation(path), published_build(path)) == (2, 2)
    # The file the failed run wrote in rolled back to the older snapshot it started from; the next run starts there.
    with duckdb.connect(str(generation_path(path, 3)), read_only=True) as con:
        assert con.execute("SELECT number FROM build").fetchone() == (1,)
    build(path, 4)
    assert (published_generation(path), published_build(path)) == (3, 4)


def test_an_idle_reader_in_this_process_lets_go_and_a_busy_one_gets_a_copy(tmp_path: Path, copies: list[Path]) -> None:
    path = tmp_path / "warehouse.duckdb"
    build(path, 1, fresh=True)
    build(path, 2)
    copies.clear()
    assert published_build(path) == 2  # reading generation 2
    build(path, 3)  # in file 1, renamed 3: nothing to let go of
    assert published_build(path) == 3  # reading 3; the idle connection to 2 is closed
    build(path, 4)  # in file 2, renamed 4
    assert copies == []
    with read(path) as busy:  # a query on generation 4 still running ...
        build(path, 5)  # ... while a run builds 5 in file 3 and publishes it
        assert connection.holds(generation_path(path, 4))
        build(path, 6)  # 4 is still being read: the run copies 5 instead, and leaves 4 alone
        assert busy.execute("SELECT number FROM build").fetchone() == (4,)
    assert copies == [copy_of(path, 6)]
    assert published_build(path) == 6
    connection.release_stale()
    assert not connection.holds(generation_path(path, 4))
    build(path, 7)  # 5 and 4 are free now: 5 is renamed 7, 4 is removed
    assert names(path) == ["warehouse.duckdb.6", "warehouse.duckdb.7"]


def _hold(path: str, holding: EventType, done: EventType, out: Any) -> None:
    """In another process: read a snapshot file and keep it open until told to stop."""
    con = duckdb.connect(":memory:")
    con.execute("ATTACH ? AS w (READ_ONLY)", [path])
    holding.set()
    done.wait(60)
    row = con.execute("SELECT number FROM w.build").fetchone()
    out.put(None if row is None else row[0])
    con.close()


def test_a_file_another_process_still_reads_is_left_and_the_published_one_copied(
    tmp_path: Path, copies: list[Path]
) -> None:
    path = tmp_path / "warehouse.duckdb"
    build(path, 1, fresh=True)
    build(path, 2)
    build(path, 3)
    copies.clear()
    context = multiprocessing.get_context("spawn")
    holding, done, out = context.Event(), context.Event(), context.Queue()
    reader = context.Process(target=_hold, args=(str(generation_path(path, 3)), holding, done, out))
    reader.start()
    try:
        assert holding.wait(60)
        build(path, 4)  # in file 2: free
        build(path, 5)  # file 3 is locked by the other process: a copy of 4
        assert copies == [copy_of(path, 5)]
        assert published_build(path) == 5
        done.set()
        assert out.get(timeout=60) == 3  # the other process read its snapshot whole to the end
    finally:
        done.set()
        reader.join(60)
    build(path, 6)  # file 3 is free again: reused
    assert copies == [copy_of(path, 5)]
    assert names(path) == ["warehouse.duckdb.5", "warehouse.duckdb.6"]


def test_a_warehouse_published_as_a_plain_file_becomes_the_first_generation(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE build AS SELECT 1 AS number")
    inode = os.stat(path).st_ino
    build(path, 2)
    assert os.stat(generation_path(path, 1)).st_ino == inode  # the same file, named by a link, never copied
    assert (published_generation(path), published_build(path)) == (2, 2)

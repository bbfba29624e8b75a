"""ETL throughput: full rebuild rows/s and an incremental run over 100 k new outbox events, SQLite and PostgreSQL.

    python bench/etl_throughput.py [--patients 25000] [--events 100000] [--no-sqlite] [--no-postgres]
    python bench/etl_throughput.py --sqlite-url URL --postgres-url URL [--runs 3]

With `--sqlite-url` and/or `--postgres-url`: only those existing databases, left as they are (nothing generated,
no events written): `--runs` full rebuilds each, then an incremental run with nothing new, each run in a freshly
spawned process, into a warehouse under `--workdir`.

Per backend: a fresh, migrated operational database filled by the demo generator (`--patients`, seed 20260101,
today 2026-03-16), then, each in a freshly spawned process so that its peak RSS is the ETL's own:
1. `etl.pipeline.run(rebuild=True)`: rows written to the warehouse / seconds, end to end (snapshot build, checks,
   publish);
2. an incremental run with nothing new (the fixed cost of a run: copy of the snapshot, dimensions, checks, publish);
3. `--events` new outbox events, then an incremental run. The events are written directly into `clinical_event`
   (the demo generator refuses a non-empty database): one per distinct existing prescription, dispense, admission
   and outpatient encounter, newest first, in the proportions the database holds them, as amendments would write
   them. The ETL cannot tell them from events of new rows: it re-extracts each entity by id, deletes its old
   warehouse rows and inserts the new ones (for a brand-new entity the delete finds nothing; otherwise the same work).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the etl package: drop bench/ from the path so that `import etl` finds the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

from sqlalchemy import Engine, create_engine, make_url, text  # noqa: E402

from db import make_engine  # noqa: E402
from ehealth.demo import generate  # noqa: E402
from ehealth.manage import migrate  # noqa: E402
from etl.pipeline import run  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TODAY = date(2026, 3, 16)
SEED = 20260101
KEY = b"bench-warehouse-key-0123456789abcdef"
# Entity name in the outbox → (table, extra condition): the entities the ETL follows.
ENTITIES = {
    "prescription": ("prescription", ""),
    "dispense": ("dispense", ""),
    "admission": ("admission", ""),
    "encounter": ("encounter", "WHERE kind = 'outpatient'"),
}


def _etl(url: str, path: str, rebuild: bool, out: Any) -> None:
    """One ETL run in this (spawned) process; sends back rows, seconds and peak RSS."""
    engine = make_engine(url)
    try:
        report = run(engine, Path(path), KEY, rebuild=rebuild, progress=False)
    finally:
        engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.send((report.mode, dict(report.rows), report.seconds, peak))


def etl_in_child(url: str, path: Path, *, rebuild: bool) -> tuple[str, dict[str, int], float, float]:
    """Run the ETL in a fresh process: (mode, rows per table, seconds, peak RSS MiB of that process)."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_etl, args=(url, str(path), rebuild, send))
    process.start()
    result: tuple[str, dict[str, int], float, float] = receive.recv()
    process.join()
    return result


def add_events(engine: Engine, events: int) -> dict[str, int]:
    """Write `events` outbox events on distinct existing entities, in proportion to each kind's count."""
    with engine.begin() as conn:
        counts = {
            entity: int(conn.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar_one())
            for entity, (table, where) in ENTITIES.items()
        }
        total = sum(counts.values())
        if total < events:
            raise SystemExit(f"only {total:,} entities to touch; raise --patients")
        wanted = {entity: count * events // total for entity, count in counts.items()}
        wanted["encounter"] += events - sum(wanted.values())
        now = datetime.now(UTC)
        for entity, (table, where) in ENTITIES.items():
            conn.execute(
                text(f"""
                    INSERT INTO clinical_event (occurred_at, kind, patient_id, organization_id, entity, entity_id)
                    SELECT :now, :kind, patient_id, organization_id, :entity, id
                    FROM {table} {where} ORDER BY id DESC LIMIT :n
                """),
                {"now": now, "kind": f"{table}.amended", "entity": entity, "n": wanted[entity]},
            )
    return wanted


def show(label: str, result: tuple[str, dict[str, int], float, float]) -> None:
    """Print one run."""
    mode, rows, seconds, peak = result
    facts = {name: count for name, count in rows.items() if name.startswith("fct_") and count}
    total = sum(rows.values())
    print(f"  {label:<34} {mode:<11} {total:>10,} rows  {seconds:7.2f} s  {total / seconds:>10,.0f} rows/s  "
          f"peak RSS {peak:,.0f} MiB   {facts}", flush=True)  # fmt: skip


def bench(backend: str, url: str, workdir: Path, patients: int, events: int) -> None:
    """Generate, rebuild, no-op run, add events, incremental run."""
    migrate(url)
    engine = make_engine(url)
    try:
        began = time.perf_counter()
        demo = generate(engine, patients=patients, seed=SEED, today=TODAY, progress=False)
        print(f"{backend}: demo of {patients:,} patients, {demo.total:,} operational rows in "
              f"{time.perf_counter() - began:.0f} s", flush=True)  # fmt: skip
        path = workdir / backend / "warehouse.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        show("full rebuild", etl_in_child(url, path, rebuild=True))
        show("incremental, nothing new", etl_in_child(url, path, rebuild=False))
        began = time.perf_counter()
        wanted = add_events(engine, events)
        print(f"  wrote {events:,} outbox events in {time.perf_counter() - began:.1f} s: {wanted}", flush=True)
        show(f"incremental, {events:,} events", etl_in_child(url, path, rebuild=False))
        print(f"  warehouse file {path.stat().st_size / 1024**2:,.0f} MiB", flush=True)
    finally:
        engine.dispose()


def bench_existing(backend: str, url: str, workdir: Path, runs: int) -> None:
    """Rebuild from an existing database `runs` times, then a run with nothing new; the database is only read."""
    path = workdir / backend / "warehouse.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"{backend}: existing database {make_url(url).render_as_string()}", flush=True)
    for run_number in range(1, runs + 1):
        show(f"full rebuild {run_number}/{runs}", etl_in_child(url, path, rebuild=True))
    show("incremental, nothing new", etl_in_child(url, path, rebuild=False))


def main() -> int:
    """Both backends, each on a scratch database (or on the existing databases given)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=25_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/etl_bench"))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--sqlite-url", help="an existing SQLite database to measure (read only)")
    parser.add_argument("--postgres-url", help="an existing PostgreSQL database to measure (read only)")
    parser.add_argument("--runs", type=int, default=1, help="full rebuilds per existing database")
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    if args.sqlite_url or args.postgres_url:
        try:
            if args.sqlite_url:
                bench_existing("sqlite", args.sqlite_url, args.workdir, args.runs)
            if args.postgres_url:
                bench_existing("postgresql", args.postgres_url, args.workdir, args.runs)
        finally:
            shutil.rmtree(args.workdir, ignore_errors=True)
        return 0
    try:
        if not args.no_sqlite:
            bench("sqlite", f"sqlite:///{args.workdir / 'ehealth.sqlite3'}", args.workdir, args.patients, args.events)
        if not args.no_postgres:
            name = f"etl_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
                bench("postgresql", url, args.workdir, args.patients, args.events)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    finally:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
